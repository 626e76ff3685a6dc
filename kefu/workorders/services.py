"""Writes for work orders. Each action is one service, one transaction and one event row.

Every action locks the order row, checks the version the user saw (a stale one is a conflict),
checks the move with ``rules.refusal`` (the transition table plus role and unit), stamps the stage
time, moves the clocks, saves, appends the event and queues notifications in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.core.errors import Conflict, IllegalTransition, InvalidInput, NotFoundError, PermissionDeniedError
from kefu.core.services import sequence_next
from kefu.core.validators import parse_phone
from kefu.customers.choices import Importance
from kefu.customers.models import Account, Contact
from kefu.customers.selectors import account_qs
from kefu.org.choices import Capability
from kefu.org.models import OrgUnit
from kefu.org.scope import require, unit_in_scope
from kefu.workorders import clocks as clockwork
from kefu.workorders import hooks, rules
from kefu.workorders.choices import (
    PRE_RESULT,
    TRANSITIONS,
    Action,
    CancelReason,
    Channel,
    ClockKind,
    ClockState,
    EventKind,
    Satisfaction,
    Status,
)
from kefu.workorders.models import OrderClock, OrderEvent, OrderType, WorkOrder
from kefu.workorders.notifications import notify_event
from kefu.workorders.selectors import workorder_qs

MAX_TEXT = 2000


def _text(value: str | None, field: str, *, required: bool, label: str) -> str:
    text = (value or "").strip()
    if required and not text:
        raise InvalidInput({field: [_("%(field)s is required.") % {"field": label}]})
    if len(text) > MAX_TEXT:
        raise InvalidInput({field: [_("%(field)s is too long (at most %(n)d characters).") % {
            "field": label, "n": MAX_TEXT}]})
    return text


# ---------------------------------------------------------------------------------------------- intake


@dataclass
class IntakeResult:
    order: WorkOrder
    created: bool


def _resolve_type(value: Any) -> OrderType:
    """An active leaf type by code or id, from the cached catalogue (re-read once on a miss)."""
    order_type: OrderType | None = None
    for refresh in (False, True):
        known = clockwork.catalogue(refresh=refresh)
        if isinstance(value, OrderType):
            order_type = known.by_id.get(value.pk, value)
        elif isinstance(value, int) or (isinstance(value, str) and value.isascii() and value.isdigit()):
            order_type = known.by_id.get(int(value))
        elif isinstance(value, str) and value:
            order_type = known.by_code.get(value)
        if order_type is not None:
            break
    if order_type is None or not order_type.is_active:
        raise InvalidInput({"order_type": [_("Unknown order type: %(value)s") % {"value": value}]})
    if order_type.pk in clockwork.catalogue().parents:
        raise InvalidInput({"order_type": [_("Choose a sub-type of “%(type)s”.") % {"type": order_type.label}]})
    return order_type


def _replayed(actor: Any, key: str) -> WorkOrder | None:
    """The order an earlier request with this key created, loaded as the answer needs it."""
    return (
        WorkOrder.objects.select_related("order_type", "unit", "handling_unit")
        .filter(accepted_by=actor, intake_key=key).first()
    )


def _next_number(now: datetime) -> str:
    # The sequence runs in its own short transaction so that intakes do not queue behind its row lock.
    seq = sequence_next(key="workorder")
    return f"{timezone.localtime(now):%y%m%d}{seq:08d}"


def workorder_intake(
    *,
    actor: Any,
    order_type: Any,
    channel: str,
    content: str,
    account: Account | int | None = None,
    utility: str = "",
    caller_name: str = "",
    caller_phone: str = "",
    address: str = "",
    intake_key: str | None = None,
    now: datetime | None = None,
) -> IntakeResult:
    """Accept a request as a new order. A retry with the same ``intake_key`` returns the first order."""
    require(actor, Capability.ORDER_INTAKE)
    key = (intake_key or "").strip() or None
    if key is not None:
        if len(key) > 64:
            raise InvalidInput({"intake_key": [_("The idempotency key is too long (at most 64 characters).")]})
        existing = _replayed(actor, key)
        if existing is not None:
            return IntakeResult(existing, created=False)
    errors: dict[str, list[str]] = {}
    try:
        kind = _resolve_type(order_type)
    except InvalidInput as exc:
        errors.update(exc.errors)
        kind = None
    if channel not in Channel.values:
        errors["channel"] = [_("Unknown channel: %(value)s") % {"value": channel}]
    try:
        text = _text(content, "content", required=True, label=_("Request"))
    except InvalidInput as exc:
        errors.update(exc.errors)
        text = ""
    acct: Account | None = None
    if account not in (None, ""):
        raw_id = str(account.pk if isinstance(account, Account) else account)
        acct_id = int(raw_id) if raw_id.isascii() and raw_id.isdigit() else 0
        acct = account_qs(actor).select_related("premise", "customer", "unit").filter(pk=acct_id).first()
        if acct is None:
            errors["account"] = [_("No such account in your area.")]
    phone = ""
    if caller_phone:
        try:
            phone = parse_phone(caller_phone).e164
        except ValidationError as exc:
            errors["caller_phone"] = list(exc.messages)
    if acct is None and not phone and "account" not in errors and "caller_phone" not in errors:
        errors["caller_phone"] = [_("Enter the caller's phone number or choose an account, so that the customer "
                                    "can be reached.")]
    if acct is not None:
        if utility and utility != acct.utility:
            errors["utility"] = [_("The account is a %(utility)s account.") % {"utility": acct.get_utility_display()}]
        utility = acct.utility
    elif not utility:
        utility = kind.utility if kind is not None and kind.utility else ""
    if not utility:
        errors.setdefault("utility", [_("Choose power or gas.")])
    elif utility not in ("power", "gas"):
        errors["utility"] = [_("Unknown utility kind: %(value)s") % {"value": utility}]
    if kind is not None and utility and not kind.allows_utility(utility):
        errors["order_type"] = [_("“%(type)s” is not a %(utility)s business.") % {
            "type": kind.label, "utility": _("power") if utility == "power" else _("gas")}]
    if len(caller_name) > 60:
        errors["caller_name"] = [_("Caller name is too long (at most 60 characters).")]
    if len(address) > 300:
        errors["address"] = [_("Address is too long (at most 300 characters).")]
    actor_unit: OrgUnit | None = getattr(actor, "unit", None)
    if actor_unit is None:
        errors.setdefault("account", [_("Your staff record has no unit; ask an administrator.")])
    if errors:
        raise InvalidInput(errors)
    assert kind is not None and actor_unit is not None
    if acct is not None and not phone:
        # The callback needs a number: default to the customer's primary contact.
        phone = (
            Contact.objects.filter(customer_id=acct.customer_id).order_by("-is_primary", "id")
            .values_list("phone", flat=True).first() or ""
        )
    now = now or timezone.now()
    number = _next_number(now)
    order = WorkOrder(
        number=number, order_type=kind, utility=utility, channel=channel, status=Status.ACCEPTED,
        customer=acct.customer if acct else None, account=acct, premise=acct.premise if acct else None,
        caller_name=caller_name.strip() or (acct.customer.name if acct else ""), caller_phone=phone,
        address=address.strip() or (acct.premise.address if acct else ""), content=text,
        region_class=acct.premise.region_class if acct else actor_unit.region_class,
        importance=acct.importance if acct else Importance.NORMAL,
        unit=acct.unit if acct else actor_unit, accepted_by=actor, accepted_unit=actor_unit, accepted_at=now,
        intake_key=key,
    )
    try:
        with transaction.atomic():
            # Clocks first, so that the order row is written once with its deadlines.
            facts = clockwork.Facts(
                type_chain=clockwork.type_chain(kind), utility=utility, region_class=order.region_class,
                importance=order.importance, channel=channel, on=timezone.localdate(now),
            )
            clocks = [clockwork.clock_from_policy(order, p, now) for p in clockwork.matching_policies(facts)]
            _apply_summary(order, clocks)
            order.save(force_insert=True)
            OrderClock.objects.bulk_create(clocks)
            _event(order, EventKind.ACCEPTED, actor, now, to_status=Status.ACCEPTED, text=text,
                   data={"channel": channel})
            hooks.after_intake(order, actor, now)
    except IntegrityError:
        # Two retries with the same key raced: the other one created the order.
        if key is not None:
            existing = _replayed(actor, key)
            if existing is not None:
                return IntakeResult(existing, created=False)
        raise
    return IntakeResult(order, created=True)


def workorder_link_repeat(
    *, actor: Any, order: WorkOrder, caller_phone: str = "", note: str = "", intake_key: str | None = None,
    now: datetime | None = None,
) -> WorkOrder:
    """A repeat call about an open order: counted and recorded on it instead of a new order."""
    require(actor, Capability.ORDER_INTAKE)
    text = _text(note, "note", required=False, label=_("Note"))
    phone = ""
    if caller_phone:
        try:
            phone = parse_phone(caller_phone).e164
        except ValidationError as exc:
            raise InvalidInput({"caller_phone": list(exc.messages)}) from exc
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock(actor, order.pk, None)
        # A retried request gets the first answer, even if the order closed in between.
        if intake_key and locked.events.filter(kind=EventKind.REPEAT_CALL, data__key=intake_key).exists():
            return locked
        if locked.status not in (Status.ACCEPTED, Status.RETURNED, Status.DISPATCHED, Status.ACKNOWLEDGED,
                                 Status.ON_SITE, Status.SUSPENDED, Status.HANDLED):
            raise IllegalTransition(_("The order is closed; accept the call as a new order."))
        locked.repeat_count += 1
        _save(locked, ["repeat_count"])
        event = _event(locked, EventKind.REPEAT_CALL, actor, now, text=text,
                       data={"phone": phone, "key": intake_key or "", "count": locked.repeat_count})
        notify_event(locked, event)
    return locked


# ----------------------------------------------------------------------------------------- plumbing


def _lock(actor: Any, order_id: int, expected_version: int | None) -> WorkOrder:
    try:
        order = (
            workorder_qs(actor).select_for_update(of=("self",))
            .select_related("order_type", "handling_unit", "unit", "accepted_unit").get(pk=order_id)
        )
    except WorkOrder.DoesNotExist as exc:
        raise NotFoundError(_("No such work order in your area.")) from exc
    if expected_version is not None and order.version != expected_version:
        raise Conflict(_("Order %(number)s was changed by someone else. Reload it and try again.") % {
            "number": order.number})
    return order


def _check(actor: Any, order: WorkOrder, action: str) -> None:
    refused = rules.refusal(actor, order, action)
    if refused is None:
        return
    kind, message = refused
    if kind == "role":
        raise PermissionDeniedError(message)
    raise IllegalTransition(message)


def _save(order: WorkOrder, fields: list[str]) -> None:
    order.version += 1
    order.save(update_fields=[*fields, "version"])


def _apply_summary(order: WorkOrder, clocks: list[OrderClock]) -> None:
    order.due_at, order.next_warning_at, order.time_state = clockwork.order_summary(clocks)


def _event(order: WorkOrder, kind: str, actor: Any, now: datetime, *, from_status: str = "",
           to_status: str = "", text: str = "", data: dict[str, Any] | None = None) -> OrderEvent:
    return OrderEvent.objects.create(
        order=order, kind=kind, from_status=from_status, to_status=to_status,
        actor=actor if getattr(actor, "pk", None) else None, actor_unit=getattr(actor, "unit", None),
        text=text, data=data or {}, at=now,
    )


@dataclass
class Step:
    """What an action changes besides the status: extra fields, the event text and data."""

    fields: dict[str, Any]
    text: str = ""
    data: dict[str, Any] | None = None
    to_status: str | None = None


def _perform(
    *, actor: Any, order: WorkOrder, action: str, expected_version: int | None, now: datetime | None,
    build: Any,
) -> WorkOrder:
    """Lock, check, apply ``build(order, clocks, now) -> Step``, save, record, notify."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock(actor, order.pk, expected_version)
        _check(actor, locked, action)
        clocks = list(OrderClock.objects.filter(order=locked).order_by("id"))
        step: Step = build(locked, clocks, now)
        from_status = locked.status
        _sources, target = TRANSITIONS[action]
        target = step.to_status or target
        if target is not None:
            locked.status = target
        for name, value in step.fields.items():
            setattr(locked, name, value)
        dirty = [c for c in clocks if getattr(c, "_dirty", False)]
        for clock in dirty:
            clock.save()
        new_clocks = [c for c in clocks if c.pk is None]
        OrderClock.objects.bulk_create(new_clocks)
        _apply_summary(locked, clocks)
        _save(locked, ["status", *step.fields, "due_at", "next_warning_at", "time_state"])
        event = _event(locked, action, actor, now, from_status=from_status,
                       to_status=locked.status if locked.status != from_status else "",
                       text=step.text, data=step.data)
        notify_event(locked, event)
    return locked


