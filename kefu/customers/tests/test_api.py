"""Customer API: scope for every endpoint, writes through the services, errors never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from kefu.core.models import AuditLog
from kefu.customers.api.serializers import CustomerLookupOutput, customer_lookup_rows
from kefu.customers.api.views import customer_lookup_qs
from kefu.customers.models import Account, Contact, Customer, Premise
from kefu.customers.services import account_assign_manager
from kefu.customers.tests.factories import make_account, valid_resident_id
from kefu.org.tests.apiclient import API, client_for, ids


def register_payload(world: Any, **over: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "unit": world.county_a1.pk,
        "customer": {"kind": "person", "name": "张新户", "id_type": "resident_id",
                     "id_number": valid_resident_id(777)},
        "premise": {"province": "浙江省", "city": "杭州市", "district": "西湖区", "street": "文三路",
                    "building": "5", "entrance": "2", "room": "301"},
        "account": {"utility": "power", "customer_class": "p_pub_residential"},
        "contacts": [{"name": "张新户", "phone": "139 0000 7777"}],
    }
    for part, value in over.items():
        if isinstance(value, dict) and isinstance(payload.get(part), dict):
            payload[part] = {**payload[part], **value}
        else:
            payload[part] = value
    return payload


def counts() -> tuple[int, int, int, int]:
    return (Customer.objects.count(), Premise.objects.count(), Account.objects.count(), Contact.objects.count())


# ------------------------------------------------------------------ scope, every endpoint

SCOPE = {
    "agent_a1": {"a1"},
    "supervisor": {"a1", "a2"},
    "outsider": {"b1"},
    "admin": {"a1", "a2", "b1"},
}


def _expected(world: Any, persona: str, key: str) -> set[int]:
    accounts = {"a1": world.account_a1, "a2": world.account_a2, "b1": world.account_b1}
    picks = {
        "customers": lambda a: a.customer_id,
        "accounts": lambda a: a.pk,
        "premises": lambda a: a.premise_id,
    }
    return {picks[key](accounts[k]) for k in SCOPE[persona]}


@pytest.mark.parametrize("persona", sorted(SCOPE))
@pytest.mark.parametrize("endpoint", ["customers", "accounts", "premises"])
def test_list_scope(world: Any, persona: str, endpoint: str) -> None:
    response = client_for(getattr(world, persona)).get(f"{API}/{endpoint}/")
    assert ids(response) == _expected(world, persona, endpoint)


@pytest.mark.parametrize("persona", sorted(SCOPE))
def test_detail_scope_is_404_outside(world: Any, persona: str) -> None:
    client = client_for(getattr(world, persona))
    for key, account in {"a1": world.account_a1, "a2": world.account_a2, "b1": world.account_b1}.items():
        contact = account.customer.contacts.first()
        urls = [f"{API}/customers/{account.customer_id}/", f"{API}/accounts/{account.pk}/",
                f"{API}/premises/{account.premise_id}/", f"{API}/contacts/{contact.pk}/"]
        for url in urls:
            expected = 200 if key in SCOPE[persona] else 404
            assert client.get(url).status_code == expected, (persona, url)


def test_out_of_scope_writes_are_404(world: Any) -> None:
    client = client_for(world.agent_a1)
    b1 = world.account_b1
    contact = b1.customer.contacts.first()
    assert client.patch(f"{API}/customers/{b1.customer_id}/", {"version": 1, "name": "X"},
                        format="json").status_code == 404
    assert client.post(f"{API}/accounts/{b1.pk}/status/", {"to_status": "closed"},
                       format="json").status_code == 404
    assert client.patch(f"{API}/premises/{b1.premise_id}/", {"room": "1"}, format="json").status_code == 404
    assert client.delete(f"{API}/contacts/{contact.pk}/").status_code == 404
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_anonymous_is_401(world: Any) -> None:
    response = APIClient().get(f"{API}/customers/")
    assert response.status_code == 401
    assert set(response.json()) == {"code", "detail"}


def test_session_auth_works(world: Any) -> None:
    client = APIClient()
    client.force_login(world.agent_a1)
    assert ids(client.get(f"{API}/customers/")) == {world.account_a1.customer_id}


# ------------------------------------------------------------------ customers


def test_customer_list_filters(world: Any) -> None:
    client = client_for(world.supervisor)
    assert ids(client.get(f"{API}/customers/", {"unit": world.county_a2.pk})) == {world.account_a2.customer_id}
    assert ids(client.get(f"{API}/customers/", {"unit": world.city_a.pk})) == {
        world.account_a1.customer_id, world.account_a2.customer_id}
    assert ids(client.get(f"{API}/customers/", {"kind": "organisation"})) == set()
    assert ids(client.get(f"{API}/customers/", {"q": "李大"})) == {world.account_a2.customer_id}
    assert ids(client.get(f"{API}/customers/", {"q": world.account_a1.number})) == {world.account_a1.customer_id}
    assert ids(client.get(f"{API}/customers/", {"q": "138 0000 2222"})) == {world.account_a2.customer_id}
    # Search never reaches past scope: the B1 customer's phone finds nothing here.
    assert ids(client.get(f"{API}/customers/", {"q": "13800003333"})) == set()


def test_customer_list_unit_outside_scope_is_400(world: Any) -> None:
    response = client_for(world.agent_a1).get(f"{API}/customers/", {"unit": world.county_b1.pk})
    assert response.status_code == 400
    assert "unit" in response.json()["errors"]
    assert client_for(world.agent_a1).get(f"{API}/customers/", {"kind": "alien"}).status_code == 400


def test_customer_list_masks_id_numbers(world: Any) -> None:
    rows = client_for(world.agent_a1).get(f"{API}/customers/").json()["results"]
    assert "*" in rows[0]["id_number"]
    assert rows[0]["kind_label"]


def test_customer_detail_full_for_personal_data_and_audited(world: Any) -> None:
    customer = world.account_a1.customer
    data = client_for(world.agent_a1).get(f"{API}/customers/{customer.pk}/").json()
    assert data["personal_data_visible"] is True
    assert data["id_number"] == customer.id_number
    assert data["contacts"][0]["phone"] == "+8613800001111"
    assert data["accounts"][0]["number"] == world.account_a1.number
    assert data["accounts"][0]["status"] == "active"
    assert data["accounts"][0]["status_label"]
    assert AuditLog.objects.filter(action=AuditLog.Action.VIEW_PERSONAL, actor=world.agent_a1,
                                   object_id=customer.pk).exists()


def test_customer_detail_masked_without_personal_data(world: Any) -> None:
    customer = world.account_a1.customer
    data = client_for(world.crew_a1).get(f"{API}/customers/{customer.pk}/").json()
    assert data["personal_data_visible"] is False
    assert data["contacts"][0]["phone"] == "138****1111"
    assert data["contacts"][0]["phone_masked"] is True
    assert data["id_number"] != customer.id_number and "*" in data["id_number"]
    assert not AuditLog.objects.filter(action=AuditLog.Action.VIEW_PERSONAL).exists()


def test_customer_register(world: Any) -> None:
    response = client_for(world.agent_a1).post(f"{API}/customers/", register_payload(world), format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["name"] == "张新户"
    assert data["unit"]["id"] == world.county_a1.pk
    assert len(data["accounts"]) == 1 and data["accounts"][0]["status"] == "active"
    assert data["contacts"][0]["phone"] == "+8613900007777"
    assert data["contacts"][0]["is_primary"] is True


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"contacts": [{"name": "张", "phone": "12345"}]}, "contacts.0.phone"),
        ({"contacts": [{"name": "张", "phone": "13900007777"}, {"name": "李", "phone": "abc"}]},
         "contacts.1.phone"),
        ({"customer": {"id_number": "330106198001010011"}}, "customer.id_number"),
        ({"customer": {"id_number": "12345"}}, "customer.id_number"),
        ({"customer": {"kind": "alien"}}, "customer.kind"),
        ({"customer": {"name": "名" * 101}}, "customer.name"),
        ({"premise": {"city": ""}}, "premise.city"),
        ({"account": {"customer_class": "g_residential"}}, "account.customer_class"),
        ({"account": {"opened_on": "yesterday"}}, "account.opened_on"),
        ({"unit": 999999}, "unit"),
        ({"unit": "abc"}, "unit"),
        ({"unit": 10**30}, "unit"),
        ({"unit": 1.5}, "unit"),
        ({"unit": None}, "unit"),
        ({"contacts": "13900007777"}, "contacts"),
        ({"contacts": []}, "contacts.0.phone"),
    ],
)
def test_customer_register_rejects_bad_input(world: Any, override: dict[str, Any], field: str) -> None:
    before = counts()
    response = client_for(world.agent_a1).post(f"{API}/customers/", register_payload(world, **override),
                                               format="json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid"
    assert field in body["errors"], body
    assert body["detail"]
    assert counts() == before


def test_customer_register_unit_outside_scope(world: Any) -> None:
    before = counts()
    response = client_for(world.agent_a1).post(
        f"{API}/customers/", register_payload(world, unit=world.county_b1.pk), format="json")
    assert response.status_code == 400
    assert "unit" in response.json()["errors"]
    assert counts() == before


def test_customer_register_duplicate_account_number(world: Any) -> None:
    before = counts()
    response = client_for(world.agent_a1).post(
        f"{API}/customers/", register_payload(world, account={"number": world.account_a1.number}), format="json")
    assert response.status_code == 400
    assert "account.number" in response.json()["errors"]
    assert counts() == before


def test_customer_register_needs_edit_capability(world: Any) -> None:
    before = counts()
    response = client_for(world.crew_a1).post(f"{API}/customers/", register_payload(world), format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    assert counts() == before


def test_customer_update_with_version(world: Any) -> None:
    customer = world.account_a1.customer
    client = client_for(world.agent_a1)
    response = client.patch(f"{API}/customers/{customer.pk}/", {"version": customer.version, "name": "王晓明"},
                            format="json")
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "王晓明"
    assert response.json()["version"] == customer.version + 1
    stale = client.patch(f"{API}/customers/{customer.pk}/", {"version": customer.version, "name": "王三"},
                         format="json")
    assert stale.status_code == 409
    assert stale.json()["code"] == "conflict"
    assert Customer.objects.get(pk=customer.pk).name == "王晓明"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "王"}, "version"),
        ({"version": "one", "name": "王"}, "version"),
        ({"version": 1, "name": ""}, "name"),
        ({"version": 1, "id_number": "330106198001010011"}, "id_number"),
        ({"version": 1, "unit": 10**20}, "unit"),
        ({"version": 1, "note": "x" * 501}, "note"),
        ({"version": 1, "kind": "organisation"}, "id_type"),
        ({"version": 1, "name": ["a", "b"]}, "name"),
    ],
)
def test_customer_update_rejects_bad_input(world: Any, body: dict[str, Any], field: str) -> None:
    customer = world.account_a1.customer
    response = client_for(world.agent_a1).patch(f"{API}/customers/{customer.pk}/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert Customer.objects.get(pk=customer.pk).name == customer.name


def test_customer_update_unit_outside_scope(world: Any) -> None:
    customer = world.account_a1.customer
    response = client_for(world.agent_a1).patch(
        f"{API}/customers/{customer.pk}/", {"version": 1, "unit": world.county_a2.pk}, format="json")
    assert response.status_code == 400
    assert "unit" in response.json()["errors"]


def test_put_is_not_allowed(world: Any) -> None:
    customer = world.account_a1.customer
    response = client_for(world.agent_a1).put(f"{API}/customers/{customer.pk}/", {}, format="json")
    assert response.status_code == 405


# ------------------------------------------------------------------ lookup


def test_lookup_by_phone_any_spelling(world: Any) -> None:
    client = client_for(world.agent_a1)
    response = client.get(f"{API}/customers/lookup/", {"phone": "+86 138-0000-1111"})
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [r["id"] for r in rows] == [world.account_a1.customer_id]
    assert rows[0]["accounts"][0]["number"] == world.account_a1.number
    # The same phone elsewhere in the tree is not found by this agent.
    assert client.get(f"{API}/customers/lookup/", {"phone": "13800003333"}).json()["results"] == []


def test_lookup_by_account(world: Any) -> None:
    client = client_for(world.outsider)
    number = world.account_b1.number
    spaced = f"{number[:4]} {number[4:]}"
    assert [r["id"] for r in client.get(f"{API}/customers/lookup/", {"account": spaced}).json()["results"]] == [
        world.account_b1.customer_id]
    assert client.get(f"{API}/customers/lookup/", {"account": world.account_a1.number}).json()["results"] == []


@pytest.mark.parametrize("params", [{}, {"phone": "hello"}, {"phone": "1" * 5000},
                                    {"phone": "13800001111", "account": "1"}])
def test_lookup_bad_input_is_400(world: Any, params: dict[str, str]) -> None:
    response = client_for(world.agent_a1).get(f"{API}/customers/lookup/", params)
    assert response.status_code == 400
    assert "phone" in response.json()["errors"]


# ------------------------------------------------------------------ accounts


def test_account_filters(world: Any) -> None:
    client = client_for(world.admin)
    assert ids(client.get(f"{API}/accounts/", {"utility": "gas"})) == {world.account_b1.pk}
    assert ids(client.get(f"{API}/accounts/", {"number": world.account_a2.number})) == {world.account_a2.pk}
    assert ids(client.get(f"{API}/accounts/", {"status": "registered"})) == {world.account_b1.pk}
    assert ids(client.get(f"{API}/accounts/", {"unit": world.city_a.pk})) == {world.account_a1.pk,
                                                                              world.account_a2.pk}
    assert ids(client.get(f"{API}/accounts/", {"customer": world.account_a1.customer_id})) == {world.account_a1.pk}
    assert ids(client.get(f"{API}/accounts/", {"has_manager": "true"})) == set()
    for bad in ({"manager": "x"}, {"manager": str(10**30)}, {"customer": "-1"}, {"status": "nope"},
                {"number": "9" * 50}):
        response = client.get(f"{API}/accounts/", bad)
        assert response.status_code == 400, bad
        assert next(iter(bad)) in response.json()["errors"]


def test_account_detail_has_labels_and_next_statuses(world: Any) -> None:
    data = client_for(world.agent_a1).get(f"{API}/accounts/{world.account_a1.pk}/").json()
    assert data["status"] == "active"
    assert data["utility_label"] and data["customer_class_label"] and data["importance_label"]
    assert {s["status"] for s in data["allowed_statuses"]} == {"suspended", "closed"}
    assert data["customer"]["id"] == world.account_a1.customer_id
    assert data["service_point"]


def test_account_open_for_existing_customer(world: Any) -> None:
    a1 = world.account_a1
    response = client_for(world.agent_a1).post(
        f"{API}/accounts/",
        {"customer": a1.customer_id, "premise": a1.premise_id, "utility": "gas", "customer_class": "g_residential"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "registered"
    assert response.json()["unit"]["id"] == world.county_a1.pk


def test_account_open_rejects_other_units_records(world: Any) -> None:
    b1 = world.account_b1
    before = counts()
    response = client_for(world.agent_a1).post(
        f"{API}/accounts/",
        {"customer": b1.customer_id, "premise": b1.premise_id, "utility": "gas", "customer_class": "g_residential"},
        format="json",
    )
    assert response.status_code == 400
    assert {"customer", "premise"} <= set(response.json()["errors"])
    assert counts() == before


def test_account_status_change_and_illegal_transition(world: Any) -> None:
    client = client_for(world.manager_a1)
    url = f"{API}/accounts/{world.account_a1.pk}/status/"
    response = client.post(url, {"to_status": "suspended", "reason": "customer request"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "suspended"
    assert response.json()["status_label"]
    client.post(url, {"to_status": "closed"}, format="json")
    illegal = client.post(url, {"to_status": "active"}, format="json")
    assert illegal.status_code == 409
    body = illegal.json()
    assert body["code"] == "illegal_transition"
    assert world.account_a1.number in body["detail"]
    assert Account.objects.get(pk=world.account_a1.pk).status == "closed"


def test_account_status_gas_illegal_transition(world: Any) -> None:
    response = client_for(world.admin).post(f"{API}/accounts/{world.account_b1.pk}/status/",
                                            {"to_status": "gas_on"}, format="json")
    assert response.status_code == 409


def test_account_status_needs_capability_and_valid_input(world: Any) -> None:
    url = f"{API}/accounts/{world.account_a1.pk}/status/"
    assert client_for(world.agent_a1).post(url, {"to_status": "suspended"}, format="json").status_code == 403
    client = client_for(world.manager_a1)
    assert "to_status" in client.post(url, {"to_status": "gone"}, format="json").json()["errors"]
    assert "reason" in client.post(url, {"to_status": "suspended", "reason": "r" * 201},
                                   format="json").json()["errors"]
    assert Account.objects.get(pk=world.account_a1.pk).status == "active"


def test_account_assign_manager(world: Any) -> None:
    url = f"{API}/accounts/{world.account_a1.pk}/manager/"
    client = client_for(world.supervisor)
    response = client.post(url, {"manager": world.manager_a1.pk, "reason": "new area"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["manager"] == {"id": world.manager_a1.pk, "name": world.manager_a1.display_name()}
    assert ids(client.get(f"{API}/accounts/", {"manager": world.manager_a1.pk})) == {world.account_a1.pk}
    assert client.post(url, {"manager": None}, format="json").json()["manager"] is None


def test_account_assign_manager_refusals(world: Any) -> None:
    url = f"{API}/accounts/{world.account_a1.pk}/manager/"
    assert client_for(world.agent_a1).post(url, {"manager": world.manager_a1.pk},
                                           format="json").status_code == 403
    client = client_for(world.supervisor)
    not_manager = client.post(url, {"manager": world.agent_a1.pk}, format="json")
    assert not_manager.status_code == 400 and "manager" in not_manager.json()["errors"]
    unknown = client.post(url, {"manager": 10**12}, format="json")
    assert unknown.status_code == 400 and "manager" in unknown.json()["errors"]
    assert Account.objects.get(pk=world.account_a1.pk).manager_id is None


# ------------------------------------------------------------------ premises and contacts


def test_premise_create_and_update(world: Any) -> None:
    client = client_for(world.agent_a1)
    response = client.post(f"{API}/premises/", {"unit": world.county_a1.pk, "province": "浙江省",
                                                "city": "杭州市", "district": "余杭区", "building": "8"},
                           format="json")
    assert response.status_code == 201, response.content
    premise = response.json()
    assert premise["address"].startswith("浙江省杭州市余杭区")
    assert premise["region_class_label"]
    updated = client.patch(f"{API}/premises/{premise['id']}/", {"room": "502"}, format="json")
    assert updated.status_code == 200
    assert updated.json()["address"].endswith("502室")
    assert client.patch(f"{API}/premises/{premise['id']}/", {"city": ""}, format="json").status_code == 400
    assert ids(client.get(f"{API}/premises/", {"q": "余杭 8栋"})) == {premise["id"]}


def test_premise_create_rejects_unknown_unit_and_long_text(world: Any) -> None:
    client = client_for(world.agent_a1)
    base = {"unit": world.county_a1.pk, "province": "浙江省", "city": "杭州市", "district": "余杭区"}
    before = Premise.objects.count()
    assert "unit" in client.post(f"{API}/premises/", {**base, "unit": world.county_a2.pk},
                                 format="json").json()["errors"]
    assert "detail" in client.post(f"{API}/premises/", {**base, "detail": "路" * 10_000},
                                   format="json").json()["errors"]
    assert Premise.objects.count() == before


def test_contact_create_update_delete(world: Any) -> None:
    client = client_for(world.agent_a1)
    customer_id = world.account_a1.customer_id
    response = client.post(f"{API}/contacts/", {"customer": customer_id, "name": "王妻", "relation": "family",
                                                "phone": "0571-8765 4321"}, format="json")
    assert response.status_code == 201, response.content
    contact = response.json()
    assert contact["phone"] == "+8657187654321"
    assert contact["phone_kind"] == "landline" and contact["relation_label"]
    updated = client.patch(f"{API}/contacts/{contact['id']}/", {"phone": "13900001234", "is_primary": True},
                           format="json")
    assert updated.status_code == 200
    assert updated.json()["phone"] == "+8613900001234" and updated.json()["is_primary"] is True
    bad = client.patch(f"{API}/contacts/{contact['id']}/", {"phone": "000"}, format="json")
    assert bad.status_code == 400 and "phone" in bad.json()["errors"]
    assert client.delete(f"{API}/contacts/{contact['id']}/").status_code == 204
    assert not Contact.objects.filter(pk=contact["id"]).exists()


def test_contact_refusals(world: Any) -> None:
    client = client_for(world.agent_a1)
    other = client.post(f"{API}/contacts/", {"customer": world.account_b1.customer_id, "name": "某",
                                             "phone": "13900001234"}, format="json")
    assert other.status_code == 400 and "customer" in other.json()["errors"]
    contact = world.account_a1.customer.contacts.first()
    assert client_for(world.crew_a1).delete(f"{API}/contacts/{contact.pk}/").status_code == 403
    assert client_for(world.crew_a1).get(f"{API}/contacts/{contact.pk}/").json()["phone"] == "138****1111"


@pytest.mark.parametrize("endpoint", ["customers", "accounts", "premises"])
def test_list_query_count_does_not_grow_with_rows(world: Any, endpoint: str,
                                                  django_assert_max_num_queries: Any) -> None:
    client = client_for(world.admin)
    client.get(f"{API}/{endpoint}/")  # warm caches (roles, capabilities)
    for _ in range(6):
        make_account(unit=world.county_a1)
    with django_assert_max_num_queries(3):
        response = client.get(f"{API}/{endpoint}/")
    assert len(response.json()["results"]) >= 9


def test_customer_detail_query_count(world: Any, django_assert_max_num_queries: Any) -> None:
    customer = world.account_a1.customer
    for _ in range(3):
        make_account(unit=world.county_a1)
    client = client_for(world.agent_a1)
    # roles, customer, accounts, contacts, audit row: the same whatever the number of accounts.
    with django_assert_max_num_queries(6):
        assert client.get(f"{API}/customers/{customer.pk}/").status_code == 200


def test_lookup_refuses_non_digit_account_numbers(world):
    response = client_for(world.agent_a1).get(f"{API}/customers/lookup/", {"account": "\x00"})
    assert response.status_code == 400
    assert "account" in response.json()["errors"]


def test_hand_built_lookup_rows_match_the_documented_serializer(world):
    account_assign_manager(account=world.account_a1, manager=world.manager_a1, actor=world.admin)
    rows = list(customer_lookup_qs(world.admin).order_by("id"))
    assert customer_lookup_rows(rows) == CustomerLookupOutput(rows, many=True).data
    response = client_for(world.agent_a1).get(f"{API}/customers/lookup/", {"phone": "13800001111"})
    assert response.json()["results"][0]["accounts"][0]["manager"]["name"] == world.manager_a1.display_name()


def test_patch_account_changes_class_with_an_event(world):
    url = f"{API}/accounts/{world.account_a1.pk}/"
    response = client_for(world.agent_a1).patch(url, {"importance": "grade2"}, format="json")
    assert response.status_code == 200 and response.json()["importance"] == "grade2"
    assert world.account_a1.events.filter(kind="updated").count() == 1
    wrong = client_for(world.agent_a1).patch(url, {"customer_class": "g_heating"}, format="json")
    assert wrong.status_code == 400 and "customer_class" in wrong.json()["errors"]
    assert client_for(world.agent_a2).patch(url, {"importance": "normal"}, format="json").status_code == 404
