"""Intake: a new order from the customer card (account known) or from the menu (caller only).

Before saving, the agent sees the open orders that may be the same matter (same customer, premise or
phone, related type, inside the type's duplicate window) and can record the call as a repeat call
on one of them instead. The form carries an idempotency key, so a double submit gives one order.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from kefu.core.errors import ApplicationError
from kefu.core.validators import try_parse_phone
from kefu.core.web import add_service_errors, vary_on_htmx
from kefu.customers.models import Account
from kefu.customers.selectors import account_qs
from kefu.org.choices import Capability
from kefu.org.scope import require
from kefu.org.tables import parse_id
from kefu.workorders.forms.intake import IntakeForm, RepeatCallForm
from kefu.workorders.models import OrderType, WorkOrder
from kefu.workorders.selectors import intake_duplicates
from kefu.workorders.services import workorder_intake, workorder_link_repeat
from kefu.workorders.tables import queue_rows
from kefu.workorders.views.common import form_status, go_to, order_or_404, post_data


def _account(request: HttpRequest, raw: str | None) -> Account | None:
    """The account named in the query or form; one outside the user's area is a 404."""
    if not raw:
        return None
    pk = parse_id(raw)
    account = (
        account_qs(request.user).select_related("customer", "premise").filter(pk=pk).first() if pk else None
    )
    if account is None:
        raise Http404
    return account


def _duplicates(user: Any, *, account: Account | None, phone: str, type_id: Any) -> tuple[list[WorkOrder], str]:
    """Possible duplicates and the caller's phone in E.164 ("" when it does not parse)."""
    parsed = try_parse_phone(phone) if phone else None
    e164 = parsed.e164 if parsed is not None else ""
    pk = parse_id(str(type_id)) if type_id else None
    order_type = OrderType.objects.select_related("parent").filter(pk=pk).first() if pk else None
    if account is None and not e164:
        return [], e164
    found = intake_duplicates(
        user=user, customer_id=account.customer_id if account else None, phone=e164,
        premise_id=account.premise_id if account else None, order_type=order_type,
    )
    return found, e164


@login_required
@require_http_methods(["GET", "POST"])
def create(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.ORDER_INTAKE)
    source = request.POST if request.method == "POST" else request.GET
    account = _account(request, source.get("account"))
    unit = getattr(request.user, "unit", None)
    form = IntakeForm(post_data(request), account=account, user_utility=unit.utility if unit is not None else "",
                      initial={"caller_phone": request.GET.get("phone", "")[:40]})
    error: ApplicationError | None = None
    if request.method == "POST" and form.is_valid():
        try:
            result = workorder_intake(actor=request.user, **form.service_input())
        except ApplicationError as exc:
            error = exc
            add_service_errors(form, exc)
        else:
            order = result.order
            if result.created:
                messages.success(request, _("Order %(number)s accepted.") % {"number": order.number})
            else:
                messages.info(request, _("This request was already saved as order %(number)s.") % {
                    "number": order.number})
            return go_to(request, "workorders:detail", order.pk)
    duplicates, phone = _duplicates(request.user, account=account, phone=form["caller_phone"].value() or "",
                                    type_id=form["order_type"].value())
    context = {
        "form": form, "account": account, "duplicates": queue_rows(duplicates), "dup_phone": phone,
        "intake_key": form["intake_key"].value(), "searched": bool(account or phone),
    }
    return render(request, "workorders/intake.html", context, status=form_status(form, error))


@login_required
@require_http_methods(["GET"])
def duplicates(request: HttpRequest) -> HttpResponse:
    """The duplicates panel of the intake page, refreshed by htmx when the type or phone changes."""
    require(request.user, Capability.ORDER_INTAKE)
    account = _account(request, request.GET.get("account"))
    found, phone = _duplicates(request.user, account=account, phone=request.GET.get("caller_phone", "")[:40],
                               type_id=request.GET.get("order_type"))
    context = {"duplicates": queue_rows(found), "dup_phone": phone, "intake_key": request.GET.get("intake_key", ""),
               "searched": bool(account or phone)}
    return vary_on_htmx(render(request, "workorders/_duplicates.html", context))


@login_required
@require_POST
def link_repeat(request: HttpRequest, pk: int) -> HttpResponse:
    """Record the call as a repeat call on an open order instead of creating a new one."""
    order = order_or_404(request, pk)
    form = RepeatCallForm(request.POST)
    data = form.cleaned_data if form.is_valid() else {}
    updated = workorder_link_repeat(
        actor=request.user, order=order, caller_phone=data.get("caller_phone", ""), note=data.get("note", ""),
        intake_key=data.get("intake_key") or None,
    )
    messages.success(request, _("Repeat call recorded on order %(number)s (%(n)d repeat calls).") % {
        "number": updated.number, "n": updated.repeat_count})
    return go_to(request, "workorders:detail", updated.pk)
