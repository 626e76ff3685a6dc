"""Business calendar: which local dates are working days, and time arithmetic over them.

A clock measured in working days counts only the time that falls on working days (local time,
Asia/Shanghai), so "4 working days" from Friday 10:00 ends on Thursday 10:00 of the next week, and a
holiday or weekend in between is skipped. Measuring and adding use the same rule, which is what lets
a paused clock be extended by exactly the working time it lost (see workorders.clocks).
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

from kefu.core.models import CalendarDay

_TTL_SECONDS = 300.0
_cache: tuple[float, dict[date, bool]] | None = None
DAY = 86400


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def calendar_invalidate() -> None:
    """Drop the cached exceptions; other processes reload within the TTL."""
    global _cache
    _cache = None


def _overrides() -> dict[date, bool]:
    global _cache
    now = time.monotonic()
    if _cache is None or now - _cache[0] > _TTL_SECONDS:
        _cache = (now, dict(CalendarDay.objects.values_list("date", "is_workday")))
    return _cache[1]


def is_workday(day: date) -> bool:
    listed = _overrides().get(day)
    if listed is not None:
        return listed
    return day.weekday() < 5


def add_working_days(day: date, count: int) -> date:
    """The ``count``-th working day after ``day`` (``day`` itself not counted)."""
    current = day
    remaining = count
    while remaining > 0:
        current += timedelta(days=1)
        if is_workday(current):
            remaining -= 1
    return current


def _day_start(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone)


def working_seconds_between(start: datetime, end: datetime) -> int:
    """Seconds of [start, end) that fall on working days (0 if end <= start)."""
    if end <= start:
        return 0
    zone = local_zone()
    cursor = start.astimezone(zone)
    stop = end.astimezone(zone)
    # Sum timedeltas (exact microseconds): summing float seconds loses a second now and then.
    total = timedelta(0)
    while cursor < stop:
        next_midnight = _day_start(cursor.date() + timedelta(days=1), zone)
        segment_end = min(next_midnight, stop)
        if is_workday(cursor.date()):
            total += segment_end - cursor
        cursor = segment_end
    return total // timedelta(seconds=1)


def add_working_seconds(start: datetime, seconds: int) -> datetime:
    """The instant at which ``seconds`` of working time have passed since ``start``."""
    zone = local_zone()
    cursor = start.astimezone(zone)
    remaining = timedelta(seconds=seconds)
    # A clock started on a holiday begins to run at the start of the next working day.
    for _guard in range(3660):
        next_midnight = _day_start(cursor.date() + timedelta(days=1), zone)
        if is_workday(cursor.date()):
            available = next_midnight - cursor
            if remaining <= available:
                return cursor + remaining
            remaining -= available
        cursor = next_midnight
    raise ValueError("working-time budget spans more than ten years")


def measure(start: datetime, end: datetime, *, working: bool) -> int:
    """Elapsed clock time between two instants: wall seconds, or working-day seconds."""
    if working:
        return working_seconds_between(start, end)
    return max(0, (end - start) // timedelta(seconds=1))


def advance(start: datetime, seconds: int, *, working: bool) -> datetime:
    """Inverse of ``measure``: the instant ``seconds`` of clock time after ``start``."""
    if working:
        return add_working_seconds(start, seconds)
    return start + timedelta(seconds=seconds)


def known_years() -> list[int]:
    """Years for which at least one exception is recorded (a year with none probably needs entering)."""
    return sorted({d.year for d in _overrides()})
