"""Meter kinds and places, reading sources and states, validation rules and exception outcomes."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kefu.core.choices import UtilityKind


class MeterKind(models.TextChoices):
    # Power
    SINGLE_PHASE = "single_phase", _("Single-phase electricity meter")
    THREE_PHASE = "three_phase", _("Three-phase electricity meter")
    TIME_OF_USE = "tou", _("Time-of-use electricity meter")
    # Gas
    DIAPHRAGM = "diaphragm", _("Diaphragm gas meter")
    IC_CARD = "ic_card", _("IC-card prepaid gas meter")
    SMART = "smart", _("Smart (NB-IoT) gas meter")
    MASTER = "master", _("Master gas meter")


POWER_KINDS = frozenset({MeterKind.SINGLE_PHASE, MeterKind.THREE_PHASE, MeterKind.TIME_OF_USE})
GAS_KINDS = frozenset({MeterKind.DIAPHRAGM, MeterKind.IC_CARD, MeterKind.SMART, MeterKind.MASTER})


def kind_fits(kind: str, utility: str) -> bool:
    return kind in (POWER_KINDS if utility == UtilityKind.POWER else GAS_KINDS)


class Location(models.TextChoices):
    OUTDOOR = "outdoor", _("Outdoor")
    INDOOR = "indoor", _("Indoor")
    MASTER = "master", _("Master-meter room")


class MeterState(models.TextChoices):
    IN_STOCK = "in_stock", _("In stock")
    INSTALLED = "installed", _("Installed")
    REMOVED = "removed", _("Removed")


class Register(models.IntegerChoices):
    """Which register a reading is of: the total, or a time-of-use period."""

    TOTAL = 0, _("Total")
    PEAK = 1, _("Peak")
    FLAT = 2, _("Flat")
    VALLEY = 3, _("Valley")
    CRITICAL = 4, _("Critical peak")


class Source(models.TextChoices):
    ACTUAL = "actual", _("Read by the reader")
    ESTIMATED = "estimated", _("Estimated")
    CUSTOMER = "customer", _("Read by the customer")
    REMOTE = "remote", _("Remote (smart meter / head-end)")


class ReadingState(models.TextChoices):
    VALID = "valid", _("Valid")
    EXCEPTION = "exception", _("In the exceptions queue")
    ACCEPTED = "accepted", _("Accepted after review")
    CORRECTED = "corrected", pgettext_lazy("reading", "Corrected")
    SUPERSEDED = "superseded", _("Superseded")


# Readings billing may use (never one waiting in the exceptions queue).
BILLABLE = frozenset({ReadingState.VALID, ReadingState.ACCEPTED, ReadingState.CORRECTED})


class Rule(models.TextChoices):
    """Validation rules (guide §5). Thresholds live in ``ValidationRule`` rows."""

    BELOW_PREVIOUS = "below_previous", _("Reading below the previous one")
    HIGH_AVERAGE = "high_average", _("Consumption far above the account's average")
    HIGH_LAST_YEAR = "high_last_year", _("Consumption far above the same month last year")
    ZERO = "zero", _("Zero consumption for several months")
    DUPLICATE = "duplicate", _("Duplicate reading")
    MISSING = "missing", _("No reading by the end of the window")
    METER_MISMATCH = "meter_mismatch", _("Meter number does not match")
    REGISTER_MISMATCH = "register_mismatch", _("Register count does not match the meter")
    MULTIPLIER_CHANGE = "multiplier_change", _("Multiplier changed")
    CONSECUTIVE_ESTIMATES = "estimates", _("Consecutive estimated readings")


class Resolution(models.TextChoices):
    OPEN = "open", _("Open")
    ACCEPTED = "accepted", _("Accepted as read")
    CORRECTED = "corrected", pgettext_lazy("reading", "Corrected")
    ESTIMATED = "estimated", _("Replaced by an estimate")
    REREAD = "reread", _("Sent back for a re-read")


class MeterEventKind(models.TextChoices):
    INSTALL = "install", _("Installed")
    REPLACE = "replace", _("Replaced")
    REMOVE = "remove", _("Removed")


class PlanStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", pgettext_lazy("plan", "Closed")
