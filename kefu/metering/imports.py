"""Import of a handheld's results file (the exported route with the reading columns filled in).

The whole file is checked first — columns, encoding, every row — and every bad row is reported with
its row number as in the file (the header being row 1), the column and the reason. Only a file
without errors is applied, in one transaction; ``partial=True`` applies the good rows and still
reports the bad ones. Each row goes through ``services.reading_record``, so the validation rules and
the exceptions queue apply exactly as for one reading on a page, and the same value again is a
no-op: importing a file twice is harmless.

What the reader noted becomes work orders in the same transaction (``fieldwork.field_note_report``):
a text in the hazard column (隐患) a safety-hazard order, 是/Y/1 in the theft column (窃电窃气嫌疑) a
suspected-theft order (the note column says more), each sent to the unit of the meter's premise;
a re-import finds the orders already made and makes none. A late reading settles the meter's
missing-reading exception for the month.

CSV in UTF-8 (with or without a BOM) or GBK/GB18030 as Chinese Excel saves it, or .xlsx. Headers
in Chinese or English, or both as the export writes them ("表号(meter)")."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.core.errors import ApplicationError, InvalidInput, NotFoundError
from kefu.core.tabular import column_message, file_rows
from kefu.org.choices import Capability
from kefu.org.scope import require, unit_in_scope

from .choices import Register, Source
from .fieldwork import NoteKind, field_note_report, note_text
from .models import ImportBatch, Meter, PlanItem, Reading, ReadingPlan
from .plans import missing_settle
from .services import parse_value, reading_record

# Canonical column → Chinese header, in the order of the export.
READING_COLUMNS: dict[str, str] = {
    "seq": "顺序", "stop": "计量点编码", "account": "户号", "address": "地址", "meter": "表号",
    "register": "计度器", "previous": "上次示数", "expected_low": "预计下限", "expected_high": "预计上限",
    "multiplier": "倍率", "reading": "本次示数", "read_on": "抄表日期", "source": "抄表方式", "note": "备注",
    "hazard": "隐患", "theft": "窃电窃气嫌疑",
}
EXPORT_COLUMNS = tuple(READING_COLUMNS)
REQUIRED = ("meter", "reading", "read_on")

_HEADER_ALIASES: dict[str, str] = {
    "meter_number": "meter", "serial": "meter", "meter_no": "meter", "表计编号": "meter", "电表号": "meter",
    "气表号": "meter", "示数": "reading", "读数": "reading", "本月示数": "reading", "value": "reading",
    "抄表时间": "read_on", "日期": "read_on", "date": "read_on", "来源": "source", "抄表类型": "source",
    "序号": "seq", "order": "seq", "service_point": "stop", "计量点": "stop", "account_number": "account",
    "地址": "address", "示数类型": "register", "上月示数": "previous", "隐患说明": "hazard", "remark": "note",
    "安全隐患": "hazard", "窃电": "theft", "窃气": "theft", "窃电嫌疑": "theft", "窃气嫌疑": "theft",
    "suspected_theft": "theft",
}
# The theft column: yes or no (blank is no).
_YES_NO: dict[str, bool] = {
    "是": True, "有": True, "y": True, "yes": True, "1": True, "true": True, "√": True,
    "否": False, "无": False, "n": False, "no": False, "0": False, "false": False, "": False,
}
_SOURCES: dict[str, str] = {
    "actual": Source.ACTUAL, "estimated": Source.ESTIMATED, "customer": Source.CUSTOMER,
    "实抄": Source.ACTUAL, "实际": Source.ACTUAL, "估抄": Source.ESTIMATED, "估计": Source.ESTIMATED,
    "估算": Source.ESTIMATED, "自报": Source.CUSTOMER, "客户自抄": Source.CUSTOMER, "自抄": Source.CUSTOMER,
}
_REGISTERS: dict[str, int] = {
    "total": Register.TOTAL, "peak": Register.PEAK, "flat": Register.FLAT, "valley": Register.VALLEY,
    "critical": Register.CRITICAL, "总": Register.TOTAL, "峰": Register.PEAK, "平": Register.FLAT,
    "谷": Register.VALLEY, "尖": Register.CRITICAL,
}
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d")


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    message: str


@dataclass(frozen=True)
class Hazard:
    row: int
    meter: str
    text: str
    kind: str = NoteKind.HAZARD


def error_lines(errors: list[RowError], limit: int | None = None) -> list[str]:
    """One line per bad row and column, in file order (at most ``limit``, then how many more)."""
    ordered = sorted(errors, key=lambda e: (e.row, e.field))
    shown = ordered if limit is None else ordered[:limit]
    out = [_("Row %(row)d, %(field)s: %(message)s") % {"row": e.row, "field": e.field, "message": e.message}
           for e in shown]
    if len(ordered) > len(shown):
        out.append(_("… and %(count)d more errors.") % {"count": len(ordered) - len(shown)})
    return out


def outcome_lines(errors: list[RowError], *, partial: bool, rows: int, applied: int, unchanged: int,
                  exceptions: int) -> list[str]:
    """What an import did: nothing (errors, all or nothing), or the rows left out and the counts."""
    if errors and not partial:
        return [_("%(count)d errors; nothing was imported.") % {"count": len(errors)}]
    out = []
    if errors:
        out.append(_("%(count)d rows with errors were left out.") % {"count": len({e.row for e in errors})})
    out.append(_("%(rows)d rows: %(applied)d readings recorded, %(unchanged)d already there, "
                 "%(exceptions)d exceptions for review.") % {
        "rows": rows, "applied": applied, "unchanged": unchanged, "exceptions": exceptions})
    return out


@dataclass(frozen=True)
class OrderMade:
    """A work order a row's note made (``created``), or the one an earlier import made for it."""

    row: int
    meter: str
    kind: str
    number: str
    order_id: int
    type_label: str
    unit: str
    created: bool


