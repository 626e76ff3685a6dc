"""Extension points for apps above work orders (outages today).

Work orders must not import the apps that build on them, yet a new repair call has to be grouped
into a fault outage in the same transaction, and an order that waits on an outage must not be
dispatched again. Those apps append callables here from their ``AppConfig.ready``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from kefu.workorders.models import WorkOrder

# Called inside the intake transaction with (order, actor, now). An exception refuses the intake.
AFTER_INTAKE: list[Callable[[WorkOrder, Any, datetime], object]] = []
# Called before a dispatch with the locked order; a returned message refuses the dispatch.
DISPATCH_GUARDS: list[Callable[[WorkOrder], str | None]] = []


def after_intake(order: WorkOrder, actor: Any, now: datetime) -> None:
    for hook in AFTER_INTAKE:
        hook(order, actor, now)


def dispatch_refusal(order: WorkOrder) -> str | None:
    for guard in DISPATCH_GUARDS:
        message = guard(order)
        if message:
            return message
    return None
