"""The bulk import: the set-based rules give exactly what ``validation.check`` gives for one reading
(over random histories), bad rows are reported and nothing is applied, re-imports change nothing,
and a month already read keeps the single-reading meaning (duplicate, re-read)."""

from __future__ import annotations

import io
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from kefu.core.errors import InvalidInput
from kefu.customers.tests.factories import make_account
from kefu.metering import services, validation
from kefu.metering.bulk import BulkReport, csv_records, reading_bulk_import
from kefu.metering.choices import BILLABLE, ReadingState, Resolution, Rule, Source
from kefu.metering.models import ImportBatch, Meter, Reading, ReadingException, ValidationRule
from kefu.metering.tests.factories import NOW, install, make_meter, read, read_series
from kefu.org.models import Staff
from kefu.org.tests.factories import make_staff

MARCH = date(2026, 3, 1)
HEADER = "表号,计度器,本次示数,抄表日期,抄表方式"


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


def installed(world: Any, serial: str, *, unit: Any = None, initial: int = 0, **kw: Any) -> Meter:
    unit = unit or world.county_a1
    meter = make_meter(unit=unit, serial=serial, **kw)
    install(actor=world.admin, meter=meter, to=make_account(unit=unit), on=date(2025, 1, 5), initial_reading=initial)
    return meter


def csv_file(*lines: str, encoding: str = "utf-8") -> bytes:
    return ("\n".join([HEADER, *lines]) + "\n").encode(encoding)


def bulk(actor: Any, data: bytes, **kw: Any) -> BulkReport:
    return reading_bulk_import(actor=actor, records=csv_records(data), name="head-end.csv", now=NOW, **kw)


# --------------------------------------------------------------------------- the same rules


def month_back(k: int) -> date:
    year, month = divmod(2026 * 12 + 2 - k, 12)  # March 2026 minus k months
    return date(year, month + 1, 1)


def _random_history(rng: random.Random, meter: Meter, register: int, unit: Any) -> Decimal:
    """Up to 14 earlier months (some beyond the year window) in random states and sources, starting
    near the register's limit now and then; returns the last value written."""
    value = meter.rollover - rng.randrange(1, 3000) if rng.random() < 0.3 else Decimal(rng.randrange(0, 3000))
    sp = meter.service_point
    assert sp is not None
    for back in sorted(rng.sample(range(1, 15), rng.randrange(0, 14)), reverse=True):
        step = Decimal(rng.choice([0, 0, 0, 10, 50, 100, 120, 400])) + Decimal(rng.randrange(0, 100)) / 100
        value = (value + step) % meter.rollover
        Reading.objects.create(
            meter=meter, service_point=sp, period=month_back(back), register=register, value=value,
            consumption=None if rng.random() < 0.1 else step * meter.multiplier,
            read_on=month_back(back) + timedelta(days=9),
            source=rng.choice([Source.ACTUAL, Source.ESTIMATED, Source.ESTIMATED]),
            state=rng.choice([*BILLABLE, ReadingState.VALID, ReadingState.EXCEPTION, ReadingState.SUPERSEDED]),
            unit=unit, created_at=NOW)
    return value


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_bulk_finds_what_the_single_reading_rules_find(world: Any, crew: Crew, seed: int) -> None:
    rng = random.Random(seed)
    ValidationRule.objects.filter(rule=Rule.ZERO).update(months=rng.choice([2, 3]))
    ValidationRule.objects.filter(rule=Rule.HIGH_AVERAGE).update(factor=Decimal(rng.choice(["2", "3"])))
    thresholds = validation.Thresholds.load()
    lines, expected = [], {}
    for i in range(40):
        digits = rng.choice([4, 6])
        meter = installed(world, f"EQ{seed}{i:03d}", initial=rng.randrange(0, 100), digits=digits,
                          multiplier=rng.choice([1, 1, 40]), registers=rng.choice([1, 2]))
        register = rng.randrange(0, meter.registers)
        last = _random_history(rng, meter, register, world.county_a1)
        choice = rng.random()
        if choice < 0.15:
            value = max(Decimal(0), last - Decimal(rng.randrange(1, 50)))  # below the previous one
        elif choice < 0.3:
            value = last  # nothing used
        elif choice < 0.45:
            value = last + Decimal(rng.randrange(500, 3000))  # far above the average
        elif choice < 0.55:
            value = Decimal(rng.randrange(0, 5))  # a wrapped register when the last was near the limit
        else:
            value = last + Decimal(rng.randrange(0, 200)) + Decimal(rng.randrange(0, 100)) / 100
        value = value % meter.rollover
        source = rng.choice([Source.ACTUAL, Source.ESTIMATED])
        lines.append(f"{meter.serial},{register},{value},2026-03-12,{source}")
        hist = services.history(meter, MARCH, register)
        candidate = validation.Candidate(value=value, period=MARCH, source=source, rollover=meter.rollover,
                                         multiplier=meter.multiplier, registers_given=meter.registers,
                                         registers_expected=meter.registers)
        used, findings = validation.check(candidate, hist, thresholds)
        expected[meter.pk] = (used, sorted(f.rule for f in findings))
    report = bulk(crew.reader, csv_file(*lines))
    assert report.ok, report.lines()
    assert report.applied == 40
    got = {}
    for reading in Reading.objects.filter(period=MARCH, batch=report.batch):
        rules = sorted(ReadingException.objects.filter(reading=reading).values_list("rule", flat=True))
        got[reading.meter_id] = (reading.consumption, rules)
        assert reading.state == (ReadingState.EXCEPTION if rules else ReadingState.VALID)
    assert got == expected
    assert sum(len(r) for _u, r in expected.values()) == report.exceptions
    # Enough of the rules were exercised for the comparison to mean something.
    assert len({rule for _u, rules in expected.values() for rule in rules}) >= 3


