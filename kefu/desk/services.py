"""Writes of the agent desk: telephone events, extensions, what agents do during and after a call,
and the callback queue."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.core.errors import Conflict, IllegalTransition, InvalidInput, NotFoundError, PermissionDeniedError
from kefu.core.validators import try_parse_phone
from kefu.customers.models import Account, Contact
from kefu.customers.selectors import account_qs, customer_qs
from kefu.org.choices import Capability
from kefu.org.models import OrgUnit
from kefu.org.scope import has_capability, require, unit_in_scope, unit_scope_q
from kefu.workorders import services as orders
from kefu.workorders.models import WorkOrder
from kefu.workorders.selectors import workorder_qs

from .choices import (
    CALLBACK_MAX_ATTEMPTS,
    ActivityKind,
    CallbackOutcome,
    CallbackStatus,
    CallResult,
    CallState,
    CtiKind,
    EndReason,
    OrderRelation,
)
from .models import Call, CallActivity, CallOrder, CtiEvent, Extension

CALL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,63}")
MAX_CANDIDATES = 10


@dataclass
class CtiInput:
    """One event from the telephone system, already parsed (see ``api.serializers.CtiEventInput``)."""

    event: str
    call_id: str
    at: datetime | None = None
    caller: str = ""
    called: str = ""
    extension: str = ""
    duration: int | None = None
    recording: str = ""
    reason: str = ""
    ivr_choice: str = ""
    account_number: str = ""
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class CtiOutcome:
    call: Call
    duplicate: bool


def _check(event: CtiInput) -> None:
    errors: dict[str, list[str]] = {}
    if event.event not in CtiKind.values:
        errors["event"] = [_("Unknown event %(value)s: use ringing, answered, ended or ivr.") % {"value": event.event}]
    if not CALL_ID.fullmatch(event.call_id or ""):
        errors["call_id"] = [_("The call id must be 1 to 64 letters, digits or . _ : -")]
    if event.reason and event.reason not in EndReason.values:
        errors["reason"] = [_("Unknown end reason %(value)s.") % {"value": event.reason}]
    if event.duration is not None and not 0 <= event.duration <= 86_400:
        errors["duration"] = [_("The talk time must be between 0 and 86,400 seconds.")]
    if event.at is not None and event.at > timezone.now() + timedelta(minutes=10):
        errors["at"] = [_("The event time is in the future: check the telephone system's clock.")]
    if errors:
        raise InvalidInput(errors)


def _extension(number: str) -> Extension | None:
    if not number:
        return None
    ext = Extension.objects.select_related("agent", "unit").filter(number=number.strip()).first()
    if ext is None:
        raise InvalidInput({"extension": [_("Extension %(number)s is not registered at the desk. Add it under "
                                            "extensions first.") % {"number": number}]})
    return ext


def _candidates(e164: str) -> list[int]:
    if not e164:
        return []
    ids = Contact.objects.filter(phone=e164).values_list("customer_id", flat=True).order_by("customer_id")
    return list(dict.fromkeys(ids))[:MAX_CANDIDATES]


def _derive(call: Call, events: dict[str, CtiEvent]) -> None:
    """Set the call's times and state from the events received so far, whatever their order."""
    ring, ans, end, ivr = (events.get(k) for k in (CtiKind.RINGING, CtiKind.ANSWERED, CtiKind.ENDED, CtiKind.IVR))
    call.started_at = min(e.occurred_at for e in events.values())
    call.rang_at = ring.occurred_at if ring else None
    call.answered_at = ans.occurred_at if ans else None
    call.ended_at = end.occurred_at if end else None
    if ivr is not None:
        call.ivr_result = str(ivr.payload.get("ivr_choice", ""))[:40]
    if end is not None:
        reason = end.payload.get("reason", "")
        if ans is not None:
            call.state = CallState.COMPLETED
        elif reason == EndReason.SELF_SERVICE:
            call.state = CallState.SELF_SERVED
        elif ring is not None and call.extension:
            call.state = CallState.MISSED
        else:
            call.state = CallState.ABANDONED
        call.recording_ref = str(end.payload.get("recording", ""))[:200]
        duration = end.payload.get("duration")
        if duration is not None:
            call.duration_seconds = int(duration)
        elif ans is not None:
            call.duration_seconds = max(0, int((end.occurred_at - ans.occurred_at).total_seconds()))
        else:
            call.duration_seconds = 0
    elif ans is not None:
        call.state = CallState.TALKING
    elif ring is not None:
        call.state = CallState.RINGING
    else:
        call.state = CallState.IN_IVR
    # Unanswered calls with a number to ring back go to the callback queue; a late "answered" event
    # takes a call back out of it.
    if call.state in (CallState.MISSED, CallState.ABANDONED):
        if call.caller_e164 and call.callback_status == CallbackStatus.NONE:
            call.callback_status = CallbackStatus.PENDING
    elif call.callback_status in (CallbackStatus.PENDING, CallbackStatus.CLAIMED):
        # The caller was talked to after all: nobody needs to ring them back, even if someone took it.
        call.callback_status = CallbackStatus.NONE
        call.callback_by = None


