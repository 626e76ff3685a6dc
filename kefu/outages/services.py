"""Writes for outages: draft, edit, review, publish (with the notice rules), extend, change, cancel,
restore (resolving the repair orders that waited on it). One transaction and one event per step;
the SMS rows are written in the same transaction (outbox) with keys that make retries harmless."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from kefu.core.api import parse_id
from kefu.core.errors import Conflict, IllegalTransition, InvalidInput, NotFoundError
from kefu.core.services import sequence_next
from kefu.core.validators import try_parse_phone
from kefu.customers.choices import PhoneKind
from kefu.customers.models import Account
from kefu.customers.selectors import account_qs
from kefu.grid.models import GridNode
from kefu.grid.selectors import node_qs
from kefu.org.choices import Capability
from kefu.org.models import OrgUnit
from kefu.org.scope import has_capability, require, unit_in_scope
from kefu.workorders.models import WorkOrder
from kefu.workorders.selectors import workorder_qs
from kefu.workorders.services import workorder_resolve_joint

from . import fanout, notices
from .choices import LIVE, MARKETING_CLASSES, TRANSITIONS, Action, MessageKind, OutageClass, Status, class_fits
from .events import outage_event
from .grouping import link_call
from .models import FaultCall, MessageTemplate, Outage, OutageListedAccount, OutageNode
from .selectors import outage_qs

MAX_SCOPE = 500  # nodes or listed accounts in one outage; a bigger area is a node higher up
CHANNELS = ["sms", "list", "desk", "ivr"]


# Input ------------------------------------------------------------------------------------------

def parse_when(value: Any) -> datetime | None:
    """A datetime, or text like 2026-12-01 08:00 / 2026-12-01T08:00:00+08:00 (local time if no zone)."""
    if isinstance(value, datetime):
        moment = value
    else:
        text = str(value or "").strip().replace("/", "-")
        if not text:
            return None
        try:
            moment = parse_datetime(text)  # type: ignore[assignment]
        except ValueError:
            return None
        if moment is None:
            return None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def _text(data: dict[str, Any], field: str, label: str, errors: dict[str, list[str]], *, limit: int = 300) -> str:
    value = str(data.get(field) or "").strip()
    if not value:
        errors[field] = [_("%(field)s is required.") % {"field": label}]
    elif len(value) > limit:
        errors[field] = [_("%(field)s is too long (at most %(n)d characters).") % {"field": label, "n": limit}]
    return value


def _planned(start_value: Any, end_value: Any, errors: dict[str, list[str]]) -> tuple[datetime | None,
                                                                                     datetime | None]:
    start, end = parse_when(start_value), parse_when(end_value)
    if start is None:
        errors["planned_start"] = [_("Enter the start as a date and time, e.g. 2026-12-01 08:00.")]
    if end is None:
        errors["planned_end"] = [_("Enter the expected restoration as a date and time, e.g. 2026-12-01 18:00.")]
    if start and end and end <= start:
        errors["planned_end"] = [_("The expected restoration must be after the start.")]
    return start, end


def _many(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = value.replace("，", ",").replace("\n", ",").split(",")
    return [str(v).strip() for v in value if str(v).strip()]


def _nodes(actor: Any, refs: list[str], utility: str, errors: dict[str, list[str]]) -> list[GridNode]:
    if len(refs) > MAX_SCOPE:
        errors["nodes"] = [_("At most %(n)d nodes; choose a node higher up instead.") % {"n": MAX_SCOPE}]
        return []
    ids = [i for i in (parse_id(r) for r in refs) if i is not None]
    found = {n.code: n for n in node_qs(actor).filter(code__in=refs)}
    found.update({str(n.pk): n for n in node_qs(actor).filter(pk__in=ids)})
    missing = [r for r in refs if r not in found]
    if missing:
        errors["nodes"] = [_("Unknown topology node(s) in your area: %(refs)s") % {"refs": ", ".join(missing[:10])}]
    nodes = list({n.pk: n for n in found.values() if n.code in refs or str(n.pk) in refs}.values())
    wrong = [n.code for n in nodes if n.utility != utility]
    if wrong and utility:
        errors["nodes"] = [_("These nodes are not part of the %(utility)s network: %(codes)s") % {
            "utility": _("power") if utility == "power" else _("gas"), "codes": ", ".join(wrong[:10])}]
    return nodes


def _accounts(actor: Any, refs: list[str], utility: str, field: str, errors: dict[str, list[str]]) -> list[Account]:
    if len(refs) > MAX_SCOPE:
        errors[field] = [_("At most %(n)d listed accounts; use topology nodes for a larger area.") % {"n": MAX_SCOPE}]
        return []
    found = {a.number: a for a in account_qs(actor).filter(number__in=refs)}
    ids = [i for i in (parse_id(r) for r in refs) if i is not None]
    found.update({str(a.pk): a for a in account_qs(actor).filter(pk__in=ids)})
    missing = [r for r in refs if r not in found]
    if missing:
        errors[field] = [_("Unknown account(s) in your area: %(refs)s") % {"refs": ", ".join(missing[:10])}]
    accounts = list({a.pk: a for r in refs if (a := found.get(r)) is not None}.values())
    wrong = [a.number for a in accounts if a.utility != utility]
    if wrong and utility:
        errors[field] = [_("These are not %(utility)s accounts: %(numbers)s") % {
            "utility": _("power") if utility == "power" else _("gas"), "numbers": ", ".join(wrong[:10])}]
    return accounts


def _clean(actor: Any, data: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    utility = str(data.get("utility") or "")
    if utility not in ("power", "gas"):
        errors["utility"] = [_("Choose power or gas.")]
        utility = ""
    outage_class = str(data.get("outage_class") or "")
    if outage_class not in OutageClass.values:
        errors["outage_class"] = [_("Choose the outage class.")]
    elif utility and not class_fits(outage_class, utility):
        errors["outage_class"] = [_("“%(class)s” is not a %(utility)s outage.") % {
            "class": OutageClass(outage_class).label, "utility": _("power") if utility == "power" else _("gas")}]
    area = _text(data, "area", _("Area"), errors)
    reason = _text(data, "reason", _("Reason"), errors)
    start, end = _planned(data.get("planned_start"), data.get("planned_end"), errors)
    nodes = _nodes(actor, _many(data.get("nodes")), utility, errors)
    listed = _accounts(actor, _many(data.get("accounts")), utility, "accounts", errors)
    account: Account | None = None
    order: WorkOrder | None = None
    if outage_class in MARKETING_CLASSES:
        found = _accounts(actor, _many(data.get("account")), utility, "account", errors)
        account = found[0] if found else None
        if account is None and "account" not in errors:
            errors["account"] = [_("A disconnection outage needs the account it disconnects.")]
        if account is not None and account not in listed:
            listed.append(account)
    order_ref = str(data.get("order") or "").strip()
    if order_ref:
        order = workorder_qs(actor).filter(number=order_ref).first() or (
            workorder_qs(actor).filter(pk=parse_id(order_ref) or 0).first())
        if order is None:
            errors["order"] = [_("No such work order in your area.")]
        elif account is not None and order.account_id not in (None, account.pk):
            errors["order"] = [_("Work order %(number)s is for another account.") % {"number": order.number}]
    if not nodes and not listed and "nodes" not in errors and "accounts" not in errors:
        errors["nodes"] = [_("Choose the topology nodes or list the accounts the outage cuts off.")]
    if errors:
        raise InvalidInput(errors)
    unit = _owner(actor, [n.unit for n in nodes] + [a.unit for a in listed])
    return {"utility": utility, "outage_class": outage_class, "area": area, "reason": reason,
            "planned_start": start, "planned_end": end, "nodes": nodes, "listed": listed, "account": account,
            "order": order, "unit": unit}


def _owner(actor: Any, units: list[OrgUnit]) -> OrgUnit:
    """The lowest unit over every node and account in scope, so each of those units sees the outage;
    never above the author's own unit."""
    paths = [u.path for u in units]
    first, last = min(paths), max(paths)
    size = next((i for i, (a, b) in enumerate(zip(first, last, strict=False)) if a != b), min(len(first), len(last)))
    prefix = first[:size]
    prefix = prefix[: prefix.rfind(".") + 1]
    owner = OrgUnit.objects.filter(path=prefix).first() if prefix else None
    if owner is None or not unit_in_scope(actor, owner):
        return actor.unit
    return owner


