"""Reliability indices checked by hand on a small example (IEEE 1366, DL/T 836): overlapping outages are
merged per customer, marketing disconnections and other units are left out, an outage crossing the
period's edge is clipped, and the city is the sum of its counties."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest

from kefu.customers.models import Account
from kefu.customers.services import account_change_status
from kefu.customers.tests.factories import make_account
from kefu.outages import services as svc
from kefu.outages.models import AffectedAccount, Outage
from kefu.outages.reliability import Indices, reliability, reliability_by_month, reliability_by_unit

if TYPE_CHECKING:
    from conftest import World

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEC_1, DEC_31 = date(2026, 12, 1), date(2026, 12, 31)


def at(day: int, hour: int, minute: int = 0, month: int = 12) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


def happened(world: World, accounts: list[Account], start: datetime, end: datetime, *,
             outage_class: str = "planned") -> Outage:
    """An outage announced in time, published, then restored with its actual times through the services."""
    announced = start - timedelta(days=8)
    data: dict[str, Any] = {"utility": "power", "outage_class": outage_class, "area": "测试区域", "reason": "检修",
                            "planned_start": start, "planned_end": end, "accounts": [a.number for a in accounts]}
    if outage_class == "arrears":
        data["account"] = accounts[0].number
    outage = svc.outage_create(actor=world.supervisor, data=data, now=announced)
    svc.outage_review(actor=world.supervisor, outage=outage, now=announced)
    svc.outage_publish(actor=world.supervisor, outage=outage, now=announced)
    return svc.outage_restore(actor=world.supervisor, outage=outage, actual_start=start, actual_end=end,
                              now=end + timedelta(minutes=1))


@dataclass
class Example:
    a1: list[Account]  # the 10 customers served in county A1 (world.account_a1 is the first)
    a2: list[Account]  # the 4 customers served in county A2 (world.account_a2 is the first)
    x: Outage
    y: Outage
    w: Outage


@pytest.fixture
def example(world: World) -> Example:
    a1 = [world.account_a1, *(make_account(unit=world.county_a1) for _i in range(9))]
    a2 = [world.account_a2, *(make_account(unit=world.county_a2) for _i in range(3))]
    gone = make_account(unit=world.county_a1)  # a closed account is not served
    account_change_status(account=gone, to_status="closed", actor=world.manager_a1)
    a, b, c, d, e, f, g, h, i, _j = a1
    x = happened(world, [a, b, c, d], at(10, 8), at(10, 10))          # X: 4 customers, 08:00–10:00
    y = happened(world, [b, c, d, e, f], at(10, 9), at(10, 12))       # Y: 3 of X's + 2 others, 09:00–12:00
    w = happened(world, [g, h], at(30, 22, month=11), at(1, 2))      # W: 30 Nov 22:00 – 1 Dec 02:00
    happened(world, [i], at(5, 9), at(5, 17), outage_class="arrears")  # Z: the customer's doing, not counted
    happened(world, a2[:2], at(10, 9, 30), at(10, 11))                # in A2, overlapping X and Y in time
    # Elsewhere, outside the period: a January outage of A1.
    happened(world, [a], at(3, 8, month=12) + timedelta(days=40), at(3, 9, month=12) + timedelta(days=40))
    return Example(a1, a2, x, y, w)


def test_county_a1_by_hand(world: World, example: Example) -> None:
    got = reliability(unit=world.county_a1, start=DEC_1, end=DEC_31)
    # Per customer, overlaps merged (X 08–10 and Y 09–12 are one interruption 08–12 for b, c, d):
    #   a: X only        08:00–10:00 → 1 interruption, 2 h
    #   b, c, d: X ∪ Y   08:00–12:00 → 3 interruptions, 3 × 4 h = 12 h
    #   e, f: Y only     09:00–12:00 → 2 interruptions, 2 × 3 h = 6 h
    #   g, h: W clipped to 1 Dec 00:00–02:00 → 2 interruptions, 2 × 2 h = 4 h
    #   i: arrears disconnection → not counted; A2's outage → not A1's customers
    # Σ interruptions = 1 + 3 + 2 + 2 = 8; Σ customer hours = 2 + 12 + 6 + 4 = 24; served = 10
    assert (got.customers_served, got.interruptions, got.customer_hours) == (10, 8, Decimal(24))
    assert got.outages == 3  # X, Y and W reached A1's customers; A2's outage and the arrears one do not count
    assert got.saifi == Decimal("0.8000")   # 8 / 10
    assert got.saidi == Decimal("2.4000")   # 24 h / 10 customers
    assert got.caidi == Decimal("3.0000")   # 24 h / 8 interruptions = SAIDI / SAIFI = 2.4 / 0.8
    # RS-1 = (1 − SAIDI / hours in December) × 100 = (1 − 2.4 / (31 × 24)) × 100 = (1 − 2.4 / 744) × 100
    #      = 99.677419…% → 99.6774
    assert got.hours == Decimal(744)
    assert got.rs1 == Decimal("99.6774")


def test_the_naive_sum_would_count_the_overlap_twice(world: World, example: Example) -> None:
    got = reliability(unit=world.county_a1, start=DEC_1, end=DEC_31)
    lo = datetime(2026, 12, 1, tzinfo=SHANGHAI)
    naive_interruptions = 0
    naive_hours = Decimal(0)
    for outage in (example.x, example.y, example.w):
        n = AffectedAccount.objects.filter(outage=outage).count()
        assert outage.actual_start is not None and outage.actual_end is not None
        span = outage.actual_end - max(outage.actual_start, lo)
        naive_interruptions += n
        naive_hours += n * Decimal(int(span.total_seconds())) / 3600
    # X: 4 × 2 h = 8 h; Y: 5 × 3 h = 15 h; W: 2 × 2 h = 4 h → 11 interruptions, 27 h (SAIFI 1.1, SAIDI 2.7)
    assert (naive_interruptions, naive_hours) == (11, Decimal(27))
    assert (got.interruptions, got.customer_hours) == (8, Decimal(24))
    assert got.saifi != Decimal(naive_interruptions) / 10 and got.saidi != naive_hours / 10


def test_county_a2_and_city_a_is_the_sum_of_its_counties(world: World, example: Example) -> None:
    a1 = reliability(unit=world.county_a1, start=DEC_1, end=DEC_31)
    a2 = reliability(unit=world.county_a2, start=DEC_1, end=DEC_31)
    city = reliability(unit=world.city_a, start=DEC_1, end=DEC_31)
    # A2: 2 of its 4 customers out 09:30–11:00 → 2 interruptions, 2 × 1.5 h = 3 h
    assert (a2.customers_served, a2.interruptions, a2.customer_hours, a2.outages) == (4, 2, Decimal(3), 1)
    assert a2.saifi == Decimal("0.5000") and a2.saidi == Decimal("0.7500") and a2.caidi == Decimal("1.5000")
    # City A = A1 + A2: served 10 + 4 = 14, interruptions 8 + 2 = 10, customer hours 24 + 3 = 27
    assert city.customers_served == a1.customers_served + a2.customers_served == 14
    assert city.interruptions == a1.interruptions + a2.interruptions == 10
    assert city.customer_hours == a1.customer_hours + a2.customer_hours == Decimal(27)
    assert city.saifi == Decimal("0.7143")   # 10 / 14 = 0.714285…
    assert city.saidi == Decimal("1.9286")   # 27 / 14 = 1.928571…
    assert city.caidi == Decimal("2.7000")   # 27 / 10
    assert city.rs1 == Decimal("99.7408")    # (1 − 27 / 14 / 744) × 100 = 99.740783…
    by_unit = reliability_by_unit(units=[world.county_a1, world.county_a2], start=DEC_1, end=DEC_31)
    assert [(i.unit, i.interruptions) for i in by_unit] == [(world.county_a1, 8), (world.county_a2, 2)]


def test_months_clip_an_outage_that_crosses_midnight_at_the_month_end(world: World, example: Example) -> None:
    months = reliability_by_month(unit=world.county_a1, year=2026)
    assert len(months) == 12
    november, december = months[10], months[11]
    # W: 30 Nov 22:00–24:00 in November (2 customers × 2 h), 00:00–02:00 in December
    assert (november.start, november.end) == (date(2026, 11, 1), date(2026, 11, 30))
    assert (november.interruptions, november.customer_hours, november.outages) == (2, Decimal(4), 1)
    assert november.hours == Decimal(720)
    assert november.rs1 == Decimal("99.9444")  # (1 − 4 / 10 / 720) × 100 = 99.944444…
    assert (december.interruptions, december.customer_hours) == (8, Decimal(24))
    assert months[0].interruptions == 0 and months[0].saifi == Decimal("0.0000")
    assert months[0].rs1 == Decimal("100.0000")


def test_a_live_outage_runs_until_now(world: World) -> None:
    served = [world.account_a1, make_account(unit=world.county_a1)]
    start = at(20, 8)
    outage = svc.outage_create(actor=world.supervisor, now=start - timedelta(days=8), data={
        "utility": "power", "outage_class": "fault", "area": "测试", "reason": "故障", "planned_start": start,
        "planned_end": start + timedelta(hours=4), "accounts": [served[0].number]})
    svc.outage_review(actor=world.supervisor, outage=outage, now=start)
    svc.outage_publish(actor=world.supervisor, outage=outage, now=start)
    # A published outage has no actual start yet: it is not counted until one is recorded.
    assert reliability(unit=world.county_a1, start=DEC_1, end=DEC_31, now=start + timedelta(hours=1)).outages == 0
    Outage.objects.filter(pk=outage.pk).update(actual_start=start)  # the crew's report of the actual start
    got: Indices = reliability(unit=world.county_a1, start=DEC_1, end=DEC_31,
                               now=start + timedelta(hours=1, minutes=30))
    # 1 customer × 1.5 h over 2 served → SAIFI 0.5, SAIDI 0.75, CAIDI 1.5
    assert (got.interruptions, got.customer_hours) == (1, Decimal("1.5"))
    assert (got.saifi, got.saidi, got.caidi) == (Decimal("0.5000"), Decimal("0.7500"), Decimal("1.5000"))


def test_no_customers_served_gives_zeros_not_an_error(world: World) -> None:
    # B1's one gas account is registered, not yet supplied: nobody is served there.
    empty = reliability(unit=world.county_b1, start=DEC_1, end=DEC_31, utility="gas")
    assert (empty.customers_served, empty.saifi, empty.saidi, empty.caidi, empty.rs1) == (
        0, Decimal("0.0000"), Decimal("0.0000"), Decimal("0.0000"), Decimal("100.0000"))
