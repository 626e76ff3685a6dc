"""The time-limit watcher: raises warnings and marks orders overdue as their clocks pass each level.

Any number of copies may run. Each claims a clock's next level with a conditional UPDATE on the
``warned`` counter it read; only the copy whose UPDATE matched writes the event and the messages, so
every warning is raised once. The order row is locked first, so a user's action on the same order
waits for (or is waited on by) the watcher instead of overwriting it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from kefu.workorders import clocks as clockwork
from kefu.workorders.choices import ClockState, EventKind
from kefu.workorders.models import OrderClock, OrderEvent, WarningLevel, WorkOrder
from kefu.workorders.notifications import notify_event


@dataclass
class WatchReport:
    orders: int = 0
    warnings: int = 0
    overdue: int = 0
    lost_claims: int = 0


def _leader_levels() -> dict[str, bool]:
    return {str(float(f)): n for f, n in WarningLevel.objects.values_list("fraction", "notify_shift_leader")}


def _watch_order(order_id: int, now: datetime, leader_levels: dict[str, bool], report: WatchReport) -> None:
    with transaction.atomic():
        order = (
            WorkOrder.objects.select_for_update(of=("self",))
            .select_related("order_type", "handling_unit", "accepted_unit").filter(pk=order_id).first()
        )
        if order is None or order.next_warning_at is None or order.next_warning_at > now:
            return  # someone else got here first, or an action moved the deadline
        clocks = list(OrderClock.objects.filter(order=order).order_by("id"))
        for clock in clocks:
            if clock.state != ClockState.RUNNING or clock.next_warning_at is None or clock.next_warning_at > now:
                continue
            seen = clock.warned
            reached = clockwork.warning_reached(clock, now)
            if reached <= seen:
                continue
            clock.warned = reached
            levels = clock.levels or [1.0]
            clock.next_warning_at = (
                clockwork.advance_to_level(clock, levels[reached]) if reached < len(levels) else None
            )
            won = OrderClock.objects.filter(pk=clock.pk, warned=seen, state=ClockState.RUNNING).update(
                warned=reached, next_warning_at=clock.next_warning_at
            )
            if not won:
                report.lost_claims += 1
                clock.refresh_from_db()
                continue
            fraction = levels[reached - 1]
            overdue = fraction >= 1.0
            kind = EventKind.OVERDUE if overdue else EventKind.WARNING
            event = OrderEvent.objects.create(
                order=order, kind=kind, at=now,
                data={"clock": clock.kind, "level": reached, "fraction": fraction,
                      "due_at": clock.due_at.isoformat() if clock.due_at else "",
                      "leaders": leader_levels.get(str(float(fraction)), True)},
            )
            if overdue:
                report.overdue += 1
            else:
                report.warnings += 1
            notify_event(order, event)
        due, next_warning, state = clockwork.order_summary(clocks)
        WorkOrder.objects.filter(pk=order.pk).update(due_at=due, next_warning_at=next_warning, time_state=state)
        report.orders += 1


def workorder_watch(*, now: datetime | None = None, batch: int = 500) -> WatchReport:
    """One pass over the orders whose next warning is due."""
    now = now or timezone.now()
    report = WatchReport()
    leader_levels = _leader_levels()
    due_ids = list(
        WorkOrder.objects.filter(next_warning_at__lte=now).order_by("next_warning_at").values_list("id", flat=True)[
            :batch
        ]
    )
    for order_id in due_ids:
        _watch_order(order_id, now, leader_levels, report)
    return report