# Helpers ----------------------------------------------------------------------------------------

def _lock(actor: Any, outage: Outage | int, expected_version: int | None) -> Outage:
    pk = outage.pk if isinstance(outage, Outage) else outage
    locked = outage_qs(actor).select_for_update(of=("self",)).filter(pk=pk).first()
    if locked is None:
        raise NotFoundError(_("No such outage in your area."))
    if expected_version is not None and locked.version != expected_version:
        raise Conflict(_("Outage %(number)s was changed by someone else. Reload it and try again.") % {
            "number": locked.number})
    return locked


def _move(outage: Outage, action: str) -> str:
    sources, target = TRANSITIONS[action]
    if outage.status not in sources:
        raise IllegalTransition(_("A %(status)s outage cannot be changed this way (%(action)s).") % {
            "status": Status(outage.status).label, "action": Action(action).label})
    return target


def _save(outage: Outage, fields: list[str]) -> None:
    outage.version += 1
    outage.save(update_fields=[*fields, "version"])


def _scope(outage: Outage, clean: dict[str, Any]) -> None:
    OutageNode.objects.filter(outage=outage).delete()
    OutageListedAccount.objects.filter(outage=outage).delete()
    OutageNode.objects.bulk_create([OutageNode(outage=outage, node=n) for n in clean["nodes"]])
    OutageListedAccount.objects.bulk_create([OutageListedAccount(outage=outage, account=a) for a in clean["listed"]])
    _recount(outage)


