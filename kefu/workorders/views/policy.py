"""Policy pages for administrators: order types, time-limit policies, the business calendar and
warning levels. Every write goes through ``workorders.policy``; open orders are never touched."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from kefu.core.calendar import known_years
from kefu.core.errors import ApplicationError
from kefu.core.models import CalendarDay, FieldChange
from kefu.core.web import add_service_errors
from kefu.customers.tables import history_rows
from kefu.org.choices import Capability
from kefu.org.scope import require
from kefu.org.tables import parse_id
from kefu.workorders.forms.policy import (
    HOLIDAY,
    WORKDAY,
    CalendarDayForm,
    CalendarYearForm,
    OrderTypeCreateForm,
    OrderTypeForm,
    SlaFilterForm,
    SlaPolicyForm,
    WarningLevelForm,
)
from kefu.workorders.models import OrderType, SlaPolicy, WarningLevel
from kefu.workorders.policy import (
    calendarday_delete,
    calendarday_save,
    ordertype_create,
    ordertype_update,
    slapolicy_create,
    slapolicy_update,
    warninglevel_create,
    warninglevel_delete,
    warninglevel_update,
)
from kefu.workorders.selectors import ordertype_list, slapolicy_list
from kefu.workorders.tables import type_tree
from kefu.workorders.views.common import form_status, post_data

FORM_METHODS = require_http_methods(["GET", "POST"])
HISTORY_SHOWN = 30


def _admin(request: HttpRequest) -> None:
    require(request.user, Capability.POLICY_ADMIN)


def _history(model: str, pk: int) -> list[Any]:
    return history_rows(FieldChange.objects.filter(model=model, object_id=pk).select_related("actor")[:HISTORY_SHOWN])


# ---- order types -------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET"])
def type_list(request: HttpRequest) -> HttpResponse:
    _admin(request)
    counts = dict(SlaPolicy.objects.values("order_type").annotate(n=Count("id")).values_list("order_type", "n"))
    return render(request, "workorders/policy/type_list.html",
                  {"rows": type_tree(ordertype_list(), counts), "section": "types"})


@login_required
@FORM_METHODS
def type_create(request: HttpRequest) -> HttpResponse:
    _admin(request)
    parent_id = parse_id(request.GET.get("parent"))
    parent = OrderType.objects.filter(pk=parent_id, parent__isnull=True).first() if parent_id else None
    initial: dict[str, Any] = {"parent": parent, "is_active": True, "callback_required": True,
                               "duplicate_window_hours": 72, "sort": 0}
    if parent is not None:
        initial.update(utility=parent.utility, field_work=parent.field_work, sort=parent.sort + 1,
                       callback_required=parent.callback_required)
    form = OrderTypeCreateForm(post_data(request), initial=initial)
    error: ApplicationError | None = None
    if request.method == "POST" and form.is_valid():
        try:
            created = ordertype_create(actor=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            error = exc
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Order type %(name)s created.") % {"name": created.label})
            return redirect("workorders:type-list")
    return render(request, "workorders/policy/type_form.html",
                  {"form": form, "order_type": None, "section": "types"}, status=form_status(form, error))


@login_required
@FORM_METHODS
def type_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _admin(request)
    order_type = get_object_or_404(OrderType.objects.select_related("parent"), pk=pk)
    form = OrderTypeForm(post_data(request), initial=OrderTypeForm.initial_for(order_type))
    error: ApplicationError | None = None
    if request.method == "POST" and form.is_valid():
        try:
            changes = form.changes(order_type)
            if changes:
                order_type = ordertype_update(actor=request.user, order_type=order_type, **changes)
        except ApplicationError as exc:
            error = exc
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Order type %(name)s saved.") % {"name": order_type.label})
            return redirect("workorders:type-list")
    context = {
        "form": form, "order_type": order_type, "section": "types",
        "children": list(order_type.children.order_by("sort", "code")),
        "history": _history("workorders.ordertype", order_type.pk),
    }
    return render(request, "workorders/policy/type_form.html", context, status=form_status(form, error))


# ---- time-limit policies -----------------------------------------------------------------------


@login_required
@require_http_methods(["GET"])
def sla_list(request: HttpRequest) -> HttpResponse:
    _admin(request)
    form = SlaFilterForm(request.GET or None)
    chosen = form.cleaned_data["type"] if form.is_bound and form.is_valid() else None
    today = timezone.localdate()
    rows = [
        (p, p.effective_from <= today and (p.effective_to is None or p.effective_to >= today))
        for p in slapolicy_list(order_type=chosen)
    ]
    return render(request, "workorders/policy/sla_list.html",
                  {"form": form, "rows": rows, "chosen": chosen, "section": "limits"})


@login_required
@FORM_METHODS
def sla_create(request: HttpRequest) -> HttpResponse:
    _admin(request)
    initial: dict[str, Any] = {"effective_from": timezone.localdate()}
    type_id = parse_id(request.GET.get("type"))
    kind = OrderType.objects.filter(pk=type_id).first() if type_id else None
    if kind is not None:
        initial.update(order_type=kind)
    form = SlaPolicyForm(post_data(request), initial=initial)
    error: ApplicationError | None = None
    if request.method == "POST" and form.is_valid():
        try:
            policy = slapolicy_create(actor=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            error = exc
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Time-limit policy #%(id)d created.") % {"id": policy.pk})
            return redirect(reverse("workorders:sla-list") + "?" + urlencode({"type": policy.order_type_id}))
    return render(request, "workorders/policy/sla_form.html", {"form": form, "policy": None, "section": "limits"},
                  status=form_status(form, error))


@login_required
@FORM_METHODS
def sla_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _admin(request)
    policy = get_object_or_404(SlaPolicy.objects.select_related("order_type"), pk=pk)
    form = SlaPolicyForm(post_data(request), initial=SlaPolicyForm.initial_for(policy))
    error: ApplicationError | None = None
    if request.method == "POST" and form.is_valid():
        try:
            changes = form.changes(policy)
            if changes:
                policy = slapolicy_update(actor=request.user, policy=policy, **changes)
        except ApplicationError as exc:
            error = exc
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Time-limit policy #%(id)d saved.") % {"id": policy.pk})
            return redirect(reverse("workorders:sla-list") + "?" + urlencode({"type": policy.order_type_id}))
    context = {"form": form, "policy": policy, "section": "limits",
               "history": _history("workorders.slapolicy", policy.pk)}
    return render(request, "workorders/policy/sla_form.html", context, status=form_status(form, error))


# ---- business calendar -------------------------------------------------------------------------


def _calendar_banner() -> str:
    """A warning when next year (or this one) has no exceptions entered: its holidays are unknown."""
    years = known_years()
    this_year = timezone.localdate().year
    for year in (this_year, this_year + 1):
        if year not in years:
            last = max(years) if years else None
            if last is None:
                return _("%(year)d has no holidays entered yet, and neither has any other year.") % {"year": year}
            return _("%(year)d has no holidays entered yet: the calendar only knows up to %(last)d. Enter the "
                     "State Council's holiday schedule for %(year)d before the year starts.") % {
                "year": year, "last": last}
    return ""


def _day_context(year: int) -> dict[str, Any]:
    days = list(CalendarDay.objects.filter(date__year=year).order_by("date"))
    return {"days": days, "year": year, "banner": _calendar_banner(), "section": "calendar",
            "holidays": sum(1 for d in days if not d.is_workday), "workdays": sum(1 for d in days if d.is_workday)}


@login_required
@FORM_METHODS
def calendar(request: HttpRequest) -> HttpResponse:
    """A year's exceptions to the Monday–Friday week, and the form to add one."""
    _admin(request)
    year_form = CalendarYearForm(request.GET)
    year = (year_form.cleaned_data.get("year") if year_form.is_valid() else None) or timezone.localdate().year
    form = CalendarDayForm(post_data(request), initial={"kind": HOLIDAY})
    error: ApplicationError | None = None
    if request.method == "POST" and form.is_valid():
        try:
            day = calendarday_save(actor=request.user, **form.service_input())
        except ApplicationError as exc:
            error = exc
            add_service_errors(form, exc, field_map=CalendarDayForm.field_for)
        else:
            messages.success(request, _("%(date)s saved.") % {"date": day.date.isoformat()})
            return redirect(reverse("workorders:calendar") + "?" + urlencode({"year": day.date.year}))
        if form.cleaned_data.get("date"):
            year = form.cleaned_data["date"].year
    context = _day_context(year) | {"form": form}
    return render(request, "workorders/policy/calendar.html", context, status=form_status(form, error))


