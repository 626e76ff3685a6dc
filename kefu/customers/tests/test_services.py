from __future__ import annotations

import pytest

from kefu.core.errors import Conflict, IllegalTransition, InvalidInput, PermissionDeniedError
from kefu.core.models import FieldChange, NumberSequence
from kefu.core.validators import luhn_valid
from kefu.customers.choices import STATUS_TRANSITIONS, AccountStatus
from kefu.customers.models import Account, AccountEvent, Contact, Customer, Premise
from kefu.customers.services import (
    ContactInput,
    account_assign_manager,
    account_change_status,
    account_number_make,
    account_open,
    account_update,
    contact_add,
    contact_update,
    customer_register,
    customer_update,
    premise_update,
)
from kefu.customers.tests.factories import make_account, valid_resident_id
from kefu.org.tests.factories import make_staff

PREMISE = {"province": "浙江省", "city": "杭州市", "district": "上城区", "street": "解放路", "building": "5",
           "entrance": "2", "room": "302"}


def register(world, **over):
    args = {
        "actor": world.agent_a1,
        "unit": world.county_a1,
        "customer": {"kind": "person", "name": "陈静", "id_type": "resident_id", "id_number": valid_resident_id(77)},
        "premise": dict(PREMISE),
        "account": {"utility": "power", "customer_class": "p_pub_residential"},
        "contacts": [ContactInput(name="陈静", phone="13912340000")],
    }
    args.update(over)
    return customer_register(**args)


def test_register_issues_a_checked_account_number_and_composes_the_address(world):
    account = register(world)
    assert len(account.number) == 10 and account.number[0] == "1" and luhn_valid(account.number)
    assert account.premise.address == "浙江省杭州市上城区解放路5栋2单元302室"
    assert account.status == AccountStatus.ACTIVE
    assert account.service_point.code == f"SP{account.number}"
    assert account.events.get().kind == "opened"
    assert account.customer.contacts.get().is_primary


def test_register_reports_every_bad_part_and_saves_nothing(world):
    before = (Customer.objects.count(), Premise.objects.count(), Account.objects.count(), Contact.objects.count())
    with pytest.raises(InvalidInput) as info:
        register(
            world,
            customer={"kind": "person", "name": "陈静", "id_type": "resident_id", "id_number": "110105194912310021"},
            premise={**PREMISE, "city": ""},
            contacts=[ContactInput(name="陈静", phone="12345")],
        )
    errors = info.value.errors
    assert "customer.id_number" in errors
    assert "premise.city" in errors
    assert "contacts.0.phone" in errors
    after = (Customer.objects.count(), Premise.objects.count(), Account.objects.count(), Contact.objects.count())
    assert after == before


def test_duplicate_account_number_is_refused_by_field(world):
    with pytest.raises(InvalidInput) as info:
        register(world, account={"utility": "power", "customer_class": "p_pub_residential",
                                 "number": world.account_a1.number})
    assert "account.number" in info.value.errors
    assert Customer.objects.filter(name="陈静").count() == 0


def test_oversized_fields_name_the_field(world):
    with pytest.raises(InvalidInput) as info:
        register(world, customer={"kind": "person", "name": "长" * 101, "id_type": "resident_id",
                                  "id_number": valid_resident_id(3)})
    assert "customer.name" in info.value.errors


def test_class_must_match_utility(world):
    with pytest.raises(InvalidInput) as info:
        register(world, account={"utility": "gas", "customer_class": "p_pub_residential"})
    assert "account.customer_class" in info.value.errors


def test_organisation_needs_a_credit_code(world):
    with pytest.raises(InvalidInput) as info:
        register(world, customer={"kind": "organisation", "name": "某某公司", "id_type": "resident_id",
                                  "id_number": valid_resident_id(5)})
    assert "customer.id_type" in info.value.errors


def test_unknown_unit_is_refused(world):
    with pytest.raises(InvalidInput) as info:
        register(world, unit=world.county_b1)
    assert "customer.unit" in info.value.errors


def test_crew_may_not_register_customers(world):
    with pytest.raises(PermissionDeniedError):
        register(world, actor=world.crew_a1)


def test_account_numbers_keep_counting_per_utility(world):
    gas1 = make_account(unit=world.county_b1, utility="gas")
    gas2 = make_account(unit=world.county_b1, utility="gas")
    assert gas1.number[0] == gas2.number[0] == "2"
    assert int(gas2.number[1:9]) == int(gas1.number[1:9]) + 1
    assert NumberSequence.objects.get(key="account:gas").last_value >= 3


@pytest.mark.parametrize(
    ("path", "legal"),
    [
        (["awaiting_ignition", "gas_on", "vacant", "gas_on", "sealed", "gas_on"], True),
        (["awaiting_ignition", "gas_on", "suspended", "removed", "awaiting_ignition"], True),
        (["gas_on"], False),  # registered cannot skip ignition
        (["awaiting_ignition", "gas_on", "closed"], False),  # close only after removal
    ],
)
def test_gas_status_lifecycle(world, path, legal):
    account = world.account_b1
    actor = world.admin
    if legal:
        for status in path:
            account = account_change_status(account=account, to_status=status, actor=actor, reason="测试")
        assert account.status == path[-1]
        statuses = list(account.events.filter(kind="status").order_by("id").values_list("to_status", flat=True))
        assert statuses == path
    else:
        with pytest.raises(IllegalTransition) as info:
            for status in path:
                account = account_change_status(account=account, to_status=status, actor=actor)
        assert info.value.field == "to_status"
        assert account.number in str(info.value)  # the message names the account