def _record(event: CtiInput, *, unit: Any, source_actor: Any) -> CtiOutcome:
    at = event.at or timezone.now()
    ext = _extension(event.extension)
    with transaction.atomic():
        call = Call.objects.select_for_update().filter(call_id=event.call_id).first()
        if call is None:
            try:
                with transaction.atomic():
                    call = Call.objects.create(call_id=event.call_id, unit=ext.unit if ext else unit, started_at=at,
                                               state=CallState.IN_IVR)
            except IntegrityError:  # the same call's other event created it a moment ago
                call = Call.objects.select_for_update().get(call_id=event.call_id)
        if CtiEvent.objects.filter(call=call, kind=event.event).exists():
            return CtiOutcome(call, duplicate=True)
        payload = {k: v for k, v in {
            "caller": event.caller, "called": event.called, "extension": event.extension,
            "duration": event.duration, "recording": event.recording, "reason": event.reason,
            "ivr_choice": event.ivr_choice, "account_number": event.account_number,
        }.items() if v not in ("", None)}
        if source_actor is not None:
            payload["source"] = "desk"
        CtiEvent.objects.create(call=call, kind=event.event, occurred_at=at, payload=payload)
        if event.caller and not call.caller:
            call.caller = event.caller[:40]
            parsed = try_parse_phone(event.caller)
            call.caller_e164 = parsed.e164 if parsed else ""
            call.candidates = _candidates(call.caller_e164)
            if call.customer_id is None and len(call.candidates) == 1:
                call.customer_id = call.candidates[0]
        if event.called and not call.called:
            call.called = event.called[:40]
        # The extension that answers is the one that took the call (a queue may ring several).
        if ext is not None and (event.event == CtiKind.ANSWERED or not call.extension):
            call.extension = ext.number
            call.agent = ext.agent
            call.unit = ext.unit
        if event.account_number and call.account_id is None:
            account = Account.objects.filter(number=event.account_number.strip()).first()
            if account is not None:
                call.account = account
                call.customer_id = call.customer_id or account.customer_id
        events = {e.kind: e for e in CtiEvent.objects.filter(call=call)}
        _derive(call, events)
        call.version += 1
        call.save()
    return CtiOutcome(call, duplicate=False)


def cti_receive(*, actor: Any, event: CtiInput) -> CtiOutcome:
    """Store one telephone event. Retries and out-of-order events never make a second call."""
    require(actor, Capability.CALL_EVENTS)
    _check(event)
    return _record(event, unit=actor.unit, source_actor=None)


@transaction.atomic
def extension_sign_in(*, actor: Any, number: str) -> Extension:
    """Sit the agent at an extension: calls ringing there now pop on their desk."""
    require(actor, Capability.DESK)
    number = (number or "").strip()
    ext = Extension.objects.select_for_update().select_related("unit").filter(number=number).first()
    if ext is None:
        raise InvalidInput({"extension": [_("Extension %(number)s is not registered.") % {"number": number}]})
    own = getattr(actor, "unit", None)
    if own is None or not (ext.unit.path.startswith(own.path) or own.path.startswith(ext.unit.path)):
        raise InvalidInput({"extension": [_("Extension %(number)s belongs to another center.") % {"number": number}]})
    Extension.objects.filter(agent=actor).exclude(pk=ext.pk).update(agent=None, signed_in_at=None)
    ext.agent = actor
    ext.signed_in_at = timezone.now()
    ext.save(update_fields=["agent", "signed_in_at"])
    return ext


