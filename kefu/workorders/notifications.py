"""Who hears about an order event, and what they read. Messages go to the core outbox inside the
event's transaction, so an event and its notifications are saved together or not at all."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from kefu.core.models import OutboxMessage
from kefu.core.notify import outbox_enqueue
from kefu.core.validators import try_parse_phone
from kefu.org.choices import Role
from kefu.org.models import OrgUnit, Staff
from kefu.workorders.choices import TO_DISPATCH, EventKind
from kefu.workorders.models import OrderEvent, WorkOrder

# Events the handling unit must hear about; events the accepting unit's shift leaders hear about.
# Warnings and overdue marks reach the leaders when their level says so (``data["leaders"]``).
TO_HANDLING = frozenset({
    EventKind.DISPATCH, EventKind.TRANSFER, EventKind.REOPEN, EventKind.URGE, EventKind.SUPERVISE,
    EventKind.WARNING, EventKind.OVERDUE, EventKind.REPEAT_CALL, EventKind.MERGED_IN,
})
TO_LEADERS = frozenset({EventKind.RETURN})
LIMIT_EVENTS = frozenset({EventKind.WARNING, EventKind.OVERDUE})
MAX_STAFF = 20


def _unit_recipients(unit: OrgUnit, roles: tuple[str, ...], *, unit_phone: bool) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if unit_phone and unit.phone:
        phone = try_parse_phone(unit.phone)
        if phone is not None and phone.kind == "mobile":
            out.append((OutboxMessage.Channel.SMS, phone.e164))
    staff = (
        Staff.objects.filter(unit=unit, is_active=True, roles__role__in=roles)
        .distinct().values_list("phone", "email")[:MAX_STAFF]
    )
    for phone_text, email in staff:
        phone = try_parse_phone(phone_text) if phone_text else None
        if phone is not None and phone.kind == "mobile":
            out.append((OutboxMessage.Channel.SMS, phone.e164))
        elif email:
            out.append((OutboxMessage.Channel.EMAIL, email))
    return out


def _body(order: WorkOrder, event: OrderEvent) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        what = EventKind(event.kind).label
        due = timezone.localtime(order.due_at).strftime("%m-%d %H:%M") if order.due_at else "-"
        text = f" {event.text[:80]}" if event.text else ""
        return _("[kefu] Order %(number)s (%(type)s): %(what)s.%(text)s Due %(due)s.") % {
            "number": order.number, "type": order.order_type.label, "what": str(what), "text": text, "due": due,
        }


def notify_event(order: WorkOrder, event: OrderEvent, *, leaders: bool = True) -> int:
    """Queue the messages for one event; returns how many were queued."""
    targets: list[tuple[str, str]] = []
    # Not yet dispatched, or returned by the unit: the order waits for the accepting unit's dispatchers.
    at_centre = order.handling_unit_id is None or order.status in TO_DISPATCH
    limit_event = event.kind in LIMIT_EVENTS
    handling = order.handling_unit if order.handling_unit_id is not None else None
    if event.kind in TO_HANDLING and handling is not None and not (limit_event and at_centre):
        targets += _unit_recipients(handling, (Role.HANDLER, Role.CREW), unit_phone=True)
    if leaders and (event.kind in TO_LEADERS or (limit_event and event.data.get("leaders", True))):
        targets += _unit_recipients(order.accepted_unit, (Role.SHIFT_LEADER,), unit_phone=False)
    if limit_event and at_centre:
        # The time limit runs at the accepting unit.
        targets += _unit_recipients(order.accepted_unit, (Role.SHIFT_LEADER, Role.AGENT), unit_phone=True)
    if not targets:
        return 0
    body = _body(order, event)
    queued = 0
    for channel, recipient in dict.fromkeys(targets):
        row = outbox_enqueue(
            channel=channel, recipient=recipient, body=body, subject=body[:60],
            key=f"wo-ev{event.pk}-{channel}-{recipient}", source=event,
        )
        queued += int(row is not None)
    return queued