# --------------------------------------------------------------------------- behaviour


def test_a_clean_file_records_readings_with_consumption_plan_and_reader(world: Any, crew: Crew) -> None:
    a = installed(world, "B-0001")
    b = installed(world, "B-0002", multiplier=40)
    read_series(actor=crew.reader, meter=a, values=[("2026-01", 100), ("2026-02", 130)])
    read_series(actor=crew.reader, meter=b, values=[("2026-02", 10)])
    report = bulk(crew.reader, csv_file("B-0001,总,160,2026-03-08,实抄", "B-0002,,12.5,2026/03/09,"))
    assert report.ok and report.applied == 2 and report.exceptions == 0
    rows = {r.meter.serial: r for r in Reading.objects.filter(period=MARCH).select_related("meter")}
    assert rows["B-0001"].consumption == Decimal("30.00") and rows["B-0001"].previous == Decimal("130")
    assert rows["B-0002"].consumption == Decimal("100.00")  # 2.5 × 40
    assert rows["B-0002"].source == Source.REMOTE  # the default for a head-end file
    assert {r.reader_id for r in rows.values()} == {crew.reader.pk}
    assert {r.unit_id for r in rows.values()} == {world.county_a1.pk}
    batch = ImportBatch.objects.get()
    assert (batch.rows, batch.applied, batch.actor_id) == (2, 2, crew.reader.pk)


def test_a_bad_exception_waits_in_the_queue_with_its_reason(world: Any, crew: Crew) -> None:
    meter = installed(world, "B-0003")
    read_series(actor=crew.reader, meter=meter, values=[("2026-01", 500), ("2026-02", 520)])
    report = bulk(crew.reader, csv_file("B-0003,0,450,2026-03-10,actual"))
    assert report.by_rule == {Rule.BELOW_PREVIOUS: 1}
    exc = ReadingException.objects.get(meter=meter, period=MARCH)
    assert exc.detail == "Reading 450.00 is below the previous 520.00." or exc.detail.startswith("Reading 450")
    assert "520" in exc.detail and exc.data["previous"].startswith("520")
    assert exc.resolution == Resolution.OPEN and exc.reading is not None
    assert exc.reading.state == ReadingState.EXCEPTION


def test_every_bad_row_is_reported_and_nothing_is_applied(world: Any, crew: Crew) -> None:
    installed(world, "C-0001")
    installed(world, "C-0002")
    installed(world, "B1-0001", unit=world.county_a2)  # a peer county: looks unknown to A1's reader
    data = csv_file(
        "C-0001,0,abc,2026-03-10,actual",
        "C-0002,0,-5,2026-03-10,actual",
        "C-0001,0,10,2026-04-10,actual",
        "NOPE,0,10,2026-03-10,actual",
        "B1-0001,0,10,2026-03-10,actual",
        "C-0002,0,10,2026-03-11,actual",
        "C-0002,0,11,2026-03-12,actual",
        "C-0001,7,10,2026-03-10,actual",
        "C-0001,0,10,2026-03-10,guess",
        ",0,10,2026-03-10,actual",
    )
    report = bulk(crew.reader, data)
    found = {(e.row, e.field): e.message for e in report.errors}
    assert found[(2, "reading")] == "Enter the reading as a number, e.g. 1234.5."
    assert found[(3, "reading")] == "A reading cannot be negative."
    assert found[(4, "read_on")] == "A reading cannot be dated in the future."
    assert found[(5, "meter")] == "Unknown meter number NOPE."
    assert found[(6, "meter")] == "Unknown meter number B1-0001."
    assert found[(8, "meter")] == "Meter C-0002 appears twice in the file (first in row 7)."
    assert (9, "register") in found and (10, "source") in found and (11, "meter") in found
    assert report.lines()[-1] == f"{len(report.errors)} errors; nothing was imported."
    assert not Reading.objects.exists() and not ImportBatch.objects.exists()