def _touch(clocks: list[OrderClock]) -> None:
    for clock in clocks:
        clock._dirty = True  # type: ignore[attr-defined]


def _on_action(clocks: list[OrderClock], action: str, now: datetime) -> None:
    _touch(clockwork.clocks_on_action(clocks, action, now))


def _close_all(clocks: list[OrderClock], now: datetime) -> None:
    for clock in clocks:
        if clock.state in (ClockState.RUNNING, ClockState.PAUSED, ClockState.WAITING):
            clockwork.clock_stop(clock, now, closing=True)
            _touch([clock])


def _handling_unit(actor: Any, unit: OrgUnit | int | None, field: str = "unit") -> OrgUnit:
    unit_id = unit.pk if isinstance(unit, OrgUnit) else unit
    found = OrgUnit.objects.filter(pk=unit_id, is_active=True).first() if unit_id else None
    if found is None:
        raise InvalidInput({field: [_("Choose the unit that must act.")]})
    if not unit_in_scope(actor, found):
        raise InvalidInput({field: [_("You can dispatch only to units in your area.")]})
    return found


# ------------------------------------------------------------------------------------------ actions


def workorder_dispatch(*, actor: Any, order: WorkOrder, unit: OrgUnit | int | None, note: str = "",
                       expected_version: int | None = None, now: datetime | None = None) -> WorkOrder:
    target = _handling_unit(actor, unit)
    text = _text(note, "note", required=False, label=_("Note"))

    def build(o: WorkOrder, clocks: list[OrderClock], at: datetime) -> Step:
        refused = hooks.dispatch_refusal(o)
        if refused:
            raise IllegalTransition(refused)
        return Step({"handling_unit": target, "assignee": None, "dispatched_at": at}, text,
                    {"unit": target.pk, "unit_name": target.name})

    return _perform(actor=actor, order=order, action=Action.DISPATCH, expected_version=expected_version, now=now,
                    build=build)