@dataclass
class ImportReport:
    partial: bool = False
    rows: int = 0
    applied: int = 0  # readings created
    unchanged: int = 0  # the same value was already there
    exceptions: int = 0  # exceptions raised for the data analyst
    batch: ImportBatch | None = None
    errors: list[RowError] = field(default_factory=list)
    hazards: list[Hazard] = field(default_factory=list)  # hazards and theft noted by the reader
    orders: list[OrderMade] = field(default_factory=list)  # the work orders they became (after applying)
    settled: int = 0  # missing-reading exceptions settled by these (late) readings

    @property
    def ok(self) -> bool:
        return not self.errors

    def add(self, row: int, field_name: str, message: str) -> None:
        self.errors.append(RowError(row, field_name, message))

    @staticmethod
    def _note_line(h: Hazard) -> str:
        if h.kind == NoteKind.THEFT:
            return _("Row %(row)d: suspected theft noted at meter %(meter)s.") % {"row": h.row, "meter": h.meter}
        return _("Row %(row)d: hazard noted at meter %(meter)s: %(text)s") % {
            "row": h.row, "meter": h.meter, "text": h.text}

    def lines(self) -> list[str]:
        out = error_lines(self.errors)
        out += [self._note_line(h) for h in self.hazards if not self.orders]
        for o in self.orders:
            values = {"row": o.row, "meter": o.meter, "number": o.number, "type": o.type_label, "unit": o.unit}
            out.append(_("Row %(row)d: work order %(number)s (%(type)s) for meter %(meter)s, sent to %(unit)s.")
                       % values if o.created else
                       _("Row %(row)d: meter %(meter)s already has work order %(number)s (%(type)s) for this; "
                         "no new order.") % values)
        out += outcome_lines(self.errors, partial=self.partial, rows=self.rows, applied=self.applied,
                             unchanged=self.unchanged, exceptions=self.exceptions)
        if self.errors and not self.partial:
            return out
        if self.settled:
            out.append(_("%(count)d missing-reading exceptions settled by these readings.") % {"count": self.settled})
        return out


