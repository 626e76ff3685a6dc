"""Reading routes and monthly plans.

A route (抄表册) lists service points in walking order; a plan freezes, once per route and month,
the meters to read inside the reading window. Which meters: the gas rule of guide §2.3 — accounts
with gas on, minus vacant, removed, suspended and sealed ones (those statuses simply do not qualify)
and minus accounts first ignited this month (their first reading opens at ignition); for power,
active accounts. A service point qualifies when one of its accounts does and a meter hangs on it.

Capabilities: READING_ENTER to look at routes and plans (readers take their route out) and to record
the reading confirmation sheet (抄表确认单) a property manager or customer signs on a route day;
READING_REVIEW to join service points to routes and to make plans — route monitoring is the data
analyst's job (guide §1 / §2.3), and the administrator has it too.

When a plan's window has closed, ``missing_raise`` (``kefu reading_missing``, run daily) puts every
planned meter still unread into the exceptions queue with the ``missing`` rule and closes the plan.
A reading that comes in later settles that exception (``missing_settle``: accepted, linked to the
reading, with a note), so the queue shows only meters that still have no reading; the row stays, so
the late reading remains visible. The analyst may also estimate the month or send it back for a
re-read (``exception_decide``); "accept" is refused, as there is nothing to accept.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, models, transaction
from django.db.models import Count, Exists, IntegerField, Max, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from kefu.core.choices import UtilityKind
from kefu.core.errors import Conflict, IllegalTransition, InvalidInput, NotFoundError
from kefu.core.models import FieldChange
from kefu.customers.choices import AccountStatus
from kefu.customers.models import Account, AccountEvent, ServicePoint
from kefu.org.choices import Capability
from kefu.org.scope import for_user, require, unit_in_scope

from . import services
from .choices import MeterState, PlanStatus, ReadingState, Resolution, Rule, Source
from .models import (
    ConfirmationSheet,
    Meter,
    PlanItem,
    Reading,
    ReadingException,
    ReadingPlan,
    ReadingWindow,
    Route,
    RouteStop,
    ValidationRule,
)

# Reading window: ../shared/domain/policy-defaults.yaml `metering.reading_window` (seed 002).
WINDOW_FIRST_DAY = 6
WINDOW_LAST_DAY = 26
JOIN_BY_DAY = 28  # the defaults when no ReadingWindow row says otherwise

# Account statuses whose meter is read, per utility (guide §2.3; power: active supply only).
READ_STATUSES: dict[str, frozenset[str]] = {
    UtilityKind.GAS: frozenset({AccountStatus.GAS_ON}),
    UtilityKind.POWER: frozenset({AccountStatus.ACTIVE}),
}


def route_qs(user: Any) -> QuerySet[Route]:
    return for_user(Route.objects.all(), user, capability=Capability.READING_ENTER)


def plan_qs(user: Any) -> QuerySet[ReadingPlan]:
    return for_user(ReadingPlan.objects.select_related("route"), user, field="route__unit",
                    capability=Capability.READING_ENTER)


def _check_route(actor: Any, route: Route) -> None:
    if not unit_in_scope(actor, route.unit):
        raise NotFoundError(_("No such route in your area."))


def route_join(*, actor: Any, route: Route, service_point: ServicePoint, on: dt.date,
               seq: int | None = None) -> RouteStop:
    """Put a service point on a route, at the end of the walking order unless ``seq`` is given
    (then the stops from ``seq`` on move one place down)."""
    require(actor, Capability.READING_REVIEW)
    _check_route(actor, route)
    sp = ServicePoint.objects.select_related("premise__unit").get(pk=service_point.pk)
    if not unit_in_scope(actor, sp.premise.unit):
        raise NotFoundError(_("No such service point in your area."))
    if sp.utility != route.utility:
        raise InvalidInput({"service_point": [_("Service point %(code)s is not on the %(utility)s network of this "
                                                "route.") % {"code": sp.code, "utility": route.get_utility_display()}]})
    if seq is not None and seq < 1:
        raise InvalidInput({"seq": [_("The walking order starts at 1.")]})
    try:
        with transaction.atomic():
            Route.objects.select_for_update().filter(pk=route.pk).first()  # one joiner per route at a time
            current = RouteStop.objects.filter(service_point=sp).select_related("route").first()
            if current is not None:
                raise IllegalTransition(_("Service point %(code)s is already on route %(route)s.") % {
                    "code": sp.code, "route": current.route.code}, field="service_point")
            last = RouteStop.objects.filter(route=route).aggregate(m=Max("seq"))["m"] or 0
            if seq is None or seq > last:
                seq = last + 1
            else:
                # Make room: highest first, so a unique index on (route, seq) would never see a clash.
                for stop in RouteStop.objects.filter(route=route, seq__gte=seq).order_by("-seq"):
                    RouteStop.objects.filter(pk=stop.pk).update(seq=stop.seq + 1)
            return RouteStop.objects.create(route=route, service_point=sp, seq=seq, joined_on=on)
    except IntegrityError as exc:
        raise Conflict(_("Service point %(code)s was put on a route meanwhile.") % {"code": sp.code}) from exc


def _window(utility: str) -> tuple[int, int, int]:
    row = ReadingWindow.objects.filter(utility=utility).first()
    if row is None:
        return WINDOW_FIRST_DAY, WINDOW_LAST_DAY, JOIN_BY_DAY
    return row.first_day, row.last_day, row.join_by_day


def window_of(period: dt.date, utility: str = UtilityKind.GAS) -> tuple[dt.date, dt.date]:
    """The month's reading window for the utility (``ReadingWindow``, policy data), inside the month."""
    first, last, _join = _window(utility)
    end = _month_end(period)
    return period.replace(day=min(first, end.day)), period.replace(day=min(last, end.day))