def _recount(outage: Outage) -> None:
    total, _important, _dedicated = fanout.affected_compute(outage)
    if not total:
        raise InvalidInput({"nodes": [_("No customers are supplied through the chosen scope; check the nodes "
                                        "and accounts.")]})


def _override(actor: Any, breaches: list[notices.Breach], override_reason: str) -> dict[str, Any]:
    """Refuse on a breach unless a supervisor overrides with a reason; return what to record."""
    if not breaches:
        return {}
    reason = (override_reason or "").strip()
    if not reason:
        notices.refuse(breaches)
    require(actor, Capability.OUTAGE_OVERRIDE)
    if len(reason) > 300:
        raise InvalidInput({"override_reason": [_("The override reason is too long (at most 300 characters).")]})
    return {"override": reason, "breaches": [b.as_dict() for b in breaches]}


def _reminder_key(outage: Outage) -> str:
    return f"outage:{outage.pk}:reminder:"


def _queue_reminder(outage: Outage, now: datetime) -> int:
    minutes = notices.reminder_minutes(outage)
    if not minutes or not outage.important_count:
        return 0
    send_at = outage.planned_start - timedelta(minutes=minutes)
    if send_at <= now:
        return 0
    stamp = int(outage.planned_start.timestamp())
    return fanout.sms_queue(outage, body=notices.render(MessageKind.REMINDER, outage),
                            key=f"{_reminder_key(outage)}{stamp}:", important_only=True, send_at=send_at)


# Workflow ---------------------------------------------------------------------------------------

def outage_create(*, actor: Any, data: dict[str, Any], intake_key: str | None = None,
                  now: datetime | None = None) -> Outage:
    """A new draft. With ``intake_key`` a retry of the same request returns the first outage instead
    (see ``outage_create_once``)."""
    require(actor, Capability.OUTAGE_EDIT)
    clean = _clean(actor, data)
    now = now or timezone.now()
    with transaction.atomic():
        seq = sequence_next(key="outage")
        outage = Outage.objects.create(
            number=f"TD{timezone.localtime(now):%y%m%d}{seq:06d}", utility=clean["utility"],
            outage_class=clean["outage_class"], unit=clean["unit"], area=clean["area"], reason=clean["reason"],
            planned_start=clean["planned_start"], planned_end=clean["planned_end"], account=clean["account"],
            order=clean["order"], created_by=actor, created_at=now, intake_key=intake_key,
        )
        _scope(outage, clean)
        outage.save(update_fields=["affected_count", "important_count", "dedicated_count"])
        outage_event(outage, Action.CREATE, actor, now, data=_counts(outage))
    return outage


def outage_create_once(*, actor: Any, data: dict[str, Any], intake_key: str,
                       now: datetime | None = None) -> tuple[Outage, bool]:
    """Create, unless this person already created an outage with ``intake_key``: then that one and
    False. Two racing retries meet at the unique key; the loser returns the winner's outage."""
    key = intake_key.strip()
    if not key or len(key) > 64:
        raise InvalidInput({"intake_key": [_("The idempotency key must be 1 to 64 characters.")]})
    first = Outage.objects.filter(created_by=actor, intake_key=key).first()
    if first is not None:
        return first, False
    try:
        return outage_create(actor=actor, data=data, intake_key=key, now=now), True
    except IntegrityError:
        first = Outage.objects.filter(created_by=actor, intake_key=key).first()
        if first is None:
            raise
        return first, False