# --------------------------------------------------------------------------- reading files

def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time.min else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores typed numbers as floats
    return str(value).strip()


def _header_name(cell: str) -> str | None:
    text = cell.replace("\ufeff", "").strip()
    names = {c: c for c in READING_COLUMNS} | {zh: c for c, zh in READING_COLUMNS.items()}
    for candidate in (text, *re.split(r"[()（）/\s]+", text)):
        key = candidate.strip().lower()
        if key and (names.get(key) or _HEADER_ALIASES.get(key)):
            return names.get(key) or _HEADER_ALIASES[key]
    return None


def read_table(file: str | Path | bytes | IO[bytes], filename: str = "") -> list[dict[str, str]]:
    """Rows of a .csv or .xlsx results file keyed by canonical column names, each with ``_row`` (its
    row number in the file). Wrong or missing columns raise ``InvalidInput`` naming them."""
    raw = file_rows(file, filename)
    header_at = next((i for i, r in enumerate(raw) if any(_cell(c) for c in r)), None)
    if header_at is None:
        raise InvalidInput({"file": [_("The file is empty.")]})
    cells = [_cell(c) for c in raw[header_at]]
    header = [_header_name(c) if c else None for c in cells]
    unknown = [c for c, name in zip(cells, header, strict=True) if c and name is None]
    present = [h for h in header if h]
    missing = [c for c in REQUIRED if c not in present]
    doubled = sorted({h for h in present if present.count(h) > 1})
    if unknown or missing or doubled:
        raise InvalidInput({"file": [column_message(READING_COLUMNS, REQUIRED, unknown, missing, doubled)]})
    rows: list[dict[str, str]] = []
    for number, values in enumerate(raw[header_at + 1:], start=header_at + 2):
        texts = [_cell(v) for v in values]
        if not any(texts):
            continue
        row = {name: "" for name in present} | {"_row": str(number)}
        for name, value in zip(header, texts, strict=False):
            if name:
                row[name] = value
        rows.append(row)
    return rows


# --------------------------------------------------------------------------- checking

@dataclass
class _Good:
    row: int
    meter: Meter
    register: int
    value: Decimal
    read_on: dt.date
    source: str
    multiplier: Decimal | None
    hazard: str = ""
    theft: bool = False
    note: str = ""
    found: str = ""  # the meter number read at the stop when it is not the one on file


