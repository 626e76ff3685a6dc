"""Reliability indices (IEEE 1366, DL/T 836) per period and org unit, from restored outages.

SAIFI = customer interruptions / customers served; SAIDI = customer interruption hours / customers
served; CAIDI = SAIDI / SAIFI; RS-1 = 1 − SAIDI / hours in the period. A customer inside two outages
that overlap in time is interrupted once, for the union of the two spans (decision 0012): outages
that overlap nothing count straight from their affected rows, and only the overlapping groups are
merged per customer."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, QuerySet
from django.utils import timezone

from kefu.customers.models import Account
from kefu.org.models import OrgUnit

from .choices import LIVE, MARKETING_CLASSES, OutageClass, Status
from .fanout import NOT_SUPPLIED
from .models import AffectedAccount, Outage

# Disconnections for arrears, theft or contract violation are the customer's doing, not the grid's.
COUNTED_CLASSES = frozenset(set(OutageClass.values) - MARKETING_CLASSES)


@dataclass(frozen=True)
class Indices:
    unit: OrgUnit
    start: date
    end: date  # inclusive
    customers_served: int
    interruptions: int  # customer interruptions (Σ customers interrupted per event, overlaps merged)
    customer_hours: Decimal
    outages: int

    @property
    def hours(self) -> Decimal:
        return Decimal((self.end - self.start).days + 1) * 24

    @property
    def saifi(self) -> Decimal:
        return _div(Decimal(self.interruptions), Decimal(self.customers_served), "0.0001")

    @property
    def saidi(self) -> Decimal:
        return _div(self.customer_hours, Decimal(self.customers_served), "0.0001")

    @property
    def caidi(self) -> Decimal:
        return _div(self.customer_hours, Decimal(self.interruptions), "0.0001")

    @property
    def rs1(self) -> Decimal:
        """Supply reliability rate in per cent."""
        if not self.customers_served:
            return Decimal("100.0000")
        exact = (1 - self.customer_hours / Decimal(self.customers_served) / self.hours) * 100
        return exact.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def _div(a: Decimal, b: Decimal, places: str) -> Decimal:
    if not b:
        return Decimal(places) * 0
    return (a / b).quantize(Decimal(places), rounding=ROUND_HALF_UP)


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    return (datetime.combine(start, time.min, tzinfo=tz),
            datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz))


def _hours(seconds: float) -> Decimal:
    return Decimal(int(seconds)) / Decimal(3600)


def _unit_accounts(unit: OrgUnit, utility: str) -> QuerySet[Account]:
    return Account.objects.filter(unit__path__startswith=unit.path, utility=utility)


def reliability(*, unit: OrgUnit, start: date, end: date, utility: str = "power",
                now: datetime | None = None) -> Indices:
    lo, hi = _bounds(start, end)
    now = now or timezone.now()
    served = _unit_accounts(unit, utility).exclude(status__in=NOT_SUPPLIED).count()
    rows = list(Outage.objects.filter(
        utility=utility, outage_class__in=COUNTED_CLASSES, actual_start__lt=hi,
        status__in=[Status.RESTORED, *LIVE], actual_start__isnull=False,
    ).exclude(actual_end__lte=lo).values_list("pk", "actual_start", "actual_end"))
    # Clip each outage to the period (a live one runs until now).
    spans: dict[int, tuple[datetime, datetime]] = {}
    for pk, began, ended in rows:
        assert began is not None  # filtered above
        clipped = (max(began, lo), min(ended or now, hi))
        if clipped[1] > clipped[0]:
            spans[pk] = clipped
    if not spans:
        return Indices(unit, start, end, served, 0, Decimal(0), 0)
    in_unit = AffectedAccount.objects.filter(outage_id__in=list(spans), account__unit__path__startswith=unit.path)
    counts = dict(in_unit.values("outage_id").annotate(n=Count("pk")).values_list("outage_id", "n"))
    groups = _overlap_groups(spans)
    interruptions = 0
    seconds = 0.0
    for group in groups:
        if len(group) == 1:
            pk = group[0]
            n = counts.get(pk, 0)
            interruptions += n
            seconds += n * (spans[pk][1] - spans[pk][0]).total_seconds()
            continue
        # Outages that overlap in time: merge per customer.
        per_account: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
        for outage_id, account_id in in_unit.filter(outage_id__in=group).values_list("outage_id", "account_id"):
            per_account[account_id].append(spans[outage_id])
        for intervals in per_account.values():
            merged = _merge(intervals)
            interruptions += len(merged)
            seconds += sum((e - s).total_seconds() for s, e in merged)
    # Outages that reached this unit's customers, not every outage of the utility.
    return Indices(unit, start, end, served, interruptions, _hours(seconds), sum(1 for pk in spans if counts.get(pk)))


def _overlap_groups(spans: dict[int, tuple[datetime, datetime]]) -> list[list[int]]:
    """Outages grouped into runs that overlap in time (sweep by start)."""
    groups: list[list[int]] = []
    group_end: datetime | None = None
    for pk, (s, e) in sorted(spans.items(), key=lambda item: item[1]):
        if group_end is not None and s < group_end:
            groups[-1].append(pk)
            group_end = max(group_end, e)
        else:
            groups.append([pk])
            group_end = e
    return groups


def _merge(intervals: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for s, e in sorted(intervals):
        if merged and s < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def reliability_by_month(*, unit: OrgUnit, year: int, utility: str = "power", now: datetime | None = None,
                         ) -> list[Indices]:
    months = []
    for month in range(1, 13):
        first = date(year, month, 1)
        last = (date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1))
        months.append(reliability(unit=unit, start=first, end=last, utility=utility, now=now))
    return months


def reliability_by_unit(*, units: list[OrgUnit], start: date, end: date, utility: str = "power",
                        now: datetime | None = None) -> list[Indices]:
    return [reliability(unit=u, start=start, end=end, utility=utility, now=now) for u in units]


