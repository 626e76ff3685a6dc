"""Shift handover pages: the list, writing a handover, reading and confirming one."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from kefu.core.errors import ApplicationError
from kefu.core.web import add_service_errors
from kefu.org.choices import Capability
from kefu.org.scope import has_capability, require
from kefu.org.tables import parse_id
from kefu.workorders.choices import HandoverStatus
from kefu.workorders.forms.handover import (
    NOTE_PREFIX,
    HandoverConfirmForm,
    HandoverForm,
    ShiftWindowForm,
    default_window,
)
from kefu.workorders.handover import handover_confirm, handover_create
from kefu.workorders.models import HandoverItem, ShiftHandover
from kefu.workorders.selectors import handover_candidates, handover_qs
from kefu.workorders.tables import status_colour
from kefu.workorders.views.common import form_status, go_to, post_data

PAGE_SIZE = 30


def _handover_or_404(request: HttpRequest, pk: int) -> ShiftHandover:
    handover = (
        handover_qs(request.user).select_related("unit", "created_by", "confirmed_by").filter(pk=pk).first()
    )
    if handover is None:
        raise Http404
    return handover


@login_required
@require_http_methods(["GET"])
def handover_list(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.ORDER_VIEW)
    qs = handover_qs(request.user).select_related("unit", "created_by", "confirmed_by").annotate(n=Count("items"))
    pending = request.GET.get("status") == HandoverStatus.PENDING
    if pending:
        qs = qs.filter(status=HandoverStatus.PENDING)
    after = parse_id(request.GET.get("after"))
    if after is not None:
        qs = qs.filter(id__lt=after)
    rows = list(qs.order_by("-id")[: PAGE_SIZE + 1])
    next_cursor = rows[PAGE_SIZE - 1].pk if len(rows) > PAGE_SIZE else None
    context = {
        "rows": rows[:PAGE_SIZE], "next_cursor": next_cursor, "is_first": after is None, "pending": pending,
        "can_write": has_capability(request.user, Capability.HANDOVER),
    }
    return render(request, "workorders/handover_list.html", context)


def _window(request: HttpRequest) -> tuple[Any, Any]:
    """The shift window from the form (POST) or the query (GET); the last eight hours by default."""
    start, end = default_window()
    source = request.POST if request.method == "POST" else request.GET
    window = ShiftWindowForm(source if "shift_start" in source else None, initial={"shift_start": start,
                                                                                   "shift_end": end})
    if window.is_bound and window.is_valid():
        start, end = window.cleaned_data["shift_start"], window.cleaned_data["shift_end"]
    return start, end


@login_required
@require_http_methods(["GET", "POST"])
def handover_new(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.HANDOVER)
    start, end = _window(request)
    orders = handover_candidates(request.user, since=start)
    # "List the orders of this shift" sends the form by GET: keep what was typed so far.
    typed = {k: v[:4000] for k, v in request.GET.items() if k.startswith(NOTE_PREFIX) or k == "summary"}
    form = HandoverForm(post_data(request), orders=orders, initial={"shift_start": start, "shift_end": end, **typed})
    error: ApplicationError | None = None
    if request.method == "POST" and form.is_valid():
        try:
            handover = handover_create(
                actor=request.user, shift_start=form.cleaned_data["shift_start"],
                shift_end=form.cleaned_data["shift_end"], summary=form.cleaned_data["summary"], notes=form.notes(),
            )
        except ApplicationError as exc:
            error = exc
            add_service_errors(form, exc, field_map=HandoverForm.field_for)
        else:
            messages.success(request, _("Handover saved with %(n)d orders. The next shift leader confirms it.") % {
                "n": handover.items.count()})
            return go_to(request, "workorders:handover-detail", handover.pk)
    context = {
        "form": form,
        "rows": [(o, form[f"note_{o.pk}"], status_colour(o.status)) for o in orders],
    }
    return render(request, "workorders/handover_form.html", context, status=form_status(form, error))


def _detail(request: HttpRequest, handover: ShiftHandover, form: HandoverConfirmForm,
            status: int = 200) -> HttpResponse:
    items = list(
        HandoverItem.objects.filter(handover=handover)
        .select_related("order", "order__order_type", "order__handling_unit").order_by("id")
    )
    user = request.user
    can_confirm = (
        handover.status == HandoverStatus.PENDING and has_capability(user, Capability.HANDOVER)
        and handover.created_by_id != user.pk
    )
    context = {
        "handover": handover, "form": form, "can_confirm": can_confirm,
        "rows": [(i, status_colour(i.status_at_handover), status_colour(i.order.status)) for i in items],
    }
    return render(request, "workorders/handover_detail.html", context, status=status)


@login_required
@require_http_methods(["GET"])
def handover_detail(request: HttpRequest, pk: int) -> HttpResponse:
    handover = _handover_or_404(request, pk)
    return _detail(request, handover, HandoverConfirmForm())


@login_required
@require_POST
def handover_accept(request: HttpRequest, pk: int) -> HttpResponse:
    """The incoming shift leader confirms the handover."""
    handover = _handover_or_404(request, pk)
    require(request.user, Capability.HANDOVER)
    form = HandoverConfirmForm(request.POST)
    error: ApplicationError | None = None
    if form.is_valid():
        try:
            handover = handover_confirm(actor=request.user, handover=handover, note=form.cleaned_data["note"])
        except ApplicationError as exc:
            error = exc
            add_service_errors(form, exc)  # a permission refusal re-raises: 403
        else:
            messages.success(request, _("Handover confirmed: the shift is yours."))
            return go_to(request, "workorders:handover-detail", handover.pk)
    handover = _handover_or_404(request, pk)
    return _detail(request, handover, form, status=form_status(form, error))
