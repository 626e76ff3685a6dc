"""Reading routes and monthly plans.

A route (抄表册) lists service points in walking order; a plan freezes, once per route and month,
the meters to read inside the reading window. Which meters: the gas rule of guide §2.3 — accounts
with gas on, minus vacant, removed, suspended and sealed ones (those statuses simply do not qualify)
and minus accounts first ignited this month (their first reading opens at ignition); for power,
active accounts. A service point qualifies when one of its accounts does and a meter hangs on it.

Capabilities: READING_ENTER to look at routes and plans (readers take their route out);
READING_REVIEW to join service points to routes and to make plans — route monitoring is the data
analyst's job (guide §1 / §2.3), and the administrator has it too.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, Max, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.core.choices import UtilityKind
from kefu.core.errors import Conflict, IllegalTransition, InvalidInput, NotFoundError
from kefu.customers.choices import AccountStatus
from kefu.customers.models import Account, AccountEvent, ServicePoint
from kefu.org.choices import Capability
from kefu.org.scope import for_user, require, unit_in_scope

from .choices import MeterState
from .models import Meter, PlanItem, ReadingPlan, Route, RouteStop

# Reading window: ../shared/domain/policy-defaults.yaml `metering.reading_window` (seed 002).
WINDOW_FIRST_DAY = 6
WINDOW_LAST_DAY = 26

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


def window_of(period: dt.date) -> tuple[dt.date, dt.date]:
    return period.replace(day=WINDOW_FIRST_DAY), period.replace(day=WINDOW_LAST_DAY)


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
    start, end = window_of(period)
    try:
        with transaction.atomic():
            plan = ReadingPlan.objects.create(route=route, period=period, window_start=start, window_end=end)
            accounts = qualifying_accounts(route.utility, period).filter(service_point=OuterRef("service_point_id"))
            rows = (Meter.objects.filter(state=MeterState.INSTALLED, utility=route.utility,
                                         service_point__isnull=False)
                    .filter(Exists(RouteStop.objects.filter(route=route, service_point=OuterRef("service_point_id"))))
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