def _shown(value: Any) -> str:
    return timezone.localtime(value).isoformat() if isinstance(value, datetime) else str(value)


def _counts(outage: Outage) -> dict[str, int]:
    return {"affected": outage.affected_count, "important": outage.important_count,
            "dedicated": outage.dedicated_count}


def outage_update(*, actor: Any, outage: Outage | int, data: dict[str, Any], expected_version: int | None = None,
                  now: datetime | None = None) -> Outage:
    require(actor, Capability.OUTAGE_EDIT)
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock(actor, outage, expected_version)
        _move(locked, Action.EDIT)
        clean = _clean(actor, data)
        # Compared as values: the stored start is in UTC, the typed one in local time.
        before = {f: getattr(locked, f) for f in ("outage_class", "area", "reason", "planned_start", "planned_end")}
        for field in ("utility", "outage_class", "area", "reason", "planned_start", "planned_end", "account",
                      "order", "unit"):
            setattr(locked, field, clean[field])
        _scope(locked, clean)
        changed = {f: [_shown(old), _shown(getattr(locked, f))] for f, old in before.items()
                   if old != getattr(locked, f)}
        _save(locked, ["utility", "outage_class", "area", "reason", "planned_start", "planned_end", "account",
                       "order", "unit", "affected_count", "important_count", "dedicated_count"])
        outage_event(locked, Action.EDIT, actor, now, data={"changed": changed, **_counts(locked)})
    return locked


def outage_review(*, actor: Any, outage: Outage | int, note: str = "", expected_version: int | None = None,
                  now: datetime | None = None) -> Outage:
    require(actor, Capability.OUTAGE_PUBLISH)
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock(actor, outage, expected_version)
        before = locked.status
        locked.status = _move(locked, Action.REVIEW)
        locked.reviewed_by, locked.reviewed_at = actor, now
        _recount(locked)
        _save(locked, ["status", "reviewed_by", "reviewed_at", "affected_count", "important_count",
                       "dedicated_count"])
        outage_event(locked, Action.REVIEW, actor, now, from_status=before, text=note.strip()[:500])
    return locked


def outage_return(*, actor: Any, outage: Outage | int, reason: str, expected_version: int | None = None,
                  now: datetime | None = None) -> Outage:
    require(actor, Capability.OUTAGE_PUBLISH)
    text = (reason or "").strip()
    if not text:
        raise InvalidInput({"reason": [_("Say what must be corrected.")]})
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock(actor, outage, expected_version)
        before = locked.status
        locked.status = _move(locked, Action.RETURN)
        _save(locked, ["status"])
        outage_event(locked, Action.RETURN, actor, now, from_status=before, text=text[:500])
    return locked


def outage_publish(*, actor: Any, outage: Outage | int, override_reason: str = "",
                   expected_version: int | None = None, now: datetime | None = None) -> Outage:
    """Publish: check the notice rules (a supervisor may override with a reason), then tell the
    affected customers (one SMS per phone), the desk, the IVR and the outage list at once."""
    require(actor, Capability.OUTAGE_PUBLISH)
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock(actor, outage, expected_version)
        before = locked.status
        target = _move(locked, Action.PUBLISH)
        _recount(locked)
        record = _override(actor, notices.notice_breaches(locked, now=now), override_reason)
        body = notices.render(MessageKind.PUBLISHED, locked)
        locked.status, locked.published_at = target, now
        locked.announced_start, locked.announced_end = locked.planned_start, locked.planned_end
        locked.channels = CHANNELS
        if record:
            locked.override_reason, locked.override_by = record["override"], actor
        _save(locked, ["status", "published_at", "announced_start", "announced_end", "channels", "override_reason",
                       "override_by", "affected_count", "important_count", "dedicated_count"])
        queued = fanout.sms_queue(locked, body=body, key=f"outage:{locked.pk}:published:")
        reminders = _queue_reminder(locked, now)
        outage_event(locked, Action.PUBLISH, actor, now, from_status=before, text=record.get("override", ""),
               data={**_counts(locked), "sms": queued, "reminders": reminders, **record})
    return locked


