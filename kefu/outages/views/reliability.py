"""Reliability indices (SAIFI, SAIDI, CAIDI, RS-1) for a unit in the user's scope, for each unit
below it and month by month; the same figures as an Excel workbook (every export is audited)."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from kefu.core.choices import UtilityKind
from kefu.core.models import AuditLog
from kefu.core.services import audit_record
from kefu.core.web import client_ip
from kefu.org.choices import Capability
from kefu.org.models import OrgUnit
from kefu.org.scope import require

from .. import exports
from ..forms import ReliabilityForm
from ..reliability import Indices, reliability, reliability_by_month, reliability_by_unit

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Report:
    unit: OrgUnit
    start: date
    end: date
    utility: str
    total: Indices
    children: list[Indices]
    year: int
    months: list[Indices]


def _units(user: Any) -> QuerySet[OrgUnit]:
    return OrgUnit.objects.for_user(user).filter(is_active=True).order_by("path")


def _form(request: HttpRequest) -> ReliabilityForm:
    units = _units(request.user)
    own = getattr(request.user, "unit", None)
    default = own if own is not None and units.filter(pk=own.pk).exists() else units.first()
    today = timezone.localdate()
    # The page opens on the user's unit, this year to date: fill what the request leaves out.
    data = {"unit": str(default.pk) if default else "", "start": f"{today.year}-01-01", "end": today.isoformat(),
            "utility": UtilityKind.POWER}
    data.update({k: str(v) for k, v in request.GET.items() if k in data and v})
    return ReliabilityForm(data, units=units, default_unit=default, today=today)


def _report(form: ReliabilityForm) -> Report:
    d = form.cleaned_data
    unit, start, end, utility = d["unit"], d["start"], d["end"], d["utility"]
    now = timezone.now()
    children = list(OrgUnit.objects.filter(parent=unit, is_active=True).order_by("path"))
    return Report(
        unit=unit, start=start, end=end, utility=utility,
        total=reliability(unit=unit, start=start, end=end, utility=utility, now=now),
        children=reliability_by_unit(units=children, start=start, end=end, utility=utility, now=now),
        year=end.year,
        months=reliability_by_month(unit=unit, year=end.year, utility=utility, now=now),
    )


@login_required
@require_GET
def reliability_page(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.OUTAGE_VIEW)
    form = _form(request)
    report = _report(form) if form.is_valid() else None
    return render(request, "outages/reliability.html", {"form": form, "report": report,
                                                        "query": request.GET.urlencode()},
                  status=200 if report is not None else 400)


@login_required
@require_GET
def reliability_export(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.OUTAGE_VIEW)
    form = _form(request)
    if not form.is_valid():
        return render(request, "outages/reliability.html", {"form": form, "report": None}, status=400)
    report = _report(form)
    out = io.BytesIO()
    exports.write_xlsx(out, units=[report.total, *report.children], months=report.months, utility=report.utility,
                       start=report.start, end=report.end)
    audit_record(actor=request.user, action=AuditLog.Action.EXPORT, instance=report.unit, ip=client_ip(request),
                 detail={"what": "outages.reliability", "utility": report.utility,
                         "start": report.start.isoformat(), "end": report.end.isoformat(),
                         "units": 1 + len(report.children)})
    response = HttpResponse(out.getvalue(), content_type=XLSX_TYPE)
    code = re.sub(r"[^A-Za-z0-9_-]", "", report.unit.code) or str(report.unit.pk)
    name = f"reliability-{code}-{report.start:%Y%m%d}-{report.end:%Y%m%d}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
