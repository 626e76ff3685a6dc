"""Row shapes for the work-order pages: queue rows (phones masked), the timeline, clocks and messages.

No table library: each page gets plain rows with the labels and colours already worked out, so
templates stay free of lookups and a page costs the same few queries whatever its length.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from kefu.core.models import OutboxMessage
from kefu.core.validators import mask_phone
from kefu.org.choices import Capability
from kefu.org.scope import capabilities
from kefu.workorders.choices import (
    STATUS_COLOURS,
    TIME_STATE_COLOURS,
    CancelReason,
    Channel,
    ClockKind,
    ClockState,
    EventKind,
    HandoverStatus,
    LimitUnit,
    Satisfaction,
    Status,
)
from kefu.workorders.models import OrderClock, OrderEvent, OrderType, WorkOrder
from kefu.workorders.selectors import Queue, handover_qs, queue_qs

COUNT_CAP = 100

CLOCK_STATE_COLOURS: dict[str, str] = {
    ClockState.WAITING: "secondary", ClockState.RUNNING: "primary", ClockState.PAUSED: "warning",
    ClockState.MET: "success", ClockState.MISSED: "danger", ClockState.STOPPED: "secondary",
}
MESSAGE_STATE_COLOURS: dict[str, str] = {
    OutboxMessage.State.PENDING: "warning", OutboxMessage.State.SENT: "success", OutboxMessage.State.FAILED: "danger",
}


def status_colour(status: str) -> str:
    return STATUS_COLOURS.get(status, "secondary")


def time_colour(state: str) -> str:
    return TIME_STATE_COLOURS.get(state, "secondary")  # type: ignore[call-overload]


def capped_count(qs: QuerySet[Any], cap: int = COUNT_CAP) -> str:
    """How many rows, counting at most ``cap`` ("99+" beyond): cheap on a big queue."""
    n = qs.order_by()[:cap].count()
    return f"{cap - 1}+" if n >= cap else str(n)


def masked(phone: str) -> str:
    return mask_phone(phone) if phone else ""


def duration(seconds: int) -> str:
    """3 h 05 min, 2 d 4 h, 40 s: for paused time and limits."""
    seconds = max(int(seconds), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return _("%(d)d d %(h)d h") % {"d": days, "h": hours}
    if hours:
        return _("%(h)d h %(m)02d min") % {"h": hours, "m": minutes}
    if minutes:
        return _("%(m)d min") % {"m": minutes}
    return _("%(s)d s") % {"s": seconds}


# ---- queues ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueRow:
    order: WorkOrder
    status_colour: str
    time_colour: str
    phone: str


def queue_rows(orders: Iterable[WorkOrder]) -> list[QueueRow]:
    return [QueueRow(o, status_colour(o.status), time_colour(o.time_state), masked(o.caller_phone)) for o in orders]


# ---- the order page ----------------------------------------------------------------------------


@dataclass
class EventRow:
    event: OrderEvent
    kind: str
    from_status: str
    to_status: str
    colour: str
    details: list[tuple[str, str]] = field(default_factory=list)


def _when(value: Any) -> str:
    moment = parse_datetime(value) if isinstance(value, str) and value else None
    if moment is None:
        return str(value or "")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _label(choices: Any, value: Any) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


def _event_details(event: OrderEvent) -> list[tuple[str, str]]:
    """The event's data as label/value pairs a person can read (personal data masked)."""
    data = event.data or {}
    out: list[tuple[str, str]] = []
    if data.get("unit_name"):
        out.append((_("Unit"), str(data["unit_name"])))
    if data.get("satisfaction"):
        out.append((_("Satisfaction"), _label(Satisfaction, data["satisfaction"])))
    if event.kind == EventKind.CANCEL and data.get("reason"):
        out.append((_("Reason"), _label(CancelReason, data["reason"])))
    if data.get("channel"):
        out.append((_("Channel"), _label(Channel, data["channel"])))
    if data.get("phone"):
        out.append((_("Caller phone"), masked(str(data["phone"]))))
    if data.get("into_number"):
        out.append((_("Merged into"), str(data["into_number"])))
    if data.get("from_number"):
        out.append((_("Merged order"), str(data["from_number"])))
    if data.get("deadline"):
        out.append((_("Deadline"), _when(data["deadline"])))
    if data.get("clock"):
        out.append((_("Clock"), _label(ClockKind, data["clock"])))
    if data.get("fraction") and event.kind == EventKind.WARNING:
        out.append((_("Share of the allowed time"), f"{float(data['fraction']):.0%}"))
    if data.get("due_at"):
        out.append((_("Due"), _when(data["due_at"])))
    if data.get("paused_seconds"):
        out.append((_("Paused for"), duration(int(data["paused_seconds"]))))
    if data.get("count") and event.kind in (EventKind.URGE, EventKind.REPEAT_CALL):
        out.append((_("Count"), str(data["count"])))
    return out


