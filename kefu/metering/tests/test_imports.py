"""The handheld round trip: a plan exported for the device (CSV, Excel) and the results file imported
back — every bad row reported with its row number and nothing applied, or with partial mode only the
good rows; the rules and the exceptions queue apply as for one reading; importing twice is harmless."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation
from openpyxl import Workbook, load_workbook

from kefu.core.errors import InvalidInput, NotFoundError
from kefu.core.models import AuditLog
from kefu.metering.choices import ReadingState, Rule
from kefu.metering.exports import header, plan_export
from kefu.metering.imports import read_table, reading_import
from kefu.metering.models import ImportBatch, Reading, ReadingException, ReadingPlan
from kefu.metering.plans import plan_create
from kefu.metering.services import meter_remove
from kefu.metering.tests.factories import NOW, read_series
from kefu.metering.tests.test_plans import GasRoute, gas_route
from kefu.org.tests.factories import make_staff

MARCH = date(2026, 3, 1)


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield


@dataclass
class Setup:
    gas: GasRoute
    plan: ReadingPlan


@pytest.fixture
def setup(world: Any) -> Setup:
    gas = gas_route(world)
    read_series(actor=gas.reader, meter=gas.meters["on"], values=[("2026-01", 100), ("2026-02", 130)])
    read_series(actor=gas.reader, meter=gas.meters["reconnected"], values=[("2026-01", 150), ("2026-02", 200)])
    plan = plan_create(actor=gas.analyst, route=gas.route, period=MARCH)
    return Setup(gas, plan)


def export_csv(s: Setup) -> list[dict[str, str]]:
    out = io.BytesIO()
    plan_export(actor=s.gas.reader, plan=s.plan, out=out, fmt="csv")
    data = out.getvalue()
    assert data.startswith(b"\xef\xbb\xbf")  # Excel opens it as Unicode
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def col(name: str) -> str:
    return next(h for h in header() if h.endswith(f"({name})"))


GOOD = {"G-on": "150", "G-reconnected": "190", "G-on2": "50"}  # 190 is below February's 200


def filled_csv(s: Setup, values: dict[str, str] = GOOD, encoding: str = "utf-8-sig") -> bytes:
    rows = export_csv(s)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    for row in rows:
        serial = row[col("meter")]
        row[col("reading")], row[col("read_on")], row[col("source")] = values[serial], "2026-03-12", "actual"
        writer.writerow(row)
    return out.getvalue().encode(encoding)


def do_import(s: Setup, data: bytes, name: str = "route.csv", **kw: Any) -> Any:
    return reading_import(actor=s.gas.reader, plan=s.plan, rows=read_table(data, name), name=name, now=NOW, **kw)


def march_readings() -> dict[str, Decimal]:
    return dict(Reading.objects.filter(period=MARCH).values_list("meter__serial", "value"))


# --------------------------------------------------------------------------- export

def test_csv_export_lists_the_route_in_walking_order_with_previous_and_expected_range(setup: Setup) -> None:
    rows = export_csv(setup)

    assert [r[col("meter")] for r in rows] == ["G-on", "G-reconnected", "G-on2"]
    assert list(rows[0])[:5] == ["顺序(seq)", "计量点编码(stop)", "户号(account)", "地址(address)", "表号(meter)"]
    first = rows[0]
    assert first[col("previous")] == "130.00"
    # Average of 100 and 30 is 65; three times that above the previous reading.
    assert (first[col("expected_low")], first[col("expected_high")]) == ("130.00", "325.00")
    assert first[col("account")] and "杭州市" in first[col("address")]
    assert int(rows[0][col("seq")]) < int(rows[1][col("seq")]) < int(rows[2][col("seq")])
    fresh = rows[2]  # no reading yet: previous is the meter's initial reading, no range
    assert (fresh[col("previous")], fresh[col("expected_low")], fresh[col("expected_high")]) == ("0.00", "", "")
    assert all(r[col("reading")] == "" for r in rows)
    audit = AuditLog.objects.get(action=AuditLog.Action.EXPORT)
    assert audit.actor == setup.gas.reader and audit.object_id == setup.plan.pk
    assert audit.detail["rows"] == 3 and audit.detail["format"] == "csv"


def test_xlsx_export_opens_in_excel_with_text_cells(setup: Setup) -> None:
    out = io.BytesIO()
    assert plan_export(actor=setup.gas.reader, plan=setup.plan, out=out, fmt="xlsx") == 3

    sheet = load_workbook(io.BytesIO(out.getvalue())).worksheets[0]
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0] == header()
    meter_at = header().index(col("meter"))
    assert [r[meter_at] for r in values[1:]] == ["G-on", "G-reconnected", "G-on2"]
    assert values[1][header().index(col("previous"))] == "130.00"


def test_export_is_scoped(setup: Setup, world: Any) -> None:
    with pytest.raises(NotFoundError):
        plan_export(actor=make_staff(unit=world.county_a1, roles=["reader"]), plan=setup.plan, out=io.BytesIO())
    assert not AuditLog.objects.filter(action=AuditLog.Action.EXPORT).exists()


# --------------------------------------------------------------------------- import

def test_utf8_csv_import_records_readings_and_queues_the_one_below_previous(setup: Setup) -> None:
    report = do_import(setup, filled_csv(setup))

    assert report.ok and (report.rows, report.applied, report.exceptions) == (3, 3, 1)
    assert march_readings() == {"G-on": Decimal("150"), "G-reconnected": Decimal("190"), "G-on2": Decimal("50")}
    low = Reading.objects.get(meter__serial="G-reconnected", period=MARCH)
    assert low.state == ReadingState.EXCEPTION
    assert ReadingException.objects.get(reading=low).rule == Rule.BELOW_PREVIOUS
    batch = ImportBatch.objects.get()
    assert (batch.name, batch.rows, batch.applied, batch.exceptions) == ("route.csv", 3, 3, 1)
    assert batch.actor == setup.gas.reader
    assert set(Reading.objects.filter(period=MARCH).values_list("plan_id", "batch_id")) == {(setup.plan.pk, batch.pk)}


def test_gbk_csv_with_chinese_headers_and_values(setup: Setup) -> None:
    lines = ["表号,本次示数,抄表日期,抄表方式,隐患",
             "G-on,150,2026/03/12,实抄,",
             "G-reconnected,205,2026-03-12,估抄,",
             "G-on2,50,20260312,自报,表箱锈蚀漏气"]
    report = do_import(setup, "\n".join(lines).encode("gbk"))

    assert report.ok and report.applied == 3 and report.exceptions == 0
    sources = dict(Reading.objects.filter(period=MARCH).values_list("meter__serial", "source"))
    assert sources == {"G-on": "actual", "G-reconnected": "estimated", "G-on2": "customer"}
    assert [(h.row, h.meter, h.text) for h in report.hazards] == [(4, "G-on2", "表箱锈蚀漏气")]


def test_xlsx_import_with_typed_numbers_and_dates(setup: Setup) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["meter", "reading", "read_on", "source", "multiplier", "note"])
    sheet.append(["G-on", 150.5, datetime(2026, 3, 12), "actual", 1, ""])
    sheet.append(["G-reconnected", 190, datetime(2026, 3, 12), "actual", None, "门口"])
    sheet.append(["G-on2", 50, datetime(2026, 3, 13), "", None, ""])
    out = io.BytesIO()
    book.save(out)

    report = do_import(setup, out.getvalue(), "route.xlsx")

    assert report.ok and (report.applied, report.exceptions) == (3, 1)
    assert march_readings()["G-on"] == Decimal("150.5")


BAD = [
    "meter,reading,read_on,source",
    "G-on,abc,2026-03-12,actual",  # 2: not a number
    "G-reconnected,-5,2026-03-12,actual",  # 3: negative
    "G-on2,50,2026-04-02,actual",  # 4: in the future (now is 28 March)
    "X-404,50,2026-03-12,actual",  # 5: unknown meter
    "G-vacant,50,2026-03-12,actual",  # 6: a real meter, not on this plan
    "G-on2,51,2026-03-12,actual",  # 7: the same meter twice
    "G-on2,50,12/03/2026,guess",  # 8: bad date and source (and the same meter again)
]


def test_bad_rows_are_all_reported_and_nothing_is_applied(setup: Setup) -> None:
    report = do_import(setup, "\n".join(BAD).encode())

    got = {(e.row, e.field) for e in report.errors}
    assert got == {(2, "reading"), (3, "reading"), (4, "read_on"), (5, "meter"), (6, "meter"), (7, "meter"),
                   (8, "meter")}
    messages = {e.row: e.message for e in report.errors}
    assert "number" in messages[2] and "negative" in messages[3] and "future" in messages[4]
    assert "Unknown meter number X-404" in messages[5] and "not on this reading plan" in messages[6]
    assert "first in row 4" in messages[7]
    assert march_readings() == {} and not ImportBatch.objects.exists()
    assert report.lines()[-1] == "7 errors; nothing was imported."


def test_bad_dates_and_sources_are_reported(setup: Setup) -> None:
    data = b"meter,reading,read_on,source\nG-on,150,12/03/2026,guess\nG-on2,10,2026-02-27,actual\n"
    report = do_import(setup, data)

    assert {(e.row, e.field) for e in report.errors} == {(2, "read_on"), (2, "source"), (3, "read_on")}
    assert march_readings() == {}


def test_partial_mode_applies_the_good_rows_and_reports_the_bad(setup: Setup) -> None:
    data = b"meter,reading,read_on\nG-on,150,2026-03-12\nG-on2,abc,2026-03-12\nX-404,1,2026-03-12\n"

    report = do_import(setup, data, partial=True)

    assert {(e.row, e.field) for e in report.errors} == {(3, "reading"), (4, "meter")}
    assert report.applied == 1 and march_readings() == {"G-on": Decimal("150")}
    batch = ImportBatch.objects.get()
    assert (batch.rows, batch.applied) == (3, 1)
    assert "2 rows with errors were left out." in report.lines()


@pytest.mark.parametrize("data, expect", [
    (b"meter,value_read,read_on\nG-on,1,2026-03-12\n", "missing columns: reading"),
    (b"meter,reading,read_on,colour\nG-on,1,2026-03-12,red\n", "unknown columns: colour"),
    (b"meter,reading,read_on,\xe8\xa1\xa8\xe5\x8f\xb7\n", "columns given twice: meter"),
    (b"\xff\xfe\xff\xff", "neither UTF-8 nor GBK"),
    (b"", "empty"),
])
def test_wrong_columns_or_encoding_are_refused(data: bytes, expect: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        read_table(data, "route.csv")
    assert expect in exc.value.errors["file"][0]


def test_reimporting_the_same_file_changes_nothing(setup: Setup) -> None:
    data = filled_csv(setup)
    do_import(setup, data)
    before = list(Reading.objects.order_by("pk").values_list("pk", "value", "state"))

    again = do_import(setup, data)

    assert again.ok and (again.applied, again.unchanged, again.exceptions) == (0, 3, 0)
    assert list(Reading.objects.order_by("pk").values_list("pk", "value", "state")) == before
    assert ReadingException.objects.count() == 1


def test_import_is_scoped(setup: Setup, world: Any) -> None:
    with pytest.raises(NotFoundError):
        reading_import(actor=make_staff(unit=world.county_a1, roles=["reader"]), plan=setup.plan,
                       rows=read_table(filled_csv(setup), "route.csv"), now=NOW)


def test_commands_round_trip(setup: Setup, tmp_path: Path, capsys: Any) -> None:
    out = tmp_path / "route.xlsx"
    call_command("route_export", plan=setup.plan.pk, format="xlsx", out=str(out), actor="reader_b1")
    book = load_workbook(out)
    sheet = book.worksheets[0]
    names = [c.value for c in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        serial = row[names.index(col("meter"))].value
        row[names.index(col("reading"))].value = GOOD[serial]
        row[names.index(col("read_on"))].value = "2026-03-12"
    book.save(out)
    bad = tmp_path / "bad.csv"
    bad.write_text("meter,reading,read_on\nX-404,1,2026-03-12\n", encoding="utf-8")

    with pytest.raises(CommandError):
        call_command("reading_import", str(bad), plan=setup.plan.pk, actor="reader_b1")
    assert "Row 2, meter: Unknown meter number X-404." in capsys.readouterr().out
    call_command("reading_import", str(out), plan=setup.plan.pk, actor="reader_b1")

    assert "3 readings recorded" in capsys.readouterr().out
    assert len(march_readings()) == 3


def test_a_meter_that_left_the_plan_is_refused_without_half_applying(setup: Setup, world: Any) -> None:
    """A row that passes the file check but is refused by reading_record (here: the meter was
    taken down after the plan was made) is reported on its row, and nothing else is kept."""
    meter = setup.gas.meters["on2"]
    assert meter.service_point is not None
    meter_remove(actor=world.admin, service_point=meter.service_point, on=date(2026, 3, 2),
                 final_reading=Decimal("40"))
    data = filled_csv(setup)

    report = do_import(setup, data)

    assert [(e.row, e.field) for e in report.errors] == [(4, "meter")]
    assert march_readings() == {} and not ImportBatch.objects.exists()


def test_another_meter_number_at_a_planned_stop_is_read_and_waits_for_the_analyst(setup: Setup) -> None:
    """The reader writes down the number found at the stop (G-9999): the reading is kept for the meter
    on file at that stop and raises a meter-number mismatch instead of being lost as an unknown meter."""
    rows = export_csv(setup)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    for row in rows:
        serial = row[col("meter")]
        row[col("reading")], row[col("read_on")], row[col("source")] = GOOD[serial], "2026-03-12", "actual"
        if serial == "G-on":
            row[col("meter")] = "G-9999"
        writer.writerow(row)
    report = do_import(setup, out.getvalue().encode("utf-8-sig"))

    assert report.ok, report.lines()
    exc = ReadingException.objects.get(rule=Rule.METER_MISMATCH)
    assert exc.meter.serial == "G-on" and exc.data == {"found": "G-9999", "expected": "G-on"}
    assert exc.detail == "Meter G-9999 found at the service point, G-on on file."
    assert exc.reading is not None and exc.reading.state == ReadingState.EXCEPTION
    assert march_readings()["G-on"] == Decimal("150")


def test_an_unknown_meter_number_without_its_stop_is_still_a_row_error(setup: Setup) -> None:
    rows = read_table(filled_csv(setup), "route.csv")
    rows[0]["meter"], rows[0]["stop"] = "G-9999", ""
    report = reading_import(actor=setup.gas.reader, plan=setup.plan, rows=rows, name="r.csv", now=NOW)
    assert [(e.row, e.field) for e in report.errors] == [(2, "meter")]
    assert not march_readings()