def _retime(*, actor: Any, outage: Outage | int, action: str, start: datetime, end: datetime, reason: str,
            override_reason: str, expected_version: int | None, now: datetime) -> Outage:
    with transaction.atomic():
        locked = _lock(actor, outage, expected_version)
        before = locked.status
        target = _move(locked, action)
        record = _override(actor, notices.change_breaches(locked, start=start, end=end, now=now), override_reason)
        old = {"start": _shown(locked.planned_start), "end": _shown(locked.planned_end)}
        moved_start = start != locked.planned_start
        locked.status, locked.planned_start, locked.planned_end = target, start, end
        locked.announced_start, locked.announced_end = start, end
        _save(locked, ["status", "planned_start", "planned_end", "announced_start", "announced_end"])
        body = notices.render(MessageKind.CHANGED, locked, change_reason=reason)
        queued = fanout.sms_queue(locked, body=body, key=f"outage:{locked.pk}:v{locked.version}:")
        reminders = 0
        if moved_start:
            fanout.sms_withdraw(locked, key=_reminder_key(locked))
            reminders = _queue_reminder(locked, now)
        outage_event(locked, action, actor, now, from_status=before, text=reason,
               data={"before": old, "start": _shown(start), "end": _shown(end), "sms": queued,
                     "reminders": reminders, **record})
    return locked


