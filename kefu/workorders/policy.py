"""Writes for work-order policy data: the type catalogue, time-limit policies, warning levels and the
business calendar. Administrators only; each write is one transaction with field history.

Open orders never change when a policy changes: each order copied its limits into its clocks at
intake (decision 0006). The per-process caches of policies and calendar days are dropped here, so the
next intake in this process sees the change at once (other processes within their cache TTL).
"""

from __future__ import annotations

import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from kefu.core.calendar import calendar_invalidate
from kefu.core.choices import RegionClass, UtilityKind
from kefu.core.errors import InvalidInput
from kefu.core.models import CalendarDay, FieldChange
from kefu.core.services import history_record, snapshot
from kefu.customers.choices import Importance
from kefu.org.choices import Capability
from kefu.org.scope import require
from kefu.workorders.choices import CLOCK_DEFAULT_START, Basis, Channel, ClockKind, ClockStart, LimitUnit
from kefu.workorders.clocks import policy_cache_clear
from kefu.workorders.models import OrderType, SlaPolicy, WarningLevel

Errors = dict[str, list[str]]

TYPE_EDIT_FIELDS = ("name", "name_en", "field_work", "callback_required", "duplicate_window_hours", "is_active",
                    "sort")
TYPE_FIELDS = ("code", "parent", "utility", *TYPE_EDIT_FIELDS)
POLICY_FIELDS = ("order_type", "clock", "basis", "utility", "region_class", "importance", "channel", "amount",
                 "unit", "starts_on", "effective_from", "effective_to", "source", "weak_source")
LEVEL_FIELDS = ("fraction", "name", "notify_shift_leader")
CALENDAR_FIELDS = ("is_workday", "name", "source")

_CODE_RE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
MAX_DUPLICATE_WINDOW_HOURS = 24 * 30
MAX_SORT = 32767
# The longest limit that still makes sense in each unit (a quarter of a year, roughly).
MAX_AMOUNT: dict[str, int] = {
    LimitUnit.MINUTES: 60 * 24 * 90, LimitUnit.HOURS: 24 * 90, LimitUnit.CALENDAR_DAYS: 90,
    LimitUnit.WORKING_DAYS: 60,
}
LEVEL_MIN = Decimal("0.05")
OVERDUE = Decimal("1.00")


def _caches_clear() -> None:
    # Now for this request, and again after commit in case a concurrent read refilled the cache meanwhile.
    policy_cache_clear()
    transaction.on_commit(policy_cache_clear)


def _text(errors: Errors, field: str, value: Any, *, max_length: int, required: bool = False) -> str:
    text = str(value or "").strip()
    if required and not text:
        errors[field] = [_("This field is required.")]
    elif len(text) > max_length:
        errors[field] = [_("At most %(n)d characters.") % {"n": max_length}]
    return text


