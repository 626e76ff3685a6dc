"""Reads for work orders: the scoped queryset, queues, the order page, intake duplicates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from kefu.core.models import OutboxMessage
from kefu.org.choices import Capability
from kefu.org.scope import has_capability, unit_scope_q
from kefu.workorders import rules
from kefu.workorders.choices import OPEN_STATUSES, PRE_RESULT, TO_DISPATCH, Status, TimeState
from kefu.workorders.models import (
    OrderClock,
    OrderEvent,
    OrderType,
    ShiftHandover,
    SlaPolicy,
    WorkOrder,
)


def workorder_qs(user: Any) -> QuerySet[WorkOrder]:
    """Orders the user may see: the area unit or the handling unit lies in the user's subtree."""
    if not has_capability(user, Capability.ORDER_VIEW):
        return WorkOrder.objects.none()
    if getattr(user, "is_superuser", False):
        return WorkOrder.objects.all()
    return WorkOrder.objects.filter(unit_scope_q(user, field="unit") | unit_scope_q(user, field="handling_unit"))


class Queue:
    MINE = "mine"
    UNIT = "unit"
    TO_DISPATCH = "dispatch"
    WARNINGS = "warnings"
    SUPERVISED = "supervised"
    ALL = "all"
    CHOICES = (MINE, UNIT, TO_DISPATCH, WARNINGS, SUPERVISED, ALL)


def queue_qs(user: Any, queue: str) -> QuerySet[WorkOrder]:
    """The base queryset of a work queue, before filters and paging."""
    qs = workorder_qs(user)
    open_statuses = list(OPEN_STATUSES)
    if queue == Queue.MINE:
        # Orders I accepted (first responsibility) or am handling, still open.
        return qs.filter(Q(accepted_by=user) | Q(assignee=user), status__in=open_statuses)
    if queue == Queue.UNIT:
        if getattr(user, "unit", None) is None:
            return qs.none()
        return qs.filter(unit_scope_q(user, field="handling_unit"), status__in=open_statuses)
    if queue == Queue.TO_DISPATCH:
        return qs.filter(status__in=list(TO_DISPATCH))
    if queue == Queue.WARNINGS:
        return qs.filter(time_state__in=[TimeState.WARNING, TimeState.OVERDUE], status__in=open_statuses)
    if queue == Queue.SUPERVISED:
        return qs.filter(supervised=True, status__in=open_statuses)
    return qs


def workorder_page(
    qs: QuerySet[WorkOrder], *, after_id: int | None = None, limit: int = 50
) -> tuple[list[WorkOrder], int | None]:
    """One keyset page, newest first; returns the rows and the cursor of the next page."""
    if after_id is not None:
        qs = qs.filter(id__lt=after_id)
    rows = list(
        qs.select_related("order_type", "handling_unit", "unit").order_by("-id")[: limit + 1]
    )
    next_cursor = rows[limit - 1].pk if len(rows) > limit else None
    return rows[:limit], next_cursor


def workorder_get(user: Any, pk: int) -> WorkOrder:
    return workorder_qs(user).select_related(
        "order_type", "order_type__parent", "handling_unit", "unit", "accepted_unit", "accepted_by", "assignee",
        "account", "customer", "merged_into", "supervised_by",
    ).get(pk=pk)


@dataclass
class OrderDetail:
    order: WorkOrder
    events: list[OrderEvent]
    clocks: list[OrderClock]
    actions: list[str]
    merged: list[WorkOrder]
    messages: list[OutboxMessage]


def workorder_detail(user: Any, order: WorkOrder) -> OrderDetail:
    events = list(order.events.select_related("actor", "actor_unit").order_by("at", "id"))
    clocks = list(order.clocks.all())
    merged = list(WorkOrder.objects.filter(merged_into=order).only("id", "number", "status"))
    messages = list(
        OutboxMessage.objects.filter(source_model="workorders.orderevent", source_id__in=[e.pk for e in events])
        .order_by("id")[:200]
    )
    return OrderDetail(order, events, clocks, rules.allowed_actions(user, order), merged, messages)


def intake_duplicates(
    *,
    user: Any,
    customer_id: int | None = None,
    phone: str = "",
    premise_id: int | None = None,
    order_type: OrderType | None = None,
    now: datetime | None = None,
) -> list[WorkOrder]:
    """Open orders of the same customer, phone or premise, of a related type (same top-level type),
    accepted within the type's duplicate window: shown to the agent before a new order is created."""
    match = Q()
    if customer_id:
        match |= Q(customer_id=customer_id)
    if phone:
        match |= Q(caller_phone=phone)
    if premise_id:
        match |= Q(premise_id=premise_id)
    if not match:
        return []
    hours = order_type.duplicate_window_hours if order_type is not None else 72
    since = (now or timezone.now()) - timedelta(hours=hours)
    qs = workorder_qs(user).filter(match, accepted_at__gte=since, status__in=list(PRE_RESULT | {Status.HANDLED}))
    if order_type is not None:
        root = order_type
        while root.parent is not None:
            root = root.parent
        qs = qs.filter(Q(order_type=root) | Q(order_type__parent=root) | Q(order_type__parent__parent=root))
    return list(qs.select_related("order_type", "handling_unit").order_by("-accepted_at")[:20])


def ordertype_choices(*, utility: str | None = None) -> list[OrderType]:
    """Active types a new order may take: leaves only (a type with active sub-types needs one chosen)."""
    types = list(OrderType.objects.filter(is_active=True).select_related("parent").order_by("sort", "code"))
    parents = {t.parent_id for t in types if t.parent_id}
    return [t for t in types if t.pk not in parents and (utility is None or t.allows_utility(utility))]


def ordertype_list() -> list[OrderType]:
    return list(OrderType.objects.select_related("parent").order_by("sort", "code"))


def slapolicy_list(*, order_type: OrderType | None = None) -> QuerySet[SlaPolicy]:
    qs = SlaPolicy.objects.select_related("order_type")
    if order_type is not None:
        qs = qs.filter(order_type=order_type)
    return qs


def handover_qs(user: Any) -> QuerySet[ShiftHandover]:
    if not has_capability(user, Capability.ORDER_VIEW):
        return ShiftHandover.objects.none()
    if getattr(user, "is_superuser", False):
        return ShiftHandover.objects.all()
    return ShiftHandover.objects.filter(unit_scope_q(user, field="unit"))


def handover_candidates(user: Any, *, since: datetime) -> list[WorkOrder]:
    """Open orders accepted by the leader's unit (and below) since the shift started, oldest first,
    plus every open supervised or overdue order of that unit whatever its age."""
    if getattr(user, "unit", None) is None:
        return []
    qs = workorder_qs(user).filter(unit_scope_q(user, field="accepted_unit"), status__in=list(OPEN_STATUSES))
    qs = qs.filter(Q(accepted_at__gte=since) | Q(supervised=True) | Q(time_state=TimeState.OVERDUE))
    return list(qs.select_related("order_type", "handling_unit").order_by("accepted_at", "id")[:500])
