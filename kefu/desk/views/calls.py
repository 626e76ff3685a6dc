"""The call log, one call's page, the callback queue and the hotline's extensions.

Reads come from kefu.desk.selectors, writes go through kefu.desk.services. The call log is walked
by keyset on (started_at, id), newest first, like the work-order queues: the thousandth page costs
what the first does, whatever the number of calls. Callers' numbers are masked unless the user's
role may see personal data; every page that shows full numbers is audited.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from kefu.core.errors import ApplicationError, PermissionDeniedError
from kefu.core.models import AuditLog
from kefu.core.services import audit_record
from kefu.core.validators import mask_phone
from kefu.core.web import add_service_errors, client_ip, is_htmx, vary_on_htmx
from kefu.desk import services
from kefu.desk.choices import (
    ActivityKind,
    CallbackOutcome,
    CallbackStatus,
    CallResult,
    CallState,
    EndReason,
    OrderRelation,
)
from kefu.desk.models import Call, CallActivity, CallOrder, CtiEvent, Extension
from kefu.desk.selectors import CallbackItem, call_get, call_log, callback_queue
from kefu.org.choices import ROLE_CAPABILITIES, Capability
from kefu.org.models import OrgUnit, Staff
from kefu.org.scope import for_user, has_capability, require, unit_scope_q
from kefu.org.tables import parse_id
from kefu.workorders.models import WorkOrder
from kefu.workorders.tables import duration
from kefu.workorders.views.common import htmx_target

PAGE_SIZE = 50
CALLS_TABLE = "call-table"
CALLBACK_TABLE = "callback-table"
PAGE_ORDER = ("-started_at", "-id")
DESK_ROLES = sorted(role for role, caps in ROLE_CAPABILITIES.items() if Capability.DESK in caps)
# Digits with the separators people type; at least three digits, so a stray letter is refused.
PHONE_QUERY = re.compile(r"[0-9+\-() ]{3,40}")

STATE_COLOURS: dict[str, str] = {
    CallState.IN_IVR: "info", CallState.RINGING: "warning", CallState.TALKING: "primary",
    CallState.COMPLETED: "success", CallState.SELF_SERVED: "secondary", CallState.MISSED: "danger",
    CallState.ABANDONED: "danger",
}
CALLBACK_COLOURS: dict[str, str] = {
    CallbackStatus.PENDING: "warning", CallbackStatus.CLAIMED: "info", CallbackStatus.DONE: "success",
    CallbackStatus.FAILED: "secondary",
}


# ---- shared helpers ----------------------------------------------------------------------------


def talk_time(seconds: int | None) -> str:
    """mm:ss (minutes keep counting past the hour); a dash when the call has no talk time yet."""
    if seconds is None:
        return "—"
    minutes, secs = divmod(max(int(seconds), 0), 60)
    return f"{minutes:02d}:{secs:02d}"


def caller_shown(call: Call, *, personal: bool) -> str:
    if not call.caller:
        return ""
    if personal:
        return call.caller
    if call.caller_e164:
        return mask_phone(call.caller_e164)
    # Not a valid number (a short code, garbage from the switch): keep only the last digits.
    return f"****{call.caller[-4:]}" if len(call.caller) > 4 else "****"


def _label(choices: Any, value: Any) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


def _may_see_personal(user: Any) -> bool:
    return has_capability(user, Capability.PERSONAL_DATA)


def _audit_numbers(request: HttpRequest, calls: list[Call], *, instance: Call | None = None) -> None:
    """Record that full caller numbers were shown (architecture rule 8)."""
    shown = [c.pk for c in calls if c.caller]
    if shown:
        audit_record(actor=request.user, action=AuditLog.Action.VIEW_PERSONAL, instance=instance,
                     ip=client_ip(request), detail={"fields": ["call.caller"], "calls": shown[:PAGE_SIZE]})


def _style(form: forms.BaseForm) -> None:
    for fld in form.fields.values():
        widget = fld.widget
        css = "form-select form-select-sm" if isinstance(widget, forms.Select) else "form-control form-control-sm"
        widget.attrs["class"] = css
    for name in form.errors:
        if name in form.fields:
            form.fields[name].widget.attrs["class"] += " is-invalid"
            form.fields[name].widget.attrs["aria-invalid"] = "true"


# ---- the call log ------------------------------------------------------------------------------


class DateInput(forms.DateInput):
    input_type = "date"


class AgentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.display_name()} ({obj.username})"


class CallFilterForm(forms.Form):
    state = forms.ChoiceField(label=gettext_lazy("State"), required=False,
                              choices=[("", gettext_lazy("Any state")), *CallState.choices])
    phone = forms.CharField(label=gettext_lazy("Caller number"), required=False, max_length=40)
    agent = AgentChoiceField(label=gettext_lazy("Agent"), required=False, queryset=Staff.objects.none(),
                             empty_label=gettext_lazy("Any agent"))
    since = forms.DateField(label=gettext_lazy("From"), required=False, widget=DateInput)
    until = forms.DateField(label=gettext_lazy("To"), required=False, widget=DateInput)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        agent = self.fields["agent"]
        assert isinstance(agent, forms.ModelChoiceField)
        agent.queryset = (
            Staff.objects.filter(unit_scope_q(user), roles__role__in=DESK_ROLES, is_active=True)
            .distinct().order_by("username")
        )

    def clean_phone(self) -> str:
        phone = str(self.cleaned_data.get("phone") or "").strip()
        if phone and not PHONE_QUERY.fullmatch(phone):
            raise forms.ValidationError(_("Enter at least three digits of the caller's number."))
        return phone

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", _("The end date is before the start date."))
        return data


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def call_page(qs: QuerySet[Call], *, after_id: int | None, limit: int = PAGE_SIZE) -> tuple[list[Call], int | None]:
    """One keyset page, newest first by (started_at, id); the cursor is the page's last call id."""
    if after_id is not None:
        at = Call.objects.filter(pk=after_id).values("started_at")[:1]
        # The first condition bounds the index range; the second drops the cursor's own moment.
        qs = qs.filter(Q(started_at__lt=Subquery(at)) | Q(started_at=Subquery(at), id__lt=after_id),
                       started_at__lte=Subquery(at))
    rows = list(qs.order_by(*PAGE_ORDER)[: limit + 1])
    next_cursor = rows[limit - 1].pk if len(rows) > limit else None
    return rows[:limit], next_cursor


