"""The order page and its actions.

The page offers only what ``rules.allowed_actions`` allows. Each action is a small form (loaded into
the page by htmx, or a page of its own without JS) that posts the order's version; the view calls
exactly one service. A stale version comes back as the conflict message with a reload link, a refused
move as its reason; nothing is changed in either case.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from kefu.core.errors import ApplicationError, Conflict, IllegalTransition, PermissionDeniedError
from kefu.core.models import AuditLog
from kefu.core.services import audit_record
from kefu.core.validators import try_parse_phone
from kefu.core.web import add_service_errors, client_ip, is_htmx, vary_on_htmx
from kefu.org.choices import Capability
from kefu.org.scope import has_capability, require, unit_in_scope
from kefu.workorders import rules, services
from kefu.workorders.choices import Action, Status
from kefu.workorders.forms.actions import ACTION_FORMS, ACTION_HELP, ActionForm
from kefu.workorders.models import WorkOrder
from kefu.workorders.selectors import workorder_detail
from kefu.workorders.tables import clock_rows, event_rows, masked, message_rows, status_colour, time_colour
from kefu.workorders.views.common import go_to, order_or_404

Runner = Callable[[Any, WorkOrder, dict[str, Any]], WorkOrder]
A = Action
S = services

# One service per action; ``d`` is the form's cleaned data (always with the version the page showed).
RUNNERS: dict[str, Runner] = {
    A.DISPATCH: lambda u, o, d: S.workorder_dispatch(actor=u, order=o, unit=d["unit"], note=d["note"],
                                                     expected_version=d["version"]),
    A.ACKNOWLEDGE: lambda u, o, d: S.workorder_acknowledge(actor=u, order=o, expected_version=d["version"]),
    A.RETURN: lambda u, o, d: S.workorder_return(actor=u, order=o, reason=d["reason"],
                                                 expected_version=d["version"]),
    A.TRANSFER: lambda u, o, d: S.workorder_transfer(actor=u, order=o, unit=d["unit"], reason=d["reason"],
                                                     expected_version=d["version"]),
    A.CONTACT: lambda u, o, d: S.workorder_contact(actor=u, order=o, note=d["note"], expected_version=d["version"]),
    A.ARRIVE: lambda u, o, d: S.workorder_arrive(actor=u, order=o, note=d["note"], expected_version=d["version"]),
    A.HANDLE: lambda u, o, d: S.workorder_handle(actor=u, order=o, result=d["result"],
                                                 expected_version=d["version"]),
    A.SUSPEND: lambda u, o, d: S.workorder_suspend(actor=u, order=o, reason=d["reason"],
                                                   expected_version=d["version"]),
    A.RESUME: lambda u, o, d: S.workorder_resume(actor=u, order=o, note=d["note"], expected_version=d["version"]),
    A.REPLY: lambda u, o, d: S.workorder_reply(actor=u, order=o, reply=d["reply"], expected_version=d["version"]),
    A.CALLBACK: lambda u, o, d: S.workorder_callback(actor=u, order=o, satisfaction=d["satisfaction"],
                                                     note=d["note"], expected_version=d["version"]),
    A.REOPEN: lambda u, o, d: S.workorder_reopen(actor=u, order=o, reason=d["reason"],
                                                 expected_version=d["version"]),
    A.ARCHIVE: lambda u, o, d: S.workorder_archive(actor=u, order=o, expected_version=d["version"]),
    A.CANCEL: lambda u, o, d: S.workorder_cancel(actor=u, order=o, reason=d["reason"], note=d["note"],
                                                 expected_version=d["version"]),
    A.URGE: lambda u, o, d: S.workorder_urge(actor=u, order=o, reason=d["reason"], expected_version=d["version"]),
    A.SUPERVISE: lambda u, o, d: S.workorder_supervise(actor=u, order=o, deadline=d["deadline"],
                                                       reason=d["reason"], expected_version=d["version"]),
    A.MERGE: lambda u, o, d: S.workorder_merge(actor=u, order=o, into=d["into"], note=d["note"],
                                               expected_version=d["version"]),
    A.NOTE: lambda u, o, d: S.workorder_note(actor=u, order=o, text=d["text"], expected_version=d["version"]),
}

MAIN_FLOW = frozenset({A.DISPATCH, A.ACKNOWLEDGE, A.ARRIVE, A.HANDLE, A.REPLY, A.CALLBACK, A.ARCHIVE})
ACTION_ICONS: dict[str, str] = {
    A.DISPATCH: "send", A.ACKNOWLEDGE: "check2-circle", A.RETURN: "arrow-return-left", A.TRANSFER: "arrow-left-right",
    A.CONTACT: "telephone-outbound", A.ARRIVE: "geo-alt", A.HANDLE: "tools", A.SUSPEND: "pause-circle",
    A.RESUME: "play-circle", A.REPLY: "chat-left-text", A.CALLBACK: "telephone", A.REOPEN: "arrow-counterclockwise",
    A.ARCHIVE: "archive", A.CANCEL: "x-circle", A.URGE: "alarm", A.SUPERVISE: "eye", A.MERGE: "union",
    A.NOTE: "pencil",
}


@dataclass(frozen=True)
class ActionButton:
    action: str
    label: str
    icon: str
    style: str


def _button(action: str) -> ActionButton:
    if action in MAIN_FLOW:
        style = "primary"
    elif action == A.CANCEL:
        style = "outline-danger"
    elif action in (A.URGE, A.RETURN, A.SUSPEND):
        style = "outline-warning"
    else:
        style = "outline-secondary"
    return ActionButton(action, str(Action(action).label), ACTION_ICONS.get(action, "dot"), style)


def _phone_national(phone: str) -> str:
    parsed = try_parse_phone(phone) if phone else None
    return parsed.national if parsed is not None else phone


def _detail_context(request: HttpRequest, order: WorkOrder, *, revealed: bool = False) -> dict[str, Any]:
    detail = workorder_detail(request.user, order)
    return {
        "order": order,
        "detail": detail,
        "status_colour": status_colour(order.status),
        "time_colour": time_colour(order.time_state),
        "events": event_rows(detail.events),
        "clocks": clock_rows(detail.clocks),
        "outbox": message_rows(detail.messages, detail.events),
        "buttons": [_button(a) for a in detail.actions],
        "phone": _phone_national(order.caller_phone) if revealed else masked(order.caller_phone),
        "revealed": revealed,
        "can_reveal": bool(order.caller_phone) and has_capability(request.user, Capability.PERSONAL_DATA),
        "closed": not order.is_open,
        # The customer card lives in the account's area; a station handling the order may not see it.
        "customer_link": order.customer_id is not None and has_capability(request.user, Capability.CUSTOMER_VIEW)
        and unit_in_scope(request.user, order.unit),
    }


@login_required
@require_http_methods(["GET"])
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    order = order_or_404(request, pk)
    return render(request, "workorders/detail.html", _detail_context(request, order))


@never_cache
@login_required
@require_POST
def reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """The caller's full phone number, for roles that may see it; every reveal is audited."""
    order = order_or_404(request, pk)
    require(request.user, Capability.PERSONAL_DATA)
    audit_record(actor=request.user, action=AuditLog.Action.VIEW_PERSONAL, instance=order, ip=client_ip(request),
                 detail={"fields": ["caller_phone"]})
    context = _detail_context(request, order, revealed=True)
    if is_htmx(request):
        return vary_on_htmx(render(request, "workorders/_caller_phone.html", context))
    return vary_on_htmx(render(request, "workorders/detail.html", context))