EVENT_COLOURS: dict[str, str] = {
    EventKind.WARNING: "warning", EventKind.OVERDUE: "danger", EventKind.URGE: "warning",
    EventKind.RETURN: "warning", EventKind.CANCEL: "secondary", EventKind.REPEAT_CALL: "info",
    EventKind.SUPERVISE: "danger",
}


def event_rows(events: Iterable[OrderEvent]) -> list[EventRow]:
    return [
        EventRow(
            event=e, kind=_label(EventKind, e.kind),
            from_status=_label(Status, e.from_status) if e.from_status else "",
            to_status=_label(Status, e.to_status) if e.to_status else "",
            colour=EVENT_COLOURS.get(e.kind, "primary"), details=_event_details(e),
        )
        for e in events
    ]


@dataclass(frozen=True)
class ClockRow:
    clock: OrderClock
    limit: str
    state_colour: str
    paused: str


def clock_rows(clocks: Iterable[OrderClock]) -> list[ClockRow]:
    rows = []
    for c in clocks:
        paused = c.paused_seconds
        if c.state == ClockState.PAUSED and c.paused_at is not None:
            paused += int((timezone.now() - c.paused_at).total_seconds())
        rows.append(ClockRow(
            clock=c, limit=f"{c.amount} {_label(LimitUnit, c.unit)}",
            state_colour=CLOCK_STATE_COLOURS.get(c.state, "secondary"), paused=duration(paused) if paused else "",
        ))
    return rows


@dataclass(frozen=True)
class MessageRow:
    message: OutboxMessage
    recipient: str
    event: str
    colour: str


def message_rows(messages: Iterable[OutboxMessage], events: Iterable[OrderEvent]) -> list[MessageRow]:
    kinds = {e.pk: _label(EventKind, e.kind) for e in events}
    return [
        MessageRow(
            message=m,
            recipient=masked(m.recipient) if m.channel == OutboxMessage.Channel.SMS else m.recipient,
            event=kinds.get(m.source_id or 0, ""),
            colour=MESSAGE_STATE_COLOURS.get(m.state, "secondary"),
        )
        for m in messages
    ]


# ---- policy pages ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TypeRow:
    order_type: OrderType
    depth: int
    policies: int


def type_tree(types: list[OrderType], policy_counts: dict[int, int]) -> list[TypeRow]:
    """Top-level types in sort order, each followed by its sub-types."""
    children: dict[int, list[OrderType]] = {}
    for t in types:
        if t.parent_id is not None:
            children.setdefault(t.parent_id, []).append(t)
    rows: list[TypeRow] = []
    for t in types:
        if t.parent_id is None:
            rows.append(TypeRow(t, 0, policy_counts.get(t.pk, 0)))
            rows.extend(TypeRow(c, 1, policy_counts.get(c.pk, 0)) for c in children.get(t.pk, []))
    return rows


def local(moment: datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


# ---- home page ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class HomeLink:
    label: str
    url_name: str
    count: str
    icon: str
    colour: str
    query: str = ""


def home_links(user: Any) -> list[HomeLink]:
    """The work-order queues a person starts the day with, by role, with capped counts."""
    caps = capabilities(user)
    if Capability.ORDER_VIEW not in caps:
        return []
    links: list[HomeLink] = []
    if Capability.ORDER_INTAKE in caps:
        links.append(HomeLink(_("My open orders"), "workorders:queue-mine", capped_count(queue_qs(user, Queue.MINE)),
                              "person-check", "primary"))
    if Capability.ORDER_DISPATCH in caps:
        links.append(HomeLink(_("To dispatch"), "workorders:queue-dispatch",
                              capped_count(queue_qs(user, Queue.TO_DISPATCH)), "send", "primary"))
    if Capability.ORDER_HANDLE in caps:
        links.append(HomeLink(_("My unit's orders"), "workorders:queue-unit",
                              capped_count(queue_qs(user, Queue.UNIT)), "building", "primary"))
    if Capability.HANDOVER in caps or Capability.ORDER_SUPERVISE in caps:
        warnings = capped_count(queue_qs(user, Queue.WARNINGS))
        links.append(HomeLink(_("Warnings and overdue"), "workorders:queue-warnings", warnings, "alarm",
                              "danger" if warnings != "0" else "secondary"))
        links.append(HomeLink(_("Supervised"), "workorders:queue-supervised",
                              capped_count(queue_qs(user, Queue.SUPERVISED)), "eye", "secondary"))
        pending = capped_count(handover_qs(user).filter(status=HandoverStatus.PENDING))
        links.append(HomeLink(_("Handovers awaiting confirmation"), "workorders:handover-list", pending,
                              "arrow-repeat", "warning" if pending != "0" else "secondary", "?status=pending"))
    return links