def workorder_acknowledge(*, actor: Any, order: WorkOrder, expected_version: int | None = None,
                          now: datetime | None = None) -> WorkOrder:
    def build(o: WorkOrder, clocks: list[OrderClock], at: datetime) -> Step:
        return Step({"assignee": actor, "acknowledged_at": at})

    return _perform(actor=actor, order=order, action=Action.ACKNOWLEDGE, expected_version=expected_version,
                    now=now, build=build)


def workorder_return(*, actor: Any, order: WorkOrder, reason: str, expected_version: int | None = None,
                     now: datetime | None = None) -> WorkOrder:
    text = _text(reason, "reason", required=True, label=_("Reason"))

    def build(o: WorkOrder, clocks: list[OrderClock], at: datetime) -> Step:
        return Step({"assignee": None, "return_count": o.return_count + 1}, text,
                    {"from_unit": o.handling_unit_id})

    return _perform(actor=actor, order=order, action=Action.RETURN, expected_version=expected_version, now=now,
                    build=build)


def workorder_transfer(*, actor: Any, order: WorkOrder, unit: OrgUnit | int | None, reason: str,
                       expected_version: int | None = None, now: datetime | None = None) -> WorkOrder:
    target = _handling_unit(actor, unit)
    text = _text(reason, "reason", required=True, label=_("Reason"))

    def build(o: WorkOrder, clocks: list[OrderClock], at: datetime) -> Step:
        if o.handling_unit_id == target.pk:
            raise InvalidInput({"unit": [_("The order is already at this unit.")]})
        return Step({"handling_unit": target, "assignee": None, "dispatched_at": at,
                     "transfer_count": o.transfer_count + 1}, text,
                    {"from_unit": o.handling_unit_id, "unit": target.pk, "unit_name": target.name})

    return _perform(actor=actor, order=order, action=Action.TRANSFER, expected_version=expected_version, now=now,
                    build=build)