def _success_text(action: str, order: WorkOrder) -> str:
    return _("%(action)s: done. Order %(number)s is now “%(status)s”.") % {
        "action": Action(action).label, "number": order.number, "status": Status(order.status).label}


@login_required
@require_http_methods(["GET", "POST"])
def act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """GET: the action's form (a fragment for htmx, a page without). POST: run the action."""
    form_class = ACTION_FORMS.get(action)
    if form_class is None:
        raise Http404
    order = order_or_404(request, pk)
    refused = rules.refusal(request.user, order, action)
    if refused is not None and refused[0] == "role":
        raise PermissionDeniedError(refused[1])
    error: ApplicationError | None = None
    form: ActionForm
    if request.method == "GET":
        if refused is not None:
            raise IllegalTransition(refused[1])
        form = form_class(order=order, user=request.user)
    else:
        form = form_class(request.POST, order=order, user=request.user)
        if form.is_valid():
            try:
                updated = RUNNERS[action](request.user, order, form.cleaned_data)
            except ApplicationError as exc:
                error = exc
                add_service_errors(form, exc)  # a permission refusal re-raises: 403
            else:
                messages.success(request, _success_text(action, updated))
                return go_to(request, "workorders:detail", order.pk)
    context = {
        "order": order, "form": form, "action": action, "button": _button(action), "help": ACTION_HELP.get(action),
        "conflict": isinstance(error, Conflict), "status_colour": status_colour(order.status),
    }
    status = 200 if request.method == "GET" else (error.status_code if error is not None else 400)
    template = "workorders/_action_form.html" if is_htmx(request) else "workorders/action.html"
    return vary_on_htmx(render(request, template, context, status=status))