@dataclass
class CallRow:
    call: Call
    caller: str
    talk: str
    state_colour: str
    callback_colour: str
    orders: list[WorkOrder] = field(default_factory=list)


def call_rows(calls: list[Call], *, personal: bool) -> list[CallRow]:
    """Rows with their linked orders: one extra query for the whole page."""
    rows = {c.pk: CallRow(c, caller_shown(c, personal=personal), talk_time(c.duration_seconds),
                          STATE_COLOURS.get(c.state, "secondary"), CALLBACK_COLOURS.get(c.callback_status, ""))
            for c in calls}
    links = CallOrder.objects.filter(call_id__in=list(rows)).select_related("order").order_by("at", "id")
    for link in links:
        row = rows[link.call_id]
        if all(o.pk != link.order_id for o in row.orders):
            row.orders.append(link.order)
    return list(rows.values())


@login_required
@require_http_methods(["GET"])
def call_list(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.DESK)
    form = CallFilterForm(request.GET, user=request.user)
    valid = form.is_valid()
    calls: list[Call] = []
    next_cursor = None
    after = parse_id(request.GET.get("after"))
    if valid:
        data = form.cleaned_data
        agent = data.get("agent")
        qs = call_log(
            request.user, state=data.get("state") or "", phone=data.get("phone") or "",
            agent_id=agent.pk if agent else None,
            since=_day_start(data["since"]) if data.get("since") else None,
            until=_day_start(data["until"] + timedelta(days=1)) if data.get("until") else None,
        )
        calls, next_cursor = call_page(qs, after_id=after, limit=PAGE_SIZE)
    personal = _may_see_personal(request.user)
    if personal:
        _audit_numbers(request, calls)
    _style(form)
    context: dict[str, Any] = {
        "form": form, "rows": call_rows(calls, personal=personal), "next_cursor": next_cursor,
        "is_first": after is None, "table_id": CALLS_TABLE,
    }
    status = 200 if valid else 400
    if htmx_target(request) == CALLS_TABLE:
        return vary_on_htmx(render(request, "desk/_calls_table.html", context, status=status))
    return vary_on_htmx(render(request, "desk/calls.html", context, status=status))


# ---- one call ----------------------------------------------------------------------------------


@dataclass
class Line:
    """An event or activity of the call with its details as label/value pairs."""

    at: datetime
    title: str
    who: str = ""
    text: str = ""
    details: list[tuple[str, str]] = field(default_factory=list)