def workorder_contact(*, actor: Any, order: WorkOrder, note: str = "", expected_version: int | None = None,
                      now: datetime | None = None) -> WorkOrder:
    text = _text(note, "note", required=False, label=_("Note"))

    def build(o: WorkOrder, clocks: list[OrderClock], at: datetime) -> Step:
        if o.contacted_at is not None:
            raise IllegalTransition(_("First contact is already recorded."))
        _on_action(clocks, Action.CONTACT, at)
        return Step({"contacted_at": at}, text)

    return _perform(actor=actor, order=order, action=Action.CONTACT, expected_version=expected_version, now=now,
                    build=build)


def workorder_arrive(*, actor: Any, order: WorkOrder, note: str = "", expected_version: int | None = None,
                     now: datetime | None = None) -> WorkOrder:
    text = _text(note, "note", required=False, label=_("Note"))

    def build(o: WorkOrder, clocks: list[OrderClock], at: datetime) -> Step:
        _on_action(clocks, Action.ARRIVE, at)
        fields: dict[str, Any] = {"arrived_at": at}
        if o.contacted_at is None:
            fields["contacted_at"] = at
        return Step(fields, text)

    return _perform(actor=actor, order=order, action=Action.ARRIVE, expected_version=expected_version, now=now,
                    build=build)


