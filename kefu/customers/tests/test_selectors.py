from __future__ import annotations

import pytest
from django.http import Http404

from kefu.customers.selectors import (
    customer_card,
    customer_get,
    customer_lookup_account,
    customer_lookup_phone,
    customer_search,
    manager_coverage,
)
from kefu.customers.services import account_assign_manager, account_change_status, account_open, contact_add
from kefu.customers.tests.factories import make_account
from kefu.org.models import Staff


@pytest.mark.parametrize("query", ["13800001111", "+86 138-0000-1111", "0086 13800001111", "138 0000 1111"])
def test_phone_in_any_spelling_finds_the_customer(world, query):
    result = customer_search(user=world.agent_a1, query=query)
    assert result.kind == "phone"
    assert [c.name for c in result.customers] == ["王小明"]


def test_account_number_id_number_name_and_address(world):
    a1 = world.account_a1
    assert customer_search(user=world.agent_a1, query=a1.number).customers == [a1.customer]
    assert customer_search(user=world.agent_a1, query=a1.customer.id_number.lower()).kind == "id_number"
    assert customer_search(user=world.agent_a1, query=a1.customer.id_number).customers == [a1.customer]
    by_name = customer_search(user=world.agent_a1, query="王小")
    assert by_name.kind == "name" and by_name.customers == [a1.customer]
    by_address = customer_search(user=world.agent_a1, query="文三路 学院社区")
    assert by_address.kind == "address" and by_address.customers == [a1.customer]


def test_search_never_leaves_the_users_scope(world):
    # agent_a1 knows agent_a2's customer's phone but must not find it.
    assert customer_search(user=world.agent_a1, query="13800002222").customers == []
    assert customer_search(user=world.agent_a1, query=world.account_b1.number).customers == []
    # The city supervisor sees both counties, the outsider neither.
    assert {c.name for c in customer_search(user=world.supervisor, query="李").customers} == {"李大华"}
    assert customer_search(user=world.outsider, query="13800001111").customers == []
    assert customer_lookup_account(user=world.outsider, number=world.account_a1.number) is None
    with pytest.raises(Http404):
        customer_get(user=world.agent_a2, pk=world.account_a1.customer_id)


def test_shared_phone_returns_every_candidate_in_scope(world):
    other = make_account(unit=world.county_a1, name="王小红", phone="13700009999")
    contact_add(customer=other.customer, actor=None, name="王父", phone="13800001111")
    names = [c.name for c in customer_lookup_phone(user=world.agent_a1, phone="13800001111")]
    assert names == ["王小明", "王小红"]


def test_search_pages_with_a_keyset(world):
    for i in range(5):
        make_account(unit=world.county_a1, name=f"张{i}")
    first = customer_search(user=world.agent_a1, query="张", limit=3)
    assert len(first.customers) == 3 and first.has_more
    second = customer_search(user=world.agent_a1, query="张", limit=3, after_id=first.customers[-1].pk)
    assert len(second.customers) == 2 and not second.has_more
    assert not {c.pk for c in first.customers} & {c.pk for c in second.customers}


def test_card_hides_personal_data_from_roles_without_it(world):
    assert customer_card(user=world.agent_a1, pk=world.account_a1.customer_id).can_see_personal
    card = customer_card(user=world.crew_a1, pk=world.account_a1.customer_id)
    assert not card.can_see_personal
    assert [a.number for a in card.accounts] == [world.account_a1.number]
    assert card.events[0].kind == "opened"


def test_coverage_counts_subtrees(world):
    account_assign_manager(account=world.account_a1, manager=world.manager_a1, actor=world.admin)
    rows = {r.unit.code: r for r in manager_coverage(user=world.supervisor)}
    assert set(rows) == {"CA", "A1", "A2"}
    assert (rows["A1"].accounts, rows["A1"].managed, rows["A1"].share) == (1, 1, 1.0)
    assert (rows["CA"].accounts, rows["CA"].managed, rows["CA"].share) == (2, 1, 0.5)
    assert rows["A2"].share == 0.0


def test_card_and_search_hide_accounts_in_other_units(world):
    customer = world.account_a1.customer
    other = account_open(customer=customer, premise=world.account_a1.premise, utility="gas",
                         customer_class="g_residential", actor=world.admin, unit=world.county_a2)
    account_change_status(account=other, to_status="awaiting_ignition", actor=world.admin, reason="内部原因")
    card = customer_card(user=world.agent_a1, pk=customer.pk)
    assert [a.number for a in card.accounts] == [world.account_a1.number]
    assert all(e.account_id == world.account_a1.pk for e in card.events)
    assert {a.number for a in customer_card(user=world.supervisor, pk=customer.pk).accounts} == {
        world.account_a1.number, other.number}


def test_address_search_is_scoped_before_it_is_capped(world):
    for i in range(3):
        make_account(unit=world.county_a2, name=f"外县{i}")
    result = customer_search(user=world.agent_a1, query="文三路")
    assert result.kind == "address" and [c.name for c in result.customers] == ["王小明"]


def test_coverage_ignores_deactivated_managers(world):
    account_assign_manager(account=world.account_a1, manager=world.manager_a1, actor=world.admin)
    Staff.objects.filter(pk=world.manager_a1.pk).update(is_active=False)
    rows = {r.unit.code: r for r in manager_coverage(user=world.supervisor)}
    assert rows["A1"].managed == 0