def _parse_day(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise Http404 from exc


@login_required
@FORM_METHODS
def calendar_day(request: HttpRequest, day: str) -> HttpResponse:
    _admin(request)
    when = _parse_day(day)
    current = CalendarDay.objects.filter(date=when).first()
    if current is not None:
        initial = {"date": when, "kind": WORKDAY if current.is_workday else HOLIDAY, "name": current.name,
                   "source": current.source}
    else:
        initial = {"date": when, "kind": WORKDAY if when.weekday() >= 5 else HOLIDAY}
    form = CalendarDayForm(post_data(request), initial=initial)
    form.fields["date"].disabled = True  # a different date is a different entry: add it on the calendar page
    error: ApplicationError | None = None
    if request.method == "POST" and form.is_valid():
        try:
            calendarday_save(actor=request.user, **form.service_input())
        except ApplicationError as exc:
            error = exc
            add_service_errors(form, exc, field_map=CalendarDayForm.field_for)
        else:
            messages.success(request, _("%(date)s saved.") % {"date": when.isoformat()})
            return redirect(reverse("workorders:calendar") + "?" + urlencode({"year": when.year}))
    context = {"form": form, "day": when, "current": current, "section": "calendar",
               "history": _history("core.calendarday", int(f"{when:%Y%m%d}"))}
    return render(request, "workorders/policy/calendar_day.html", context, status=form_status(form, error))


@login_required
@require_POST
def calendar_delete(request: HttpRequest, day: str) -> HttpResponse:
    _admin(request)
    when = _parse_day(day)
    if calendarday_delete(actor=request.user, day=when):
        messages.success(request, _("%(date)s removed: it follows the weekday rule again.") % {
            "date": when.isoformat()})
    else:
        messages.info(request, _("%(date)s was not listed.") % {"date": when.isoformat()})
    return redirect(reverse("workorders:calendar") + "?" + urlencode({"year": when.year}))


# ---- warning levels ----------------------------------------------------------------------------


@login_required
@FORM_METHODS
def level_list(request: HttpRequest) -> HttpResponse:
    """The levels, and the form to add one."""
    _admin(request)
    form = WarningLevelForm(post_data(request), initial={"notify_shift_leader": True})
    error: ApplicationError | None = None
    if request.method == "POST" and form.is_valid():
        try:
            level = warninglevel_create(actor=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            error = exc
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Warning level %(f)s added.") % {"f": level.fraction})
            return redirect("workorders:level-list")
    context = {"levels": list(WarningLevel.objects.order_by("fraction")), "form": form, "section": "levels"}
    return render(request, "workorders/policy/level_list.html", context, status=form_status(form, error))


@login_required
@FORM_METHODS
def level_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _admin(request)
    level = get_object_or_404(WarningLevel, pk=pk)
    form = WarningLevelForm(post_data(request), initial=WarningLevelForm.initial_for(level))
    error: ApplicationError | None = None
    if request.method == "POST" and form.is_valid():
        try:
            level = warninglevel_update(actor=request.user, level=level, **form.cleaned_data)
        except ApplicationError as exc:
            error = exc
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Warning level %(f)s saved.") % {"f": level.fraction})
            return redirect("workorders:level-list")
    context = {"form": form, "level": level, "section": "levels",
               "history": _history("workorders.warninglevel", level.pk)}
    return render(request, "workorders/policy/level_form.html", context, status=form_status(form, error))


@login_required
@require_POST
def level_delete(request: HttpRequest, pk: int) -> HttpResponse:
    _admin(request)
    level = get_object_or_404(WarningLevel, pk=pk)
    try:
        warninglevel_delete(actor=request.user, level=level)
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Warning level %(f)s removed.") % {"f": level.fraction})
    return redirect("workorders:level-list")
