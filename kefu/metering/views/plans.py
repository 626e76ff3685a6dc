"""Metering pages for routes and monthly plans: the routes of one's area with the month's progress, one
plan with its meters (read, unread, with exceptions), the handheld file to download, the results file
to upload (with the row-level report) and the reading confirmation sheets signed on route days.

Reading plans need ``reading.enter`` (readers take their route out); making a plan needs
``reading.review``. Plans outside the user's area are 404. Writes are one service call each; a refusal
is shown beside the field at fault (400) or on top (409), never a 500.
"""

from __future__ import annotations

import io
import re
from datetime import date
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from kefu.core.api import parse_id
from kefu.core.errors import ApplicationError
from kefu.core.web import add_service_errors, client_ip
from kefu.org.choices import Capability
from kefu.org.scope import has_capability, require

from .. import plans
from ..choices import PlanStatus, ReadingState, Resolution
from ..exports import plan_export
from ..forms import SHEET_FIELDS, ResultsUploadForm, SheetForm
from ..imports import ImportReport, read_table, reading_import
from ..models import ReadingException, ReadingPlan

ROUTES_PER_PAGE = 50
ITEMS_PER_PAGE = 200
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHOW = ("all", "unread", "read", "exceptions")
STATUS_COLOURS: dict[str, str] = {PlanStatus.OPEN: "primary", PlanStatus.CLOSED: "secondary"}


def _month(raw: str, today: date) -> date | None:
    """``YYYY-MM`` → its first day; blank → this month; anything else → None."""
    raw = (raw or "").strip()
    if not raw:
        return today.replace(day=1)
    match = re.fullmatch(r"(\d{4})-(\d{1,2})", raw)
    if match is None or not 1 <= int(match[2]) <= 12 or not 2000 <= int(match[1]) <= 2100:
        return None
    return date(int(match[1]), int(match[2]), 1)


# Routes -----------------------------------------------------------------------------------------

@login_required
@require_GET
def route_list(request: HttpRequest) -> HttpResponse:
    """The user's routes with the month's plan: planned, read, missing readings still open."""
    require(request.user, Capability.READING_ENTER)
    month = _month(request.GET.get("month", ""), timezone.localdate())
    error = "" if month is not None else _("Give the month as YYYY-MM, e.g. 2026-03.")
    month = month or timezone.localdate().replace(day=1)
    routes = plans.route_qs(request.user).select_related("unit", "reader").order_by("code")
    query = (request.GET.get("q") or "").strip()[:40]
    if query:
        routes = routes.filter(Q(code__icontains=query) | Q(name__icontains=query))
    page = Paginator(routes, ROUTES_PER_PAGE).get_page(request.GET.get("page"))
    month_plans = {p.route_id: p for p in plans.with_progress(
        plans.plan_qs(request.user).filter(period=month, route_id__in=[r.pk for r in page]))}
    rows = [(r, month_plans.get(r.pk)) for r in page]
    context = {"rows": rows, "page": page, "month": month, "query": query, "month_error": error,
               "can_plan": has_capability(request.user, Capability.READING_REVIEW),
               "status_colours": STATUS_COLOURS}
    return render(request, "metering/route_list.html", context, status=400 if error else 200)


@login_required
@require_POST
def plan_create(request: HttpRequest, pk: int) -> HttpResponse:
    """Make the route's plan for a month (the month posted, else this month); again: the same plan."""
    require(request.user, Capability.READING_REVIEW)
    route = plans.route_qs(request.user).filter(pk=parse_id(pk) or 0).first()
    if route is None:
        raise Http404
    month = _month(request.POST.get("month", ""), timezone.localdate())
    if month is None:
        messages.error(request, _("Give the month as YYYY-MM, e.g. 2026-03."))
        return redirect("metering:routes")
    try:
        plan = plans.plan_create(actor=request.user, route=route, period=month)
    except ApplicationError as error:
        messages.error(request, str(error.message))
        return redirect(f"{reverse('metering:routes')}?{urlencode({'month': f'{month:%Y-%m}'})}")
    messages.success(request, _("Plan of route %(code)s for %(month)s: %(n)d meters to read.") % {
        "code": route.code, "month": f"{month:%Y-%m}", "n": plan.planned})
    return redirect("metering:plan", pk=plan.pk)


# One plan ---------------------------------------------------------------------------------------

def _plan_or_404(request: HttpRequest, pk: Any) -> ReadingPlan:
    require(request.user, Capability.READING_ENTER)
    plan = (plans.with_progress(plans.plan_qs(request.user).select_related("route__unit", "route__reader"))
            .filter(pk=parse_id(pk) or 0).first())
    if plan is None:
        raise Http404
    return plan


