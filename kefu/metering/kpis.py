"""Meter-reading KPIs for one month and one unit's subtree, by unit, route and reader (guide §2.3, §5).

What is counted (all over the month's plan items, i.e. the meters the plans froze):

- planned: plan items of the month's plans on routes of the unit and the units below it;
- read: items whose service point has a reading for the month that stands (not set aside for a
  re-read) — by service point, so a meter replaced mid-month is still read;
- on time: items read on a day inside their plan's window (``window_start``..``window_end``);
- corrected: items read whose reading was later corrected (a correction row, re-reads included);
- exceptions: reading exceptions of the month on those service points, by rule.

Reading rate = read / planned; on-time rate = on time / planned; accuracy = (read − corrected) /
read. Percentages are Decimals rounded half up to 0.1 %; a target is missed when the exact ratio is
below it (99.96 % shows as 100.0 % but still misses 100 %).

Units and readers are the route's: a route's unit and its assigned reader. The figures come from
two GROUP BY queries (per route; per route and rule); units and readers add up route rows.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from kefu.org.models import OrgUnit
from kefu.org.scope import unit_scope_q

from .choices import ReadingState, Resolution, Rule
from .models import PlanItem, Reading, ReadingCorrection, ReadingException, Route

# Targets: ../shared/domain/policy-defaults.yaml `metering.targets` (seed 002: "meter-reading rate
# 100%, reading accuracy ≥ 98%", guide §2.3).
READING_RATE_TARGET = Decimal("1.00")
ACCURACY_TARGET = Decimal("0.98")

PERCENT_STEP = Decimal("0.1")


def percent(part: int, whole: int) -> Decimal | None:
    """``part / whole`` as a percentage rounded half up to 0.1; None when there is nothing to divide."""
    if whole <= 0:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(PERCENT_STEP, rounding=ROUND_HALF_UP)


def below(part: int, whole: int, target: Decimal) -> bool:
    """True when the exact ratio misses the target (nothing planned misses nothing)."""
    return whole > 0 and Decimal(part) < Decimal(whole) * target


@dataclass
class Figures:
    """One row: a unit, a route, a reader or the whole."""

    key: Any
    label: str
    code: str = ""
    planned: int = 0
    read: int = 0
    on_time: int = 0
    corrected: int = 0
    exceptions: Counter[str] = field(default_factory=Counter)

    def add(self, other: Figures) -> None:
        self.planned += other.planned
        self.read += other.read
        self.on_time += other.on_time
        self.corrected += other.corrected
        self.exceptions.update(other.exceptions)

    @property
    def accurate(self) -> int:
        return self.read - self.corrected

    @property
    def reading_rate(self) -> Decimal | None:
        return percent(self.read, self.planned)

    @property
    def on_time_rate(self) -> Decimal | None:
        return percent(self.on_time, self.planned)

    @property
    def accuracy(self) -> Decimal | None:
        return percent(self.accurate, self.read)

    @property
    def reading_rate_missed(self) -> bool:
        return below(self.read, self.planned, READING_RATE_TARGET)

    @property
    def accuracy_missed(self) -> bool:
        return below(self.accurate, self.read, ACCURACY_TARGET)

    @property
    def exception_count(self) -> int:
        return sum(self.exceptions.values())

    def exceptions_by_rule(self) -> list[tuple[str, str, int]]:
        """(rule, label, count) in the order of ``Rule``."""
        return [(r.value, str(r.label), self.exceptions[r.value]) for r in Rule if self.exceptions[r.value]]


@dataclass(frozen=True)
class RuleCount:
    rule: str
    label: str
    raised: int
    open: int


@dataclass(frozen=True)
class Report:
    period: date
    unit: OrgUnit
    total: Figures
    units: list[Figures]
    routes: list[Figures]
    readers: list[Figures]
    rules: list[RuleCount]
    reading_rate_target: Decimal = READING_RATE_TARGET * 100
    accuracy_target: Decimal = ACCURACY_TARGET * 100


def plan_items(user: Any, unit: OrgUnit, period: date) -> QuerySet[PlanItem]:
    """The month's plan items on routes of ``unit`` and below, within the user's scope."""
    return (PlanItem.objects.filter(plan__period=period, plan__route__unit__path__startswith=unit.path)
            .filter(unit_scope_q(user, field="plan__route__unit")))


def _per_route(items: QuerySet[PlanItem], period: date) -> dict[int, Figures]:
    standing = (Reading.objects.filter(service_point=OuterRef("service_point_id"), period=period)
                .exclude(state=ReadingState.SUPERSEDED))
    in_window = standing.filter(read_on__gte=OuterRef("plan__window_start"), read_on__lte=OuterRef("plan__window_end"))
    fixed = (ReadingCorrection.objects.filter(reading__service_point=OuterRef("service_point_id"),
                                              reading__period=period)
             .exclude(reading__state=ReadingState.SUPERSEDED))
    rows = (items.order_by().values("plan__route_id")
            .annotate(planned=Count("pk"), read=Count("pk", filter=Q(Exists(standing))),
                      on_time=Count("pk", filter=Q(Exists(in_window))),
                      corrected=Count("pk", filter=Q(Exists(standing)) & Q(Exists(fixed)))))
    return {r["plan__route_id"]: Figures(key=r["plan__route_id"], label="", planned=r["planned"], read=r["read"],
                                         on_time=r["on_time"], corrected=r["corrected"]) for r in rows}


def _exceptions(items: QuerySet[PlanItem], period: date) -> QuerySet[Any]:
    """Rows (route, rule, raised, open): the month's exceptions on planned service points."""
    route = items.filter(service_point=OuterRef("sp")).values("plan__route_id")[:1]
    return (ReadingException.objects.filter(period=period)
            .annotate(sp=Coalesce("reading__service_point_id", "meter__service_point_id"))
            .annotate(route_id=Subquery(route)).filter(route_id__isnull=False)
            .order_by().values("route_id", "rule")
            .annotate(raised=Count("pk"), still_open=Count("pk", filter=Q(resolution=Resolution.OPEN))))


