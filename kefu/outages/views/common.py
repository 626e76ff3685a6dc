"""What the outage views share: which actions a user may take on an outage, how an event reads on
the timeline, and the status codes of refused forms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.utils.translation import gettext as _

from kefu.core.errors import ApplicationError
from kefu.org.choices import Capability
from kefu.org.scope import has_capability

from ..choices import STATUS_COLOURS, TRANSITIONS, Action, Status
from ..forms import ACTION_FORMS
from ..models import Outage, OutageEvent
from ..notices import local_text
from ..services import parse_when

A = Action

# The capability each action needs (the service checks it again).
ACTION_CAPABILITY: dict[str, str] = {
    A.REVIEW: Capability.OUTAGE_PUBLISH, A.RETURN: Capability.OUTAGE_PUBLISH, A.PUBLISH: Capability.OUTAGE_PUBLISH,
    A.EXTEND: Capability.OUTAGE_EDIT, A.CHANGE: Capability.OUTAGE_EDIT, A.CANCEL: Capability.OUTAGE_EDIT,
    A.RESTORE: Capability.OUTAGE_EDIT,
}
ACTION_STYLE: dict[str, str] = {
    A.REVIEW: "primary", A.RETURN: "outline-warning", A.PUBLISH: "danger", A.EXTEND: "outline-warning",
    A.CHANGE: "outline-secondary", A.CANCEL: "outline-dark", A.RESTORE: "success",
}
ACTION_ICON: dict[str, str] = {
    A.REVIEW: "check2-circle", A.RETURN: "arrow-return-left", A.PUBLISH: "megaphone", A.EXTEND: "hourglass-split",
    A.CHANGE: "calendar-event", A.CANCEL: "x-circle", A.RESTORE: "lightning-charge",
}


def allowed_actions(user: Any, outage: Outage) -> list[str]:
    """The actions the outage's status allows and the user's roles permit, in workflow order."""
    return [a for a in ACTION_FORMS
            if outage.status in TRANSITIONS[a][0] and has_capability(user, ACTION_CAPABILITY[a])]


def status_colour(status: str) -> str:
    return STATUS_COLOURS.get(status, "secondary")


def form_status(form: forms.BaseForm, error: ApplicationError | None = None) -> int:
    """400 for bad input, 409 for a conflict or a refused move, 200 for a fresh form."""
    if error is not None:
        return error.status_code
    return 400 if form.is_bound and form.errors else 200


def post_data(request: Any) -> Any:
    # Bind on any POST, even an empty one, so that missing fields are reported.
    return request.POST if request.method == "POST" else None


def _label(choices: Any, value: str) -> str:
    return str(choices(value).label) if value in choices.values else value


@dataclass(frozen=True)
class EventRow:
    event: OutageEvent
    kind: str
    from_status: str
    to_status: str
    to_colour: str
    details: list[str]


def _details(event: OutageEvent) -> list[str]:
    data: dict[str, Any] = event.data or {}
    out: list[str] = []
    if "affected" in data:
        out.append(_("%(n)s affected accounts (%(important)s important, %(dedicated)s dedicated)") % {
            "n": data["affected"], "important": data.get("important", 0), "dedicated": data.get("dedicated", 0)})
    if data.get("changed"):
        out.append(_("Changed: %(fields)s") % {"fields": ", ".join(sorted(data["changed"]))})
    if "start" in data and "end" in data:
        out.append(_("New times: %(start)s – %(end)s") % {"start": _when(data["start"]), "end": _when(data["end"])})
    if data.get("actual_end"):
        out.append(_("Restored at %(when)s") % {"when": _when(data["actual_end"])})
    if data.get("sms"):
        out.append(_("%(n)s SMS queued") % {"n": data["sms"]})
    if data.get("reminders"):
        out.append(_("%(n)s reminders queued") % {"n": data["reminders"]})
    if data.get("withdrawn"):
        out.append(_("%(n)s reminders withdrawn") % {"n": data["withdrawn"]})
    if data.get("resolved_orders"):
        out.append(_("%(n)s repair orders resolved") % {"n": data["resolved_orders"]})
    if data.get("calls"):
        out.append(_("%(n)s repair calls grouped") % {"n": data["calls"]})
    if data.get("override"):
        # The publish event carries the override reason as its text already.
        out.append(_("Notice rule overridden") if data["override"] == event.text else
                   _("Notice rule overridden: %(reason)s") % {"reason": data["override"]})
    return out


def _when(value: Any) -> str:
    return local_text(parse_when(value)) if value else ""


def event_rows(events: Any) -> list[EventRow]:
    return [EventRow(event=e, kind=_label(Action, e.kind), from_status=_label(Status, e.from_status),
                     to_status=_label(Status, e.to_status), to_colour=status_colour(e.to_status),
                     details=_details(e)) for e in events]
