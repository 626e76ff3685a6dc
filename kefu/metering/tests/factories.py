"""Factories for metering: a meter in stock, and one installed on an account's service point
through the service (so the installation history is right)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from kefu.customers.models import Account, ServicePoint
from kefu.metering.choices import MeterKind
from kefu.metering.models import Meter, MeterEvent
from kefu.metering.services import Recorded, meter_install, reading_record
from kefu.org.models import OrgUnit

_seq = itertools.count(1)

# "Now" for metering tests: late March 2026 in the utility's time zone (never the real clock).
NOW = datetime(2026, 3, 28, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def make_meter(*, unit: OrgUnit, utility: str = "power", kind: str | None = None, serial: str | None = None,
               registers: int = 1, multiplier: Decimal | int | str = 1, digits: int = 6, **data: Any) -> Meter:
    """A meter in stock. The kind defaults to the plain meter of the utility."""
    n = next(_seq)
    if kind is None:
        kind = MeterKind.SINGLE_PHASE if utility == "power" else MeterKind.DIAPHRAGM
    return Meter.objects.create(serial=serial or f"M{n:08d}", kind=kind, utility=utility, registers=registers,
                                multiplier=Decimal(str(multiplier)), digits=digits, unit=unit, **data)


def install(*, actor: Any, meter: Meter, to: Account | ServicePoint, on: date,
            initial_reading: Decimal | int | str = 0) -> MeterEvent:
    """Hang ``meter`` on the account's (or the given) service point on day ``on``."""
    event = meter_install(actor=actor, meter=meter, service_point=sp_of(to), on=on,
                          initial_reading=Decimal(str(initial_reading)))
    meter.refresh_from_db()
    return event


def sp_of(to: Account | ServicePoint) -> ServicePoint:
    if isinstance(to, Account):
        assert to.service_point is not None
        return to.service_point
    return to


def read(*, actor: Any, meter: Meter, month: str, value: Decimal | int | str, day: int = 10,
         now: datetime = NOW, **kw: Any) -> Recorded:
    """Record a reading for ``month`` ("2026-01"), read on the given day of that month."""
    year, mon = (int(x) for x in month.split("-"))
    return reading_record(actor=actor, meter=meter, value=str(value), read_on=date(year, mon, day), now=now, **kw)


def read_series(*, actor: Any, meter: Meter, values: Sequence[tuple[str, Decimal | int | str]], **kw: Any) -> None:
    """Several months in a row, each expected to pass validation."""
    for month, value in values:
        got = read(actor=actor, meter=meter, month=month, value=value, **kw)
        assert got.exceptions == [], (month, [e.rule for e in got.exceptions])