def _date(text: str) -> dt.date | None:
    text = text.strip().split(" ")[0].split("T")[0]
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _check_row(raw: dict[str, str], n: int, meter: Meter | None, plan: ReadingPlan, today: dt.date,
               report: ImportReport) -> _Good | None:
    before = len(report.errors)
    value: Decimal | None = None
    if not raw.get("reading", "").strip():
        report.add(n, "reading", _("The reading is missing."))
    else:
        try:
            value = parse_value(raw["reading"], "reading")
        except InvalidInput as exc:
            report.add(n, "reading", str(exc.message))
    read_on = _date(raw.get("read_on", ""))
    if not raw.get("read_on", "").strip():
        report.add(n, "read_on", _("The reading date is missing."))
    elif read_on is None:
        report.add(n, "read_on", _("Give the date as YYYY-MM-DD."))
    elif read_on > today:
        report.add(n, "read_on", _("A reading cannot be dated in the future."))
    elif read_on < plan.period:
        report.add(n, "read_on", _("The reading is dated before the plan's month %(month)s.") % {
            "month": f"{plan.period:%Y-%m}"})
    source_text = raw.get("source", "").strip()
    source = _SOURCES.get(source_text.lower(), _SOURCES.get(source_text)) if source_text else Source.ACTUAL
    if source is None:
        report.add(n, "source", _("The source must be actual, estimated or customer (实抄, 估抄, 自报)."))
    register = 0
    register_text = raw.get("register", "").strip()
    if register_text:
        found = _REGISTERS.get(register_text.lower())
        register = found if found is not None else int(register_text) if register_text.isdigit() else -1
    if meter is not None and not 0 <= register < max(meter.registers, 1):
        report.add(n, "register", _("Meter %(serial)s has no register %(register)s.") % {
            "serial": meter.serial, "register": register_text})
    multiplier: Decimal | None = None
    if raw.get("multiplier", "").strip():
        try:
            multiplier = Decimal(raw["multiplier"].strip().replace(",", ""))
            if not multiplier.is_finite() or multiplier <= 0:
                raise InvalidOperation
        except InvalidOperation:
            report.add(n, "multiplier", _("The multiplier must be a positive number."))
            multiplier = None
    hazard = ""
    if raw.get("hazard", "").strip():
        try:
            hazard = note_text(NoteKind.HAZARD, raw["hazard"])
        except InvalidInput as exc:
            report.add(n, "hazard", str(exc.message))
    theft = _YES_NO.get(raw.get("theft", "").strip().lower())
    if theft is None:
        report.add(n, "theft", _("Answer suspected theft with %(yes)s or %(no)s (or Y/N, 1/0).") % {
            "yes": "是", "no": "否"})
    note = ""
    if theft:
        try:
            note = note_text(NoteKind.THEFT, raw.get("note", ""))
        except InvalidInput as exc:
            report.add(n, "note", str(exc.message))
    if len(report.errors) > before or meter is None or value is None or read_on is None or source is None:
        return None
    return _Good(n, meter, register, value, read_on, source, multiplier, hazard, bool(theft), note)


def check_rows(plan: ReadingPlan, rows: list[dict[str, str]], report: ImportReport,
               today: dt.date) -> list[_Good]:
    """Every row against the plan, with a fixed number of queries (the plan's meters once, unknown
    meter numbers once)."""
    items = list(PlanItem.objects.filter(plan=plan).select_related("meter", "service_point"))
    on_plan = {item.meter.serial: item.meter for item in items}
    at_stop = {item.service_point.code: item.meter for item in items}
    strangers = {r.get("meter", "").strip() for r in rows} - set(on_plan) - {""}
    known = set(Meter.objects.filter(serial__in=sorted(strangers)).values_list("serial", flat=True)) \
        if strangers else set()
    first_row: dict[tuple[str, str], int] = {}
    good: list[_Good] = []
    for raw in rows:
        n = int(raw["_row"])
        serial = raw.get("meter", "").strip()
        meter = on_plan.get(serial)
        found = ""
        if serial and meter is None and raw.get("stop", "").strip() in at_stop:
            # Another number than the one on file at a planned stop: read, and the analyst decides.
            meter, found = at_stop[raw["stop"].strip()], serial
        if not serial:
            report.add(n, "meter", _("The meter number is missing."))
        elif meter is None and serial in known:
            report.add(n, "meter", _("Meter %(serial)s is not on this reading plan.") % {"serial": serial})
        elif meter is None:
            report.add(n, "meter", _("Unknown meter number %(serial)s.") % {"serial": serial})
        key = (serial, raw.get("register", "").strip() or "0")
        if serial and key in first_row:
            report.add(n, "meter", _("Meter %(serial)s appears twice in the file (first in row %(row)d).") % {
                "serial": serial, "row": first_row[key]})
            continue
        if serial:
            first_row[key] = n
        checked = _check_row(raw, n, meter, plan, today, report)
        if raw.get("hazard", "").strip():
            report.hazards.append(Hazard(n, serial, raw["hazard"].strip()))
        if _YES_NO.get(raw.get("theft", "").strip().lower()):
            report.hazards.append(Hazard(n, serial, raw.get("note", "").strip(), NoteKind.THEFT))
        if checked is not None:
            good.append(dataclasses.replace(checked, found=found) if found else checked)
    return good


# --------------------------------------------------------------------------- applying

