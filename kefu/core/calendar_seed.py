"""Seed the business calendar from the ``chinese-calendar`` package (State Council notices)."""

from __future__ import annotations

from datetime import date

import chinese_calendar

from kefu.core.calendar import calendar_invalidate
from kefu.core.models import CalendarDay

# The package names holidays in English; the calendar is shown in Chinese first.
HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}

SOURCE = "chinese-calendar {version} (国务院办公厅 节假日安排通知)"


def calendar_rows(first_year: int = 2020) -> list[tuple[date, bool, str]]:
    """Exceptions only: weekday holidays and weekend working days, from ``first_year`` on."""
    rows: list[tuple[date, bool, str]] = []
    for day, name in chinese_calendar.holidays.items():
        if day.year >= first_year and day.weekday() < 5:
            rows.append((day, False, HOLIDAY_NAMES.get(str(name), str(name))))
    for day, name in chinese_calendar.workdays.items():
        if day.year >= first_year and day.weekday() >= 5:
            rows.append((day, True, HOLIDAY_NAMES.get(str(name), str(name)) + " 调休上班"))
    rows.sort()
    return rows


def calendar_seed(*, first_year: int = 2020, model: type | None = None) -> int:
    """Insert the exceptions not yet present; edited days are left alone. Returns rows added."""
    if model is None:
        model = CalendarDay
    source = SOURCE.format(version=getattr(chinese_calendar, "__version__", "?"))
    existing = set(model.objects.values_list("date", flat=True))  # type: ignore[attr-defined]
    new = [
        model(date=day, is_workday=work, name=name, source=source)
        for day, work, name in calendar_rows(first_year)
        if day not in existing
    ]
    model.objects.bulk_create(new)  # type: ignore[attr-defined]
    calendar_invalidate()
    return len(new)