def test_every_status_reachable_only_through_the_table(world):
    for utility, table in STATUS_TRANSITIONS.items():
        for src, targets in table.items():
            assert src not in targets, f"{utility}: {src} loops to itself"
            for dst in targets:
                assert dst in table, f"{utility}: {dst} has no row of its own"


def test_power_closed_is_final(world):
    account = account_change_status(account=world.account_a1, to_status="closed", actor=world.admin)
    with pytest.raises(IllegalTransition):
        account_change_status(account=account, to_status="active", actor=world.admin)


def test_concurrent_status_change_loses_with_a_conflict(world):
    stale = Account.objects.get(pk=world.account_a1.pk)
    account_change_status(account=world.account_a1, to_status="suspended", actor=world.admin)
    with pytest.raises(Conflict):
        account_change_status(account=stale, to_status="closed", actor=world.admin)
    assert AccountEvent.objects.filter(account=stale, kind="status").count() == 1


def test_status_change_needs_the_role(world):
    with pytest.raises(PermissionDeniedError):
        account_change_status(account=world.account_a1, to_status="suspended", actor=world.agent_a1)


def test_customer_update_keeps_field_history_and_detects_stale_version(world):
    customer = world.account_a1.customer
    updated = customer_update(customer=customer, actor=world.agent_a1, version=customer.version, name="王晓明")
    change = FieldChange.objects.get(model="customers.customer", object_id=customer.pk, field="name")
    assert (change.old_value, change.new_value, change.actor) == ("王小明", "王晓明", world.agent_a1)
    with pytest.raises(Conflict):
        customer_update(customer=customer, actor=world.agent_a1, version=customer.version, name="王三")
    assert Customer.objects.get(pk=customer.pk).name == "王晓明" and updated.version == customer.version + 1


def test_premise_update_recomposes_address_with_history(world):
    premise = world.account_a1.premise
    premise_update(premise=premise, actor=world.agent_a1, room="808")
    premise.refresh_from_db()
    assert premise.address.endswith("808室")
    assert FieldChange.objects.filter(model="customers.premise", object_id=premise.pk, field="room").exists()


def test_account_update_writes_event_with_changed_fields(world):
    account = account_update(account=world.account_a1, actor=world.agent_a1, importance="grade1")
    event = account.events.filter(kind="updated").get()
    assert event.data == {"importance": ["normal", "grade1"]}


def test_manager_assignment_rules(world):
    account = world.account_a1
    with pytest.raises(InvalidInput):  # an agent is not a customer manager
        account_assign_manager(account=account, manager=world.agent_a1, actor=world.admin)
    account_assign_manager(account=account, manager=world.manager_a1, actor=world.admin, reason="新台区")
    account.refresh_from_db()
    assert account.manager == world.manager_a1
    assert account.events.filter(kind="manager").get().data == {"from": None, "to": world.manager_a1.pk}
    with pytest.raises(InvalidInput):  # a manager of A1 cannot own an account of A2
        account_assign_manager(account=world.account_a2, manager=world.manager_a1, actor=world.admin)


def test_contacts_normalise_phone_and_keep_one_primary(world):
    customer = world.account_a1.customer
    second = contact_add(customer=customer, actor=world.agent_a1, name="物业", phone="0571-8765 4321转8",
                         relation="property", is_primary=True)
    assert (second.phone, second.phone_kind, second.extension) == ("+8657187654321", "landline", "8")
    assert customer.contacts.filter(is_primary=True).get() == second
    with pytest.raises(InvalidInput) as info:
        contact_update(contact=second, actor=world.agent_a1, phone="0571-123")
    assert "phone" in info.value.errors


def test_account_open_for_existing_customer_with_legacy_number(world):
    customer = world.account_a1.customer
    gas = account_open(customer=customer, premise=world.account_a1.premise, utility="gas",
                       customer_class="g_residential", actor=world.admin, number="880012345")
    assert gas.number == "880012345" and gas.status == "registered"
    with pytest.raises(InvalidInput) as info:
        account_open(customer=customer, premise=world.account_a1.premise, utility="gas",
                     customer_class="g_residential", actor=world.admin, number="88A")
    assert "number" in info.value.errors


def test_issued_format_numbers_cannot_be_typed_in_and_the_sequence_skips_taken_ones(world):
    customer, premise = world.account_a1.customer, world.account_a1.premise
    last = NumberSequence.objects.get(key="account:power").last_value
    future = account_number_make(utility="power", seq=last + 1)
    with pytest.raises(InvalidInput) as info:
        account_open(customer=customer, premise=premise, utility="power", customer_class="p_pub_residential",
                     actor=world.admin, number=future)
    assert "number" in info.value.errors
    # A bulk load may have taken the next number anyway: issuing steps over it.
    Account.objects.filter(pk=world.account_a2.pk).update(number=future)
    fresh = account_open(customer=customer, premise=premise, utility="power", customer_class="p_pub_residential",
                         actor=world.admin)
    assert fresh.number == account_number_make(utility="power", seq=last + 2)


def test_manager_assignment_from_a_stale_page_is_a_conflict(world):
    stale = Account.objects.get(pk=world.account_a1.pk)
    account_assign_manager(account=world.account_a1, manager=world.manager_a1, actor=world.admin)
    second = make_staff("manager_a1b", unit=world.county_a1, roles=["manager_part"])
    with pytest.raises(Conflict):
        account_assign_manager(account=stale, manager=second, actor=world.admin)
    assert Account.objects.get(pk=stale.pk).manager == world.manager_a1
