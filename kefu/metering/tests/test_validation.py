"""Validation rules at their thresholds, read from ``ValidationRule`` rows: what the reader and the
analyst see is whether a reading went to the exceptions queue (and so stays away from billing)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.utils import translation

from kefu.metering.choices import BILLABLE, MeterKind, ReadingState, Resolution, Rule, Source
from kefu.metering.models import Meter, Reading, ReadingException, ValidationRule
from kefu.metering.selectors import exception_queue
from kefu.metering.services import meter_replace
from kefu.metering.tests.factories import install, make_meter, read, read_series
from kefu.org.models import Staff
from kefu.org.tests.factories import make_staff


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


@dataclass
class Crew:
    reader: Staff
    analyst: Staff


@pytest.fixture
def crew(world: Any) -> Crew:
    return Crew(reader=make_staff("reader_a1", unit=world.county_a1, roles=["reader"]),
                analyst=make_staff("analyst_a1", unit=world.county_a1, roles=["analyst"]))


def hang(world: Any, *, on: date = date(2025, 6, 20), initial: int | str = 0, **meter: Any) -> Meter:
    m = make_meter(unit=world.county_a1, **meter)
    install(actor=world.manager_a1, meter=m, to=world.account_a1, on=on, initial_reading=initial)
    return m


def rules_of(got: Any) -> set[str]:
    return {e.rule for e in got.exceptions}


def set_rule(rule: str, **values: Any) -> None:
    assert ValidationRule.objects.filter(rule=rule).update(**values) == 1


def test_the_rules_are_seeded_as_policy_data(db: None) -> None:
    rows = {r.rule: r for r in ValidationRule.objects.all()}
    assert set(rows) == set(Rule.values)
    assert all(r.enabled and r.source for r in rows.values())
    assert rows[Rule.HIGH_AVERAGE].factor == Decimal("3") and rows[Rule.ZERO].months == 3


# Below previous, rollover, replacement ---------------------------------------------------------

def test_a_reading_below_the_previous_goes_to_the_queue_not_to_billing(world: Any, crew: Crew) -> None:
    m = hang(world)
    read_series(actor=crew.reader, meter=m, values=[("2026-01", 500)])
    got = read(actor=crew.reader, meter=m, month="2026-02", value=499)
    assert rules_of(got) == {Rule.BELOW_PREVIOUS}
    assert got.reading.state == ReadingState.EXCEPTION and got.reading.state not in BILLABLE
    assert "499" in got.exceptions[0].detail and "500" in got.exceptions[0].detail
    assert [e.rule for e in exception_queue(crew.analyst)] == [Rule.BELOW_PREVIOUS]
    # The next month is measured from the last billable reading, not from the one in the queue.
    nxt = read(actor=crew.reader, meter=m, month="2026-03", value=520)
    assert nxt.exceptions == []
    assert nxt.reading.consumption == Decimal("20")


def test_the_same_value_as_last_month_is_not_below_previous(world: Any, crew: Crew) -> None:
    m = hang(world)
    read_series(actor=crew.reader, meter=m, values=[("2026-01", 500), ("2026-02", 500)])
    assert Reading.objects.get(meter=m, period=date(2026, 2, 1)).consumption == 0


def test_a_register_that_rolled_over_is_measured_across_zero(world: Any, crew: Crew) -> None:
    m = hang(world, digits=6, initial=999_000)
    read_series(actor=crew.reader, meter=m, values=[("2026-01", 999_950)])
    got = read(actor=crew.reader, meter=m, month="2026-02", value=30)
    assert got.exceptions == [] and got.reading.state == ReadingState.VALID
    assert got.reading.consumption == Decimal("80")


def test_a_big_drop_that_is_not_near_the_limit_is_below_previous(world: Any, crew: Crew) -> None:
    m = hang(world, digits=6, initial=999_000)
    read_series(actor=crew.reader, meter=m, values=[("2026-01", 999_950)])
    assert rules_of(read(actor=crew.reader, meter=m, month="2026-02", value=500_000)) == {Rule.BELOW_PREVIOUS}


def test_after_a_mid_month_replacement_the_new_meter_is_measured_from_its_initial_reading(world: Any,
                                                                                      crew: Crew) -> None:
    old = hang(world, on=date(2025, 12, 1), serial="OLD-1")
    read_series(actor=crew.reader, meter=old, values=[("2026-01", 4_000)])
    new = make_meter(unit=world.county_a1, serial="NEW-1")
    meter_replace(actor=world.manager_a1, service_point=world.account_a1.service_point, new_meter=new,
                  on=date(2026, 2, 15), final_reading=Decimal("4100"), initial_reading=Decimal("5"))
    new.refresh_from_db()
    got = read(actor=crew.reader, meter=new, month="2026-02", value=25, day=26)
    # 25 is far below the old meter's 4,000 but the new meter started at 5: 20 used, no exception.
    assert got.exceptions == [] and got.reading.state == ReadingState.VALID
    assert got.reading.consumption == Decimal("20")
    old.refresh_from_db()
    assert old.state == "removed" and old.events.get().final_reading == Decimal("4100")
    nxt = read(actor=crew.reader, meter=new, month="2026-03", value=60)
    assert nxt.exceptions == [] and nxt.reading.consumption == Decimal("35")


def test_the_multiplier_applies_to_consumption(world: Any, crew: Crew) -> None:
    m = hang(world, kind=MeterKind.THREE_PHASE, multiplier=40, initial=100)
    got = read(actor=crew.reader, meter=m, month="2026-01", value="112.5")
    assert got.exceptions == [] and got.reading.consumption == Decimal("500")


# High consumption ------------------------------------------------------------------------------

SIX_MONTHS = [("2025-07", 100), ("2025-08", 200), ("2025-09", 300), ("2025-10", 400), ("2025-11", 500),
              ("2025-12", 600)]  # 100 a month


def test_exactly_three_times_the_average_passes(world: Any, crew: Crew) -> None:
    m = hang(world)
    read_series(actor=crew.reader, meter=m, values=SIX_MONTHS)
    got = read(actor=crew.reader, meter=m, month="2026-01", value=900)
    assert got.exceptions == [] and got.reading.consumption == Decimal("300")


def test_above_three_times_the_average_is_flagged(world: Any, crew: Crew) -> None:
    m = hang(world)
    read_series(actor=crew.reader, meter=m, values=SIX_MONTHS)
    got = read(actor=crew.reader, meter=m, month="2026-01", value="900.01")
    assert rules_of(got) == {Rule.HIGH_AVERAGE}
    assert got.reading.state == ReadingState.EXCEPTION
    assert got.exceptions[0].data["average"] == "100.00"


def test_the_average_factor_is_data(world: Any, crew: Crew) -> None:
    set_rule(Rule.HIGH_AVERAGE, factor=Decimal("2"))
    m = hang(world)
    read_series(actor=crew.reader, meter=m, values=SIX_MONTHS)
    assert rules_of(read(actor=crew.reader, meter=m, month="2026-01", value=900)) == {Rule.HIGH_AVERAGE}


def test_a_disabled_rule_raises_nothing(world: Any, crew: Crew) -> None:
    set_rule(Rule.HIGH_AVERAGE, enabled=False)
    set_rule(Rule.BELOW_PREVIOUS, enabled=False)
    m = hang(world)
    read_series(actor=crew.reader, meter=m, values=SIX_MONTHS)
    high = read(actor=crew.reader, meter=m, month="2026-01", value=5_000)
    assert high.exceptions == [] and high.reading.state == ReadingState.VALID
    low = read(actor=crew.reader, meter=m, month="2026-02", value=4_000)
    assert low.exceptions == [] and low.reading.state == ReadingState.VALID
    assert not ReadingException.objects.exists()


def last_year_meter(world: Any, crew: Crew) -> Meter:
    # January 2025 used 100; the second half of 2025 used 200 a month (average 200).
    m = hang(world, on=date(2024, 12, 20))
    read_series(actor=crew.reader, meter=m, values=[
        ("2025-01", 100), ("2025-07", 300), ("2025-08", 500), ("2025-09", 700), ("2025-10", 900),
        ("2025-11", 1_100), ("2025-12", 1_300)])
    return m


def test_exactly_three_times_the_same_month_last_year_passes(world: Any, crew: Crew) -> None:
    m = last_year_meter(world, crew)
    got = read(actor=crew.reader, meter=m, month="2026-01", value=1_600)
    assert got.exceptions == [] and got.reading.consumption == Decimal("300")


def test_above_three_times_the_same_month_last_year_is_flagged(world: Any, crew: Crew) -> None:
    m = last_year_meter(world, crew)
    got = read(actor=crew.reader, meter=m, month="2026-01", value=1_601)
    assert rules_of(got) == {Rule.HIGH_LAST_YEAR}  # 301 is well within 3× the average of 200
    data = got.exceptions[0].data
    assert Decimal(data["used"]) == 301 and Decimal(data["last_year"]) == 100


def test_the_last_year_factor_is_data(world: Any, crew: Crew) -> None:
    set_rule(Rule.HIGH_LAST_YEAR, factor=Decimal("4"))
    m = last_year_meter(world, crew)
    assert read(actor=crew.reader, meter=m, month="2026-01", value=1_601).exceptions == []


# Zero consumption, estimates -------------------------------------------------------------------

def test_zero_consumption_is_flagged_in_the_third_zero_month(world: Any, crew: Crew) -> None:
    m = hang(world, initial=100)
    read_series(actor=crew.reader, meter=m, values=[("2025-10", 150), ("2025-11", 150)])
    second = read(actor=crew.reader, meter=m, month="2025-12", value=150)
    assert second.exceptions == [] and second.reading.state == ReadingState.VALID  # two zero months: fine
    third = read(actor=crew.reader, meter=m, month="2026-01", value=150)
    assert rules_of(third) == {Rule.ZERO}
    assert third.reading.state == ReadingState.EXCEPTION


def test_the_zero_months_are_data(world: Any, crew: Crew) -> None:
    set_rule(Rule.ZERO, months=4)
    m = hang(world, initial=100)
    read_series(actor=crew.reader, meter=m, values=[("2025-10", 150), ("2025-11", 150), ("2025-12", 150),
                                                    ("2026-01", 150)])
    assert rules_of(read(actor=crew.reader, meter=m, month="2026-02", value=150)) == {Rule.ZERO}


def test_two_estimates_in_a_row_are_flagged(world: Any, crew: Crew) -> None:
    m = hang(world)
    read_series(actor=crew.reader, meter=m, values=[("2025-11", 100)])
    first = read(actor=crew.reader, meter=m, month="2025-12", value=200, source=Source.ESTIMATED)
    assert first.exceptions == [] and first.reading.source == Source.ESTIMATED
    second = read(actor=crew.reader, meter=m, month="2026-01", value=300, source=Source.ESTIMATED)
    assert rules_of(second) == {Rule.CONSECUTIVE_ESTIMATES}
    # An actual reading in between starts the count again.
    read_series(actor=crew.reader, meter=m, values=[("2026-02", 400)])
    again = read(actor=crew.reader, meter=m, month="2026-03", value=500, source=Source.ESTIMATED, day=20)
    assert again.exceptions == []


def test_the_estimate_count_is_data(world: Any, crew: Crew) -> None:
    set_rule(Rule.CONSECUTIVE_ESTIMATES, months=3)
    m = hang(world)
    read(actor=crew.reader, meter=m, month="2025-12", value=200, source=Source.ESTIMATED)
    assert read(actor=crew.reader, meter=m, month="2026-01", value=300, source=Source.ESTIMATED).exceptions == []
    third = read(actor=crew.reader, meter=m, month="2026-02", value=400, source=Source.ESTIMATED)
    assert rules_of(third) == {Rule.CONSECUTIVE_ESTIMATES}


# Registers, multiplier, duplicates -------------------------------------------------------------

def test_register_count_mismatch(world: Any, crew: Crew) -> None:
    m = hang(world, kind=MeterKind.TIME_OF_USE, registers=4)
    ok = read(actor=crew.reader, meter=m, month="2026-01", value=100, registers_given=4)
    assert ok.exceptions == []
    bad = read(actor=crew.reader, meter=m, month="2026-02", value=200, registers_given=3)
    assert rules_of(bad) == {Rule.REGISTER_MISMATCH}
    assert "3 registers read, the meter has 4" in bad.exceptions[0].detail


def test_multiplier_change(world: Any, crew: Crew) -> None:
    m = hang(world, kind=MeterKind.THREE_PHASE, multiplier=40)
    same = read(actor=crew.reader, meter=m, month="2026-01", value=100, multiplier_given="40.00")
    assert same.exceptions == []
    changed = read(actor=crew.reader, meter=m, month="2026-02", value=101, multiplier_given="50")
    assert rules_of(changed) == {Rule.MULTIPLIER_CHANGE}
    assert changed.reading.state == ReadingState.EXCEPTION
    assert changed.reading.consumption == Decimal("40")  # still on the multiplier on file


def test_the_same_reading_again_is_a_no_op(world: Any, crew: Crew) -> None:
    m = hang(world)
    first = read(actor=crew.reader, meter=m, month="2026-01", value=100)
    again = read(actor=crew.reader, meter=m, month="2026-01", value="100.00", day=12)
    assert first.created and not again.created and again.exceptions == []
    assert again.reading.pk == first.reading.pk and Reading.objects.filter(meter=m).count() == 1
    assert not ReadingException.objects.exists()


def test_another_value_for_a_month_already_read_is_a_duplicate_and_the_first_is_kept(world: Any,
                                                                                    crew: Crew) -> None:
    m = hang(world)
    first = read(actor=crew.reader, meter=m, month="2026-01", value=100)
    second = read(actor=crew.reader, meter=m, month="2026-01", value=120, day=12)
    assert not second.created and rules_of(second) == {Rule.DUPLICATE}
    assert second.exceptions[0].data == {"value": "120", "read_on": "2026-01-12"}
    kept = Reading.objects.get(meter=m)
    assert kept.pk == first.reading.pk and kept.value == Decimal("100")
    assert [e.rule for e in exception_queue(crew.analyst)] == [Rule.DUPLICATE]
    assert ReadingException.objects.get().resolution == Resolution.OPEN