def workorder_handle(*, actor: Any, order: WorkOrder, result: str, expected_version: int | None = None,
                     now: datetime | None = None) -> WorkOrder:
    text = _text(result, "result", required=True, label=_("Result"))

    def build(o: WorkOrder, clocks: list[OrderClock], at: datetime) -> Step:
        _on_action(clocks, Action.HANDLE, at)
        fields: dict[str, Any] = {"result": text, "handled_at": at}
        if o.contacted_at is None:
            fields["contacted_at"] = at
        if o.assignee_id is None:
            fields["assignee"] = actor
        return Step(fields, text)

    return _perform(actor=actor, order=order, action=Action.HANDLE, expected_version=expected_version, now=now,
                    build=build)


def workorder_suspend(*, actor: Any, order: WorkOrder, reason: str, expected_version: int | None = None,
                      now: datetime | None = None) -> WorkOrder:
    text = _text(reason, "reason", required=True, label=_("Reason"))

    def build(o: WorkOrder, clocks: list[OrderClock], at: datetime) -> Step:
        for clock in clocks:
            if clock.state == ClockState.RUNNING:
                clockwork.clock_pause(clock, at)
                _touch([clock])
        return Step({"suspended_from": o.status}, text)

    return _perform(actor=actor, order=order, action=Action.SUSPEND, expected_version=expected_version, now=now,
                    build=build)


def workorder_resume(*, actor: Any, order: WorkOrder, note: str = "", expected_version: int | None = None,
                     now: datetime | None = None) -> WorkOrder:
    text = _text(note, "note", required=False, label=_("Note"))

    def build(o: WorkOrder, clocks: list[OrderClock], at: datetime) -> Step:
        paused = 0
        for clock in clocks:
            if clock.state == ClockState.PAUSED:
                before = clock.paused_seconds
                clockwork.clock_resume(clock, at)
                paused = max(paused, clock.paused_seconds - before)
                _touch([clock])
        back = o.suspended_from or Status.ACKNOWLEDGED
        return Step({"suspended_from": ""}, text, {"paused_seconds": paused}, to_status=back)

    return _perform(actor=actor, order=order, action=Action.RESUME, expected_version=expected_version, now=now,
                    build=build)


def workorder_reply(*, actor: Any, order: WorkOrder, reply: str, expected_version: int | None = None,
                    now: datetime | None = None) -> WorkOrder:
    text = _text(reply, "reply", required=True, label=_("Reply"))

    def build(o: WorkOrder, clocks: list[OrderClock], at: datetime) -> Step:
        _on_action(clocks, Action.REPLY, at)
        return Step({"reply": text, "replied_at": at}, text)

    return _perform(actor=actor, order=order, action=Action.REPLY, expected_version=expected_version, now=now,
                    build=build)


def workorder_callback(*, actor: Any, order: WorkOrder, satisfaction: str, note: str = "",
                       expected_version: int | None = None, now: datetime | None = None) -> WorkOrder:
    if satisfaction not in Satisfaction.values:
        raise InvalidInput({"satisfaction": [_("Choose how satisfied the customer was.")]})
    text = _text(note, "note", required=satisfaction == Satisfaction.UNSATISFIED,
                 label=_("What the customer said"))

    def build(o: WorkOrder, clocks: list[OrderClock], at: datetime) -> Step:
        _on_action(clocks, Action.CALLBACK, at)
        return Step({"satisfaction": satisfaction, "called_back_at": at}, text, {"satisfaction": satisfaction})

    return _perform(actor=actor, order=order, action=Action.CALLBACK, expected_version=expected_version, now=now,
                    build=build)