def _int(errors: Errors, field: str, value: Any, *, low: int, high: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        errors[field] = [_("Enter a whole number.")]
        return low
    if not low <= number <= high:
        errors[field] = [_("Enter a number from %(low)d to %(high)d.") % {"low": low, "high": high}]
    return number


def _choice(errors: Errors, field: str, value: Any, choices: list[str], *, blank: bool = True) -> str:
    text = str(value or "")
    if (text or not blank) and text not in choices:
        errors[field] = [_("Choose one of the listed values.")]
    return text


# ------------------------------------------------------------------------------------------ order types


def _check_type(ot: OrderType, errors: Errors) -> None:
    ot.name = _text(errors, "name", ot.name, max_length=60, required=True)
    ot.name_en = _text(errors, "name_en", ot.name_en, max_length=80, required=True)
    ot.duplicate_window_hours = _int(errors, "duplicate_window_hours", ot.duplicate_window_hours, low=0,
                                     high=MAX_DUPLICATE_WINDOW_HOURS)
    ot.sort = _int(errors, "sort", ot.sort, low=0, high=MAX_SORT)
    ot.field_work = bool(ot.field_work)
    ot.callback_required = bool(ot.callback_required)
    ot.is_active = bool(ot.is_active)


def ordertype_create(
    *,
    actor: Any,
    code: str,
    name: str,
    name_en: str,
    parent: OrderType | None = None,
    utility: str = "",
    field_work: bool = False,
    callback_required: bool = True,
    duplicate_window_hours: int = 72,
    is_active: bool = True,
    sort: int = 0,
) -> OrderType:
    """A new type, or a sub-type of a top-level type. Once a type has active sub-types, new orders must
    take one of them (the parent stays for the orders it already has)."""
    require(actor, Capability.POLICY_ADMIN)
    errors: Errors = {}
    code = (code or "").strip().lower()
    if not _CODE_RE.match(code):
        errors["code"] = [_("2 to 40 lower-case letters, digits or underscores, starting with a letter.")]
    utility = _choice(errors, "utility", utility, list(UtilityKind.values))
    with transaction.atomic():
        if "code" not in errors and OrderType.objects.filter(code=code).exists():
            errors["code"] = [_("The code %(code)s is taken.") % {"code": code}]
        if parent is not None:
            parent = OrderType.objects.select_for_update().filter(pk=parent.pk).first()
            if parent is None:
                errors["parent"] = [_("The parent type no longer exists.")]
            elif parent.parent_id is not None:
                errors["parent"] = [_("Sub-types go one level deep: choose a top-level type as the parent.")]
            elif parent.utility and utility and utility != parent.utility:
                errors["utility"] = [_("A sub-type of “%(type)s” must serve the same utility.") % {
                    "type": parent.label}]
            elif parent.utility:
                utility = parent.utility
        order_type = OrderType(
            code=code, parent=parent, name=name, name_en=name_en, utility=utility, field_work=field_work,
            callback_required=callback_required, duplicate_window_hours=duplicate_window_hours,
            is_active=is_active, sort=sort,
        )
        _check_type(order_type, errors)
        if is_active and parent is not None and not parent.is_active:
            errors["is_active"] = [_("The parent type is inactive; activate it first.")]
        if errors:
            raise InvalidInput(errors)
        order_type.save()
        history_record(instance=order_type, before={}, after=snapshot(order_type, TYPE_FIELDS), actor=actor)
        _caches_clear()
    return order_type


def ordertype_update(*, actor: Any, order_type: OrderType, **changes: Any) -> OrderType:
    require(actor, Capability.POLICY_ADMIN)
    unknown = set(changes) - set(TYPE_EDIT_FIELDS)
    if unknown:
        raise InvalidInput({f: [_("This field cannot be changed here.")] for f in sorted(unknown)})
    with transaction.atomic():
        current = OrderType.objects.select_for_update(of=("self",)).select_related("parent").get(pk=order_type.pk)
        before = snapshot(current, TYPE_FIELDS)
        for key, value in changes.items():
            setattr(current, key, value)
        errors: Errors = {}
        _check_type(current, errors)
        if not current.is_active and current.children.filter(is_active=True).exists():
            errors["is_active"] = [_("Deactivate its active sub-types first.")]
        if current.is_active and current.parent is not None and not current.parent.is_active:
            errors["is_active"] = [_("The parent type is inactive; activate it first.")]
        if errors:
            raise InvalidInput(errors)
        current.save()
        history_record(instance=current, before=before, after=snapshot(current, TYPE_FIELDS), actor=actor)
        _caches_clear()
    return current


# ---------------------------------------------------------------------------------- time-limit policies


def _check_policy(policy: SlaPolicy, errors: Errors) -> None:
    kinds = [k for k in ClockKind.values if k != ClockKind.SUPERVISION]
    policy.clock = _choice(errors, "clock", policy.clock, kinds, blank=False)
    policy.basis = _choice(errors, "basis", policy.basis, list(Basis.values), blank=False)
    policy.utility = _choice(errors, "utility", policy.utility, list(UtilityKind.values))
    policy.region_class = _choice(errors, "region_class", policy.region_class, list(RegionClass.values))
    policy.importance = _choice(errors, "importance", policy.importance, list(Importance.values))
    policy.channel = _choice(errors, "channel", policy.channel, list(Channel.values))
    policy.unit = _choice(errors, "unit", policy.unit, list(LimitUnit.values), blank=False)
    policy.starts_on = _choice(errors, "starts_on", policy.starts_on, list(ClockStart.values), blank=False)
    policy.source = _text(errors, "source", policy.source, max_length=200)
    policy.weak_source = bool(policy.weak_source)
    try:
        amount = int(policy.amount)
    except (TypeError, ValueError):
        errors["amount"] = [_("Enter a whole number.")]
    else:
        if amount <= 0:
            errors["amount"] = [_("The limit must be more than zero.")]
        elif policy.unit in MAX_AMOUNT and amount > MAX_AMOUNT[policy.unit]:
            errors["amount"] = [_("At most %(n)d in this unit.") % {"n": MAX_AMOUNT[policy.unit]}]
        policy.amount = amount
    order_type: OrderType | None = getattr(policy, "order_type", None) if policy.order_type_id else None
    if order_type is None:
        errors["order_type"] = [_("Choose the order type.")]
    elif order_type.utility and policy.utility and policy.utility != order_type.utility:
        errors["utility"] = [_("“%(type)s” is a %(utility)s type only.") % {
            "type": order_type.label, "utility": UtilityKind(order_type.utility).label}]
    if not isinstance(policy.effective_from, date):
        errors["effective_from"] = [_("Enter the first day the policy applies.")]
    elif policy.effective_to is not None and policy.effective_to <= policy.effective_from:
        errors["effective_to"] = [_("The end date must be after the start date.")]
    if not errors:
        twin = SlaPolicy.objects.filter(
            order_type=policy.order_type_id, clock=policy.clock, basis=policy.basis, utility=policy.utility,
            region_class=policy.region_class, importance=policy.importance, channel=policy.channel,
            effective_from=policy.effective_from,
        ).exclude(pk=policy.pk).first()
        if twin is not None:
            errors["effective_from"] = [_("Policy #%(id)d already sets this clock for the same orders from the "
                                          "same day; edit that one instead.") % {"id": twin.pk}]


def slapolicy_create(
    *,
    actor: Any,
    order_type: OrderType | None,
    clock: str,
    amount: int,
    unit: str,
    effective_from: date | None,
    basis: str = Basis.PUBLIC,
    utility: str = "",
    region_class: str = "",
    importance: str = "",
    channel: str = "",
    starts_on: str = "",
    effective_to: date | None = None,
    source: str = "",
    weak_source: bool = False,
) -> SlaPolicy:
    require(actor, Capability.POLICY_ADMIN)
    values: dict[str, Any] = {
        "order_type": order_type, "clock": clock, "basis": basis, "utility": utility or "",
        "region_class": region_class or "", "importance": importance or "", "channel": channel or "",
        "amount": amount, "unit": unit, "starts_on": starts_on or CLOCK_DEFAULT_START.get(clock, ClockStart.ACCEPTED),
        "effective_from": effective_from, "effective_to": effective_to, "source": source, "weak_source": weak_source,
    }
    policy = SlaPolicy(**values)
    with transaction.atomic():
        errors: Errors = {}
        _check_policy(policy, errors)
        if errors:
            raise InvalidInput(errors)
        policy.save()
        history_record(instance=policy, before={}, after=snapshot(policy, POLICY_FIELDS), actor=actor)
        _caches_clear()
    return policy


def slapolicy_update(*, actor: Any, policy: SlaPolicy, **changes: Any) -> SlaPolicy:
    """Change a policy row. Only orders accepted afterwards follow it; open orders keep their clocks."""
    require(actor, Capability.POLICY_ADMIN)
    unknown = set(changes) - set(POLICY_FIELDS)
    if unknown:
        raise InvalidInput({f: [_("This field cannot be changed here.")] for f in sorted(unknown)})
    with transaction.atomic():
        current = SlaPolicy.objects.select_for_update(of=("self",)).select_related("order_type").get(pk=policy.pk)
        before = snapshot(current, POLICY_FIELDS)
        for key, value in changes.items():
            setattr(current, key, "" if value is None and key in ("utility", "region_class", "importance",
                                                                  "channel") else value)
        errors: Errors = {}
        _check_policy(current, errors)
        if errors:
            raise InvalidInput(errors)
        current.save()
        history_record(instance=current, before=before, after=snapshot(current, POLICY_FIELDS), actor=actor)
        _caches_clear()
    return current


# -------------------------------------------------------------------------------------- warning levels


def _fraction(errors: Errors, value: Any) -> Decimal:
    try:
        fraction = Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        errors["fraction"] = [_("Enter a share such as 0.80.")]
        return OVERDUE
    if not LEVEL_MIN <= fraction <= OVERDUE:
        errors["fraction"] = [_("The share must be between 0.05 and 1.00 of the allowed time.")]
    return fraction


def _check_level(level: WarningLevel, errors: Errors) -> None:
    level.fraction = _fraction(errors, level.fraction)
    level.name = _text(errors, "name", level.name, max_length=40, required=True)
    level.notify_shift_leader = bool(level.notify_shift_leader)
    if "fraction" not in errors and WarningLevel.objects.filter(fraction=level.fraction).exclude(pk=level.pk).exists():
        errors["fraction"] = [_("There is already a level at %(f)s.") % {"f": level.fraction}]


def warninglevel_create(*, actor: Any, fraction: Decimal | str, name: str,
                        notify_shift_leader: bool = True) -> WarningLevel:
    require(actor, Capability.POLICY_ADMIN)
    level = WarningLevel(fraction=fraction, name=name, notify_shift_leader=notify_shift_leader)
    with transaction.atomic():
        errors: Errors = {}
        _check_level(level, errors)
        if errors:
            raise InvalidInput(errors)
        level.save()
        history_record(instance=level, before={}, after=snapshot(level, LEVEL_FIELDS), actor=actor)
        _caches_clear()
    return level


def warninglevel_update(*, actor: Any, level: WarningLevel, fraction: Decimal | str, name: str,
                        notify_shift_leader: bool) -> WarningLevel:
    """Change a level. The 1.00 level is what makes an order overdue, so its share cannot move."""
    require(actor, Capability.POLICY_ADMIN)
    with transaction.atomic():
        current = WarningLevel.objects.select_for_update().get(pk=level.pk)
        before = snapshot(current, LEVEL_FIELDS)
        was_overdue = current.fraction == OVERDUE
        current.fraction, current.name, current.notify_shift_leader = fraction, name, notify_shift_leader
        errors: Errors = {}
        _check_level(current, errors)
        if was_overdue and "fraction" not in errors and current.fraction != OVERDUE:
            errors["fraction"] = [_("The 1.00 level marks an order overdue; it must stay at 1.00.")]
        if errors:
            raise InvalidInput(errors)
        current.save()
        history_record(instance=current, before=before, after=snapshot(current, LEVEL_FIELDS), actor=actor)
        _caches_clear()
    return current


def warninglevel_delete(*, actor: Any, level: WarningLevel) -> None:
    require(actor, Capability.POLICY_ADMIN)
    with transaction.atomic():
        current = WarningLevel.objects.select_for_update().filter(pk=level.pk).first()
        if current is None:
            return
        if current.fraction == OVERDUE:
            raise InvalidInput({"fraction": [_("The 1.00 level marks an order overdue; it cannot be removed.")]})
        before = snapshot(current, LEVEL_FIELDS)
        pk = current.pk
        current.delete()
        current.pk = pk
        history_record(instance=current, before=before, after=dict.fromkeys(LEVEL_FIELDS, ""), actor=actor)
        _caches_clear()


# ------------------------------------------------------------------------------------ business calendar


def _calendar_history(day: date, before: dict[str, str], after: dict[str, str], actor: Any) -> None:
    # CalendarDay's key is its date, which FieldChange.object_id (an integer) cannot hold: use 20261001.
    rows = [
        FieldChange(model="core.calendarday", object_id=int(f"{day:%Y%m%d}"), field=name,
                    old_value=before.get(name, ""), new_value=after.get(name, ""),
                    actor=actor if getattr(actor, "pk", None) else None)
        for name in CALENDAR_FIELDS
        if before.get(name, "") != after.get(name, "")
    ]
    FieldChange.objects.bulk_create(rows)


def calendarday_save(*, actor: Any, day: date | None, is_workday: bool, name: str = "",
                     source: str = "") -> CalendarDay:
    """Record an exception to the Monday–Friday week: a holiday on a weekday, or a worked weekend day.
    Adding or changing a day moves deadlines computed from now on; running clocks keep theirs."""
    require(actor, Capability.POLICY_ADMIN)
    errors: Errors = {}
    name = _text(errors, "name", name, max_length=60)
    source = _text(errors, "source", source, max_length=200)
    if not isinstance(day, date):
        errors["date"] = [_("Enter the date.")]
    elif not 2000 <= day.year <= 2100:
        errors["date"] = [_("Enter a date between 2000 and 2100.")]
    elif day.weekday() >= 5 and not is_workday:
        errors["is_workday"] = [_("%(day)s is a weekend day and already off; enter only a weekend day that is "
                                  "worked (调休).") % {"day": day.isoformat()}]
    elif day.weekday() < 5 and is_workday:
        errors["is_workday"] = [_("%(day)s is a weekday and already a working day; enter only a weekday that "
                                  "is a holiday.") % {"day": day.isoformat()}]
    if errors:
        raise InvalidInput(errors)
    assert day is not None
    with transaction.atomic():
        current = CalendarDay.objects.select_for_update().filter(date=day).first()
        before = snapshot(current, CALENDAR_FIELDS) if current is not None else {}
        if current is None:
            current = CalendarDay(date=day)
        current.is_workday, current.name, current.source = bool(is_workday), name, source
        current.save()
        _calendar_history(day, before, snapshot(current, CALENDAR_FIELDS), actor)
        calendar_invalidate()
        transaction.on_commit(calendar_invalidate)
    return current


def calendarday_delete(*, actor: Any, day: date) -> bool:
    """Remove an exception: the day goes back to the weekday rule. Returns False if it was not listed."""
    require(actor, Capability.POLICY_ADMIN)
    with transaction.atomic():
        current = CalendarDay.objects.select_for_update().filter(date=day).first()
        if current is None:
            return False
        before = snapshot(current, CALENDAR_FIELDS)
        current.delete()
        _calendar_history(day, before, dict.fromkeys(CALENDAR_FIELDS, ""), actor)
        calendar_invalidate()
        transaction.on_commit(calendar_invalidate)
    return True
