"""Writes for the shift handover (交接班): the outgoing shift leader lists the shift's open orders with
notes, the incoming leader confirms. One transaction each.

The order list is taken again when the handover is saved (an order accepted while the leader was
writing is not left out); the confirmation is a conditional UPDATE on the pending status, so when two
people confirm at once exactly one wins and the other is told who did.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.core.errors import Conflict, InvalidInput, PermissionDeniedError
from kefu.org.choices import Capability
from kefu.org.scope import require
from kefu.workorders.choices import OPEN_STATUSES, HandoverStatus
from kefu.workorders.models import HandoverItem, ShiftHandover
from kefu.workorders.selectors import handover_candidates, handover_qs, workorder_qs

MAX_SHIFT = timedelta(hours=24)
# Clocks of two machines disagree a little; a shift "ending now" may be a few minutes ahead.
FUTURE_SLACK = timedelta(minutes=5)
MAX_SUMMARY = 4000
MAX_ITEM_NOTE = 300
MAX_CONFIRM_NOTE = 2000


def _aware(value: datetime) -> datetime:
    return timezone.make_aware(value) if timezone.is_naive(value) else value


def handover_create(
    *,
    actor: Any,
    shift_start: datetime | None,
    shift_end: datetime | None,
    summary: str,
    notes: Mapping[int, str],
    now: datetime | None = None,
) -> ShiftHandover:
    """Hand over the open orders of the actor's unit for the shift ``[shift_start, shift_end]``.

    ``notes`` maps order ids to a note for the next shift; an id that is not among the shift's open
    orders must still be an open order in the actor's area (a leader may add one by hand)."""
    require(actor, Capability.HANDOVER)
    now = now or timezone.now()
    errors: dict[str, list[str]] = {}
    unit = getattr(actor, "unit", None)
    if unit is None:
        errors["__all__"] = [_("Your staff record has no unit; ask an administrator.")]
    if shift_start is None:
        errors["shift_start"] = [_("Enter when the shift started.")]
    if shift_end is None:
        errors["shift_end"] = [_("Enter when the shift ended.")]
    if shift_start is not None and shift_end is not None:
        shift_start, shift_end = _aware(shift_start), _aware(shift_end)
        if shift_end <= shift_start:
            errors["shift_end"] = [_("The shift must end after it starts.")]
        elif shift_end - shift_start > MAX_SHIFT:
            errors["shift_start"] = [_("A shift lasts at most 24 hours.")]
        if shift_end > now + FUTURE_SLACK:
            errors["shift_end"] = [_("The shift cannot end in the future.")]
    text = (summary or "").strip()
    if len(text) > MAX_SUMMARY:
        errors["summary"] = [_("At most %(n)d characters.") % {"n": MAX_SUMMARY}]
    clean_notes: dict[int, str] = {}
    for order_id, note in notes.items():
        note = (note or "").strip()
        if len(note) > MAX_ITEM_NOTE:
            errors[f"notes.{order_id}"] = [_("At most %(n)d characters.") % {"n": MAX_ITEM_NOTE}]
        clean_notes[int(order_id)] = note
    if errors:
        raise InvalidInput(errors)
    assert shift_start is not None and shift_end is not None and unit is not None
    with transaction.atomic():
        twin = ShiftHandover.objects.filter(created_by=actor, shift_start=shift_start, shift_end=shift_end).first()
        if twin is not None:
            raise Conflict(_("You already handed over this shift (handover #%(id)d).") % {"id": twin.pk})
        orders = handover_candidates(actor, since=shift_start)
        listed = {o.pk for o in orders}
        extra_ids = [pk for pk, note in clean_notes.items() if pk not in listed and note]
        if extra_ids:
            extra = list(workorder_qs(actor).filter(pk__in=extra_ids, status__in=list(OPEN_STATUSES)))
            missing = sorted(set(extra_ids) - {o.pk for o in extra})
            if missing:
                raise InvalidInput({f"notes.{pk}": [_("This is not an open order in your area.")] for pk in missing})
            orders += extra
        handover = ShiftHandover.objects.create(
            unit=unit, shift_start=shift_start, shift_end=shift_end, summary=text, created_by=actor, created_at=now,
        )
        HandoverItem.objects.bulk_create([
            HandoverItem(handover=handover, order=order, status_at_handover=order.status,
                         note=clean_notes.get(order.pk, ""))
            for order in orders
        ])
    return handover


def handover_confirm(*, actor: Any, handover: ShiftHandover, note: str = "",
                     now: datetime | None = None) -> ShiftHandover:
    """The incoming leader takes over: only a pending handover, only someone other than its writer."""
    require(actor, Capability.HANDOVER)
    text = (note or "").strip()
    if len(text) > MAX_CONFIRM_NOTE:
        raise InvalidInput({"note": [_("At most %(n)d characters.") % {"n": MAX_CONFIRM_NOTE}]})
    now = now or timezone.now()
    with transaction.atomic():
        current = handover_qs(actor).filter(pk=handover.pk).first()
        if current is None:
            raise PermissionDeniedError(_("No such handover in your area."))
        if current.created_by_id == getattr(actor, "pk", None):
            raise PermissionDeniedError(_("You wrote this handover; the incoming shift leader must confirm it."))
        won = ShiftHandover.objects.filter(pk=current.pk, status=HandoverStatus.PENDING).update(
            status=HandoverStatus.CONFIRMED, confirmed_by=actor, confirmed_at=now, confirm_note=text,
        )
        current = ShiftHandover.objects.select_related("confirmed_by").get(pk=current.pk)
        if not won:
            who = current.confirmed_by.display_name() if current.confirmed_by else "?"
            when = timezone.localtime(current.confirmed_at).strftime("%Y-%m-%d %H:%M") if current.confirmed_at else ""
            raise Conflict(_("This handover was already confirmed by %(name)s at %(time)s.") % {
                "name": who, "time": when})
    return current

