"""Reads for work orders: the scoped queryset, queues, the order page, intake duplicates."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import BigIntegerField, F, Func, Lookup, Q, QuerySet, Subquery
from django.db.models.lookups import In
from django.utils import timezone

from kefu.core.models import OutboxMessage
from kefu.org.choices import Capability
from kefu.org.models import OrgUnit
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

# Open work, in the order and spelling of the partial indexes on WorkOrder.
OPEN_LIST = sorted(OPEN_STATUSES)
# A subtree bigger than this is scoped with a subquery instead of a list of ids.
SCOPE_LIST_MAX = 2000
_CODE = re.compile(r"^[a-z_]+$")


class _InLiterals(Lookup):
    """``column IN ('a', 'b')`` with the values written into the SQL, for fixed code values (and
    booleans) only. SQLite uses a partial index only when the query states the index's condition,
    and cannot see through bound parameters; the queue indexes serve SQLite this way.
    """

    lookup_name = "in_literals"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, params = self.process_lhs(compiler, connection)
        values = list(self.rhs)
        assert values and all(isinstance(v, bool) or _CODE.match(v) for v in values), values
        sql = ", ".join(("TRUE" if v else "FALSE") if isinstance(v, bool) else f"'{v}'" for v in values)
        return f"{lhs} IN ({sql})", list(params)


def _open(qs: QuerySet[WorkOrder]) -> QuerySet[WorkOrder]:
    return qs.filter(_InLiterals(F("status"), OPEN_LIST))


class _Unindexed(Func):
    """SQLite's ``+column``: the same value, but the planner will not drive the query from an index on
    it. Without it SQLite fetched a station's 60,000 orders through the unit indexes and sorted them
    instead of walking the page index (which carries the unit columns) until 50 matched."""

    template = "+%(expressions)s"
    output_field = BigIntegerField()


def _subtree_ids(user: Any) -> list[int] | None:
    """Ids of the user's unit and the units below it (as ``unit_scope_q``); None: too many to list."""
    unit = getattr(user, "unit", None)
    if not getattr(user, "is_authenticated", False) or unit is None:
        return []
    ids = list(OrgUnit.objects.filter(path__startswith=unit.path).values_list("id", flat=True)[:SCOPE_LIST_MAX + 1])
    return ids if len(ids) <= SCOPE_LIST_MAX else None


def _scoped(user: Any) -> tuple[QuerySet[WorkOrder], list[int] | None]:
    if not has_capability(user, Capability.ORDER_VIEW):
        return WorkOrder.objects.none(), []
    if getattr(user, "is_superuser", False):
        return WorkOrder.objects.all(), None
    ids = _subtree_ids(user)
    if ids is None:
        scope = unit_scope_q(user, field="unit") | unit_scope_q(user, field="handling_unit")
        return WorkOrder.objects.filter(scope), None
    return WorkOrder.objects.filter(_in_units("unit_id", ids) | _in_units("handling_unit_id", ids)), ids


def _in_units(column: str, ids: list[int]) -> Q:
    if connection.vendor == "sqlite":
        return Q(In(_Unindexed(F(column)), ids))
    return Q(**{f"{column}__in": ids})


def workorder_qs(user: Any) -> QuerySet[WorkOrder]:
    """Orders the user may see: the area unit or the handling unit lies in the user's subtree.

    The subtree is read first and written into the query as a list of ids: the planner then knows
    how much of the table the scope holds (a province most of it, a station a few per cent) and
    chooses between walking an index in page order and collecting the rows; with the subquery it
    guessed a small share and collected 20,000 rows of a province to show 50.
    """
    return _scoped(user)[0]


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
    qs, ids = _scoped(user)
    if queue == Queue.MINE:
        # Orders I accepted (first responsibility) or am handling, still open.
        return _open(qs).filter(Q(accepted_by=user) | Q(assignee=user))
    if queue == Queue.UNIT:
        if getattr(user, "unit", None) is None:
            return qs.none()
        handling = unit_scope_q(user, field="handling_unit") if ids is None else _in_units("handling_unit_id", ids)
        # handling_unit set: a superuser's empty scope must not pull in undispatched orders.
        return _open(qs).filter(handling, handling_unit__isnull=False)
    if queue == Queue.TO_DISPATCH:
        # Both lists: the open one lets the open-orders index serve the queue.
        return _open(qs).filter(status__in=sorted(TO_DISPATCH))
    if queue == Queue.WARNINGS:
        # As the partial index states it, in the same order.
        return _open(qs).filter(_InLiterals(F("time_state"), [TimeState.WARNING.value, TimeState.OVERDUE.value]))
    if queue == Queue.SUPERVISED:
        # The plain condition matches the partial index; the literal one lets SQLite search it.
        return _open(qs).filter(_InLiterals(F("supervised"), [True]), supervised=True)
    return qs


PAGE_ORDER = ("-accepted_at", "-id")


def workorder_page(
    qs: QuerySet[WorkOrder], *, after_id: int | None = None, limit: int = 50
) -> tuple[list[WorkOrder], int | None]:
    """One keyset page, newest first (acceptance time, then id); returns the rows and the cursor of
    the next page (the id of the page's last order).

    Ordered by acceptance time, not by id alone, so that a date range is a range of the same index
    the page walks: by id, a month four months back made PostgreSQL walk past 250,000 newer rows.
    One statement in two steps: the page's ids come from the filtered queryset alone (narrow, an
    index can answer it, and the filters' DISTINCT is over ids only), then only those rows are read
    with their type and units.
    """
    if after_id is not None:
        at = WorkOrder.objects.filter(pk=after_id).values("accepted_at")[:1]
        # The first condition bounds the index range; the second drops the cursor's own moment.
        qs = qs.filter(Q(accepted_at__lt=Subquery(at)) | Q(accepted_at=Subquery(at), id__lt=after_id),
                       accepted_at__lte=Subquery(at))
    ids = qs.order_by(*PAGE_ORDER).values("id")[: limit + 1]
    rows = list(
        WorkOrder.objects.filter(id__in=ids).select_related("order_type", "handling_unit", "unit").order_by(*PAGE_ORDER)
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
