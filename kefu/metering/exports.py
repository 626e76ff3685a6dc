"""A reading plan as a file for the handheld device (CSV with a UTF-8 BOM, or Excel), in the layout
the results import reads back: the reader fills in the reading columns and returns the same file.

One row per meter register in walking order, with the previous (last billable) reading and the
expected range: previous + 0 .. previous + N × the average monthly consumption (N: the high-average
validation factor, 3 by default), converted back to register units through the multiplier; blank
when the meter has no consumption history yet. Every export writes an AuditLog EXPORT row."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import date
from decimal import Decimal
from typing import IO, Any

from django.utils.translation import gettext as _

from kefu.core.errors import NotFoundError
from kefu.core.models import AuditLog
from kefu.core.services import audit_record
from kefu.customers.models import Account
from kefu.org.choices import Capability
from kefu.org.scope import require, unit_in_scope

from .choices import BILLABLE
from .imports import EXPORT_COLUMNS, READING_COLUMNS
from .models import MeterEvent, PlanItem, Reading, ReadingPlan
from .plans import plan_items, qualifying_accounts
from .validation import Thresholds

CHUNK = 2000
CENT = Decimal("0.01")


def _chunks(items: list[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _year_before(period: date) -> date:
    return date(period.year - 1, period.month, 1)


def _histories(meter_ids: list[int], period: date) -> dict[tuple[int, int], list[tuple[Decimal, Decimal | None]]]:
    """(meter, register) → billable (value, consumption) of the past year, newest first."""
    found: dict[tuple[int, int], list[tuple[Decimal, Decimal | None]]] = {}
    for part in _chunks(meter_ids):
        rows = (Reading.objects.filter(meter_id__in=part, period__lt=period, period__gte=_year_before(period),
                                       state__in=BILLABLE)
                .order_by("meter_id", "register", "-period").values_list("meter_id", "register", "value",
                                                                           "consumption"))
        for meter_id, register, value, used in rows:
            found.setdefault((meter_id, register), []).append((value, used))
    return found


def _initial_readings(meter_ids: list[int]) -> dict[int, Decimal]:
    found: dict[int, Decimal] = {}
    for part in _chunks(meter_ids):
        for meter_id, value in (MeterEvent.objects.filter(meter_id__in=part, removed_on__isnull=True)
                                .order_by("installed_on", "id").values_list("meter_id", "initial_reading")):
            found[meter_id] = value  # the latest installation wins
    return found


def _account_numbers(plan: ReadingPlan, sp_ids: list[int]) -> dict[int, str]:
    """The account read at each service point (a qualifying one first, else any of the utility)."""
    found: dict[int, str] = {}
    qualifying = qualifying_accounts(plan.route.utility, plan.period)
    for part in _chunks(sp_ids):
        for qs in (qualifying.filter(service_point_id__in=part),
                   Account.objects.filter(service_point_id__in=part, utility=plan.route.utility)):
            for sp_id, number in qs.order_by("-id").values_list("service_point_id", "number"):
                if sp_id is not None and sp_id not in found:
                    found[sp_id] = number
    return found


def _text(value: Decimal | None) -> str:
    return "" if value is None else str(value.quantize(CENT))


def plan_rows(plan: ReadingPlan) -> Iterator[dict[str, str]]:
    items: list[PlanItem] = list(plan_items(plan))
    meter_ids = [i.meter_id for i in items]
    histories = _histories(meter_ids, plan.period)
    initial = _initial_readings(meter_ids)
    accounts = _account_numbers(plan, sorted({i.service_point_id for i in items}))
    thresholds = Thresholds.load()
    for item in items:
        meter = item.meter
        for register in range(max(meter.registers, 1)):
            past = histories.get((meter.pk, register), [])
            previous = past[0][0] if past else initial.get(meter.pk)
            used = [u for _v, u in past[: thresholds.high_average_months] if u is not None]
            low = high = None
            if previous is not None and used:
                average = sum(used, Decimal("0")) / len(used)
                low = previous
                high = previous + thresholds.high_average_factor * average / (meter.multiplier or Decimal("1"))
            yield {
                "seq": str(item.seq), "stop": item.service_point.code,
                "account": accounts.get(item.service_point_id, ""),
                "address": item.service_point.premise.address, "meter": meter.serial, "register": str(register),
                "previous": _text(previous), "expected_low": _text(low), "expected_high": _text(high),
                "multiplier": _text(meter.multiplier),
            }


def header() -> list[str]:
    """Chinese name with the English code, e.g. "表号(meter)": the importer accepts either part."""
    return [f"{READING_COLUMNS[c]}({c})" for c in EXPORT_COLUMNS]


def write_csv(rows: Iterable[dict[str, str]], out: IO[bytes]) -> int:
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow(header())
    count = 0
    for row in rows:
        writer.writerow([row.get(c, "") for c in EXPORT_COLUMNS])
        count += 1
    text.flush()
    text.detach()  # leave ``out`` open for the caller
    return count


def write_xlsx(rows: Iterable[dict[str, str]], out: IO[bytes]) -> int:
    """Every cell as text, so meter numbers keep their leading zeros."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("route")
    sheet.append(header())
    count = 0
    for row in rows:
        sheet.append([str(row.get(c, "")) for c in EXPORT_COLUMNS])
        count += 1
    book.save(out)
    return count


def plan_export(*, actor: Any, plan: ReadingPlan, out: IO[bytes], fmt: str = "csv", ip: str | None = None) -> int:
    """Write the plan for the handheld; returns the number of rows. Recorded in the audit log."""
    require(actor, Capability.READING_ENTER)
    if not unit_in_scope(actor, plan.route.unit):
        raise NotFoundError(_("No such reading plan in your area."))
    writer = write_xlsx if fmt == "xlsx" else write_csv
    count = writer(plan_rows(plan), out)
    audit_record(actor=actor, action=AuditLog.Action.EXPORT, instance=plan, ip=ip,
                 detail={"what": "reading_route", "route": plan.route.code, "period": plan.period.isoformat(),
                         "format": "xlsx" if fmt == "xlsx" else "csv", "rows": count})
    return count