def reading_kpis(*, user: Any, unit: OrgUnit, period: date) -> Report:
    """The month's KPIs for ``unit`` and the units below it (the caller checks the unit is in scope)."""
    items = plan_items(user, unit, period)
    by_route = _per_route(items, period)
    opened: Counter[str] = Counter()
    for row in _exceptions(items, period):
        figures = by_route.get(row["route_id"])
        if figures is not None:
            figures.exceptions[row["rule"]] += row["raised"]
            opened[row["rule"]] += row["still_open"]

    no_reader = _("No reader assigned")
    units: dict[int, Figures] = {}
    paths: dict[int, str] = {}
    readers: dict[int | None, Figures] = {}
    total = Figures(key=unit.pk, label=unit.name, code=unit.code)
    routes = Route.objects.filter(pk__in=list(by_route)).select_related("unit", "reader").order_by("code")
    for route in routes:
        figures = by_route[route.pk]
        figures.label, figures.code = route.name, route.code
        paths[route.unit_id] = route.unit.path
        units.setdefault(route.unit_id, Figures(key=route.unit_id, label=route.unit.name,
                                                code=route.unit.code)).add(figures)
        reader = route.reader
        label = (reader.full_name or reader.username) if reader is not None else no_reader
        readers.setdefault(route.reader_id, Figures(key=route.reader_id, label=label,
                                                    code=reader.username if reader else "")).add(figures)
        total.add(figures)
    rules = [RuleCount(rule=r.value, label=str(r.label), raised=total.exceptions[r.value], open=opened[r.value])
             for r in Rule if total.exceptions[r.value]]
    return Report(
        period=period, unit=unit, total=total,
        units=sorted(units.values(), key=lambda f: paths[f.key]),
        routes=[by_route[r.pk] for r in routes],
        readers=sorted(readers.values(), key=lambda f: (f.key is None, f.label)),
        rules=rules,
    )
