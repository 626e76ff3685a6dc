"""The business calendar: the seeded 2026 statutory schedule, working-time arithmetic and editing.

Expected dates are counted by hand from the State Council's 2026 holiday notice (国办发明电〔2025〕7号):
Spring Festival off Sun 15 Feb – Mon 23 Feb, worked Sat 14 Feb and Sat 28 Feb; Mid-autumn off
Fri 25 Sep – Sun 27 Sep; National Day off Thu 1 Oct – Wed 7 Oct, worked Sun 20 Sep and Sat 10 Oct.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kefu.core.calendar import (
    add_working_days,
    add_working_seconds,
    advance,
    calendar_invalidate,
    is_workday,
    known_years,
    measure,
    working_seconds_between,
)
from kefu.core.calendar_seed import calendar_seed
from kefu.core.models import CalendarDay

pytestmark = pytest.mark.django_db
BEIJING = ZoneInfo("Asia/Shanghai")
HOUR = 3600
DAY = 24 * HOUR


def bj(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BEIJING)


@pytest.mark.parametrize("day", [date(2026, 2, d) for d in (16, 17, 18, 19, 20, 23)])
def test_spring_festival_weekdays_are_off(day):
    assert not is_workday(day)


@pytest.mark.parametrize("day", [date(2026, 2, 14), date(2026, 2, 28)])
def test_spring_festival_swapped_saturdays_are_worked(day):
    assert day.weekday() == 5
    assert is_workday(day)


@pytest.mark.parametrize("day", [date(2026, 9, 25), *(date(2026, 10, d) for d in (1, 2, 5, 6, 7))])
def test_mid_autumn_and_national_day_weekdays_are_off(day):
    assert day.weekday() < 5
    assert not is_workday(day)


@pytest.mark.parametrize("day", [date(2026, 9, 20), date(2026, 10, 10)])
def test_national_day_swapped_weekend_days_are_worked(day):
    assert day.weekday() >= 5
    assert is_workday(day)


def test_ordinary_days_follow_the_week():
    assert is_workday(date(2026, 3, 10))  # a Tuesday
    assert not is_workday(date(2026, 3, 14))  # a Saturday
    assert not is_workday(date(2026, 10, 11))  # the Sunday after the worked Saturday 10 Oct
    assert is_workday(date(2026, 10, 8)) and is_workday(date(2026, 10, 9))
    assert 2026 in known_years()


def test_four_working_days_from_the_friday_before_national_day():
    # Fri 25 Sep is itself Mid-autumn. Counting: Sat 26 off, Sun 27 off, Mon 28 = 1, Tue 29 = 2,
    # Wed 30 = 3, 1–7 Oct off, Thu 8 Oct = 4.
    assert add_working_days(date(2026, 9, 25), 4) == date(2026, 10, 8)
    # The Friday a week earlier: Sat 19 off, Sun 20 worked = 1, Mon 21 = 2, Tue 22 = 3, Wed 23 = 4.
    assert add_working_days(date(2026, 9, 18), 4) == date(2026, 9, 23)
    # The last working day before the holiday, Wed 30 Sep: Thu 8 Oct = 1, Fri 9 = 2, Sat 10 (worked) = 3,
    # Sun 11 off, Mon 12 = 4.
    assert add_working_days(date(2026, 9, 30), 4) == date(2026, 10, 12)


def test_four_working_days_from_the_friday_before_spring_festival():
    # Fri 13 Feb: Sat 14 (worked) = 1, 15–23 off, Tue 24 = 2, Wed 25 = 3, Thu 26 = 4.
    assert add_working_days(date(2026, 2, 13), 4) == date(2026, 2, 26)


def test_working_seconds_skip_weekends_and_holidays():
    # 4 working days from Fri 18 Sep 10:00: Fri 14 h, Sat 0, Sun 20 (worked) 24 h = 38 h, Mon 62 h,
    # Tue 86 h, Wed 23 Sep 10:00 = 96 h.
    assert add_working_seconds(bj(2026, 9, 18, 10), 4 * DAY) == bj(2026, 9, 23, 10)
    # From Wed 30 Sep 10:00: Wed 14 h, 1–7 Oct off, Thu 8 = 38 h, Fri 9 = 62 h, Sat 10 (worked) = 86 h,
    # Sun 11 off, Mon 12 Oct 10:00 = 96 h.
    assert add_working_seconds(bj(2026, 9, 30, 10), 4 * DAY) == bj(2026, 10, 12, 10)
    # The whole National Day week counts nothing.
    assert working_seconds_between(bj(2026, 10, 1), bj(2026, 10, 8)) == 0
    # Fri 18:00 to Mon 09:00 of an ordinary weekend: 6 h on Friday and 9 h on Monday.
    assert working_seconds_between(bj(2026, 3, 13, 18), bj(2026, 3, 16, 9)) == 15 * HOUR
    assert working_seconds_between(bj(2026, 3, 16, 9), bj(2026, 3, 13, 18)) == 0


def test_a_clock_started_on_a_holiday_starts_on_the_next_working_day():
    # Sat 3 Oct 15:00 is in the National Day week: the first working hour ends Thu 8 Oct 01:00.
    assert add_working_seconds(bj(2026, 10, 3, 15), HOUR) == bj(2026, 10, 8, 1)
    # Mid-autumn Friday 25 Sep 10:00: nothing counts before Mon 28 Sep 00:00.
    assert add_working_seconds(bj(2026, 9, 25, 10), 0) == bj(2026, 9, 28)
    assert add_working_seconds(bj(2026, 9, 25, 10), 2 * HOUR) == bj(2026, 9, 28, 2)
    # An ordinary Sunday: the clock starts Monday.
    assert add_working_seconds(bj(2026, 3, 15, 20), 30 * 60) == bj(2026, 3, 16, 0, 30)


def test_adding_and_measuring_working_time_are_inverse():
    rng = random.Random(2026)
    for _ in range(2000):
        start = bj(2026, 1, 1) + timedelta(seconds=rng.randrange(360 * DAY), microseconds=rng.randrange(10**6))
        seconds = rng.randrange(12 * DAY)
        end = add_working_seconds(start, seconds)
        assert working_seconds_between(start, end) == seconds, (start, seconds)
        assert measure(start, end, working=True) == seconds
        assert advance(start, seconds, working=True) == end
        # The other way round: working time measured between two moments on working days, added to
        # the first, gives the second back to the microsecond.
        later = start + timedelta(seconds=rng.randrange(20 * DAY))
        if is_workday(start.astimezone(BEIJING).date()) and is_workday(later.astimezone(BEIJING).date()):
            assert add_working_seconds(start, working_seconds_between(start, later)) == later, (start, later)


def test_wall_clock_measure_and_advance():
    start = bj(2026, 10, 1, 9)
    assert advance(start, 7 * DAY, working=False) == bj(2026, 10, 8, 9)
    assert measure(start, bj(2026, 10, 1, 11), working=False) == 2 * HOUR
    assert measure(bj(2026, 10, 1, 11), start, working=False) == 0


def test_hand_entered_2027_holidays_count_after_invalidation():
    # The package knows nothing of 2027 yet: Fri 1 Jan 2027 is an ordinary Friday until entered.
    assert add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 1)
    CalendarDay.objects.create(date=date(2027, 1, 1), is_workday=False, name="元旦", source="manual")
    CalendarDay.objects.create(date=date(2027, 1, 2), is_workday=True, name="元旦调休", source="manual")
    calendar_invalidate()
    # Fri 1 Jan off; Sat 2 Jan entered as worked = 1.
    assert add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 2)
    assert 2027 in known_years()


def test_a_weekday_made_a_holiday_moves_deadlines():
    start = bj(2026, 3, 9, 10)  # Monday
    # 2 working days: Tue 10 = 1, Wed 11 10:00 = 2.
    assert add_working_seconds(start, 2 * DAY) == bj(2026, 3, 11, 10)
    CalendarDay.objects.create(date=date(2026, 3, 10), is_workday=False, name="本地停工")
    calendar_invalidate()
    assert not is_workday(date(2026, 3, 10))
    # Tuesday no longer counts: Wed 11 = 1, Thu 12 10:00 = 2.
    assert add_working_seconds(start, 2 * DAY) == bj(2026, 3, 12, 10)


def test_calendar_seed_is_idempotent_and_keeps_edits():
    seeded = CalendarDay.objects.count()
    assert seeded > 0
    assert calendar_seed() == 0
    assert CalendarDay.objects.count() == seeded

    # An administrator decides 7 Oct is worked locally and removes the 6 Oct row by mistake.
    CalendarDay.objects.filter(date=date(2026, 10, 7)).update(is_workday=True, name="本地调整", source="manual")
    CalendarDay.objects.filter(date=date(2026, 10, 6)).delete()
    assert calendar_seed() == 1  # only the missing day comes back
    edited = CalendarDay.objects.get(date=date(2026, 10, 7))
    assert edited.is_workday and edited.name == "本地调整" and edited.source == "manual"
    assert not CalendarDay.objects.get(date=date(2026, 10, 6)).is_workday
    assert CalendarDay.objects.count() == seeded
    assert is_workday(date(2026, 10, 7))  # the seed invalidated the cache