def test_partial_mode_applies_the_good_rows_and_still_reports(world: Any, crew: Crew) -> None:
    installed(world, "D-0001")
    installed(world, "D-0002")
    report = bulk(crew.reader, csv_file("D-0001,0,10,2026-03-10,actual", "D-0002,0,x,2026-03-10,actual",
                                        "D-9999,0,1,2026-03-10,actual"), partial=True)
    assert [(e.row, e.field) for e in report.errors] == [(3, "reading"), (4, "meter")]
    assert report.applied == 1
    assert list(Reading.objects.values_list("meter__serial", flat=True)) == ["D-0001"]
    assert report.lines()[-2] == "2 rows with errors were left out."


def test_importing_the_same_file_twice_changes_nothing(world: Any, crew: Crew) -> None:
    installed(world, "E-0001")
    installed(world, "E-0002")
    data = csv_file("E-0001,0,10,2026-03-10,actual", "E-0002,0,0,2026-03-10,actual")
    first = bulk(crew.reader, data)
    again = bulk(crew.reader, data)
    assert (first.applied, again.applied, again.unchanged, again.exceptions) == (2, 0, 2, 0)
    assert Reading.objects.count() == 2


def test_another_value_for_a_month_already_read_is_a_duplicate_not_an_overwrite(world: Any, crew: Crew) -> None:
    meter = installed(world, "F-0001")
    read(actor=crew.reader, meter=meter, month="2026-03", value=40)
    report = bulk(crew.reader, csv_file("F-0001,0,55,2026-03-20,actual"))
    assert report.by_rule == {Rule.DUPLICATE: 1}
    assert Reading.objects.get(meter=meter, period=MARCH).value == Decimal("40")


def test_a_reread_takes_the_set_aside_readings_place(world: Any, crew: Crew) -> None:
    meter = installed(world, "F-0002")
    read_series(actor=crew.reader, meter=meter, values=[("2026-02", 500)])
    got = read(actor=crew.reader, meter=meter, month="2026-03", value=450)
    services.exception_resolve(actor=crew.analyst, exception=got.exceptions[0], resolution=Resolution.REREAD,
                               note="check the dial", now=NOW)
    report = bulk(crew.reader, csv_file("F-0002,0,540,2026-03-25,actual"))
    assert report.ok and report.one_by_one == 1
    reading = Reading.objects.get(meter=meter, period=MARCH)
    assert (reading.value, reading.state, reading.consumption) == (Decimal("540"), ReadingState.VALID, Decimal("40"))
    assert reading.corrections.get().old_value == Decimal("450")


def test_an_earlier_month_in_the_same_file_is_history_for_a_later_one(world: Any, crew: Crew) -> None:
    meter = installed(world, "G-0001", initial=100)
    report = bulk(crew.reader, csv_file("G-0001,0,90,2026-03-10,actual", "G-0001,0,120,2026-02-10,actual"))
    assert report.ok
    feb, mar = Reading.objects.filter(meter=meter).order_by("period")
    assert (feb.previous, feb.consumption) == (Decimal("100"), Decimal("20"))
    assert mar.previous == Decimal("120") and mar.state == ReadingState.EXCEPTION
    assert report.by_rule == {Rule.BELOW_PREVIOUS: 1}


def test_gbk_csv_with_chinese_headers_and_wrong_columns(world: Any, crew: Crew) -> None:
    installed(world, "H-0001")
    report = bulk(crew.reader, csv_file("H-0001,峰,10,2026-03-10,估抄", encoding="gbk"))
    assert report.errors and report.errors[0].field == "register"  # a one-register meter has no peak
    with pytest.raises(InvalidInput) as caught:
        list(csv_records("表号,示数啊,日期\nH-0001,1,2026-03-10\n".encode()))
    assert "示数啊" in str(caught.value.errors["file"][0])
    with pytest.raises(InvalidInput):
        list(csv_records(b"\xff\xfe\x00garbage\x81"))


def test_the_command_imports_and_refuses(world: Any, crew: Crew, tmp_path: Any) -> None:
    installed(world, "J-0001")
    good = tmp_path / "good.csv"
    good.write_bytes(csv_file("J-0001,0,10,2026-03-10,actual"))
    out = io.StringIO()
    call_command("reading_bulk", str(good), "--actor", "reader_a1", stdout=out)
    assert "1 readings recorded" in out.getvalue()
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_file("J-0001,0,-1,2026-03-11,actual"))
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("reading_bulk", str(bad), "--actor", "reader_a1", stdout=io.StringIO())
