"""Work-order statuses, actions and the transition table; channels; clocks; time-limit states."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kefu.org.choices import Capability


class Channel(models.TextChoices):
    PHONE = "phone", _("Phone (agent)")
    IVR = "ivr", _("IVR self-service")
    WEBSITE = "website", _("Website")
    APP = "app", _("Mobile app")
    WECHAT = "wechat", _("WeChat")
    SMS = "sms", _("SMS")
    EMAIL = "email", _("E-mail")
    FAX = "fax", _("Fax")
    COUNTER = "counter", _("Service counter")
    GOV_12345 = "12345", _("12345 government hotline")
    REG_12398 = "12398", _("12398 regulator hotline")
    # Staff on their rounds (meter readers): hazards and suspected theft they note become orders.
    FIELD = "field", _("Field staff report")


class Status(models.TextChoices):
    ACCEPTED = "accepted", _("Accepted")
    RETURNED = "returned", _("Returned to dispatcher")
    DISPATCHED = "dispatched", _("Dispatched")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    ON_SITE = "on_site", _("On site")
    SUSPENDED = "suspended", pgettext_lazy("work order", "Suspended")
    HANDLED = "handled", _("Handled")
    REPLIED = "replied", _("Replied")
    CALLED_BACK = "called_back", _("Called back")
    ARCHIVED = "archived", _("Archived")
    CANCELLED = "cancelled", _("Cancelled")
    MERGED = "merged", _("Merged")


S = Status
CLOSED_STATUSES = frozenset({S.ARCHIVED, S.CANCELLED, S.MERGED})
OPEN_STATUSES = frozenset(set(Status) - CLOSED_STATUSES)
# Before the result is recorded: the order can still be merged, cancelled, transferred.
PRE_RESULT = frozenset({S.ACCEPTED, S.RETURNED, S.DISPATCHED, S.ACKNOWLEDGED, S.ON_SITE, S.SUSPENDED})
TO_DISPATCH = frozenset({S.ACCEPTED, S.RETURNED})
AT_UNIT = frozenset({S.DISPATCHED, S.ACKNOWLEDGED, S.ON_SITE, S.SUSPENDED})

STATUS_COLOURS: dict[str, str] = {
    S.ACCEPTED: "primary", S.RETURNED: "warning", S.DISPATCHED: "info", S.ACKNOWLEDGED: "info",
    S.ON_SITE: "info", S.SUSPENDED: "secondary", S.HANDLED: "success", S.REPLIED: "success",
    S.CALLED_BACK: "success", S.ARCHIVED: "dark", S.CANCELLED: "secondary", S.MERGED: "secondary",
}


class Action(models.TextChoices):
    """Every user action on an order. Transitions change the status; the others only record."""

    DISPATCH = "dispatch", _("Dispatch")
    ACKNOWLEDGE = "acknowledge", _("Acknowledge")
    RETURN = "return", _("Return to dispatcher")
    TRANSFER = "transfer", _("Transfer to another unit")
    CONTACT = "contact", _("Record first contact")
    ARRIVE = "arrive", _("Record arrival on site")
    HANDLE = "handle", _("Record result")
    SUSPEND = "suspend", _("Suspend")
    RESUME = "resume", _("Resume")
    REPLY = "reply", _("Reply to customer")
    CALLBACK = "callback", _("Record callback")
    REOPEN = "reopen", _("Reopen")
    ARCHIVE = "archive", _("Archive")
    CANCEL = "cancel", _("Cancel the order")
    URGE = "urge", _("Urge")
    SUPERVISE = "supervise", _("Supervise")
    MERGE = "merge", _("Merge into another order")
    NOTE = "note", _("Add a note")


A = Action
# action -> (statuses it may start from, status it leads to; None = status unchanged).
# RESUME goes back to the status the order was suspended from; REOPEN goes back to ACCEPTED instead of
# DISPATCHED when the order never had a handling unit (answered on the call).
TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    A.DISPATCH: (TO_DISPATCH, S.DISPATCHED),
    A.ACKNOWLEDGE: (frozenset({S.DISPATCHED}), S.ACKNOWLEDGED),
    A.RETURN: (frozenset({S.DISPATCHED, S.ACKNOWLEDGED}), S.RETURNED),
    A.TRANSFER: (frozenset({S.DISPATCHED, S.ACKNOWLEDGED}), S.DISPATCHED),
    A.CONTACT: (frozenset({S.ACKNOWLEDGED, S.ON_SITE}), None),
    A.ARRIVE: (frozenset({S.ACKNOWLEDGED}), S.ON_SITE),
    # An agent may answer an enquiry at once (first-contact resolution) straight from ACCEPTED.
    A.HANDLE: (frozenset({S.ACCEPTED, S.ACKNOWLEDGED, S.ON_SITE}), S.HANDLED),
    A.SUSPEND: (frozenset({S.DISPATCHED, S.ACKNOWLEDGED, S.ON_SITE}), S.SUSPENDED),
    A.RESUME: (frozenset({S.SUSPENDED}), None),
    A.REPLY: (frozenset({S.HANDLED}), S.REPLIED),
    A.CALLBACK: (frozenset({S.REPLIED}), S.CALLED_BACK),
    A.REOPEN: (frozenset({S.CALLED_BACK}), S.DISPATCHED),
    A.ARCHIVE: (frozenset({S.CALLED_BACK, S.REPLIED}), S.ARCHIVED),
    A.CANCEL: (frozenset({S.ACCEPTED, S.RETURNED, S.DISPATCHED, S.ACKNOWLEDGED, S.SUSPENDED}), S.CANCELLED),
    A.URGE: (frozenset({S.DISPATCHED, S.ACKNOWLEDGED, S.ON_SITE, S.SUSPENDED, S.RETURNED, S.ACCEPTED}), None),
    A.SUPERVISE: (OPEN_STATUSES, None),
    A.MERGE: (PRE_RESULT, S.MERGED),
    A.NOTE: (frozenset(Status), None),
}

# Who may take each action (inside their scope). Handling-unit actions also need the order to be
# at the user's unit (services check that).
ACTION_CAPABILITY: dict[str, str] = {
    A.DISPATCH: Capability.ORDER_DISPATCH,
    A.ACKNOWLEDGE: Capability.ORDER_HANDLE,
    A.RETURN: Capability.ORDER_HANDLE,
    A.TRANSFER: Capability.ORDER_DISPATCH,
    A.CONTACT: Capability.ORDER_HANDLE,
    A.ARRIVE: Capability.ORDER_HANDLE,
    A.HANDLE: Capability.ORDER_HANDLE,
    A.SUSPEND: Capability.ORDER_HANDLE,
    A.RESUME: Capability.ORDER_HANDLE,
    A.REPLY: Capability.ORDER_REPLY,
    A.CALLBACK: Capability.ORDER_REPLY,
    A.REOPEN: Capability.ORDER_REPLY,
    A.ARCHIVE: Capability.ORDER_REPLY,
    A.CANCEL: Capability.ORDER_DISPATCH,
    A.URGE: Capability.ORDER_INTAKE,
    A.SUPERVISE: Capability.ORDER_SUPERVISE,
    A.MERGE: Capability.ORDER_DISPATCH,
    A.NOTE: Capability.ORDER_VIEW,
}
# Handling-unit actions: the order must be dispatched to a unit within the actor's scope.
HANDLING_ACTIONS = frozenset({A.ACKNOWLEDGE, A.RETURN, A.CONTACT, A.ARRIVE, A.SUSPEND, A.RESUME})
# An agent may record the result of an order that was never dispatched (answered on the call).
REASON_REQUIRED = frozenset({A.RETURN, A.TRANSFER, A.SUSPEND, A.CANCEL, A.REOPEN, A.URGE, A.SUPERVISE})


class EventKind(models.TextChoices):
    ACCEPTED = "accepted", _("Accepted")
    REPEAT_CALL = "repeat_call", _("Repeat call")
    MERGED_IN = "merged_in", _("Order merged in")
    WARNING = "warning", _("Time-limit warning")
    OVERDUE = "overdue", _("Overdue")
    # One kind per action, same code.
    DISPATCH = "dispatch", _("Dispatched")
    ACKNOWLEDGE = "acknowledge", _("Acknowledged")
    RETURN = "return", _("Returned to dispatcher")
    TRANSFER = "transfer", _("Transferred")
    CONTACT = "contact", _("First contact")
    ARRIVE = "arrive", _("Arrived on site")
    HANDLE = "handle", _("Result recorded")
    SUSPEND = "suspend", pgettext_lazy("work order", "Suspended")
    RESUME = "resume", _("Resumed")
    REPLY = "reply", _("Replied to customer")
    CALLBACK = "callback", _("Called back")
    REOPEN = "reopen", _("Reopened")
    ARCHIVE = "archive", _("Archived")
    CANCEL = "cancel", _("Cancelled")
    URGE = "urge", _("Urged")
    SUPERVISE = "supervise", _("Supervised")
    MERGE = "merge", _("Merged")
    NOTE = "note", _("Note")


class CancelReason(models.TextChoices):
    DUPLICATE = "duplicate", _("Duplicate of another order")
    MISTAKEN = "mistaken", _("Created by mistake")
    WITHDRAWN = "withdrawn", _("Withdrawn by the customer")


class Satisfaction(models.TextChoices):
    SATISFIED = "satisfied", _("Satisfied")
    BASIC = "basic", _("Basically satisfied")
    UNSATISFIED = "unsatisfied", _("Unsatisfied")
    UNREACHABLE = "unreachable", _("Could not be reached")


class ClockKind(models.TextChoices):
    FIRST_CONTACT = "first_contact", _("First contact")
    ARRIVAL = "arrival", _("Arrival on site")
    RESTORATION = "restoration", _("Restoration")
    REPLY = "reply", _("Reply")
    CALLBACK = "callback", _("Callback")
    SUPERVISION = "supervision", _("Supervision deadline")


class ClockStart(models.TextChoices):
    ACCEPTED = "accepted", _("When accepted")
    ARRIVED = "arrived", _("When arrived on site")
    REPLIED = "replied", _("When replied")


# The action that stops each clock. HANDLE also stops an unstopped first-contact clock, and the
# arrival clock of a field order settled without a visit (it would otherwise run on to overdue).
CLOCK_STOPS: dict[str, frozenset[str]] = {
    ClockKind.FIRST_CONTACT: frozenset({A.CONTACT, A.ARRIVE, A.HANDLE}),
    ClockKind.ARRIVAL: frozenset({A.ARRIVE, A.HANDLE}),
    ClockKind.RESTORATION: frozenset({A.HANDLE}),
    ClockKind.REPLY: frozenset({A.REPLY}),
    ClockKind.CALLBACK: frozenset({A.CALLBACK}),
    ClockKind.SUPERVISION: frozenset({A.HANDLE}),
}
CLOCK_DEFAULT_START: dict[str, str] = {
    ClockKind.FIRST_CONTACT: ClockStart.ACCEPTED,
    ClockKind.ARRIVAL: ClockStart.ACCEPTED,
    ClockKind.RESTORATION: ClockStart.ACCEPTED,
    ClockKind.REPLY: ClockStart.ACCEPTED,
    ClockKind.CALLBACK: ClockStart.REPLIED,
    ClockKind.SUPERVISION: ClockStart.ACCEPTED,
}


class LimitUnit(models.TextChoices):
    MINUTES = "minutes", _("Minutes (wall clock)")
    HOURS = "hours", _("Hours (wall clock)")
    CALENDAR_DAYS = "calendar_days", _("Calendar days")
    WORKING_DAYS = "working_days", _("Working days")


LIMIT_UNIT_SECONDS: dict[str, int] = {
    LimitUnit.MINUTES: 60, LimitUnit.HOURS: 3600, LimitUnit.CALENDAR_DAYS: 86400, LimitUnit.WORKING_DAYS: 86400,
}


class Basis(models.TextChoices):
    PUBLIC = "public", _("Public promise")
    INTERNAL = "internal", _("Internal target")


class ClockState(models.TextChoices):
    WAITING = "waiting", _("Not started")
    RUNNING = "running", _("Running")
    PAUSED = "paused", _("Paused")
    MET = "met", _("Met")
    MISSED = "missed", _("Missed")
    STOPPED = "stopped", _("Stopped (order closed)")


class TimeState(models.TextChoices):
    """The order's worst running or paused clock, for queues and colours."""

    NORMAL = "normal", _("Within limit")
    WARNING = "warning", _("Warning")
    OVERDUE = "overdue", _("Overdue")
    NONE = "none", _("No time limit")


TIME_STATE_COLOURS = {TimeState.NORMAL: "success", TimeState.WARNING: "warning", TimeState.OVERDUE: "danger",
                      TimeState.NONE: "secondary"}


class HandoverStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting confirmation")
    CONFIRMED = "confirmed", _("Confirmed")

