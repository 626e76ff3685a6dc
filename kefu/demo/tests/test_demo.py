"""``kefu demo`` on the test database: complete, valid, deterministic and idempotent.

transaction=True: the loader commits chunk by chunk (COPY on PostgreSQL) like a real run.
"""

from __future__ import annotations

from collections import Counter
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from kefu.core.models import NumberSequence
from kefu.core.validators import luhn_valid, parse_phone, validate_resident_id, validate_uscc
from kefu.customers.choices import CLASS_UTILITY, INITIAL_STATUS, STATUS_TRANSITIONS, CustomerKind
from kefu.customers.models import Account, AccountEvent, Contact, Customer, Premise, ServicePoint
from kefu.customers.services import ACCOUNT_SEQUENCE_KEY, account_number_valid, customer_create
from kefu.demo.generate import FIELDS, STATUS_PATHS, Numbers
from kefu.demo.loader import MARKER_KEY
from kefu.demo.orgplan import ADMIN_USERNAME, DEMO_PASSWORD, POWER_ROOT_CODE, login_rows
from kefu.org.choices import MANAGER_ROLES, Role
from kefu.org.models import OrgUnit, Staff, StaffRole

pytestmark = pytest.mark.django_db(transaction=True)
TABLES = (Customer, Premise, ServicePoint, Account, Contact, AccountEvent, Staff, OrgUnit)