@transaction.atomic
def extension_sign_out(*, actor: Any) -> None:
    Extension.objects.filter(agent=actor).update(agent=None, signed_in_at=None)


def _call_get(actor: Any, call_pk: int, *, lock: bool = False) -> Call:
    qs = Call.objects.select_for_update() if lock else Call.objects.all()
    call = qs.select_related("unit").filter(pk=call_pk).first()
    if call is None or not (call.agent_id == actor.pk or unit_in_scope(actor, call.unit)):
        raise NotFoundError(_("No such call in your scope."))
    return call


def _call_locked(actor: Any, call_pk: int, seen_version: int | None = None) -> Call:
    call = _call_get(actor, call_pk, lock=True)
    if seen_version is not None and call.version != seen_version:
        raise Conflict(_("The call changed while you were looking at it. Reload and try again."))
    return call


def _activity(call: Call, kind: str, actor: Any, text: str = "", data: dict[str, Any] | None = None) -> None:
    CallActivity.objects.create(call=call, kind=kind, actor=actor, text=text, data=data or {}, at=timezone.now())


def call_answer(*, actor: Any, call_pk: int) -> Call:
    """The agent picks up at the desk (soft phone). Same effect as the telephone's own event."""
    require(actor, Capability.DESK)
    call = _call_get(actor, call_pk)
    if call.agent_id != actor.pk:
        raise IllegalTransition(_("This call is not ringing at your extension."))
    if call.state not in (CallState.RINGING, CallState.TALKING):
        raise IllegalTransition(_("The call is no longer ringing."))
    return _record(CtiInput(event=CtiKind.ANSWERED, call_id=call.call_id, extension=call.extension),
                   unit=call.unit, source_actor=actor).call


@transaction.atomic
def call_identify(*, actor: Any, call_pk: int, customer_id: int, account_id: int | None = None) -> Call:
    """The agent confirms who is calling (one of several candidates, or found by search)."""
    require(actor, Capability.DESK)
    call = _call_locked(actor, call_pk)
    customer = customer_qs(actor).filter(pk=customer_id).first()
    if customer is None:
        raise InvalidInput({"customer": [_("No such customer in your scope.")]})
    account = None
    if account_id:
        account = account_qs(actor).filter(pk=account_id, customer=customer).first()
        if account is None:
            raise InvalidInput({"account": [_("The account does not belong to this customer.")]})
    call.customer = customer
    call.account = account
    call.version += 1
    call.save(update_fields=["customer", "account", "version", "updated_at"])
    _activity(call, ActivityKind.IDENTIFIED, actor, data={"customer": customer.pk,
                                                          "account": account.pk if account else None})
    return call


def _link(call: Call, order: WorkOrder, relation: str, actor: Any) -> None:
    _link_row, created = CallOrder.objects.get_or_create(call=call, order=order, relation=relation,
                                                         defaults={"actor": actor, "at": timezone.now()})
    if created:  # a retried request links once and shows once on the call's timeline
        _activity(call, ActivityKind.ORDER, actor, data={"order": order.pk, "number": order.number,
                                                          "relation": relation})


def call_create_order(
    *, actor: Any, call_pk: int, order_type: Any, content: str, account: Account | int | None = None,
    utility: str = "", caller_name: str = "", address: str = "", intake_key: str | None = None,
) -> orders.IntakeResult:
    """Create a work order from the call, linked to it. The desk form sends a key per form, so a
    double submit or a retry returns the first order."""
    require(actor, Capability.DESK)
    call = _call_get(actor, call_pk)
    key = f"call{call.pk}:{intake_key}"[:64] if intake_key else None
    with transaction.atomic():
        result = orders.workorder_intake(
            actor=actor, order_type=order_type, channel="phone", content=content, account=account,
            utility=utility, caller_name=caller_name, caller_phone=call.caller if call.caller_e164 else "",
            address=address, intake_key=key,
        )
        locked = _call_locked(actor, call_pk)
        _link(locked, result.order, OrderRelation.CREATED, actor)
        if locked.customer_id is None and result.order.customer_id is not None:
            locked.customer_id = result.order.customer_id
            locked.account_id = result.order.account_id
        locked.version += 1
        locked.save(update_fields=["customer", "account", "version", "updated_at"])
    return result


def _order(actor: Any, order_id: int) -> WorkOrder:
    order = workorder_qs(actor).filter(pk=order_id).first()
    if order is None:
        raise InvalidInput({"order": [_("No such order in your scope.")]})
    return order