def _reason(reason: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise InvalidInput({"reason": [_("Give the reason; customers are told it.")]})
    if len(text) > 200:
        raise InvalidInput({"reason": [_("The reason is too long (at most 200 characters).")]})
    return text


def outage_extend(*, actor: Any, outage: Outage | int, planned_end: Any, reason: str, override_reason: str = "",
                  expected_version: int | None = None, now: datetime | None = None) -> Outage:
    """Restoration later than announced (reported 1 h ahead of the announced restoration)."""
    require(actor, Capability.OUTAGE_EDIT)
    text = _reason(reason)
    end = parse_when(planned_end)
    current = outage_qs(actor).filter(pk=outage.pk if isinstance(outage, Outage) else outage).first()
    if current is None:
        raise NotFoundError(_("No such outage in your area."))
    if end is None:
        raise InvalidInput({"planned_end": [_("Enter the new expected restoration as a date and time.")]})
    if end <= current.planned_end:
        raise InvalidInput({"planned_end": [_("An extension must move the restoration later than %(end)s.") % {
            "end": notices.local_text(current.planned_end)}]})
    return _retime(actor=actor, outage=current, action=Action.EXTEND, start=current.planned_start, end=end,
                   reason=text, override_reason=override_reason, expected_version=expected_version,
                   now=now or timezone.now())


def outage_change(*, actor: Any, outage: Outage | int, planned_start: Any, planned_end: Any, reason: str,
                  override_reason: str = "", expected_version: int | None = None,
                  now: datetime | None = None) -> Outage:
    """New times for a published outage; an earlier start or a later end is checked against the
    change rule."""
    require(actor, Capability.OUTAGE_EDIT)
    text = _reason(reason)
    errors: dict[str, list[str]] = {}
    start, end = _planned(planned_start, planned_end, errors)
    if errors:
        raise InvalidInput(errors)
    assert start is not None and end is not None
    return _retime(actor=actor, outage=outage, action=Action.CHANGE, start=start, end=end, reason=text,
                   override_reason=override_reason, expected_version=expected_version, now=now or timezone.now())


def outage_cancel(*, actor: Any, outage: Outage | int, reason: str, expected_version: int | None = None,
                  now: datetime | None = None) -> Outage:
    require(actor, Capability.OUTAGE_EDIT)
    text = _reason(reason)
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock(actor, outage, expected_version)
        before = locked.status
        locked.status, locked.cancelled_at = _move(locked, Action.CANCEL), now
        _save(locked, ["status", "cancelled_at"])
        queued = withdrawn = 0
        if before in LIVE:
            withdrawn = fanout.sms_withdraw(locked, key=_reminder_key(locked))
            queued = fanout.sms_queue(locked, body=notices.render(MessageKind.CANCELLED, locked),
                                      key=f"outage:{locked.pk}:cancelled:")
        FaultCall.objects.filter(outage=locked).update(outage=None)
        outage_event(locked, Action.CANCEL, actor, now, from_status=before, text=text,
               data={"sms": queued, "withdrawn": withdrawn})
    return locked


def outage_restore(*, actor: Any, outage: Outage | int, actual_end: Any = None, actual_start: Any = None,
                   note: str = "", expected_version: int | None = None, now: datetime | None = None) -> Outage:
    """Record the actual times; tell the customers and the callers; resolve the waiting repair orders
    together, leaving each for its callback."""
    require(actor, Capability.OUTAGE_EDIT)
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock(actor, outage, expected_version)
        before = locked.status
        target = _move(locked, Action.RESTORE)
        start = parse_when(actual_start) if actual_start not in (None, "") else (locked.actual_start
                                                                               or locked.planned_start)
        end = parse_when(actual_end) if actual_end not in (None, "") else now
        errors: dict[str, list[str]] = {}
        if start is None:
            errors["actual_start"] = [_("Enter the actual start as a date and time.")]
        if end is None:
            errors["actual_end"] = [_("Enter the restoration time as a date and time.")]
        elif end > now + timedelta(minutes=5):
            errors["actual_end"] = [_("The restoration time cannot be in the future.")]
        if start and end and end <= start:
            errors["actual_end"] = [_("The restoration must be after the actual start.")]
        if errors:
            raise InvalidInput(errors)
        locked.status, locked.actual_start, locked.actual_end = target, start, end
        _save(locked, ["status", "actual_start", "actual_end"])
        fanout.sms_withdraw(locked, key=_reminder_key(locked))
        calls = list(FaultCall.objects.filter(outage=locked).values_list("order_id", flat=True))
        # Callers hear of the restoration by SMS too, on a mobile only (as the customers).
        phones = [p for p in WorkOrder.objects.filter(pk__in=calls).values_list("caller_phone", flat=True)
                  if (parsed := try_parse_phone(p)) is not None and parsed.kind == PhoneKind.MOBILE]
        queued = fanout.sms_queue(locked, body=notices.render(MessageKind.RESTORED, locked),
                                  key=f"outage:{locked.pk}:restored:", extra_phones=phones)
        when = notices.local_text(end)
        resolved = 0
        for order_id in calls:
            done = workorder_resolve_joint(
                order_id=order_id, actor=actor, now=now,
                result=_("Supply restored at %(when)s (outage %(number)s).") % {"when": when, "number": locked.number},
                reply=_("Power was restored at %(when)s after the outage %(number)s; the customer was told by SMS.")
                % {"when": when, "number": locked.number},
            )
            resolved += int(done is not None)
        outage_event(locked, Action.RESTORE, actor, now, from_status=before, text=note.strip()[:500],
               data={"actual_start": start.isoformat() if start else None, "actual_end": end.isoformat() if end
                     else None, "sms": queued, "resolved_orders": resolved})
    return locked


def outage_link_order(*, actor: Any, outage: Outage | int, order: WorkOrder | int, now: datetime | None = None) -> None:
    """Link a repair call to a live outage by hand (one the grouping could not place)."""
    require(actor, Capability.ORDER_DISPATCH)
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock(actor, outage, None)
        if locked.status not in LIVE:
            raise IllegalTransition(_("Only a published outage can take repair calls."))
        order_pk = order.pk if isinstance(order, WorkOrder) else parse_id(order) or 0
        target = workorder_qs(actor).filter(pk=order_pk).first()
        if target is None:
            raise InvalidInput({"order": [_("No such work order in your area.")]})
        link_call(target, locked, actor, now)


def template_update(*, actor: Any, kind: str, text: str, text_en: str = "") -> MessageTemplate:
    require(actor, Capability.POLICY_ADMIN)
    if kind not in MessageKind.values:
        raise InvalidInput({"kind": [_("Unknown message kind.")]})
    errors = notices.template_errors(kind, text)
    if errors:
        raise InvalidInput({"text": errors})
    if text_en.strip():
        errors_en = notices.template_errors(kind, text_en)
        if errors_en:
            raise InvalidInput({"text_en": errors_en})
    template, _created = MessageTemplate.objects.update_or_create(kind=kind, defaults={"text": text.strip(),
                                                                                        "text_en": text_en.strip()})
    return template


def can_override(actor: Any) -> bool:
    return has_capability(actor, Capability.OUTAGE_OVERRIDE)

