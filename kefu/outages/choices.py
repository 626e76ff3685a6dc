"""Outage classes, statuses and the workflow table; fault-proposal states."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kefu.core.choices import UtilityKind


class OutageClass(models.TextChoices):
    # Power, production side (guide §4)
    PLANNED = "planned", _("Planned outage")
    TEMPORARY = "temporary", _("Temporary outage")
    FAULT = "fault", _("Grid fault outage")
    CAPACITY = "capacity", _("Beyond grid capacity")
    # Power, marketing side
    ARREARS = "arrears", _("Arrears disconnection")
    THEFT = "theft", _("Electricity theft disconnection")
    VIOLATION = "violation", _("Contract violation disconnection")
    ORDERLY = "orderly", _("Orderly power use")
    # Gas
    GAS_PLANNED = "gas_planned", _("Planned gas stop")
    GAS_PRESSURE = "gas_pressure", _("Gas pressure reduction")
    GAS_EMERGENCY = "gas_emergency", _("Gas emergency stop")


C = OutageClass
POWER_CLASSES = frozenset({C.PLANNED, C.TEMPORARY, C.FAULT, C.CAPACITY, C.ARREARS, C.THEFT, C.VIOLATION, C.ORDERLY})
GAS_CLASSES = frozenset({C.GAS_PLANNED, C.GAS_PRESSURE, C.GAS_EMERGENCY})
# Marketing outages follow one account (and the order that caused them), not a part of the network.
MARKETING_CLASSES = frozenset({C.ARREARS, C.THEFT, C.VIOLATION})
# The class a confirmed fault proposal becomes, per utility.
FAULT_CLASS: dict[str, str] = {UtilityKind.POWER: C.FAULT, UtilityKind.GAS: C.GAS_EMERGENCY}


def class_fits(outage_class: str, utility: str) -> bool:
    return outage_class in (POWER_CLASSES if utility == UtilityKind.POWER else GAS_CLASSES)


class Status(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("outage", "Draft")
    REVIEWED = "reviewed", _("Reviewed")
    PUBLISHED = "published", _("Published")
    EXTENDED = "extended", _("Extended")
    CHANGED = "changed", _("Changed")
    CANCELLED = "cancelled", pgettext_lazy("outage", "Cancelled")
    RESTORED = "restored", _("Restored")


S = Status
# Published and still in force: what the desk, the IVR and the outage list show.
LIVE = frozenset({S.PUBLISHED, S.EXTENDED, S.CHANGED})
FINAL = frozenset({S.CANCELLED, S.RESTORED})
EDITABLE = frozenset({S.DRAFT})

STATUS_COLOURS: dict[str, str] = {
    S.DRAFT: "secondary", S.REVIEWED: "info", S.PUBLISHED: "danger", S.EXTENDED: "warning",
    S.CHANGED: "warning", S.CANCELLED: "dark", S.RESTORED: "success",
}


class Action(models.TextChoices):
    CREATE = "create", _("Create")
    EDIT = "edit", pgettext_lazy("outage", "Edit")
    REVIEW = "review", _("Review")
    RETURN = "return", _("Return to draft")
    PUBLISH = "publish", _("Publish")
    EXTEND = "extend", _("Extend")
    CHANGE = "change", _("Change times")
    CANCEL = "cancel", pgettext_lazy("outage", "Cancel")
    RESTORE = "restore", _("Record restoration")
    LINK = "link", _("Link a repair call")
    NOTIFY = "notify", _("Notify customers")
    REMIND = "remind", _("Reminder queued")


A = Action
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    A.EDIT: (frozenset({S.DRAFT}), S.DRAFT),
    A.REVIEW: (frozenset({S.DRAFT}), S.REVIEWED),
    A.RETURN: (frozenset({S.REVIEWED}), S.DRAFT),
    A.PUBLISH: (frozenset({S.REVIEWED}), S.PUBLISHED),
    A.EXTEND: (LIVE, S.EXTENDED),
    A.CHANGE: (LIVE, S.CHANGED),
    A.CANCEL: (frozenset({S.DRAFT, S.REVIEWED}) | LIVE, S.CANCELLED),
    A.RESTORE: (LIVE, S.RESTORED),
}


class Audience(models.TextChoices):
    """Whom a notice rule protects: every affected customer, or only the important ones."""

    ALL = "all", _("All affected customers")
    IMPORTANT = "important", _("Important customers")


class RuleKind(models.TextChoices):
    NOTICE = "notice", _("Advance notice")
    CHANGE = "change", _("Report of an earlier start or later restoration")


class ProposalStatus(models.TextChoices):
    OPEN = "open", _("Proposed")
    CONFIRMED = "confirmed", _("Confirmed")
    DISMISSED = "dismissed", _("Dismissed")


class MessageKind(models.TextChoices):
    """SMS templates, one per moment a customer hears from us."""

    PUBLISHED = "published", _("Outage notice")
    REMINDER = "reminder", _("Reminder before the start")
    CHANGED = "changed", _("Changed times")
    CANCELLED = "cancelled", _("Cancellation")
    RESTORED = "restored", _("Restoration")