def call_link_order(*, actor: Any, call_pk: int, order_id: int, note: str = "") -> WorkOrder:
    """The caller rings about an open order: count the repeat call on it and link the call."""
    require(actor, Capability.DESK)
    call = _call_get(actor, call_pk)
    order = _order(actor, order_id)
    with transaction.atomic():
        order = orders.workorder_link_repeat(actor=actor, order=order, caller_phone=call.caller_e164 and call.caller,
                                             note=note, intake_key=f"call{call.pk}:repeat:{order.pk}")
        _link(_call_locked(actor, call_pk), order, OrderRelation.LINKED, actor)
    return order


def call_urge_order(*, actor: Any, call_pk: int, order_id: int, reason: str) -> WorkOrder:
    require(actor, Capability.DESK)
    _call_get(actor, call_pk)
    order = _order(actor, order_id)
    with transaction.atomic():
        order = orders.workorder_urge(actor=actor, order=order, reason=reason)
        _link(_call_locked(actor, call_pk), order, OrderRelation.URGED, actor)
    return order


@transaction.atomic
def call_record_result(*, actor: Any, call_pk: int, result: str, note: str = "",
                       seen_version: int | None = None) -> Call:
    require(actor, Capability.DESK)
    _call_get(actor, call_pk)  # out of scope is "not found" before the input is judged
    if result not in CallResult.values:
        raise InvalidInput({"result": [_("Choose what came of the call.")]})
    note = (note or "").strip()
    if len(note) > 2000:
        raise InvalidInput({"note": [_("The note is too long (at most 2,000 characters).")]})
    if result == CallResult.OTHER and not note:
        raise InvalidInput({"note": [_("Say what came of the call.")]})
    call = _call_locked(actor, call_pk, seen_version)
    call.result = result
    call.result_note = note
    call.version += 1
    call.save(update_fields=["result", "result_note", "version", "updated_at"])
    _activity(call, ActivityKind.RESULT, actor, text=note, data={"result": result})
    return call


@transaction.atomic
def callback_claim(*, actor: Any, call_pk: int) -> Call:
    """Take a missed call to ring back, so that two agents never call the same customer at once."""
    require(actor, Capability.DESK)
    call = _call_locked(actor, call_pk)
    if call.callback_status != CallbackStatus.PENDING:
        if call.callback_status == CallbackStatus.CLAIMED and call.callback_by_id != actor.pk:
            raise Conflict(_("Another agent is already calling this customer back."))
        if call.callback_status != CallbackStatus.CLAIMED:
            raise IllegalTransition(_("This call is not waiting for a callback."))
    call.callback_status = CallbackStatus.CLAIMED
    call.callback_by = actor
    call.version += 1
    call.save(update_fields=["callback_status", "callback_by", "version", "updated_at"])
    _activity(call, ActivityKind.CALLBACK_CLAIMED, actor)
    return call


@transaction.atomic
def callback_record(*, actor: Any, call_pk: int, outcome: str, note: str = "") -> Call:
    """Record a callback attempt. Reaching the caller settles every waiting missed call from the same
    number; after the last allowed failed attempt the call leaves the queue as unreachable."""
    require(actor, Capability.DESK)
    call = _call_locked(actor, call_pk)  # out of scope is "not found" before the input is judged
    if outcome not in CallbackOutcome.values:
        raise InvalidInput({"outcome": [_("Choose the outcome of the callback.")]})
    note = (note or "").strip()[:2000]
    if call.callback_status not in (CallbackStatus.PENDING, CallbackStatus.CLAIMED):
        raise IllegalTransition(_("This call is not waiting for a callback."))
    if call.callback_status == CallbackStatus.CLAIMED and call.callback_by_id not in (None, actor.pk):
        raise Conflict(_("Another agent is already calling this customer back."))
    now = timezone.now()
    call.callback_attempts += 1
    call.callback_at = now
    call.callback_by = actor
    if outcome == CallbackOutcome.REACHED:
        call.callback_status = CallbackStatus.DONE
    elif outcome == CallbackOutcome.WRONG_NUMBER or call.callback_attempts >= CALLBACK_MAX_ATTEMPTS:
        call.callback_status = CallbackStatus.FAILED
    else:
        call.callback_status = CallbackStatus.PENDING
    call.version += 1
    call.save(update_fields=["callback_attempts", "callback_at", "callback_by", "callback_status", "version",
                             "updated_at"])
    _activity(call, ActivityKind.CALLBACK, actor, text=note, data={"outcome": outcome,
                                                                   "attempt": call.callback_attempts})
    if outcome == CallbackOutcome.REACHED and call.caller_e164:
        # The queue shows one line per number over the agent's units: an abandoned call queued at the
        # center and a missed one at a county extension are both settled by reaching the caller.
        others = Call.objects.filter(Q(unit=call.unit) | unit_scope_q(actor), caller_e164=call.caller_e164,
                                     callback_status__in=[CallbackStatus.PENDING, CallbackStatus.CLAIMED]
                                     ).exclude(pk=call.pk)
        for other in others.select_for_update():
            other.callback_status = CallbackStatus.DONE
            other.callback_by = actor
            other.callback_at = now
            other.version += 1
            other.save(update_fields=["callback_status", "callback_by", "callback_at", "version", "updated_at"])
            _activity(other, ActivityKind.CALLBACK, actor, text=note,
                      data={"outcome": outcome, "settled_by": call.pk})
    return call