def workorder_reopen(*, actor: Any, order: WorkOrder, reason: str, expected_version: int | None = None,
                     now: datetime | None = None) -> WorkOrder:
    text = _text(reason, "reason", required=True, label=_("Reason"))

    def build(o: WorkOrder, clocks: list[OrderClock], at: datetime) -> Step:
        _close_all(clocks, at)
        facts = clockwork.Facts(
            type_chain=clockwork.type_chain(o.order_type), utility=o.utility, region_class=o.region_class,
            importance=o.importance, channel=o.channel, on=timezone.localdate(at),
        )
        for policy in clockwork.matching_policies(facts):
            if policy.clock != ClockKind.FIRST_CONTACT:
                clocks.append(clockwork.clock_from_policy(o, policy, at))
        fields: dict[str, Any] = {"reopen_count": o.reopen_count + 1, "assignee": None, "satisfaction": "",
                                  "handled_at": None, "replied_at": None, "called_back_at": None, "arrived_at": None}
        if o.handling_unit_id is None:
            # Answered on the call, never dispatched: back to the centre to be dispatched, not
            # "dispatched" to no unit (where nobody could acknowledge it).
            return Step(fields, text, to_status=Status.ACCEPTED)
        fields["dispatched_at"] = at
        return Step(fields, text)

    return _perform(actor=actor, order=order, action=Action.REOPEN, expected_version=expected_version, now=now,
                    build=build)


def workorder_archive(*, actor: Any, order: WorkOrder, expected_version: int | None = None,
                      now: datetime | None = None) -> WorkOrder:
    def build(o: WorkOrder, clocks: list[OrderClock], at: datetime) -> Step:
        _close_all(clocks, at)
        return Step({"closed_at": at})

    return _perform(actor=actor, order=order, action=Action.ARCHIVE, expected_version=expected_version, now=now,
                    build=build)


def workorder_cancel(*, actor: Any, order: WorkOrder, reason: str, note: str = "",
                     expected_version: int | None = None, now: datetime | None = None) -> WorkOrder:
    if reason not in CancelReason.values:
        raise InvalidInput({"reason": [_("Choose why the order is cancelled.")]})
    text = _text(note, "note", required=False, label=_("Note"))

    def build(o: WorkOrder, clocks: list[OrderClock], at: datetime) -> Step:
        _close_all(clocks, at)
        return Step({"cancel_reason": reason, "closed_at": at}, text, {"reason": reason})

    return _perform(actor=actor, order=order, action=Action.CANCEL, expected_version=expected_version, now=now,
                    build=build)


def workorder_urge(*, actor: Any, order: WorkOrder, reason: str, expected_version: int | None = None,
                   now: datetime | None = None) -> WorkOrder:
    text = _text(reason, "reason", required=True, label=_("Reason"))

    def build(o: WorkOrder, clocks: list[OrderClock], at: datetime) -> Step:
        return Step({"urge_count": o.urge_count + 1}, text, {"count": o.urge_count + 1})

    return _perform(actor=actor, order=order, action=Action.URGE, expected_version=expected_version, now=now,
                    build=build)


def workorder_supervise(*, actor: Any, order: WorkOrder, deadline: datetime | None, reason: str,
                        expected_version: int | None = None, now: datetime | None = None) -> WorkOrder:
    text = _text(reason, "reason", required=True, label=_("Reason"))
    at_now = now or timezone.now()
    if deadline is None:
        raise InvalidInput({"deadline": [_("Set the supervision deadline.")]})
    if timezone.is_naive(deadline):
        deadline = timezone.make_aware(deadline)
    if deadline <= at_now:
        raise InvalidInput({"deadline": [_("The supervision deadline must be in the future.")]})

    def build(o: WorkOrder, clocks: list[OrderClock], at: datetime) -> Step:
        for clock in clocks:
            if clock.kind == ClockKind.SUPERVISION and clock.state in (ClockState.RUNNING, ClockState.PAUSED):
                clockwork.clock_stop(clock, at, closing=True)
                _touch([clock])
        clocks.append(clockwork.supervision_clock(o, at, deadline))
        return Step({"supervised": True, "supervise_due_at": deadline, "supervised_by": actor}, text,
                    {"deadline": deadline.isoformat()})

    return _perform(actor=actor, order=order, action=Action.SUPERVISE, expected_version=expected_version,
                    now=at_now, build=build)


def workorder_note(*, actor: Any, order: WorkOrder, text: str, expected_version: int | None = None,
                   now: datetime | None = None) -> WorkOrder:
    body = _text(text, "text", required=True, label=_("Note"))

    def build(o: WorkOrder, clocks: list[OrderClock], at: datetime) -> Step:
        return Step({}, body)

    return _perform(actor=actor, order=order, action=Action.NOTE, expected_version=expected_version, now=now,
                    build=build)


