"""The reliability workbook: a sheet by unit, one by month and one that explains the figures; headers
in the reader's language; the figures are numbers a spreadsheet can sum."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

from django.utils import translation
from openpyxl import load_workbook

from kefu.org.models import OrgUnit
from kefu.outages.exports import write_xlsx
from kefu.outages.reliability import Indices

CITY = OrgUnit(name="城市A供电公司", code="CA")
COUNTY = OrgUnit(name="县A1供电公司", code="A1")


def figures(unit: OrgUnit, start: date, end: date, served: int, interruptions: int, hours: str) -> Indices:
    return Indices(unit=unit, start=start, end=end, customers_served=served, interruptions=interruptions,
                   customer_hours=Decimal(hours), outages=1 if interruptions else 0)


def workbook(language: str) -> io.BytesIO:
    units = [figures(CITY, date(2026, 1, 1), date(2026, 3, 31), 8, 5, "10"),
             figures(COUNTY, date(2026, 1, 1), date(2026, 3, 31), 7, 5, "10")]
    months = [figures(CITY, date(2026, m, 1), date(2026, m, 28), 8, 5 if m == 3 else 0, "10" if m == 3 else "0")
              for m in range(1, 4)]
    out = io.BytesIO()
    with translation.override(language):
        write_xlsx(out, units=units, months=months, utility="power", start=date(2026, 1, 1), end=date(2026, 3, 31))
    out.seek(0)
    return out


def rows(book: object, sheet: str) -> list[list[object]]:
    return [list(r) for r in book[sheet].iter_rows(values_only=True)]  # type: ignore[index]


def test_english_workbook() -> None:
    book = load_workbook(workbook("en"))
    assert book.sheetnames == ["By unit", "By month", "About"]
    units = rows(book, "By unit")
    assert units[0] == ["Unit", "Customers served", "Customer interruptions", "Customer interruption hours",
                        "Outages counted", "SAIFI (interruptions per customer)", "SAIDI (hours per customer)",
                        "CAIDI (hours per interruption)", "RS-1 supply reliability (%)"]
    county = units[2]
    assert county[:5] == ["县A1供电公司", 7, 5, 10, 1]
    assert [Decimal(str(v)) for v in county[5:]] == [Decimal("0.7143"), Decimal("1.4286"), Decimal("2"),
                                                    Decimal("99.9339")]
    assert all(isinstance(v, int | float) for v in county[1:])  # numbers, not text
    months = rows(book, "By month")
    assert [m[0] for m in months[1:]] == ["2026-01", "2026-02", "2026-03"]
    assert months[3][2] == 5 and months[1][2] == 0 and months[1][8] == 100
    about = rows(book, "About")
    assert about[0] == ["Period", "2026-01-01 – 2026-03-31"] and about[1] == ["Utility", "Power"]
    assert any("Overlapping outages count once per customer" in str(r[0]) for r in about)


def test_chinese_workbook() -> None:
    book = load_workbook(workbook("zh-hans"))
    assert book.sheetnames == ["按单位", "按月", "说明"]
    units = rows(book, "按单位")
    assert units[0][:3] == ["单位", "服务用户数", "停电用户次数"]
    assert units[0][8] == "RS-1 供电可靠率(%)"
    assert [m[0] for m in rows(book, "按月")[1:]] == ["2026年01月", "2026年02月", "2026年03月"]
    assert rows(book, "说明")[1] == ["供应类别", "电力"]