_FIELD_COLUMN = {"value": "reading", "read_on": "read_on", "source": "source", "multiplier": "multiplier",
                 "meter": "meter"}


def _refusal(exc: ApplicationError) -> tuple[str, str]:
    if isinstance(exc, InvalidInput):
        name = next(iter(exc.errors), "meter")
        return _FIELD_COLUMN.get(name, name), str(exc.errors[name][0])
    return _FIELD_COLUMN.get(exc.field or "meter", "meter"), str(exc.message)


def reading_import(*, actor: Any, plan: ReadingPlan, rows: list[dict[str, str]], name: str = "",
                   partial: bool = False, now: dt.datetime | None = None) -> ImportReport:
    """Check every row, then record the good ones (all of them, or with ``partial`` those without
    errors). Returns the report; the ImportBatch row is ``report.batch`` when anything was applied."""
    require(actor, Capability.READING_ENTER)
    if not unit_in_scope(actor, plan.route.unit):
        raise NotFoundError(_("No such reading plan in your area."))
    now = now or timezone.now()
    report = ImportReport(partial=partial, rows=len(rows))
    good = check_rows(plan, rows, report, timezone.localdate(now))
    if (report.errors and not partial) or not good:
        return report
    with transaction.atomic():
        batch = ImportBatch.objects.create(name=(name or _("reading file"))[:200], rows=len(rows),
                                           actor=actor if getattr(actor, "pk", None) else None)
        created: list[int] = []
        applied: list[_Good] = []
        for row in good:
            try:
                with transaction.atomic():
                    recorded = reading_record(
                        actor=actor, meter=row.meter, value=row.value, read_on=row.read_on, source=row.source,
                        register=row.register, period=plan.period, multiplier_given=row.multiplier, batch=batch,
                        now=now, meter_found=row.found)
            except ApplicationError as exc:
                report.add(row.row, *_refusal(exc))
                if not partial:
                    transaction.set_rollback(True)
                    report.applied = report.unchanged = report.exceptions = 0
                    return report
                continue
            if recorded.created:
                created.append(recorded.reading.pk)
            else:
                report.unchanged += not recorded.exceptions
            report.exceptions += len(recorded.exceptions)
            applied.append(row)
        if not _make_orders(actor, plan, applied, report, now):
            transaction.set_rollback(True)
            report.applied = report.unchanged = report.exceptions = 0
            report.orders = []
            return report
        report.applied = len(created)
        for start in range(0, len(created), 2000):
            Reading.objects.filter(pk__in=created[start:start + 2000]).update(plan=plan)
        report.settled = missing_settle(meter_ids=[r.meter.pk for r in applied], period=plan.period, actor=actor,
                                        now=now)
        batch.applied, batch.exceptions = report.applied, report.exceptions
        batch.save(update_fields=["applied", "exceptions"])
    report.batch = batch
    return report


def _make_orders(actor: Any, plan: ReadingPlan, rows: list[_Good], report: ImportReport, now: dt.datetime) -> bool:
    """The work orders of the applied rows' notes. A refused one is a row error under its column;
    False when that must undo the whole import (not partial)."""
    for row in rows:
        notes = [(NoteKind.HAZARD, row.hazard)] if row.hazard else []
        if row.theft:
            notes.append((NoteKind.THEFT, row.note))
        for kind, text in notes:
            try:
                with transaction.atomic():
                    raised = field_note_report(actor=actor, meter=row.meter, period=plan.period, kind=kind, text=text,
                                               route=plan.route, now=now)
            except ApplicationError as exc:
                message = next(iter(exc.errors.values()))[0] if isinstance(exc, InvalidInput) else exc.message
                report.add(row.row, kind, str(message))
                if not report.partial:
                    return False
                continue
            order = raised.order
            report.orders.append(OrderMade(
                row=row.row, meter=row.meter.serial, kind=kind, number=order.number, order_id=order.pk,
                type_label=order.order_type.label, unit=order.handling_unit.name if order.handling_unit else "",
                created=raised.created))
    return True