def workorder_merge(*, actor: Any, order: WorkOrder, into: WorkOrder | int | None, note: str = "",
                    expected_version: int | None = None, now: datetime | None = None) -> WorkOrder:
    """Merge ``order`` into ``into``: ``order`` closes as merged and points to the survivor; both keep
    their histories, and the survivor counts the merged order's calls as repeat calls."""
    text = _text(note, "note", required=False, label=_("Note"))
    into_id = into.pk if isinstance(into, WorkOrder) else into
    if not into_id:
        raise InvalidInput({"into": [_("Choose the order to merge into.")]})
    if into_id == order.pk:
        raise InvalidInput({"into": [_("An order cannot be merged into itself.")]})
    at = now or timezone.now()
    with transaction.atomic():
        # Lock both rows in id order so that two opposite merges cannot deadlock.
        first, second = sorted([order.pk, into_id])
        locked = {first: _lock(actor, first, None), second: _lock(actor, second, None)}
        survivor = locked[into_id]
        if survivor.status not in (Status.ACCEPTED, Status.RETURNED, Status.DISPATCHED, Status.ACKNOWLEDGED,
                                   Status.ON_SITE, Status.SUSPENDED, Status.HANDLED):
            raise IllegalTransition(_("Order %(number)s is closed; merge into an open order.") % {
                "number": survivor.number})

        def build(o: WorkOrder, clocks: list[OrderClock], t: datetime) -> Step:
            _close_all(clocks, t)
            return Step({"merged_into": survivor, "closed_at": t}, text,
                        {"into": survivor.pk, "into_number": survivor.number})

        merged = _perform(actor=actor, order=order, action=Action.MERGE, expected_version=expected_version,
                          now=at, build=build)
        survivor.repeat_count += 1 + merged.repeat_count
        _save(survivor, ["repeat_count"])
        event = _event(survivor, EventKind.MERGED_IN, actor, at, text=text,
                       data={"from": merged.pk, "from_number": merged.number})
        notify_event(survivor, event)
    return merged


def workorder_resolve_joint(*, order_id: int, result: str, reply: str, actor: Any,
                            now: datetime | None = None) -> WorkOrder | None:
    """Record the result and the reply of an order that waited on a shared cause (an outage that is
    now restored), leaving it for the callback. The caller's service has checked the actor's right
    over the shared cause; orders already past their result are left alone (returns None)."""
    now = now or timezone.now()
    with transaction.atomic():
        order = WorkOrder.objects.select_for_update(of=("self",)).filter(pk=order_id).first()
        if order is None or order.status not in PRE_RESULT:
            return None
        clocks = list(OrderClock.objects.filter(order=order).order_by("id"))
        from_status = order.status
        if order.status == Status.SUSPENDED:
            for clock in clocks:
                if clock.state == ClockState.PAUSED:
                    clockwork.clock_resume(clock, now)
                    _touch([clock])
        _on_action(clocks, Action.HANDLE, now)
        _on_action(clocks, Action.REPLY, now)
        order.status = Status.REPLIED
        order.result, order.reply = result, reply
        order.handled_at = order.replied_at = now
        order.contacted_at = order.contacted_at or now
        order.suspended_from = ""
        for clock in clocks:
            if getattr(clock, "_dirty", False):
                clock.save()
        _apply_summary(order, clocks)
        _save(order, ["status", "result", "reply", "handled_at", "replied_at", "contacted_at", "suspended_from",
                      "due_at", "next_warning_at", "time_state"])
        _event(order, Action.HANDLE, actor, now, from_status=from_status, to_status=Status.HANDLED, text=result,
               data={"joint": True})
        event = _event(order, Action.REPLY, actor, now, from_status=Status.HANDLED, to_status=Status.REPLIED,
                       text=reply, data={"joint": True})
        notify_event(order, event)
    return order


def workorder_annotate(*, order: WorkOrder, text: str, data: dict[str, Any], actor: Any,
                       now: datetime | None = None) -> OrderEvent:
    """A timeline note written by another app about the order (for example "linked to outage …"),
    inside that app's transaction; it changes nothing on the order itself."""
    return _event(order, EventKind.NOTE, actor, now or timezone.now(), text=text[:MAX_TEXT], data=data)