def _items(plan: ReadingPlan, show: str) -> Any:
    items = plans.item_rows(plan)
    read = Exists(plans.standing_readings("service_point_id", "plan__period"))
    if show == "read":
        items = items.filter(read)
    elif show == "unread":
        items = items.exclude(read)
    elif show == "exceptions":
        items = items.filter(Exists(ReadingException.objects.filter(
            meter=OuterRef("meter_id"), period=OuterRef("plan__period"), resolution=Resolution.OPEN)))
    return items


def _plan_page(request: HttpRequest, plan: ReadingPlan, *, sheet_form: SheetForm | None = None,
               upload_form: ResultsUploadForm | None = None, report: ImportReport | None = None,
               status: int = 200) -> HttpResponse:
    show = request.GET.get("show", "all")
    show = show if show in SHOW else "all"
    page = Paginator(_items(plan, show), ITEMS_PER_PAGE).get_page(request.GET.get("page"))
    sheets = [(s, plans.SignerRole(s.signer_role).label if s.signer_role in plans.SignerRole.values
               else s.signer_role) for s in plans.sheet_qs(request.user).filter(plan=plan).order_by("day", "id")]
    context = {
        "plan": plan, "page": page, "show": show, "shows": [
            ("all", _("All")), ("unread", _("Not read")), ("read", _("Read")), ("exceptions", _("With exceptions"))],
        "sheets": sheets, "sheet_form": sheet_form or SheetForm(auto_id="id_sheet_%s", initial={
            # Today if it is a route day, else the window's nearest end.
            "day": min(max(timezone.localdate(), plan.window_start), plan.window_end).isoformat()}),
        "upload_form": upload_form or ResultsUploadForm(auto_id="id_upload_%s"), "report": report,
        "status_colour": STATUS_COLOURS.get(plan.status, "secondary"),
        "exception_state": ReadingState.EXCEPTION,
        "unread": plan.planned - getattr(plan, "read_count", 0),
    }
    return render(request, "metering/plan_detail.html", context, status=status)


@login_required
@require_GET
def plan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _plan_page(request, _plan_or_404(request, pk))


@login_required
@require_GET
def plan_export_file(request: HttpRequest, pk: int) -> HttpResponse:
    """The handheld file (CSV with a BOM, or Excel); every download is in the audit log."""
    plan = _plan_or_404(request, pk)
    fmt = "xlsx" if request.GET.get("format") == "xlsx" else "csv"
    out = io.BytesIO()
    plan_export(actor=request.user, plan=plan, out=out, fmt=fmt, ip=client_ip(request))
    response = HttpResponse(out.getvalue(), content_type=XLSX_TYPE if fmt == "xlsx" else "text/csv; charset=utf-8")
    name = f"route-{plan.route.code}-{plan.period:%Y%m}.{fmt}"
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=name) or ""
    return response


@login_required
@require_POST
def plan_import(request: HttpRequest, pk: int) -> HttpResponse:
    """Upload the results file: the row-level report, and nothing applied when a row is wrong (unless
    the good rows are wanted)."""
    plan = _plan_or_404(request, pk)
    form = ResultsUploadForm(request.POST, request.FILES, auto_id="id_upload_%s")
    if not form.is_valid():
        return _plan_page(request, plan, upload_form=form, status=400)
    upload = form.cleaned_data["file"]
    try:
        rows = read_table(upload, upload.name)
        report = reading_import(actor=request.user, plan=plan, rows=rows, name=upload.name,
                                partial=form.cleaned_data["partial"])
    except ApplicationError as error:
        add_service_errors(form, error)
        return _plan_page(request, plan, upload_form=form, status=error.status_code)
    refreshed = _plan_or_404(request, pk)
    return _plan_page(request, refreshed, report=report, status=400 if report.errors else 200)


@login_required
@require_POST
def plan_sheet(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a reading confirmation sheet signed on a route day."""
    plan = _plan_or_404(request, pk)
    form = SheetForm(request.POST, auto_id="id_sheet_%s")
    if not form.is_valid():
        return _plan_page(request, plan, sheet_form=form, status=400)
    d = form.cleaned_data
    try:
        result = plans.sheet_record(actor=request.user, plan=plan, day=d["day"], signed_by=d["signed_by"],
                                    signer_role=d["signer_role"], note=d["note"])
    except ApplicationError as error:
        add_service_errors(form, error, field_map=SHEET_FIELDS)
        return _plan_page(request, plan, sheet_form=form, status=error.status_code)
    sheet = result.sheet
    values = {"day": sheet.day.isoformat(), "name": sheet.signed_by}
    if result.created:
        messages.success(request, _("Confirmation sheet of %(day)s signed by %(name)s recorded.") % values)
    else:
        messages.info(request, _("The confirmation sheet of %(day)s signed by %(name)s was already recorded.") % values)
    return redirect(f"{reverse('metering:plan', kwargs={'pk': plan.pk})}#sheets")
