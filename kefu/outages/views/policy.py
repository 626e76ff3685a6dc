"""The SMS templates (edited by policy administrators) and, read-only, the notice rules and the
fault-grouping rules with the sources they come from."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from kefu.core.errors import ApplicationError
from kefu.core.web import add_service_errors
from kefu.org.choices import Capability
from kefu.org.scope import has_capability, require

from .. import services
from ..choices import MessageKind, OutageClass
from ..forms import TemplateForm
from ..models import GroupingRule, MessageTemplate, NoticeRule
from ..notices import REQUIRED_FIELDS, TEMPLATE_FIELDS, span


def _rows(failed: TemplateForm | None) -> list[dict[str, Any]]:
    stored = {t.kind: t for t in MessageTemplate.objects.all()}
    rows = []
    for kind, label in MessageKind.choices:
        template = stored.get(kind)
        if failed is not None and failed.data.get("kind") == kind:
            form = failed
        else:
            form = TemplateForm(initial={"kind": kind, "text": template.text if template else "",
                                         "text_en": template.text_en if template else ""},
                                auto_id=f"id_{kind}_%s")
        rows.append({"kind": kind, "label": label, "template": template, "form": form,
                     "required": ["{" + f + "}" for f in REQUIRED_FIELDS.get(kind, ())]})
    return rows


def _rules() -> list[dict[str, Any]]:
    return [{"rule": r, "class": OutageClass(r.outage_class).label if r.outage_class else "",
             "lead": span(r.lead_minutes), "reminder": span(r.reminder_minutes) if r.reminder_minutes else ""}
            for r in NoticeRule.objects.all()]


@login_required
@require_http_methods(["GET", "POST"])
def templates_page(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.OUTAGE_VIEW)
    failed: TemplateForm | None = None
    status = 200
    if request.method == "POST":
        require(request.user, Capability.POLICY_ADMIN)
        form = TemplateForm(request.POST, auto_id=f"id_{request.POST.get('kind', '')}_%s")
        if form.is_valid():
            d = form.cleaned_data
            try:
                services.template_update(actor=request.user, kind=d["kind"], text=d["text"], text_en=d["text_en"])
            except ApplicationError as exc:
                add_service_errors(form, exc)  # a permission refusal re-raises: 403
                status = exc.status_code
            else:
                messages.success(request, _("SMS template “%(kind)s” saved.") % {
                    "kind": MessageKind(d["kind"]).label})
                return redirect("outages:templates")
        else:
            status = 400
        failed = form
    context = {
        "rows": _rows(failed),
        "fields": ["{" + f + "}" for f in sorted(TEMPLATE_FIELDS)],
        "can_edit": has_capability(request.user, Capability.POLICY_ADMIN),
        "rules": _rules(),
        "grouping": GroupingRule.objects.order_by("utility"),
        "failed_kind": failed.data.get("kind", "") if failed is not None else "",
    }
    return render(request, "outages/templates.html", context, status=status)