def join_cutoff(period: dt.date, utility: str = UtilityKind.GAS) -> dt.date:
    """Stops joined after this day are read from the next month on (by the 28th of the month before)."""
    _first, _last, join = _window(utility)
    before = period - dt.timedelta(days=1)
    return before.replace(day=min(join, before.day))


def _month_bounds(period: dt.date) -> tuple[dt.datetime, dt.datetime]:
    nxt = (period.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    tz = timezone.get_current_timezone()
    return (dt.datetime.combine(period, dt.time.min, tzinfo=tz), dt.datetime.combine(nxt, dt.time.min, tzinfo=tz))


def qualifying_accounts(utility: str, period: dt.date) -> QuerySet[Account]:
    """Accounts whose meter is read in ``period``: the right status, and (gas) not first ignited
    this month — ignition in the month (an AccountEvent from awaiting ignition to gas on, or the
    status set in the month when no event says otherwise) opens the meter with its initial reading."""
    qs = Account.objects.filter(utility=utility, status__in=READ_STATUSES.get(utility, frozenset()))
    if utility == UtilityKind.GAS:
        start, end = _month_bounds(period)
        turned_on = AccountEvent.objects.filter(account=OuterRef("pk"), to_status=AccountStatus.GAS_ON,
                                                at__gte=start, at__lt=end)
        ignited = turned_on.filter(from_status__in=["", AccountStatus.AWAITING_IGNITION])
        # Reconnected after vacancy, suspension or sealing: the meter keeps its history and is read.
        undocumented = Q(status_changed_at__gte=start, status_changed_at__lt=end) & ~Exists(turned_on)
        qs = qs.exclude(Exists(ignited)).exclude(undocumented)
    return qs


def plan_create(*, actor: Any, route: Route, period: dt.date) -> ReadingPlan:
    """The route's plan for the month (``period`` is its first day), with its items frozen. Making it
    again returns the first one unchanged."""
    require(actor, Capability.READING_REVIEW)
    _check_route(actor, route)
    if period.day != 1:
        raise InvalidInput({"period": [_("Give the month as its first day.")]})
    existing = ReadingPlan.objects.filter(route=route, period=period).first()
    if existing is not None:
        return existing
    if not route.is_active:
        raise IllegalTransition(_("Route %(code)s is no longer in use.") % {"code": route.code})
    start, end = window_of(period, route.utility)
    cutoff = join_cutoff(period, route.utility)
    try:
        with transaction.atomic():
            plan = ReadingPlan.objects.create(route=route, period=period, window_start=start, window_end=end)
            accounts = qualifying_accounts(route.utility, period).filter(service_point=OuterRef("service_point_id"))
            rows = (Meter.objects.filter(state=MeterState.INSTALLED, utility=route.utility,
                                         service_point__isnull=False)
                    .filter(Exists(RouteStop.objects.filter(route=route, service_point=OuterRef("service_point_id"),
                                                            joined_on__lte=cutoff)))
                    .filter(Exists(accounts))
                    .values_list("pk", "service_point_id"))
            seqs = dict(RouteStop.objects.filter(route=route).values_list("service_point_id", "seq"))
            items = [PlanItem(plan=plan, meter_id=meter_id, service_point_id=sp_id, seq=seqs[sp_id])
                     for meter_id, sp_id in rows]
            PlanItem.objects.bulk_create(items, batch_size=2000)
            plan.planned = len(items)
            plan.save(update_fields=["planned"])
    except IntegrityError:
        # Someone made the same plan meanwhile: theirs stands.
        return ReadingPlan.objects.get(route=route, period=period)
    return plan


def plan_items(plan: ReadingPlan) -> QuerySet[PlanItem]:
    return plan.items.select_related("meter", "service_point__premise").order_by("seq", "meter__serial")


# --------------------------------------------------------------------------- progress


def standing_readings(sp_field: str, period_field: str) -> QuerySet[Reading]:
    """Readings that count for a service point and month: any register, not set aside for a re-read
    (the meaning of "read" in ``kpis``)."""
    return Reading.objects.filter(service_point=OuterRef(sp_field), period=OuterRef(period_field)) \
        .exclude(state=ReadingState.SUPERSEDED)


def with_progress(plans: QuerySet[ReadingPlan]) -> QuerySet[ReadingPlan]:
    """Plans annotated with ``read_count`` (planned meters read) and ``missing_open`` (missing-reading
    exceptions still open)."""
    read = (PlanItem.objects.filter(plan=OuterRef("pk"))
            .filter(Exists(standing_readings("service_point_id", "plan__period")))
            .values("plan").annotate(n=Count("pk")).values("n"))
    missing = (ReadingException.objects.filter(rule=Rule.MISSING, resolution=Resolution.OPEN, period=OuterRef("period"),
                                               meter_id__in=PlanItem.objects.filter(plan=OuterRef(OuterRef("pk")))
                                               .values("meter_id"))
               .values("period").annotate(n=Count("pk")).values("n"))
    zero = Value(0, output_field=IntegerField())
    return plans.annotate(read_count=Coalesce(Subquery(read, output_field=IntegerField()), zero),
                          missing_open=Coalesce(Subquery(missing, output_field=IntegerField()), zero))


def item_rows(plan: ReadingPlan) -> QuerySet[PlanItem]:
    """The plan's meters in walking order, each with its reading of the month (value, state) and the
    number of its open exceptions for the month."""
    reading = standing_readings("service_point_id", "plan__period").order_by("register", "id")
    open_excs = (ReadingException.objects.filter(meter=OuterRef("meter_id"), period=OuterRef("plan__period"),
                                                 resolution=Resolution.OPEN)
                 .values("meter").annotate(n=Count("pk")).values("n"))
    return plan_items(plan).annotate(
        reading_value=Subquery(reading.values("value")[:1]),
        reading_state=Subquery(reading.values("state")[:1]),
        read_on=Subquery(reading.values("read_on")[:1]),
        open_exceptions=Coalesce(Subquery(open_excs, output_field=IntegerField()), Value(0)),
    )


# --------------------------------------------------------------------------- confirmation sheets


class SignerRole(models.TextChoices):
    PROPERTY_MANAGER = "property_manager", _lazy("Property manager")
    CUSTOMER = "customer", _lazy("Customer")


@dataclass
class SheetResult:
    sheet: ConfirmationSheet
    created: bool


def sheet_qs(user: Any) -> QuerySet[ConfirmationSheet]:
    return for_user(ConfirmationSheet.objects.select_related("plan__route", "actor"), user,
                    field="plan__route__unit", capability=Capability.READING_ENTER)


def sheet_record(*, actor: Any, plan: ReadingPlan, day: dt.date | None, signed_by: str, signer_role: str,
                 note: str = "", now: dt.datetime | None = None) -> SheetResult:
    """Record the reading confirmation sheet signed on a route day inside the plan's window. The same
    sheet sent again (plan, day, signer and role) returns the first one."""
    require(actor, Capability.READING_ENTER)
    if not unit_in_scope(actor, plan.route.unit):
        raise NotFoundError(_("No such reading plan in your area."))
    today = timezone.localdate(now or timezone.now())
    errors: dict[str, list[str]] = {}
    if day is None:
        errors["day"] = [_("Give the route day.")]
    elif day > today:
        errors["day"] = [_("The route day cannot be in the future.")]
    elif not plan.window_start <= day <= plan.window_end:
        errors["day"] = [_("The route day must fall inside the reading window, %(start)s to %(end)s.") % {
            "start": plan.window_start.isoformat(), "end": plan.window_end.isoformat()}]
    name = (signed_by or "").strip()
    if not name:
        errors["signed_by"] = [_("Give the name of the person who signed.")]
    elif len(name) > 60:
        errors["signed_by"] = [_("The name is too long (at most 60 characters).")]
    if signer_role not in SignerRole.values:
        errors["signer_role"] = [_("The sheet is signed by the property manager or the customer.")]
    text = (note or "").strip()
    if len(text) > 200:
        errors["note"] = [_("The note is too long (at most 200 characters).")]
    if errors:
        raise InvalidInput(errors)
    assert day is not None
    with transaction.atomic():
        ReadingPlan.objects.select_for_update().filter(pk=plan.pk).first()  # one writer per plan at a time
        existing = ConfirmationSheet.objects.filter(plan=plan, day=day, signed_by=name, signer_role=signer_role) \
            .first()
        if existing is not None:
            return SheetResult(existing, created=False)
        sheet = ConfirmationSheet.objects.create(plan=plan, day=day, signed_by=name, signer_role=signer_role,
                                                 note=text, actor=actor if getattr(actor, "pk", None) else None)
    return SheetResult(sheet, created=True)


# --------------------------------------------------------------------------- missing readings


@dataclass
class MissingReport:
    day: dt.date
    enabled: bool  # the missing-reading rule is switched on
    plans: int = 0  # plans closed
    raised: int = 0  # missing-reading exceptions raised
    settled: int = 0  # open ones whose reading came in meanwhile


CHUNK_PLANS = 200


def missing_enabled() -> bool:
    # Like ``validation.Thresholds``: a rule without its row is off.
    return ValidationRule.objects.filter(rule=Rule.MISSING, enabled=True).exists()


def missing_settle(*, meter_ids: Iterable[int] | None = None, period: dt.date | None = None, actor: Any = None,
                   now: dt.datetime | None = None) -> int:
    """Open missing-reading exceptions of these meters (all when None) whose month now has a reading:
    accepted, linked to that reading, with a note. One UPDATE; returns how many."""
    standing = (Reading.objects.filter(meter=OuterRef("meter_id"), period=OuterRef("period"))
                .exclude(state=ReadingState.SUPERSEDED).order_by("register", "id"))
    qs = ReadingException.objects.filter(rule=Rule.MISSING, resolution=Resolution.OPEN, reading__isnull=True) \
        .filter(Exists(standing))
    if meter_ids is not None:
        ids = sorted(set(meter_ids))
        if not ids:
            return 0
        qs = qs.filter(meter_id__in=ids)
    if period is not None:
        qs = qs.filter(period=period)
    return qs.update(resolution=Resolution.ACCEPTED, reading=Subquery(standing.values("pk")[:1]),
                     note=_("Read after the reading window had closed."),
                     resolved_by=actor if getattr(actor, "pk", None) else None,
                     resolved_at=now or timezone.now())


def _raise_missing(plan_ids: list[int], now: dt.datetime) -> Counter[int]:
    """One missing-reading exception per planned meter without a reading for the month, in bulk."""
    already = ReadingException.objects.filter(meter=OuterRef("meter_id"), period=OuterRef("plan__period"),
                                              rule=Rule.MISSING)
    rows = (PlanItem.objects.filter(plan_id__in=plan_ids)
            .exclude(Exists(standing_readings("service_point_id", "plan__period"))).exclude(Exists(already))
            .values_list("plan_id", "meter_id", "meter__serial", "service_point_id", "service_point__code",
                         "service_point__premise__unit_id", "plan__period", "plan__window_end", "plan__route__code"))
    raised: Counter[int] = Counter()
    batch: list[ReadingException] = []
    for plan_id, meter_id, serial, sp_id, sp_code, unit_id, period, window_end, route in rows.iterator(2000):
        detail = _("No reading of meter %(serial)s for %(month)s by the end of the window on %(end)s (route "
                   "%(route)s).") % {"serial": serial, "month": f"{period:%Y-%m}", "end": window_end.isoformat(),
                                     "route": route}
        batch.append(ReadingException(
            meter_id=meter_id, period=period, rule=Rule.MISSING, detail=detail[:300], unit_id=unit_id, raised_at=now,
            data={"plan": plan_id, "route": route, "service_point": sp_code, "service_point_id": sp_id,
                  "window_end": window_end.isoformat()}))
        raised[plan_id] += 1
        if len(batch) >= 2000:
            ReadingException.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    if batch:
        ReadingException.objects.bulk_create(batch, ignore_conflicts=True)
    return raised


def missing_raise(*, day: dt.date | None = None, now: dt.datetime | None = None,
                  chunk: int = CHUNK_PLANS) -> MissingReport:
    """For every open plan whose window closed before ``day`` (today by default): raise the missing
    readings (when the rule is on) and close the plan, one FieldChange row per plan. Chunks of plans,
    each in its own transaction, claimed with SKIP LOCKED on PostgreSQL: safe to run as several
    copies and to run again (the unique meter/month/rule and the plan status keep it idempotent)."""
    now = now or timezone.now()
    day = day or timezone.localdate(now)
    report = MissingReport(day=day, enabled=missing_enabled())
    report.settled = missing_settle(now=now)
    while True:
        with transaction.atomic():
            ids = list(ReadingPlan.objects.select_for_update(skip_locked=True)
                       .filter(status=PlanStatus.OPEN, window_end__lt=day)
                       .order_by("window_end", "id").values_list("pk", flat=True)[:chunk])
            if not ids:
                return report
            raised = _raise_missing(ids, now) if report.enabled else Counter()
            closed = dict(ReadingPlan.objects.filter(pk__in=ids, status=PlanStatus.OPEN)
                          .values_list("pk", "window_end"))
            ReadingPlan.objects.filter(pk__in=list(closed), status=PlanStatus.OPEN).update(status=PlanStatus.CLOSED)
            FieldChange.objects.bulk_create([
                FieldChange(model=ReadingPlan._meta.label_lower, object_id=pk, field="status",
                            old_value=PlanStatus.OPEN, new_value=PlanStatus.CLOSED,
                            reason=(_("Reading window closed on %(end)s: %(count)d missing readings raised.") % {
                                "end": end.isoformat(), "count": raised[pk]} if report.enabled else
                                _("Reading window closed on %(end)s (missing-reading rule switched off).") % {
                                    "end": end.isoformat()})[:200])
                for pk, end in closed.items()])
            report.plans += len(closed)
            report.raised += sum(raised.values())


def _month_end(period: dt.date) -> dt.date:
    return (period.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


def missing_estimate(*, actor: Any, exception: ReadingException, value: Any, note: str,
                     now: dt.datetime | None = None) -> ReadingException:
    """Replace a missing reading by an estimate: an estimated reading for the month (through the
    usual rules) and the exception resolved as estimated, linked to it."""
    require(actor, Capability.READING_REVIEW)
    text = (note or "").strip()
    errors: dict[str, list[str]] = {}
    amount = None
    try:
        amount = services.parse_value(value, "value")
    except InvalidInput as exc:
        errors.update(exc.errors)
    if not text:
        errors["note"] = [_("Give the reason for this decision.")]
    if errors:
        raise InvalidInput(errors)
    now = now or timezone.now()
    with transaction.atomic():
        locked = services.exception_lock(actor, exception)
        meter = Meter.objects.get(pk=locked.meter_id)
        if meter.state != MeterState.INSTALLED or meter.service_point_id is None:
            raise IllegalTransition(_("Meter %(serial)s is no longer installed; send the month back for a re-read "
                                      "of the meter in its place.") % {"serial": meter.serial}, field="resolution")
        if Reading.objects.filter(meter=meter, period=locked.period).exclude(state=ReadingState.SUPERSEDED).exists():
            raise Conflict(_("A reading for this month came in meanwhile; reload the queue."))
        read_on = min(timezone.localdate(now), _month_end(locked.period))
        recorded = services.reading_record(actor=actor, meter=meter, value=amount, read_on=read_on,
                                           source=Source.ESTIMATED, period=locked.period, now=now)
        locked.reading = recorded.reading
        locked.resolution, locked.note, locked.resolved_by, locked.resolved_at = (
            Resolution.ESTIMATED, text[:300], actor if getattr(actor, "pk", None) else None, now)
        locked.save(update_fields=["reading", "resolution", "note", "resolved_by", "resolved_at"])
    return locked


def exception_decide(*, actor: Any, exception: ReadingException, resolution: str, value: Any = None,
                     note: str = "", now: dt.datetime | None = None) -> ReadingException:
    """The analyst's decision on any exception: ``services.exception_resolve``, except for a missing
    reading (no reading to accept or correct): an estimate records an estimated reading, a re-read
    sends the reader back, accept and correct are refused with what to do instead."""
    if exception.rule != Rule.MISSING or exception.reading_id is not None:
        return services.exception_resolve(actor=actor, exception=exception, resolution=resolution, value=value,
                                          note=note, now=now)
    require(actor, Capability.READING_REVIEW)
    if resolution == Resolution.ESTIMATED:
        return missing_estimate(actor=actor, exception=exception, value=value, note=note, now=now)
    if resolution in (Resolution.ACCEPTED, Resolution.CORRECTED):
        raise IllegalTransition(_("No reading came for this month, so there is nothing to accept or correct: "
                                  "estimate it, send it back for a re-read, or enter the reading."),
                                field="resolution")
    return services.exception_resolve(actor=actor, exception=exception, resolution=resolution, value=value,
                                      note=note, now=now)
