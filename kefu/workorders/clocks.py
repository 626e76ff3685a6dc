"""Time-limit arithmetic for orders: which policies apply, and the life of each clock.

Pure functions over model instances; the services call them inside their transaction and save what
they return. Clock time is measured with ``core.calendar`` (wall seconds or working-day seconds).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from kefu.core import calendar
from kefu.workorders.choices import (
    CLOCK_STOPS,
    LIMIT_UNIT_SECONDS,
    ClockKind,
    ClockStart,
    ClockState,
    LimitUnit,
    TimeState,
)
from kefu.workorders.models import OrderClock, OrderType, SlaPolicy, WarningLevel, WorkOrder

_TTL = 60.0
_policy_cache: tuple[float, list[SlaPolicy], list[float]] | None = None


@dataclass(frozen=True)
class Catalogue:
    """The type tree as read at one moment: by id, by code, and the ids that have active sub-types."""

    by_id: dict[int, OrderType]
    by_code: dict[str, OrderType]
    parents: frozenset[int]


_catalogue_cache: tuple[float, Catalogue] | None = None


def policy_cache_clear() -> None:
    global _policy_cache, _catalogue_cache
    _policy_cache = None
    _catalogue_cache = None


def catalogue(*, refresh: bool = False) -> Catalogue:
    """The order types, cached per process like the policies (read on every intake)."""
    global _catalogue_cache
    now = time.monotonic()
    if refresh or _catalogue_cache is None or now - _catalogue_cache[0] > _TTL:
        types = list(OrderType.objects.all())
        parents = frozenset(t.parent_id for t in types if t.parent_id is not None and t.is_active)
        _catalogue_cache = (now, Catalogue({t.pk: t for t in types}, {t.code: t for t in types}, parents))
    return _catalogue_cache[1]


def _policies_and_levels() -> tuple[list[SlaPolicy], list[float]]:
    """All policy rows and warning fractions, cached per process (small tables, read on every intake)."""
    global _policy_cache
    now = time.monotonic()
    if _policy_cache is None or now - _policy_cache[0] > _TTL:
        policies = list(SlaPolicy.objects.all())
        levels = [float(f) for f in WarningLevel.objects.order_by("fraction").values_list("fraction", flat=True)]
        _policy_cache = (now, policies, levels or [1.0])
    return _policy_cache[1], _policy_cache[2]


def warning_fractions() -> list[float]:
    return _policies_and_levels()[1]


@dataclass(frozen=True)
class Facts:
    """What policy matching looks at."""

    type_chain: tuple[int, ...]  # the type's id, its parent's, ... (most specific first)
    utility: str
    region_class: str
    importance: str
    channel: str
    on: date


def type_chain(order_type: OrderType) -> tuple[int, ...]:
    """The type's id and its ancestors' ids, most specific first (from the cached catalogue)."""
    known = catalogue().by_id
    if order_type.parent_id is not None and order_type.parent_id not in known:
        known = catalogue(refresh=True).by_id
    chain: list[int] = [order_type.pk]
    parent_id = order_type.parent_id
    while parent_id is not None and len(chain) < 10:
        chain.append(parent_id)
        parent = known.get(parent_id)
        parent_id = parent.parent_id if parent is not None else None
    return tuple(chain)


def _score(policy: SlaPolicy, facts: Facts) -> tuple[int, ...] | None:
    if policy.order_type_id not in facts.type_chain:
        return None
    if policy.effective_from > facts.on or (policy.effective_to is not None and policy.effective_to < facts.on):
        return None
    checks = (
        (policy.channel, facts.channel),
        (policy.importance, facts.importance),
        (policy.region_class, facts.region_class),
        (policy.utility, facts.utility),
    )
    specific: list[int] = []
    for wanted, actual in checks:
        if wanted and wanted != actual:
            return None
        specific.append(1 if wanted else 0)
    # A sub-type's own row beats its parent's; then channel, importance, region, utility; then newest.
    depth = len(facts.type_chain) - facts.type_chain.index(policy.order_type_id)
    return (depth, *specific, policy.effective_from.toordinal())


def matching_policies(facts: Facts) -> list[SlaPolicy]:
    """The winning policy for each (clock, basis) pair."""
    best: dict[tuple[str, str], tuple[tuple[int, ...], SlaPolicy]] = {}
    for policy in _policies_and_levels()[0]:
        score = _score(policy, facts)
        if score is None:
            continue
        key = (policy.clock, policy.basis)
        if key not in best or score > best[key][0]:
            best[key] = (score, policy)
    return [entry[1] for _key, entry in sorted(best.items())]


def clock_from_policy(order: WorkOrder, policy: SlaPolicy, now: datetime) -> OrderClock:
    clock = OrderClock(
        order=order, kind=policy.clock, basis=policy.basis, policy=policy, starts_on=policy.starts_on,
        working=policy.unit == LimitUnit.WORKING_DAYS, amount=policy.amount, unit=policy.unit,
        budget_seconds=policy.amount * LIMIT_UNIT_SECONDS[policy.unit], levels=warning_fractions(),
        state=ClockState.WAITING,
    )
    if policy.starts_on == ClockStart.ACCEPTED:
        clock_start(clock, now)
    return clock


def supervision_clock(order: WorkOrder, now: datetime, deadline: datetime) -> OrderClock:
    seconds = max(60, int((deadline - now).total_seconds()))
    clock = OrderClock(
        order=order, kind=ClockKind.SUPERVISION, starts_on=ClockStart.ACCEPTED, working=False,
        amount=max(1, seconds // 60), unit=LimitUnit.MINUTES, budget_seconds=seconds,
        levels=warning_fractions(), state=ClockState.WAITING,
    )
    clock_start(clock, now)
    clock.due_at = deadline
    return clock


def _at_fraction(clock: OrderClock, fraction: float) -> datetime:
    assert clock.started_at is not None
    offset = round(clock.budget_seconds * fraction) + clock.paused_seconds
    return calendar.advance(clock.started_at, offset, working=clock.working)


def advance_to_level(clock: OrderClock, fraction: float) -> datetime:
    return _at_fraction(clock, fraction)


def _refresh(clock: OrderClock) -> None:
    clock.due_at = _at_fraction(clock, 1.0)
    levels = clock.levels or [1.0]
    clock.next_warning_at = _at_fraction(clock, levels[clock.warned]) if clock.warned < len(levels) else None


def clock_start(clock: OrderClock, now: datetime) -> None:
    clock.state = ClockState.RUNNING
    clock.started_at = now
    clock.warned = 0
    _refresh(clock)


def clock_pause(clock: OrderClock, now: datetime) -> None:
    if clock.state == ClockState.RUNNING:
        clock.state = ClockState.PAUSED
        clock.paused_at = now
        clock.next_warning_at = None


def clock_resume(clock: OrderClock, now: datetime) -> None:
    if clock.state == ClockState.PAUSED and clock.paused_at is not None:
        clock.paused_seconds += calendar.measure(clock.paused_at, now, working=clock.working)
        clock.paused_at = None
        clock.state = ClockState.RUNNING
        _refresh(clock)


def clock_stop(clock: OrderClock, now: datetime, *, closing: bool = False) -> None:
    if clock.state in (ClockState.RUNNING, ClockState.PAUSED):
        if clock.state == ClockState.PAUSED:
            clock_resume(clock, now)
        if closing:
            clock.state = ClockState.STOPPED
        else:
            clock.state = ClockState.MET if clock.due_at is None or now <= clock.due_at else ClockState.MISSED
        clock.stopped_at = now
        clock.next_warning_at = None
    elif clock.state == ClockState.WAITING and closing:
        clock.state = ClockState.STOPPED
        clock.stopped_at = now


def clocks_on_action(clocks: list[OrderClock], action: str, now: datetime) -> list[OrderClock]:
    """Stop the clocks the action satisfies and start those waiting for it. Returns changed clocks."""
    changed: list[OrderClock] = []
    starts = {"arrive": ClockStart.ARRIVED, "reply": ClockStart.REPLIED}.get(action)
    for clock in clocks:
        if action in CLOCK_STOPS.get(clock.kind, frozenset()) and clock.state in (
            ClockState.RUNNING, ClockState.PAUSED
        ):
            clock_stop(clock, now)
            changed.append(clock)
        elif starts is not None and clock.state == ClockState.WAITING and clock.starts_on == starts:
            clock_start(clock, now)
            changed.append(clock)
    return changed


def warning_reached(clock: OrderClock, now: datetime) -> int:
    """How many warning levels of a running clock have been reached by ``now``."""
    if clock.state != ClockState.RUNNING or clock.started_at is None:
        return clock.warned
    levels = clock.levels or [1.0]
    reached = clock.warned
    while reached < len(levels) and _at_fraction(clock, levels[reached]) <= now:
        reached += 1
    return reached


def clock_is_overdue(clock: OrderClock) -> bool:
    levels = clock.levels or [1.0]
    return clock.warned > 0 and levels[clock.warned - 1] >= 1.0


def order_summary(clocks: list[OrderClock]) -> tuple[datetime | None, datetime | None, str]:
    """(due_at, next_warning_at, time_state) of an order from its clocks.

    Deadlines come from running clocks only; the state also counts paused ones, so that suspending an
    order does not take a limit it has already missed off the warning queues."""
    running = [c for c in clocks if c.state == ClockState.RUNNING]
    live = [c for c in clocks if c.state in (ClockState.RUNNING, ClockState.PAUSED)]
    if not live:
        # Nothing left to run: the record says whether a limit was missed along the way.
        if not clocks:
            return None, None, TimeState.NONE
        missed = any(c.state == ClockState.MISSED for c in clocks)
        return None, None, TimeState.OVERDUE if missed else TimeState.NORMAL
    due = min((c.due_at for c in running if c.due_at is not None), default=None)
    warns = [c.next_warning_at for c in running if c.next_warning_at is not None]
    if any(clock_is_overdue(c) for c in live):
        state = TimeState.OVERDUE
    elif any(c.warned > 0 for c in live):
        state = TimeState.WARNING
    else:
        state = TimeState.NORMAL
    return due, min(warns, default=None), state


def level_fraction(clock: OrderClock, level: int) -> Decimal:
    levels = clock.levels or [1.0]
    return Decimal(str(levels[min(level, len(levels)) - 1]))
