"""Metering services: corrections that keep the original, the analyst's decisions on exceptions,
which meter hung where on a day, and bad input refused with the field named and nothing stored."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.utils import translation

from kefu.core.errors import Conflict, InvalidInput, NotFoundError, PermissionDeniedError
from kefu.metering.choices import MeterKind, MeterState, ReadingState, Resolution, Rule, Source
from kefu.metering.models import Meter, MeterEvent, Reading, ReadingCorrection, ReadingException
from kefu.metering.selectors import exception_queue, meter_at
from kefu.metering.services import exception_resolve, meter_remove, meter_replace, reading_correct
from kefu.metering.tests.factories import NOW, install, make_meter, read, read_series, sp_of
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
    analyst_a2: Staff  # a peer county: must not see A1's queue


@pytest.fixture
def crew(world: Any) -> Crew:
    return Crew(reader=make_staff("reader_a1", unit=world.county_a1, roles=["reader"]),
                analyst=make_staff("analyst_a1", unit=world.county_a1, roles=["analyst"]),
                analyst_a2=make_staff("analyst_a2", unit=world.county_a2, roles=["analyst"]))


@pytest.fixture
def meter(world: Any) -> Meter:
    m = make_meter(unit=world.county_a1, serial="A1-0001")
    install(actor=world.manager_a1, meter=m, to=world.account_a1, on=date(2025, 12, 1))
    return m


def below_previous(crew: Crew, meter: Meter) -> ReadingException:
    """January 500, February 450: February waits in the queue."""
    read_series(actor=crew.reader, meter=meter, values=[("2026-01", 500)])
    got = read(actor=crew.reader, meter=meter, month="2026-02", value=450)
    assert [e.rule for e in got.exceptions] == [Rule.BELOW_PREVIOUS]
    return got.exceptions[0]


def fresh(reading: Reading | None) -> Reading:
    assert reading is not None
    return Reading.objects.get(pk=reading.pk)


# Corrections -----------------------------------------------------------------------------------

def test_a_correction_keeps_the_original_and_the_reason(world: Any, crew: Crew, meter: Meter) -> None:
    exc = below_previous(crew, meter)
    corrected = reading_correct(actor=crew.analyst, reading=fresh(exc.reading), value="540",
                                reason="Reader swapped two digits", now=NOW)
    assert corrected.value == Decimal("540") and corrected.consumption == Decimal("40")
    assert fresh(exc.reading).state == ReadingState.CORRECTED
    kept = ReadingCorrection.objects.get(reading=exc.reading)
    assert (kept.old_value, kept.new_value, kept.old_source) == (Decimal("450"), Decimal("540"), Source.ACTUAL)
    assert kept.reason == "Reader swapped two digits" and kept.actor == crew.analyst and kept.at == NOW
    # A second correction keeps both steps.
    reading_correct(actor=crew.analyst, reading=fresh(exc.reading), value="545", reason="Checked the photo", now=NOW)
    assert [(c.old_value, c.new_value) for c in ReadingCorrection.objects.filter(reading=exc.reading)] == [
        (Decimal("450"), Decimal("540")), (Decimal("540"), Decimal("545"))]
    assert fresh(exc.reading).consumption == Decimal("45")


def test_a_correction_needs_a_reason_and_a_valid_value(world: Any, crew: Crew, meter: Meter) -> None:
    exc = below_previous(crew, meter)
    with pytest.raises(InvalidInput) as caught:
        reading_correct(actor=crew.analyst, reading=fresh(exc.reading), value="540", reason="  ", now=NOW)
    assert set(caught.value.errors) == {"reason"}
    with pytest.raises(InvalidInput) as caught:
        reading_correct(actor=crew.analyst, reading=fresh(exc.reading), value="five", reason="typo", now=NOW)
    assert set(caught.value.errors) == {"value"}
    assert not ReadingCorrection.objects.exists() and fresh(exc.reading).value == Decimal("450")


# The analyst's decisions -----------------------------------------------------------------------

def test_accept_turns_the_reading_billable_only_when_nothing_else_is_open(world: Any, crew: Crew) -> None:
    m = make_meter(unit=world.county_a1, kind=MeterKind.TIME_OF_USE, registers=4, multiplier=40)
    install(actor=world.manager_a1, meter=m, to=world.account_a1, on=date(2025, 12, 1))
    got = read(actor=crew.reader, meter=m, month="2026-01", value=100, registers_given=3, multiplier_given=30)
    first, second = sorted(got.exceptions, key=lambda e: e.rule)
    assert {first.rule, second.rule} == {Rule.MULTIPLIER_CHANGE, Rule.REGISTER_MISMATCH}

    done = exception_resolve(actor=crew.analyst, exception=first, resolution=Resolution.ACCEPTED, now=NOW)
    assert done.resolution == Resolution.ACCEPTED and done.resolved_by == crew.analyst and done.resolved_at == NOW
    assert fresh(got.reading).state == ReadingState.EXCEPTION  # the other one is still open
    exception_resolve(actor=crew.analyst, exception=second, resolution=Resolution.ACCEPTED, note="CT checked",
                      now=NOW)
    assert fresh(got.reading).state == ReadingState.ACCEPTED
    assert list(exception_queue(crew.analyst)) == []


def test_correct_needs_a_note_and_a_value(world: Any, crew: Crew, meter: Meter) -> None:
    exc = below_previous(crew, meter)
    with pytest.raises(InvalidInput) as caught:
        exception_resolve(actor=crew.analyst, exception=exc, resolution=Resolution.CORRECTED, value="540", now=NOW)
    assert set(caught.value.errors) == {"note"}
    with pytest.raises(InvalidInput) as caught:
        exception_resolve(actor=crew.analyst, exception=exc, resolution=Resolution.CORRECTED, note="typo", now=NOW)
    assert set(caught.value.errors) == {"value"}
    assert ReadingException.objects.get(pk=exc.pk).resolution == Resolution.OPEN
    assert not ReadingCorrection.objects.exists()

    exception_resolve(actor=crew.analyst, exception=exc, resolution=Resolution.CORRECTED, value="540",
                      note="Reader swapped two digits", now=NOW)
    reading = fresh(exc.reading)
    assert (reading.value, reading.consumption, reading.state) == (Decimal("540"), Decimal("40"),
                                                                    ReadingState.CORRECTED)
    assert ReadingCorrection.objects.get().reason == "Reader swapped two digits"
    assert ReadingException.objects.get(pk=exc.pk).resolution == Resolution.CORRECTED


def test_estimate_replaces_the_reading_by_an_estimate(world: Any, crew: Crew, meter: Meter) -> None:
    exc = below_previous(crew, meter)
    exception_resolve(actor=crew.analyst, exception=exc, resolution=Resolution.ESTIMATED, value="530",
                      note="Meter hidden behind a cupboard", now=NOW)
    reading = fresh(exc.reading)
    assert (reading.value, reading.source, reading.state) == (Decimal("530"), Source.ESTIMATED,
                                                              ReadingState.CORRECTED)
    assert ReadingCorrection.objects.get().old_source == Source.ACTUAL


def test_reread_sets_the_reading_aside(world: Any, crew: Crew, meter: Meter) -> None:
    exc = below_previous(crew, meter)
    with pytest.raises(InvalidInput) as caught:
        exception_resolve(actor=crew.analyst, exception=exc, resolution=Resolution.REREAD, now=NOW)
    assert set(caught.value.errors) == {"note"}
    exception_resolve(actor=crew.analyst, exception=exc, resolution=Resolution.REREAD, note="Read it again",
                      now=NOW)
    assert fresh(exc.reading).state == ReadingState.SUPERSEDED
    assert ReadingException.objects.get(pk=exc.pk).resolution == Resolution.REREAD


def test_an_unknown_decision_is_refused(world: Any, crew: Crew, meter: Meter) -> None:
    exc = below_previous(crew, meter)
    with pytest.raises(InvalidInput) as caught:
        exception_resolve(actor=crew.analyst, exception=exc, resolution="ignore", now=NOW)
    assert set(caught.value.errors) == {"resolution"}


def test_deciding_twice_is_a_conflict(world: Any, crew: Crew, meter: Meter) -> None:
    exc = below_previous(crew, meter)
    exception_resolve(actor=crew.analyst, exception=exc, resolution=Resolution.ACCEPTED, now=NOW)
    with pytest.raises(Conflict):
        exception_resolve(actor=crew.analyst, exception=exc, resolution=Resolution.REREAD, note="again", now=NOW)
    assert fresh(exc.reading).state == ReadingState.ACCEPTED


def test_an_analyst_elsewhere_does_not_see_the_exception(world: Any, crew: Crew, meter: Meter) -> None:
    exc = below_previous(crew, meter)
    assert list(exception_queue(crew.analyst_a2)) == []
    with pytest.raises(NotFoundError):
        exception_resolve(actor=crew.analyst_a2, exception=exc, resolution=Resolution.ACCEPTED, now=NOW)
    with pytest.raises(NotFoundError):
        reading_correct(actor=crew.analyst_a2, reading=fresh(exc.reading), value="540", reason="typo", now=NOW)
    assert ReadingException.objects.get(pk=exc.pk).resolution == Resolution.OPEN
    assert fresh(exc.reading).state == ReadingState.EXCEPTION


def test_a_reader_cannot_decide(world: Any, crew: Crew, meter: Meter) -> None:
    exc = below_previous(crew, meter)
    with pytest.raises(PermissionDeniedError) as caught:
        exception_resolve(actor=crew.reader, exception=exc, resolution=Resolution.ACCEPTED, now=NOW)
    assert not isinstance(caught.value, NotFoundError)  # a 403 that says why, not a 404
    with pytest.raises(PermissionDeniedError):
        reading_correct(actor=crew.reader, reading=fresh(exc.reading), value="540", reason="typo", now=NOW)
    assert ReadingException.objects.get(pk=exc.pk).resolution == Resolution.OPEN


# Which meter was here on day D ----------------------------------------------------------------

def test_meter_at_follows_install_replace_and_remove(world: Any) -> None:
    sp = sp_of(world.account_a1)
    first = make_meter(unit=world.county_a1, serial="FIRST")
    second = make_meter(unit=world.county_a1, serial="SECOND")
    install(actor=world.manager_a1, meter=first, to=sp, on=date(2026, 1, 10), initial_reading=3)
    meter_replace(actor=world.manager_a1, service_point=sp, new_meter=second, on=date(2026, 3, 15),
                  final_reading=Decimal("250"), initial_reading=Decimal("0"))
    meter_remove(actor=world.manager_a1, service_point=sp, on=date(2026, 5, 20), final_reading=Decimal("90"))

    def serial(day: date) -> str | None:
        m = meter_at(sp, day)
        return m.serial if m else None

    assert serial(date(2026, 1, 9)) is None
    assert serial(date(2026, 1, 10)) == "FIRST"
    assert serial(date(2026, 3, 14)) == "FIRST"
    assert serial(date(2026, 3, 15)) == "SECOND"  # the replacement day belongs to the new meter
    assert serial(date(2026, 5, 19)) == "SECOND"
    assert serial(date(2026, 5, 20)) is None and serial(date(2026, 12, 31)) is None
    assert meter_at(sp.pk, date(2026, 2, 1)) == first
    events = list(MeterEvent.objects.filter(service_point=sp).values_list(
        "meter__serial", "kind", "installed_on", "removed_on", "initial_reading", "final_reading"))
    assert events == [
        ("FIRST", "install", date(2026, 1, 10), date(2026, 3, 15), Decimal("3"), Decimal("250")),
        ("SECOND", "replace", date(2026, 3, 15), date(2026, 5, 20), Decimal("0"), Decimal("90")),
    ]
    assert {m.serial: m.state for m in Meter.objects.all()} == {"FIRST": MeterState.REMOVED,
                                                                "SECOND": MeterState.REMOVED}


def test_meters_need_the_right_capability(world: Any, crew: Crew) -> None:
    m = make_meter(unit=world.county_a1)
    with pytest.raises(PermissionDeniedError):
        install(actor=crew.reader, meter=m, to=world.account_a1, on=date(2026, 1, 10))
    assert not MeterEvent.objects.exists()


# Bad input ------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw", ["abc", "", "12a", "-1", "1.234", "NaN", "Infinity", "-Infinity", "sNaN",
                                 "1e20"])
def test_a_bad_reading_names_the_value_and_stores_nothing(world: Any, crew: Crew, meter: Meter, raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        read(actor=crew.reader, meter=meter, month="2026-01", value=raw)
    assert set(caught.value.errors) == {"value"}
    assert caught.value.errors["value"][0]
    assert not Reading.objects.exists() and not ReadingException.objects.exists()


def test_the_messages_say_what_is_wrong(world: Any, crew: Crew, meter: Meter) -> None:
    def message(raw: str) -> str:
        with pytest.raises(InvalidInput) as caught:
            read(actor=crew.reader, meter=meter, month="2026-01", value=raw)
        return str(caught.value.errors["value"][0])

    assert "number" in message("abc") and "number" in message("NaN")
    assert "negative" in message("-0.5")
    assert "2 decimals" in message("10.001")


def test_a_reading_dated_in_the_future_is_refused(world: Any, crew: Crew, meter: Meter) -> None:
    with pytest.raises(InvalidInput) as caught:
        read(actor=crew.reader, meter=meter, month="2026-03", value=100, day=29)  # NOW is 28 March
    assert set(caught.value.errors) == {"read_on"}
    assert read(actor=crew.reader, meter=meter, month="2026-03", value=100, day=28).created
    assert Reading.objects.count() == 1


def test_a_meter_not_installed_cannot_be_read(world: Any, crew: Crew) -> None:
    in_stock = make_meter(unit=world.county_a1, serial="STOCK-1")
    with pytest.raises(InvalidInput) as caught:
        read(actor=crew.reader, meter=in_stock, month="2026-01", value=100)
    assert set(caught.value.errors) == {"meter"} and "STOCK-1" in caught.value.errors["meter"][0]
    assert not Reading.objects.exists()


def test_a_meter_of_the_other_utility_cannot_be_installed(world: Any) -> None:
    gas = make_meter(unit=world.county_a1, utility="gas", kind=MeterKind.DIAPHRAGM, serial="GAS-1")
    with pytest.raises(InvalidInput) as caught:
        install(actor=world.manager_a1, meter=gas, to=world.account_a1, on=date(2026, 1, 10))
    assert set(caught.value.errors) == {"meter"}
    gas.refresh_from_db()
    assert gas.state == MeterState.IN_STOCK and gas.service_point is None
    assert not MeterEvent.objects.exists()


def test_an_unknown_source_is_refused(world: Any, crew: Crew, meter: Meter) -> None:
    with pytest.raises(InvalidInput) as caught:
        read(actor=crew.reader, meter=meter, month="2026-01", value=100, source="guess")
    assert set(caught.value.errors) == {"source"}
    assert not Reading.objects.exists()


def test_a_reader_elsewhere_cannot_read_the_meter(world: Any, meter: Meter) -> None:
    reader_b1 = make_staff("reader_b1", unit=world.county_b1, roles=["reader"])
    with pytest.raises(NotFoundError):
        read(actor=reader_b1, meter=meter, month="2026-01", value=100)
    assert not Reading.objects.exists()
