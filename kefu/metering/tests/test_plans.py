"""Routes and monthly reading plans: which meters a reader is sent to (the gas rule of guide §2.3),
in walking order, inside the reading window; a plan made twice is the same plan."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import translation

from kefu.core.errors import IllegalTransition, InvalidInput, NotFoundError, PermissionDeniedError
from kefu.customers.models import Account
from kefu.customers.services import account_change_status
from kefu.customers.tests.factories import make_account
from kefu.metering.models import Meter, PlanItem, ReadingPlan, ReadingWindow, Route
from kefu.metering.plans import plan_create, route_join
from kefu.metering.tests.factories import install, make_meter, sp_of
from kefu.org.models import Staff
from kefu.org.tests.factories import make_staff

TZ = ZoneInfo("Asia/Shanghai")
MARCH = date(2026, 3, 1)


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


def at(day: str) -> Any:
    """Travel to noon of a day ("2026-01-15") so account events carry that date."""
    return time_machine.travel(datetime.fromisoformat(day).replace(hour=12, tzinfo=TZ), tick=False)


def gas_account(world: Any, *statuses: tuple[str, str]) -> Account:
    """A gas account at B1 moved through (day, status) steps."""
    account = make_account(unit=world.county_b1, utility="gas")
    for day, status in statuses:
        with at(day):
            account = account_change_status(account=account, to_status=status, actor=world.admin)
    return account


IGNITED = (("2025-12-01", "awaiting_ignition"), ("2025-12-02", "gas_on"))


@dataclass
class GasRoute:
    route: Route
    analyst: Staff
    reader: Staff
    meters: dict[str, Meter]  # by what the account is: "on", "vacant", ...


def gas_route(world: Any) -> GasRoute:
    analyst = make_staff("analyst_b1", unit=world.county_b1, roles=["analyst"])
    reader = make_staff("reader_b1", unit=world.county_b1, roles=["reader"])
    route = Route.objects.create(code="B1-01", name="燃气一册", utility="gas", unit=world.county_b1, reader=reader)
    accounts = {
        "on": gas_account(world, *IGNITED),
        "vacant": gas_account(world, *IGNITED, ("2026-02-10", "vacant")),
        "sealed": gas_account(world, *IGNITED, ("2026-02-10", "sealed")),
        "suspended": gas_account(world, *IGNITED, ("2026-02-10", "suspended")),
        "removed": gas_account(world, *IGNITED, ("2026-02-10", "removed")),
        "new": gas_account(world, ("2026-02-20", "awaiting_ignition"), ("2026-03-05", "gas_on")),
        "reconnected": gas_account(world, *IGNITED, ("2026-02-10", "sealed"), ("2026-03-03", "gas_on")),
        "waiting": gas_account(world, ("2026-02-20", "awaiting_ignition")),
        "on2": gas_account(world, *IGNITED),
    }
    meters: dict[str, Meter] = {}
    for key, account in accounts.items():
        route_join(actor=analyst, route=route, service_point=sp_of(account), on=date(2026, 2, 1))
        meter = make_meter(unit=world.county_b1, utility="gas", serial=f"G-{key}")
        install(actor=world.admin, meter=meter, to=account, on=date(2025, 12, 2))
        meters[key] = meter
    # A gas-on account whose meter is not hung yet: nothing to read.
    bare = gas_account(world, *IGNITED)
    route_join(actor=analyst, route=route, service_point=sp_of(bare), on=date(2026, 2, 1))
    return GasRoute(route, analyst, reader, meters)


@pytest.fixture
def gas(world: Any) -> GasRoute:
    return gas_route(world)


def planned_serials(plan: ReadingPlan) -> list[str]:
    return list(PlanItem.objects.filter(plan=plan).order_by("seq").values_list("meter__serial", flat=True))


def test_gas_plan_reads_gas_on_minus_vacant_sealed_and_newly_ignited(gas: GasRoute) -> None:
    plan = plan_create(actor=gas.analyst, route=gas.route, period=MARCH)

    assert planned_serials(plan) == ["G-on", "G-reconnected", "G-on2"]  # walking order
    assert plan.planned == 3
    assert (plan.window_start, plan.window_end) == (date(2026, 3, 6), date(2026, 3, 26))


def test_newly_ignited_account_is_read_from_the_next_month(gas: GasRoute) -> None:
    april = plan_create(actor=gas.analyst, route=gas.route, period=date(2026, 4, 1))

    assert "G-new" in planned_serials(april)


def test_making_the_plan_twice_returns_the_first(gas: GasRoute, world: Any) -> None:
    first = plan_create(actor=gas.analyst, route=gas.route, period=MARCH)
    late = gas_account(world, *IGNITED)
    route_join(actor=gas.analyst, route=gas.route, service_point=sp_of(late), on=date(2026, 3, 2))
    install(actor=world.admin, meter=make_meter(unit=world.county_b1, utility="gas"), to=late, on=date(2026, 1, 1))

    again = plan_create(actor=gas.analyst, route=gas.route, period=MARCH)

    assert again.pk == first.pk
    assert ReadingPlan.objects.filter(route=gas.route).count() == 1
    assert again.planned == 3 and PlanItem.objects.filter(plan=first).count() == 3


def test_power_plan_reads_active_accounts(world: Any) -> None:
    analyst = make_staff("analyst_a1", unit=world.county_a1, roles=["analyst"])
    route = Route.objects.create(code="A1-01", name="低压一册", utility="power", unit=world.county_a1)
    active = make_account(unit=world.county_a1)
    stopped = make_account(unit=world.county_a1)
    account_change_status(account=stopped, to_status="suspended", actor=world.admin)
    for n, account in enumerate((active, stopped)):
        route_join(actor=analyst, route=route, service_point=sp_of(account), on=date(2026, 2, 1))
        install(actor=world.admin, meter=make_meter(unit=world.county_a1, serial=f"P-{n}"), to=account,
                on=date(2026, 1, 1))

    plan = plan_create(actor=analyst, route=route, period=MARCH)

    assert planned_serials(plan) == ["P-0"]


def test_route_join_appends_or_inserts_in_walking_order(gas: GasRoute, world: Any) -> None:
    stops = list(gas.route.stops.order_by("seq").values_list("seq", flat=True))
    assert stops == list(range(1, 11))
    first = gas_account(world, *IGNITED)

    stop = route_join(actor=gas.analyst, route=gas.route, service_point=sp_of(first), on=MARCH, seq=1)

    assert stop.seq == 1
    assert list(gas.route.stops.order_by("seq").values_list("seq", flat=True)) == list(range(1, 12))
    assert gas.route.stops.get(seq=2).service_point_id != stop.service_point_id


def test_route_join_refusals(gas: GasRoute, world: Any) -> None:
    taken = Account.objects.get(service_point__meters__serial="G-on")
    with pytest.raises(IllegalTransition, match="already on route B1-01"):
        route_join(actor=gas.analyst, route=gas.route, service_point=sp_of(taken), on=MARCH)
    power_analyst = make_staff(unit=world.province, roles=["analyst"])
    with pytest.raises(InvalidInput) as exc:
        route_join(actor=power_analyst, route=gas.route, service_point=sp_of(world.account_a1), on=MARCH)
    assert "service_point" in exc.value.errors
    with pytest.raises(PermissionDeniedError):
        plan_create(actor=gas.reader, route=gas.route, period=MARCH)
    stranger = make_staff(unit=world.county_a1, roles=["analyst"])
    with pytest.raises(NotFoundError):
        plan_create(actor=stranger, route=gas.route, period=MARCH)
    with pytest.raises(InvalidInput):
        plan_create(actor=gas.analyst, route=gas.route, period=date(2026, 3, 5))


def test_an_account_joined_after_the_28th_is_read_from_the_month_after(gas: GasRoute, world: Any) -> None:
    """Seed 002: new accounts go on the route by the 28th of the month before the plan."""
    on_time, late = gas_account(world, *IGNITED), gas_account(world, *IGNITED)
    route_join(actor=gas.analyst, route=gas.route, service_point=sp_of(on_time), on=date(2026, 2, 28))
    route_join(actor=gas.analyst, route=gas.route, service_point=sp_of(late), on=date(2026, 3, 1))
    for key, account in (("on-time", on_time), ("late", late)):
        meter = make_meter(unit=world.county_b1, utility="gas", serial=f"G-{key}")
        install(actor=world.admin, meter=meter, to=account, on=date(2025, 12, 2))

    march = plan_create(actor=gas.analyst, route=gas.route, period=MARCH)
    april = plan_create(actor=gas.analyst, route=gas.route, period=date(2026, 4, 1))
    assert "G-on-time" in planned_serials(march) and "G-late" not in planned_serials(march)
    assert "G-late" in planned_serials(april)


def test_the_reading_window_and_the_joining_day_are_policy_data(gas: GasRoute, world: Any) -> None:
    ReadingWindow.objects.filter(utility="gas").update(first_day=3, last_day=31, join_by_day=15)
    late = gas_account(world, *IGNITED)
    route_join(actor=gas.analyst, route=gas.route, service_point=sp_of(late), on=date(2026, 1, 20))
    install(actor=world.admin, meter=make_meter(unit=world.county_b1, utility="gas", serial="G-jan20"), to=late,
            on=date(2025, 12, 2))

    feb = plan_create(actor=gas.analyst, route=gas.route, period=date(2026, 2, 1))
    assert (feb.window_start, feb.window_end) == (date(2026, 2, 3), date(2026, 2, 28))  # clipped to the month
    assert "G-jan20" not in planned_serials(feb)