@pytest.fixture(autouse=True)
def fast_hasher(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def demo(*args: str) -> str:
    out = StringIO()
    call_command("demo", "--no-progress", *args, stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in TABLES}


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Everything a person sees, without ids and load timestamps."""
    return {
        "customers": sorted(Customer.objects.values_list("name", "kind", "id_type", "id_number", "unit__code")),
        "accounts": sorted(Account.objects.values_list(
            "number", "customer__id_number", "utility", "customer_class", "importance", "status", "opened_on",
            "status_changed_at", "premise__address", "manager__username", "service_point__code")),
        "contacts": sorted(Contact.objects.values_list(
            "customer__id_number", "name", "relation", "phone", "phone_kind", "extension", "is_primary")),
        "events": sorted(AccountEvent.objects.values_list("account__number", "kind", "from_status", "to_status",
                                                          "reason", "at")),
        "staff": sorted(Staff.objects.values_list("username", "full_name", "unit__code", "extension", "phone")),
    }


def test_small_load_is_complete_and_valid() -> None:
    out = demo("--customers", "300", "--seed", "7")
    assert "Loaded 300 demo customers" in out
    assert DEMO_PASSWORD in out and "agent1" in out and ADMIN_USERNAME in out
    assert Customer.objects.count() == 300

    # Staff in every role; every printed login works with the shared password.
    assert set(StaffRole.objects.values_list("role", flat=True)) == set(Role.values)
    rows = login_rows()
    assert {r[0] for r in rows} >= {ADMIN_USERNAME, "agent1", "gas_inspector1"}
    for username, _role, _unit in rows:
        assert authenticate(username=username, password=DEMO_PASSWORD) is not None, username
    admin = Staff.objects.get(username=ADMIN_USERNAME)
    assert admin.is_superuser and admin.unit is not None and admin.unit.code == POWER_ROOT_CODE
    assert Staff.objects.get(username="agent1").extension == "8001"
    # People sign in with the demo password; the telephone system's account signs in with its token only.
    people = Staff.objects.exclude(roles__role=Role.TELEPHONY)
    assert all(s.check_password(DEMO_PASSWORD) for s in people)

    # Identity numbers pass their check characters.
    for kind, number in Customer.objects.values_list("kind", "id_number"):
        if kind == CustomerKind.PERSON:
            assert validate_resident_id(number) == number
        else:
            assert validate_uscc(number) == number
    assert Counter(Customer.objects.values_list("kind", flat=True))[CustomerKind.PERSON] > 200

    # Phones are stored the way the phone parser stores them.
    for phone, kind in Contact.objects.values_list("phone", "phone_kind"):
        parsed = parse_phone(phone)
        assert (parsed.e164, parsed.kind) == (phone, kind)
    shared = Counter(p for p, _c in set(Contact.objects.values_list("phone", "customer_id")))
    assert max(shared.values()) >= 2, "some family accounts share a phone number"

    # Accounts: unique Luhn numbers, matching service points, consistent units and classes.
    numbers = list(Account.objects.values_list("number", flat=True))
    assert len(numbers) == len(set(numbers)) >= 300
    assert all(luhn_valid(n) and account_number_valid(n) for n in numbers)
    for a in Account.objects.select_related("premise", "customer", "service_point", "manager__unit", "unit"):
        assert CLASS_UTILITY[a.customer_class] == a.utility
        assert a.service_point is not None
        assert a.service_point.code == f"SP{a.number}" and a.service_point.premise_id == a.premise_id
        assert a.unit_id == a.premise.unit_id == a.customer.unit_id
        assert a.premise.address == a.premise.compose_address()
        if a.manager is not None:
            assert a.manager.has_role(*MANAGER_ROLES)
            assert a.manager.unit is not None and a.unit.path.startswith(a.manager.unit.path)
    managed = Account.objects.filter(manager__isnull=False).count()
    assert 0 < managed < len(numbers), "coverage is partial"
    assert {a.utility for a in Account.objects.all()} == {"power", "gas"}

    # Every account has its opened event and a status history that follows the transition table.
    for a in Account.objects.prefetch_related("events"):
        events = sorted(a.events.all(), key=lambda e: (e.at, e.id))
        assert events[0].kind == "opened" and events[0].to_status == INITIAL_STATUS[a.utility]
        for e in events[1:]:
            assert e.to_status in STATUS_TRANSITIONS[a.utility][e.from_status]
        assert events[-1].to_status == a.status

    # Numbers handed out after the demo do not collide with it.
    for utility, prefix in (("power", "1"), ("gas", "2")):
        top = max(int(n[1:9]) for n in numbers if n[0] == prefix)
        assert NumberSequence.objects.get(key=ACCOUNT_SEQUENCE_KEY.format(utility=utility)).last_value >= top
    unit = OrgUnit.objects.get(code="ZJDL-HZ-XH-WX")
    customer_create(kind="person", name="新客户", id_type="passport", id_number="E12345678", unit=unit, actor=None)


def test_same_seed_gives_the_same_data() -> None:
    demo("--customers", "300", "--seed", "7")
    first = snapshot()
    demo("--customers", "300", "--seed", "7", "--reset")
    assert snapshot() == first
    demo("--customers", "300", "--seed", "8", "--reset")
    assert snapshot()["customers"] != first["customers"]


def test_second_run_does_not_duplicate() -> None:
    demo("--customers", "300")
    before = counts()
    out = demo("--customers", "300")
    assert counts() == before
    assert "already loaded" in out and "agent1" in out
    out = demo("--customers", "500")
    assert counts() == before and "--reset" in out


def test_interrupted_load_is_loaded_again() -> None:
    demo("--customers", "300")
    before = counts()
    NumberSequence.objects.filter(key=MARKER_KEY).delete()  # as if the run had died before the end
    demo("--customers", "300")
    assert counts() == before
    assert NumberSequence.objects.get(key=MARKER_KEY).last_value == 300


def test_reset_keeps_other_data() -> None:
    unit = OrgUnit.objects.create(name="别的单位", code="OTHER", path="999999.", depth=0)
    outsider = Customer.objects.create(kind="person", name="外人", id_type="passport", id_number="E1", unit=unit)
    demo("--customers", "100")
    demo("--customers", "100", "--reset")
    assert Customer.objects.filter(pk=outsider.pk).exists()
    assert Customer.objects.count() == 101


def test_row_layout_matches_the_models() -> None:
    for model, names in FIELDS.items():
        assert names == tuple(f.attname for f in model._meta.concrete_fields), model.__name__


def test_status_paths_follow_the_transition_table() -> None:
    for utility, paths in STATUS_PATHS.items():
        for path, _weight in paths:
            status = INITIAL_STATUS[utility]
            for target in path:
                assert target in STATUS_TRANSITIONS[utility][status], (utility, path)
                status = target


def test_generated_numbers_are_unique_and_valid() -> None:
    numbers = Numbers(seed=3)
    mobiles = {numbers.mobile_e164(g, slot) for g in range(20_000) for slot in (0, 1)}
    landlines = {numbers.landline_e164(g, slot, "0571") for g in range(20_000) for slot in (0, 1)}
    ids = {numbers.resident_id(g, "330106")[0] for g in range(20_000)}
    codes = {numbers.uscc(g, "330106", institution=False) for g in range(20_000)}
    assert len(mobiles) == len(landlines) == 40_000 and len(ids) == len(codes) == 20_000
    for g in range(0, 20_000, 997):
        assert parse_phone(numbers.mobile_e164(g, 0)).kind == "mobile"
        assert parse_phone(numbers.landline_e164(g, 1, "0574")).kind == "landline"
        validate_resident_id(numbers.resident_id(g, "330106")[0])
        validate_uscc(numbers.uscc(g, "330212", institution=True))