def _event_line(event: CtiEvent) -> Line:
    data = event.payload or {}
    details: list[tuple[str, str]] = []
    if data.get("extension"):
        details.append((_("Extension"), str(data["extension"])))
    if data.get("ivr_choice"):
        details.append((_("IVR choice"), str(data["ivr_choice"])))
    if data.get("account_number"):
        details.append((_("Account number"), str(data["account_number"])))
    if data.get("reason"):
        details.append((_("End reason"), _label(EndReason, data["reason"])))
    if data.get("duration") is not None:
        details.append((_("Talk time"), talk_time(data["duration"])))
    if data.get("recording"):
        details.append((_("Recording"), str(data["recording"])))
    if data.get("source") == "desk":
        details.append((_("Source"), _("Answered at the desk")))
    details.append((_("Received at"), timezone.localtime(event.received_at).strftime("%Y-%m-%d %H:%M:%S")))
    return Line(event.occurred_at, event.get_kind_display(), details=details)


def _activity_line(activity: CallActivity) -> Line:
    data = activity.data or {}
    details: list[tuple[str, str]] = []
    if activity.kind == ActivityKind.RESULT and data.get("result"):
        details.append((_("Result"), _label(CallResult, data["result"])))
    if activity.kind == ActivityKind.CALLBACK:
        if data.get("outcome"):
            details.append((_("Outcome"), _label(CallbackOutcome, data["outcome"])))
        if data.get("attempt"):
            details.append((_("Attempt"), str(data["attempt"])))
        if data.get("settled_by"):
            details.append((_("Settled with call"), f"#{data['settled_by']}"))
    if activity.kind == ActivityKind.ORDER and data.get("number"):
        details.append((_("Order"), str(data["number"])))
        if data.get("relation"):
            details.append((_("Relation"), _label(OrderRelation, data["relation"])))
    who = activity.actor.display_name() if activity.actor else ""
    return Line(activity.at, activity.get_kind_display(), who=who, text=activity.text, details=details)


@login_required
@require_http_methods(["GET"])
def call_detail(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Capability.DESK)
    call = call_get(request.user, pk)  # 404 when out of scope
    personal = _may_see_personal(request.user)
    if personal:
        _audit_numbers(request, [call], instance=call)
    links = list(call.order_links.select_related("order", "order__order_type", "actor").order_by("at", "id"))
    context = {
        "call": call,
        "caller": caller_shown(call, personal=personal),
        "talk": talk_time(call.duration_seconds),
        "state_colour": STATE_COLOURS.get(call.state, "secondary"),
        "callback_colour": CALLBACK_COLOURS.get(call.callback_status, ""),
        "events": [_event_line(e) for e in call.cti_events.order_by("occurred_at", "id")],
        "activities": [_activity_line(a) for a in call.activities.select_related("actor").order_by("at", "id")],
        "links": links,
        "customer_link": has_capability(request.user, Capability.CUSTOMER_VIEW),
    }
    return render(request, "desk/call_detail.html", context)


# ---- the callback queue ------------------------------------------------------------------------


@dataclass
class CallbackRow:
    item: CallbackItem
    caller: str
    waited: str
    colour: str
    mine: bool  # claimed by the user: they record the outcome or release it
    taken: bool  # claimed by someone else


def callback_rows(request: HttpRequest, items: list[CallbackItem]) -> list[CallbackRow]:
    now = timezone.now()
    personal = _may_see_personal(request.user)
    rows = []
    for item in items:
        call = item.call
        claimed = call.callback_status == CallbackStatus.CLAIMED
        rows.append(CallbackRow(
            item, caller_shown(call, personal=personal), duration(int((now - item.first_at).total_seconds())),
            CALLBACK_COLOURS.get(call.callback_status, "secondary"),
            mine=claimed and call.callback_by_id == request.user.pk,
            taken=claimed and call.callback_by_id != request.user.pk,
        ))
    if personal:
        _audit_numbers(request, [i.call for i in items])
    return rows


def _callback_page(request: HttpRequest, *, notice: tuple[str, str] | None = None, status: int = 200) -> HttpResponse:
    context = {
        "rows": callback_rows(request, callback_queue(request.user)),
        "outcomes": CallbackOutcome.choices, "table_id": CALLBACK_TABLE, "notice": notice,
    }
    if htmx_target(request) == CALLBACK_TABLE:
        return vary_on_htmx(render(request, "desk/_callback_table.html", context, status=status))
    return vary_on_htmx(render(request, "desk/callbacks.html", context, status=status))


@login_required
@require_http_methods(["GET"])
def callback_list(request: HttpRequest) -> HttpResponse:
    require(request.user, Capability.DESK)
    return _callback_page(request)


