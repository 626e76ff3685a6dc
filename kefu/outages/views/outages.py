"""The outage list, the draft form, one outage with its timeline, affected accounts and actions.

Outages come through the scoped selectors (out of scope → 404); every write is one service call whose
refusal is shown on the page: field messages beside the fields, a stale version as a conflict with a
reload link, a broken notice rule with the rules it breaks, never a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kefu.core.choices import UtilityKind
from kefu.core.errors import ApplicationError, Conflict, IllegalTransition, InvalidInput, PermissionDeniedError
from kefu.core.web import add_service_errors, is_htmx, vary_on_htmx
from kefu.grid.selectors import node_qs
from kefu.org.choices import Capability
from kefu.org.scope import has_capability, require

from .. import notices, selectors, services
from ..choices import EDITABLE, MARKETING_CLASSES, Action, OutageClass, Status
from ..forms import ACTION_FORMS, ActionForm, OutageFilterForm, OutageForm
from ..models import Outage
from .common import (
    ACTION_CAPABILITY,
    ACTION_ICON,
    ACTION_STYLE,
    allowed_actions,
    event_rows,
    form_status,
    post_data,
    status_colour,
)

PAGE_SIZE = 25
AFFECTED_PAGE_SIZE = 25
NODE_HITS = 20
A = Action
S = services

Runner = Callable[[Any, Outage, dict[str, Any]], Outage]
# One service per action; ``d`` is the form's cleaned data (always with the version the page showed).
RUNNERS: dict[str, Runner] = {
    A.REVIEW: lambda u, o, d: S.outage_review(actor=u, outage=o, note=d["note"], expected_version=d["version"]),
    A.RETURN: lambda u, o, d: S.outage_return(actor=u, outage=o, reason=d["reason"],
                                              expected_version=d["version"]),
    A.PUBLISH: lambda u, o, d: S.outage_publish(actor=u, outage=o, override_reason=d.get("override_reason", ""),
                                                expected_version=d["version"]),
    A.EXTEND: lambda u, o, d: S.outage_extend(actor=u, outage=o, planned_end=d["planned_end"], reason=d["reason"],
                                              override_reason=d.get("override_reason", ""),
                                              expected_version=d["version"]),
    A.CHANGE: lambda u, o, d: S.outage_change(actor=u, outage=o, planned_start=d["planned_start"],
                                              planned_end=d["planned_end"], reason=d["reason"],
                                              override_reason=d.get("override_reason", ""),
                                              expected_version=d["version"]),
    A.CANCEL: lambda u, o, d: S.outage_cancel(actor=u, outage=o, reason=d["reason"], expected_version=d["version"]),
    A.RESTORE: lambda u, o, d: S.outage_restore(actor=u, outage=o, actual_start=d["actual_start"],
                                                actual_end=d["actual_end"], note=d["note"],
                                                expected_version=d["version"]),
}
# Button texts say what the click does.
BUTTON_TEXT: dict[str, Callable[[], str]] = {
    A.REVIEW: lambda: _("Mark as reviewed"), A.RETURN: lambda: _("Return to draft"),
    A.PUBLISH: lambda: _("Publish now"), A.EXTEND: lambda: _("Extend the outage"),
    A.CHANGE: lambda: _("Change the times"), A.CANCEL: lambda: _("Cancel the outage"),
    A.RESTORE: lambda: _("Record restoration"),
}


# List ---------------------------------------------------------------------------------------------

@login_required
@require_GET
def outage_list(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.OUTAGE_VIEW)
    form = OutageFilterForm(request.GET or None)
    filters = form.filters()
    page = Paginator(selectors.outage_list(request.user, filters), PAGE_SIZE).get_page(request.GET.get("page"))
    kept = [(k, str(v)) for k, v in request.GET.items() if k != "page" and v]
    context = {
        "form": form,
        "page": page,
        "rows": [(o, status_colour(o.status)) for o in page.object_list],
        "query": urlencode(kept),
        "can_edit": has_capability(request.user, Capability.OUTAGE_EDIT),
        "can_dispatch": has_capability(request.user, Capability.ORDER_DISPATCH),
    }
    return render(request, "outages/list.html", context, status=400 if form.is_bound and form.errors else 200)


# Draft form ---------------------------------------------------------------------------------------

def _form_page(request: HttpRequest, form: OutageForm, outage: Outage | None, *, status: int,
               conflict: bool = False) -> HttpResponse:
    context = {"form": form, "outage": outage, "conflict": conflict,
               "marketing_classes": sorted(MARKETING_CLASSES), "utilities": UtilityKind.choices}
    return render(request, "outages/form.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def outage_create(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.OUTAGE_EDIT)
    form = OutageForm(post_data(request))
    error: ApplicationError | None = None
    if request.method == "POST" and form.is_valid():
        try:
            outage = services.outage_create(actor=request.user, data=form.service_data())
        except ApplicationError as exc:
            error = exc
            add_service_errors(form, exc)  # a permission refusal re-raises: 403
        else:
            messages.success(request, _("Draft outage %(number)s saved: %(n)d accounts affected. Have it reviewed "
                                        "before it is published.") % {"number": outage.number,
                                                                       "n": outage.affected_count})
            return redirect("outages:detail", pk=outage.pk)
    return _form_page(request, form, None, status=form_status(form, error))


@login_required
@require_http_methods(["GET", "POST"])
def outage_edit(request: HttpRequest, pk: int) -> HttpResponse:
    outage = selectors.outage_get(request.user, pk)
    require(request.user, Capability.OUTAGE_EDIT)
    if outage.status not in EDITABLE:
        raise IllegalTransition(_("Only a draft can be edited; outage %(number)s is “%(status)s”.") % {
            "number": outage.number, "status": Status(outage.status).label})
    form = OutageForm(post_data(request), outage=outage)
    form.fields["version"].required = True
    error: ApplicationError | None = None
    if request.method == "POST" and form.is_valid():
        try:
            services.outage_update(actor=request.user, outage=outage, data=form.service_data(),
                                   expected_version=form.cleaned_data["version"])
        except ApplicationError as exc:
            error = exc
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Draft outage %(number)s saved.") % {"number": outage.number})
            return redirect("outages:detail", pk=outage.pk)
    return _form_page(request, form, outage, status=form_status(form, error), conflict=isinstance(error, Conflict))


@login_required
@require_GET
def node_search(request: HttpRequest) -> HttpResponse:
    """The draft form's helper: topology nodes in the user's area by code or name (htmx partial)."""
    query = (request.GET.get("q") or "").strip()[:100]
    utility = request.GET.get("utility") or ""
    hits: list[Any] = []
    if query:
        qs = node_qs(request.user).filter(Q(code__icontains=query) | Q(name__icontains=query))
        if utility in UtilityKind.values:
            qs = qs.filter(utility=utility)
        hits = list(qs.select_related("unit").order_by("code")[:NODE_HITS])
    return vary_on_htmx(render(request, "outages/_node_hits.html", {"hits": hits, "query": query}))


# One outage ---------------------------------------------------------------------------------------

def _action_panels(request: HttpRequest, outage: Outage, *, failed: str = "",
                   failed_form: ActionForm | None = None) -> list[dict[str, Any]]:
    overrider = services.can_override(request.user)
    panels = []
    for action in allowed_actions(request.user, outage):
        if action == failed and failed_form is not None:
            form = failed_form
        else:
            form = ACTION_FORMS[action](outage=outage, overrider=overrider)
        panels.append({"action": action, "label": str(Action(action).label), "button": BUTTON_TEXT[action](),
                       "style": ACTION_STYLE[action], "icon": ACTION_ICON[action], "form": form,
                       "open": action == failed})
    return panels


def _detail_context(request: HttpRequest, outage: Outage, **failure: Any) -> dict[str, Any]:
    affected = Paginator(selectors.affected_accounts(outage), AFFECTED_PAGE_SIZE).get_page(1)
    panels = _action_panels(request, outage, failed=failure.get("failed", ""),
                            failed_form=failure.get("failed_form"))
    # Publishing now would break these rules: say so before the click.
    warnings = [b.message for b in notices.notice_breaches(outage, now=timezone.now())] if any(
        p["action"] == A.PUBLISH for p in panels) else []
    return {
        "outage": outage,
        "status_colour": status_colour(outage.status),
        "marketing": outage.outage_class in MARKETING_CLASSES,
        "class_label": OutageClass(outage.outage_class).label,
        "nodes": outage.scope_nodes.select_related("node", "node__unit").order_by("node__code"),
        "listed": outage.listed_accounts.select_related("account").order_by("account__number"),
        "events": event_rows(selectors.outage_events(outage)),
        "calls": selectors.linked_calls(outage).select_related("order__order_type"),
        "page": affected,
        "panels": panels,
        "publish_warnings": warnings,
        "can_edit": outage.status in EDITABLE and has_capability(request.user, Capability.OUTAGE_EDIT),
        "can_override": services.can_override(request.user),
        "error": failure.get("error"),
        "error_rules": failure.get("rules", []),
        "conflict": failure.get("conflict", False),
        "failed_label": str(Action(failure["failed"]).label) if failure.get("failed") else "",
    }


@login_required
@require_GET
def outage_detail(request: HttpRequest, pk: int) -> HttpResponse:
    outage = selectors.outage_get(request.user, pk)
    return render(request, "outages/detail.html", _detail_context(request, outage))


@login_required
@require_GET
def outage_affected(request: HttpRequest, pk: int) -> HttpResponse:
    """The affected accounts, one page at a time (the htmx partial behind the pager)."""
    outage = selectors.outage_get(request.user, pk)
    page = Paginator(selectors.affected_accounts(outage), AFFECTED_PAGE_SIZE).get_page(request.GET.get("page"))
    template = "outages/_affected.html" if is_htmx(request) else "outages/affected.html"
    return vary_on_htmx(render(request, template, {"outage": outage, "page": page}))


def _error_text(error: ApplicationError) -> str:
    if isinstance(error, InvalidInput):
        return " ".join(str(m) for msgs in error.errors.values() for m in msgs)
    return str(error.message)


@login_required
@require_POST
def outage_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Run one action on the outage; a refusal comes back on the outage page with its reason."""
    form_class = ACTION_FORMS.get(action)
    if form_class is None:
        raise Http404
    outage = selectors.outage_get(request.user, pk)
    require(request.user, ACTION_CAPABILITY[action])
    form = form_class(request.POST, outage=outage, overrider=services.can_override(request.user))
    error: ApplicationError | None = None
    if form.is_valid():
        try:
            updated = RUNNERS[action](request.user, outage, form.cleaned_data)
        except PermissionDeniedError:
            raise  # 403 / 404 pages from the middleware
        except ApplicationError as exc:
            error = exc
            add_service_errors(form, exc)
        else:
            messages.success(request, _("%(action)s: done. Outage %(number)s is now “%(status)s”.") % {
                "action": Action(action).label, "number": updated.number, "status": Status(updated.status).label})
            return redirect("outages:detail", pk=outage.pk)
    if error is None:
        error = InvalidInput({k: [str(m) for m in v] for k, v in form.errors.items()})
    outage = selectors.outage_get(request.user, pk)  # as it is now
    context = _detail_context(request, outage, failed=action, failed_form=form, error=_error_text(error),
                              rules=error.extra.get("rules", []), conflict=isinstance(error, Conflict))
    return render(request, "outages/detail.html", context, status=error.status_code)
