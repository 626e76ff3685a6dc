"""Fault proposals: repair calls the grouping placed under one faulted device, waiting for a
dispatcher to confirm them as one fault outage (one click) or to dismiss them with a reason."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from kefu.core.api import parse_id
from kefu.core.errors import ApplicationError, InvalidInput, PermissionDeniedError
from kefu.org.choices import Capability
from kefu.org.scope import require

from .. import grouping, selectors
from ..forms import ProposalConfirmForm, ProposalDismissForm
from ..models import FaultProposal, GroupingRule


def _proposal_or_404(request: HttpRequest, pk: int) -> FaultProposal:
    proposal = grouping.proposal_qs(request.user).filter(pk=parse_id(pk) or 0).first()
    if proposal is None:
        raise Http404
    return proposal


def _page(request: HttpRequest, *, status: int = 200, failed: int | None = None, error: str = "",
          confirm_form: ProposalConfirmForm | None = None,
          dismiss_form: ProposalDismissForm | None = None) -> HttpResponse:
    hours = dict(GroupingRule.objects.values_list("utility", "expected_hours"))
    rows = []
    for proposal in selectors.open_proposals(request.user):
        mine = proposal.pk == failed
        rows.append({
            "proposal": proposal,
            "calls": list(selectors.proposal_calls(proposal).select_related("order__order_type")),
            "confirm": confirm_form if mine and confirm_form is not None else ProposalConfirmForm(
                initial={"version": proposal.version, "expected_hours": hours.get(proposal.utility, 4)},
                auto_id=f"id_confirm_{proposal.pk}_%s"),
            "dismiss": dismiss_form if mine and dismiss_form is not None else ProposalDismissForm(
                initial={"version": proposal.version}, auto_id=f"id_dismiss_{proposal.pk}_%s"),
            "error": error if mine else "",
        })
    context: dict[str, Any] = {"rows": rows, "error": error if failed is not None and not any(
        r["error"] for r in rows) else ""}
    return render(request, "outages/proposals.html", context, status=status)


@login_required
@require_GET
def proposal_list(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.ORDER_DISPATCH)
    return _page(request)


def _message(error: ApplicationError) -> str:
    if isinstance(error, InvalidInput):
        return " ".join(str(m) for msgs in error.errors.values() for m in msgs)
    return str(error.message)


def _form_message(form: Any) -> str:
    return " ".join(str(m) for msgs in form.errors.values() for m in msgs)


@login_required
@require_POST
def proposal_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    """One click: the proposal becomes a published fault outage; go to it."""
    require(request.user, Capability.ORDER_DISPATCH)
    proposal = _proposal_or_404(request, pk)
    form = ProposalConfirmForm(request.POST, auto_id=f"id_confirm_{proposal.pk}_%s")
    if not form.is_valid():
        return _page(request, status=400, failed=proposal.pk, error=_form_message(form), confirm_form=form)
    try:
        outage = grouping.proposal_confirm(actor=request.user, proposal=proposal,
                                           expected_hours=form.cleaned_data["expected_hours"],
                                           expected_version=form.cleaned_data["version"])
    except PermissionDeniedError:
        raise
    except ApplicationError as exc:
        return _page(request, status=exc.status_code, failed=proposal.pk, error=_message(exc), confirm_form=form)
    messages.success(request, _("Fault outage %(number)s published: %(n)d accounts affected, the repair calls are "
                                "linked to it.") % {"number": outage.number, "n": outage.affected_count})
    return redirect("outages:detail", pk=outage.pk)


@login_required
@require_POST
def proposal_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Capability.ORDER_DISPATCH)
    proposal = _proposal_or_404(request, pk)
    form = ProposalDismissForm(request.POST, auto_id=f"id_dismiss_{proposal.pk}_%s")
    if not form.is_valid():
        return _page(request, status=400, failed=proposal.pk, error=_form_message(form), dismiss_form=form)
    try:
        grouping.proposal_dismiss(actor=request.user, proposal=proposal, reason=form.cleaned_data["reason"],
                                  expected_version=form.cleaned_data["version"])
    except PermissionDeniedError:
        raise
    except ApplicationError as exc:
        return _page(request, status=exc.status_code, failed=proposal.pk, error=_message(exc), dismiss_form=form)
    messages.success(request, _("The proposal at %(node)s was dismissed; its calls stay separate repair orders.")
                     % {"node": proposal.node.code})
    return redirect("outages:proposals")