def _callback_done(request: HttpRequest, *, ok: str = "", error: ApplicationError | None = None) -> HttpResponse:
    """After a callback action: the table again in place (htmx), or back to the queue page."""
    if isinstance(error, PermissionDeniedError):
        raise error  # refused or out of scope: the middleware's 403/404 page
    if is_htmx(request):
        notice = ("danger", str(error.message)) if error else ("success", ok)
        return _callback_page(request, notice=notice, status=error.status_code if error else 200)
    if error is not None:
        messages.error(request, str(error.message))
    else:
        messages.success(request, ok)
    return redirect("desk:callbacks")


@login_required
@require_POST
def callback_claim(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Capability.DESK)
    try:
        call = services.callback_claim(actor=request.user, call_pk=pk)
    except ApplicationError as exc:
        return _callback_done(request, error=exc)
    return _callback_done(request, ok=_("You are calling back %(caller)s.") % {
        "caller": caller_shown(call, personal=_may_see_personal(request.user))})


@login_required
@require_POST
def callback_record(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Capability.DESK)
    # The service checks the outcome and bounds the note, so page and API word refusals alike.
    outcome = str(request.POST.get("outcome", ""))[:20]
    note = str(request.POST.get("note", ""))[:2000]
    try:
        call = services.callback_record(actor=request.user, call_pk=pk, outcome=outcome, note=note)
    except ApplicationError as exc:
        return _callback_done(request, error=exc)
    if call.callback_status == CallbackStatus.DONE:
        ok = _("Callback recorded: the caller was reached.")
    elif call.callback_status == CallbackStatus.FAILED:
        ok = _("Callback recorded: the caller could not be reached and leaves the queue.")
    else:
        ok = _("Callback recorded: no answer. The call waits in the queue for another attempt.")
    return _callback_done(request, ok=ok)


@login_required
@require_POST
def callback_release(request: HttpRequest, pk: int) -> HttpResponse:
    require(request.user, Capability.DESK)
    try:
        services.callback_release(actor=request.user, call_pk=pk)
    except ApplicationError as exc:
        return _callback_done(request, error=exc)
    return _callback_done(request, ok=_("Callback released: another agent may take it."))


# ---- extensions --------------------------------------------------------------------------------


class ExtensionForm(forms.Form):
    number = forms.CharField(label=gettext_lazy("Extension"), max_length=16,
                             widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}))
    unit = forms.ModelChoiceField(label=gettext_lazy("Unit"), queryset=OrgUnit.objects.none())

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        unit = self.fields["unit"]
        assert isinstance(unit, forms.ModelChoiceField)
        unit.queryset = OrgUnit.objects.for_user(user).filter(is_active=True).order_by("path")
        if getattr(user, "unit_id", None):
            self.initial.setdefault("unit", user.unit_id)


def _extension_page(request: HttpRequest, form: ExtensionForm, *, status: int = 200) -> HttpResponse:
    extensions = list(for_user(Extension.objects.select_related("unit", "agent"), request.user).order_by("number"))
    _style(form)
    context = {
        "extensions": extensions, "form": form, "can_manage": services.may_manage_extensions(request.user),
        "signed_in": sum(1 for e in extensions if e.agent_id),
    }
    return render(request, "desk/extensions.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def extension_list(request: HttpRequest) -> HttpResponse:
    """Everyone at the desk sees the extensions; administrators and shift leaders add and remove them."""
    if not services.may_manage_extensions(request.user):
        require(request.user, Capability.DESK)
    if request.method == "GET":
        return _extension_page(request, ExtensionForm(user=request.user))
    if not services.may_manage_extensions(request.user):
        raise PermissionDeniedError(_("Only administrators and shift leaders add or remove extensions."))
    if request.POST.get("action") == "delete":
        number = str(request.POST.get("number", ""))[:16]
        try:
            services.extension_delete(actor=request.user, number=number)
        except ApplicationError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("Extension %(number)s removed.") % {"number": number})
        return redirect("desk:extensions")
    form = ExtensionForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            ext = services.extension_save(actor=request.user, number=form.cleaned_data["number"],
                                          unit=form.cleaned_data["unit"])
        except ApplicationError as exc:
            add_service_errors(form, exc)
            return _extension_page(request, form, status=exc.status_code)
        messages.success(request, _("Extension %(number)s added for %(unit)s.") % {
            "number": ext.number, "unit": ext.unit.name})
        return redirect("desk:extensions")
    return _extension_page(request, form, status=400)
