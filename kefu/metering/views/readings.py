"""Metering pages: the analyst's exceptions queue with one decision form per row, single reading entry,
and one meter with its installation history and latest readings.

Data comes through the scoped selectors (out of scope → 404); writes are one service call each, whose
refusal is shown beside the field at fault (400) or above the row (409), never a 500.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import OuterRef, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kefu.core.api import parse_id
from kefu.core.errors import ApplicationError
from kefu.core.web import add_service_errors, is_htmx, vary_on_htmx
from kefu.customers.models import Account, ServicePoint
from kefu.org.choices import Capability
from kefu.org.forms import UnitChoiceField
from kefu.org.models import OrgUnit
from kefu.org.scope import for_user, has_capability, require

from .. import fieldwork, kpis, plans, selectors, services
from ..choices import BILLABLE, ReadingState, Resolution, Rule
from ..forms import (
    DECISION_LABELS,
    DECISIONS,
    ENTRY_FIELDS,
    RESOLVE_FIELDS,
    ExceptionFilterForm,
    ReadingEntryForm,
    ResolveForm,
)
from ..models import Meter, MeterEvent, Reading, ReadingException

QUEUE_LIMIT = 100
METER_READINGS = 12
STATE_COLOURS: dict[str, str] = {
    ReadingState.VALID: "success", ReadingState.EXCEPTION: "danger", ReadingState.ACCEPTED: "info",
    ReadingState.CORRECTED: "warning", ReadingState.SUPERSEDED: "secondary"}


# The exceptions queue ---------------------------------------------------------------------------

@dataclass
class QueueRow:
    exc: ReadingException
    form: ResolveForm
    service_point: ServicePoint | None
    accounts: list[str] = field(default_factory=list)
    previous: Any = None


def _resolve_form(exc: ReadingException, data: Any = None) -> ResolveForm:
    return ResolveForm(data, auto_id=f"id_exc{exc.pk}_%s")


def _previous(exc: ReadingException) -> Any:
    """The value the reading was measured from: stored on the reading, recorded by the rule, or the
    latest billable reading before the month."""
    reading = exc.reading
    if reading is not None and reading.previous is not None:
        return reading.previous
    if exc.data.get("previous") not in (None, ""):
        return Decimal(str(exc.data["previous"]))
    return getattr(exc, "previous_value", None)


def _queue_rows(request: HttpRequest, rule: str, failed: ReadingException | None = None,
                failed_form: ResolveForm | None = None) -> tuple[list[QueueRow], int]:
    qs = selectors.exception_queue(request.user, rule=rule).select_related(
        "meter__service_point__premise", "reading__service_point__premise")
    total = qs.count()
    earlier = (Reading.objects.filter(meter=OuterRef("meter"), register=OuterRef("reading__register"),
                                      period__lt=OuterRef("period"), state__in=BILLABLE)
               .order_by("-period").values("value")[:1])
    excs = list(qs.annotate(previous_value=Subquery(earlier))[:QUEUE_LIMIT])
    points = {e.pk: (e.reading.service_point if e.reading is not None else e.meter.service_point) for e in excs}
    numbers: dict[int, list[str]] = {}
    for sp_id, number in (Account.objects.filter(service_point_id__in={p.pk for p in points.values() if p})
                          .order_by("number").values_list("service_point_id", "number")):
        numbers.setdefault(sp_id, []).append(number)
    rows = []
    for e in excs:
        sp = points[e.pk]
        form = failed_form if failed is not None and failed.pk == e.pk and failed_form is not None else \
            _resolve_form(e)
        rows.append(QueueRow(exc=e, form=form, service_point=sp, accounts=numbers.get(sp.pk, []) if sp else [],
                             previous=_previous(e)))
    return rows, total


def _queue_page(request: HttpRequest, rule: str, filter_form: ExceptionFilterForm, *, status: int = 200,
                failed: ReadingException | None = None, failed_form: ResolveForm | None = None) -> HttpResponse:
    rows, total = _queue_rows(request, rule, failed, failed_form)
    context = {"rows": rows, "total": total, "limit": QUEUE_LIMIT, "filter_form": filter_form, "rule": rule,
               "decisions": [(d.value, DECISION_LABELS[d]) for d in DECISIONS]}
    template = "metering/_exception_rows.html" if is_htmx(request) and failed is None else "metering/exceptions.html"
    return vary_on_htmx(render(request, template, context, status=status))


@login_required
@require_GET
def exception_list(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.READING_REVIEW)
    filter_form = ExceptionFilterForm(request.GET)
    return _queue_page(request, filter_form.rule_value(), filter_form)


def _exception_or_404(request: HttpRequest, pk: Any) -> ReadingException:
    # Decided ones too, so that a second decision on the same row is told so (409) rather than 404.
    exc = (for_user(ReadingException.objects.all(), request.user, capability=Capability.CUSTOMER_VIEW)
           .select_related("meter").filter(pk=parse_id(pk) or 0).first())
    if exc is None:
        raise Http404
    return exc


@login_required
@require_POST
def exception_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Capability.READING_REVIEW)
    exc = _exception_or_404(request, pk)
    back = ExceptionFilterForm({"rule": request.POST.get("rule", "")})
    rule = back.rule_value()
    form = _resolve_form(exc, request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            # plans.exception_decide also knows a missing reading (no reading to accept or correct).
            plans.exception_decide(actor=request.user, exception=exc, resolution=d["decision"],
                                   value=d["value"], note=d["reason"])
        except ApplicationError as error:
            add_service_errors(form, error, field_map=RESOLVE_FIELDS)
            status = error.status_code
        else:
            messages.success(request, _("Meter %(serial)s, %(month)s: %(rule)s — %(decision)s.") % {
                "serial": exc.meter.serial, "month": exc.period.strftime("%Y-%m"), "rule": Rule(exc.rule).label,
                "decision": Resolution(d["decision"]).label})
            url = reverse("metering:exceptions")
            return redirect(f"{url}?{urlencode({'rule': rule})}" if rule else url)
    else:
        status = 400
    exc.refresh_from_db(fields=["resolution"])
    if exc.resolution != Resolution.OPEN:
        # Decided meanwhile: the row is gone from the queue, so say it on top.
        messages.error(request, " ".join(str(m) for msgs in form.errors.values() for m in msgs))
    return _queue_page(request, rule, back, status=status, failed=exc, failed_form=form)


# Single reading entry ---------------------------------------------------------------------------

def _outcome(recorded: services.Recorded) -> tuple[int, str]:
    reading = recorded.reading
    names = ", ".join(str(Rule(e.rule).label) for e in recorded.exceptions)
    values = {"serial": reading.meter.serial, "value": reading.value, "month": reading.period.strftime("%Y-%m"),
              "rules": names}
    if recorded.exceptions:
        return messages.WARNING, _("Reading of meter %(serial)s for %(month)s recorded, but it breaks: %(rules)s. "
                                   "It waits in the exceptions queue and does not go to billing.") % values
    if not recorded.created:
        return messages.INFO, _("Meter %(serial)s already has this reading for %(month)s.") % values
    return messages.SUCCESS, _("Reading %(value)s of meter %(serial)s for %(month)s recorded: valid.") % values


def _order_message(raised: fieldwork.Raised) -> str:
    order = raised.order
    values = {"kind": fieldwork.NoteKind(raised.kind).label, "number": order.number, "type": order.order_type.label,
              "unit": order.handling_unit.name if order.handling_unit else "—"}
    if raised.created:
        return _("%(kind)s: work order %(number)s (%(type)s) sent to %(unit)s.") % values
    return _("%(kind)s: already reported in work order %(number)s; no new order.") % values


@login_required
@require_http_methods(["GET", "POST"])
def reading_entry(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.READING_ENTER)
    form = ReadingEntryForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        d = form.cleaned_data
        serial = d["meter"].strip()
        meter = selectors.meter_qs(request.user).filter(serial=serial).first()
        if meter is None:
            form.add_error("meter", _("No meter numbered %(serial)s in your area.") % {"serial": serial})
        else:
            try:
                reported = fieldwork.reading_report(actor=request.user, meter=meter, value=d["value"],
                                                    read_on=d["read_on"], source=d["source"], hazard=d["hazard"],
                                                    theft=d["theft"])
            except ApplicationError as error:
                add_service_errors(form, error, field_map=ENTRY_FIELDS)
            else:
                recorded = reported.recorded
                level, text = _outcome(recorded)
                messages.add_message(request, level, text)
                for raised in reported.orders:
                    messages.add_message(request, messages.WARNING, _order_message(raised))
                return redirect(f"{reverse('metering:reading-entry')}?{urlencode({'reading': recorded.reading.pk})}")
    result = None
    reading_id = parse_id(request.GET.get("reading", ""))
    if reading_id:
        result = (selectors.reading_qs(request.user).select_related("meter", "service_point__premise")
                  .filter(pk=reading_id).first())
    context = {
        "form": form, "result": result,
        "result_exceptions": list(result.exceptions.filter(resolution=Resolution.OPEN)) if result else [],
        "state_colour": STATE_COLOURS.get(result.state, "secondary") if result else "",
    }
    return render(request, "metering/reading_entry.html", context, status=400 if form.is_bound else 200)


# One meter --------------------------------------------------------------------------------------

@login_required
@require_GET
def meter_detail(request: HttpRequest, pk: int) -> HttpResponse:
    meter: Meter | None = (selectors.meter_qs(request.user).select_related("service_point__premise", "unit")
                           .filter(pk=parse_id(pk) or 0).first())
    if meter is None:
        raise Http404
    events = (MeterEvent.objects.filter(meter=meter).select_related("service_point__premise", "actor")
              .order_by("-installed_on", "-id"))
    readings = list(selectors.reading_qs(request.user).filter(meter=meter).select_related("reader")
                    .prefetch_related("corrections__actor").order_by("-period", "register")[:METER_READINGS])
    context = {
        "meter": meter, "events": events,
        "readings": [(r, STATE_COLOURS.get(r.state, "secondary")) for r in readings],
        "open_exceptions": list(selectors.exception_queue(request.user).filter(meter=meter)),
        "accounts": list(Account.objects.filter(service_point_id=meter.service_point_id).order_by("number")
                         .values_list("number", flat=True)) if meter.service_point_id else [],
    }
    return render(request, "metering/meter.html", context)


# Reading KPIs -----------------------------------------------------------------------------------

class KpiForm(forms.Form):
    """Which month and which unit (the user's units only)."""

    month = forms.CharField(label=_lazy("Month"), required=False, widget=forms.TextInput(attrs={
        "type": "month", "class": "form-control", "placeholder": "YYYY-MM"}))
    unit = UnitChoiceField(label=_lazy("Unit"), queryset=OrgUnit.objects.none(), required=False,
                                  widget=forms.Select(attrs={"class": "form-select"}))

    def __init__(self, data: Any, *, units: Any, default_unit: OrgUnit | None, today: date) -> None:
        super().__init__(data)
        field = self.fields["unit"]
        assert isinstance(field, UnitChoiceField)
        field.queryset = units
        field.base = min((u.depth for u in units), default=0)
        self.default_unit, self.today = default_unit, today

    def clean_month(self) -> date:
        raw = (self.cleaned_data.get("month") or "").strip()
        if not raw:
            return self.today.replace(day=1)
        match = re.fullmatch(r"(\d{4})-(\d{1,2})", raw)
        if match is None or not 1 <= int(match[2]) <= 12 or not 2000 <= int(match[1]) <= 2100:
            raise forms.ValidationError(_("Give the month as YYYY-MM, e.g. 2026-03."))
        return date(int(match[1]), int(match[2]), 1)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["unit"] = data.get("unit") or self.default_unit
        if data["unit"] is None and "unit" not in self.errors:
            self.add_error("unit", _("Choose a unit."))
        return data


@login_required
@require_GET
def kpis_page(request: HttpRequest) -> HttpResponse:
    """Reading rate, on-time rate, accuracy and exceptions for a month, by unit, route and reader."""
    user = request.user
    if not (has_capability(user, Capability.READING_ENTER) or has_capability(user, Capability.READING_REVIEW)):
        require(user, Capability.READING_ENTER)  # raises the 403 naming the action
    units = OrgUnit.objects.for_user(user).filter(is_active=True).order_by("path")
    asked = request.GET.get("unit", "").strip()
    asked_id = parse_id(asked)
    if asked_id and not units.filter(pk=asked_id).exists():
        raise Http404  # a unit outside the user's area is not there for them
    own = getattr(user, "unit", None)
    default = own if own is not None and units.filter(pk=own.pk).exists() else units.first()
    form = KpiForm({"month": request.GET.get("month", ""), "unit": asked}, units=units, default_unit=default,
                   today=timezone.localdate())
    report = kpis.reading_kpis(user=user, unit=form.cleaned_data["unit"], period=form.cleaned_data["month"]) \
        if form.is_valid() else None
    sections = [] if report is None else [
        ("by-unit", _("By unit"), _("Unit"), report.units),
        ("by-route", _("By route"), _("Route"), report.routes),
        ("by-reader", _("By reader"), _("Meter reader"), report.readers),
    ]
    return render(request, "metering/kpis.html", {"form": form, "report": report, "sections": sections},
                  status=200 if report is not None else 400)
