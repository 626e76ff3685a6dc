"""Reliability figures as an Excel workbook: one sheet by unit (the chosen unit, then each unit below
it), one sheet by month. Headers are Chinese for a Chinese reader and English otherwise; the figures
are numbers (not text) so that the reader can sum and chart them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import IO

from django.utils import translation
from openpyxl import Workbook

from kefu.core.choices import UtilityKind

from .reliability import Indices

# (Chinese, English): the catalogue may not hold the Chinese yet, and an export must not wait for it.
HEAD: dict[str, tuple[str, str]] = {
    "unit": ("单位", "Unit"),
    "month": ("月份", "Month"),
    "served": ("服务用户数", "Customers served"),
    "interruptions": ("停电用户次数", "Customer interruptions"),
    "hours": ("停电时户数(时·户)", "Customer interruption hours"),
    "outages": ("计入停电次数", "Outages counted"),
    "saifi": ("SAIFI 平均停电频率(次/户)", "SAIFI (interruptions per customer)"),
    "saidi": ("SAIDI 平均停电时间(小时/户)", "SAIDI (hours per customer)"),
    "caidi": ("CAIDI 平均停电持续时间(小时/次)", "CAIDI (hours per interruption)"),
    "rs1": ("RS-1 供电可靠率(%)", "RS-1 supply reliability (%)"),
}
SHEETS: dict[str, tuple[str, str]] = {"units": ("按单位", "By unit"), "months": ("按月", "By month"),
                                      "about": ("说明", "About")}
ABOUT: list[tuple[str, str]] = [
    ("统计期间", "Period"),
    ("供应类别", "Utility"),
    ("SAIFI = 停电用户次数 / 服务用户数", "SAIFI = customer interruptions / customers served"),
    ("SAIDI = 停电时户数 / 服务用户数", "SAIDI = customer interruption hours / customers served"),
    ("CAIDI = SAIDI / SAIFI", "CAIDI = SAIDI / SAIFI"),
    ("RS-1 = (1 − SAIDI / 统计期间小时数) × 100%", "RS-1 = (1 − SAIDI / hours in the period) × 100%"),
    ("时间重叠的停电对同一用户只计一次; 欠费、窃电、违约停电不计入",
     "Overlapping outages count once per customer; arrears, theft and contract-violation disconnections are "
     "not counted"),
]
UTILITY_NAMES: dict[str, tuple[str, str]] = {UtilityKind.POWER: ("电力", "Power"), UtilityKind.GAS: ("燃气", "Gas")}
FIGURES = ("served", "interruptions", "hours", "outages", "saifi", "saidi", "caidi", "rs1")


def chinese() -> bool:
    return (translation.get_language() or "").lower().startswith("zh")


def _pick(pair: tuple[str, str]) -> str:
    return pair[0] if chinese() else pair[1]


def header(first: str) -> list[str]:
    return [_pick(HEAD[first]), *(_pick(HEAD[k]) for k in FIGURES)]


def figures(row: Indices) -> list[object]:
    return [row.customers_served, row.interruptions, hours(row),
            row.outages, row.saifi, row.saidi, row.caidi, row.rs1]


def hours(row: Indices) -> Decimal:
    return row.customer_hours.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def month_name(first: date) -> str:
    return f"{first.year}年{first.month:02d}月" if chinese() else f"{first:%Y-%m}"


def write_xlsx(out: IO[bytes], *, units: Iterable[Indices], months: Iterable[Indices], utility: str,
               start: date, end: date) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = _pick(SHEETS["units"])
    sheet.append(header("unit"))
    for row in units:
        sheet.append([row.unit.name, *figures(row)])
    by_month = book.create_sheet(_pick(SHEETS["months"]))
    by_month.append(header("month"))
    for row in months:
        by_month.append([month_name(row.start), *figures(row)])
    about = book.create_sheet(_pick(SHEETS["about"]))
    about.append([_pick(ABOUT[0]), f"{start:%Y-%m-%d} – {end:%Y-%m-%d}"])
    about.append([_pick(ABOUT[1]), _pick(UTILITY_NAMES.get(utility, (utility, utility)))])
    for pair in ABOUT[2:]:
        about.append([_pick(pair)])
    for ws in (sheet, by_month):
        ws.freeze_panes = "B2"
        ws.column_dimensions["A"].width = 24
        for letter in "BCDEFGHI":
            ws.column_dimensions[letter].width = 18
    about.column_dimensions["A"].width = 60
    book.save(out)