@transaction.atomic
def callback_release(*, actor: Any, call_pk: int) -> Call:
    require(actor, Capability.DESK)
    call = _call_locked(actor, call_pk)
    if call.callback_status != CallbackStatus.CLAIMED:
        raise IllegalTransition(_("This callback is not taken."))
    if call.callback_by_id != actor.pk and not has_capability(actor, Capability.HANDOVER):
        raise Conflict(_("Only the agent who took this callback, or a shift leader, can release it."))
    call.callback_status = CallbackStatus.PENDING
    call.callback_by = None
    call.version += 1
    call.save(update_fields=["callback_status", "callback_by", "version", "updated_at"])
    _activity(call, ActivityKind.CALLBACK_RELEASED, actor)
    return call


# ---- managing extensions --------------------------------------------------------------------------

EXTENSION_NUMBER = re.compile(r"[0-9]{2,16}")


def may_manage_extensions(user: Any) -> bool:
    """Administrators and shift leaders (who run the floor) add and remove extensions."""
    return has_capability(user, Capability.ORG_ADMIN) or has_capability(user, Capability.HANDOVER)


def _require_extension_manager(actor: Any) -> None:
    if not may_manage_extensions(actor):
        raise PermissionDeniedError(_("Your role does not allow this action: %(action)s") % {
            "action": _("Add and remove telephone extensions")})


@transaction.atomic
def extension_save(*, actor: Any, number: str, unit: OrgUnit | int | None) -> Extension:
    """Register a new extension of a unit in the actor's scope."""
    _require_extension_manager(actor)
    number = (number or "").strip()
    errors: dict[str, list[str]] = {}
    if not EXTENSION_NUMBER.fullmatch(number):
        errors["number"] = [_("An extension is 2 to 16 digits.")]
    if isinstance(unit, int):
        unit = OrgUnit.objects.filter(pk=unit).first()
    if unit is None or not unit_in_scope(actor, unit):
        errors["unit"] = [_("Choose a unit in your area.")]
    if not errors and Extension.objects.filter(number=number).exists():
        errors["number"] = [_("Extension %(number)s already exists.") % {"number": number}]
    if errors or unit is None:
        raise InvalidInput(errors)
    try:
        with transaction.atomic():
            return Extension.objects.create(number=number, unit=unit)
    except IntegrityError:  # added by someone else a moment ago
        raise InvalidInput({"number": [_("Extension %(number)s already exists.") % {"number": number}]}) from None


@transaction.atomic
def extension_delete(*, actor: Any, number: str) -> None:
    """Remove an extension. Refused while a call rings or is talked on there; an agent signed in
    at it is signed out with it."""
    _require_extension_manager(actor)
    number = (number or "").strip()
    ext = Extension.objects.select_for_update().select_related("unit").filter(number=number).first()
    if ext is None or not unit_in_scope(actor, ext.unit):
        raise NotFoundError(_("No such extension in your area."))
    if Call.objects.filter(extension=ext.number, state__in=[CallState.RINGING, CallState.TALKING]).exists():
        raise IllegalTransition(_("A call is ringing or in progress at extension %(number)s: remove it after the "
                                  "call.") % {"number": ext.number})
    ext.delete()
