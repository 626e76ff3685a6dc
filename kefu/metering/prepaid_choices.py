"""Choices for IC-card prepaid gas (guide §5): card states and their moves, purchase modes, household
price categories, valve states, the meter's tamper flags and the reconciliation's findings.

Kept apart from ``choices.py`` so the prepaid area is one set of files."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class CardState(models.TextChoices):
    ACTIVE = "active", pgettext_lazy("card", "Active")
    LOST = "lost", _("Reported lost")
    REPLACED = "replaced", pgettext_lazy("card", "Replaced")


# A lost card is replaced (never found again in this model: the replacement is the way back).
CARD_TRANSITIONS: dict[str, frozenset[str]] = {
    CardState.ACTIVE: frozenset({CardState.LOST, CardState.REPLACED}),
    CardState.LOST: frozenset({CardState.REPLACED}),
    CardState.REPLACED: frozenset(),
}
# States that hold the meter: a meter has at most one such card.
HOLDS_METER = (CardState.ACTIVE, CardState.LOST)


class PurchaseMode(models.TextChoices):
    VOLUME = "volume", _("By volume (m³)")
    AMOUNT = "amount", _("By amount (yuan)")


class Household(models.TextChoices):
    """Which tier thresholds and prices a household gets (guide §6)."""

    STANDARD = "standard", _("Standard household")
    HEATING = "heating", _("Heating household (larger tiers)")
    LOW_INCOME = "low_income", _("Low-income household (tier-1 price)")


class ValveState(models.TextChoices):
    OPEN = "open", pgettext_lazy("valve", "Open")
    CLOSED = "closed", pgettext_lazy("valve", "Closed")


class TamperFlag(models.TextChoices):
    """Alarms an IC-card meter keeps and writes back to the card."""

    MAGNETIC = "magnetic", _("Magnetic attack")
    COVER_OPENED = "cover_opened", _("Cover opened / meter moved")
    VALVE_FAULT = "valve_fault", _("Valve fault")
    BATTERY_LOW = "battery_low", _("Battery low")
    ILLEGAL_CARD = "illegal_card", _("Foreign or forged card inserted")
    METERING_FAULT = "metering_fault", _("Metering fault")


class Finding(models.TextChoices):
    """What the reconciliation (and each write-back's check) can find wrong."""

    SOLD_GAP = "sold_gap", _("Purchase sequence numbers missing")
    NOT_LOADED = "not_loaded", _("Purchase never loaded into the meter")
    SEQUENCE_BACKWARDS = "sequence_backwards", _("Meter's purchase number went backwards")
    BOUGHT_MISMATCH = "bought_mismatch", _("Total bought on the meter differs from the purchases")
    USED_BACKWARDS = "used_backwards", _("Total used went backwards")
    REMAINING_MISMATCH = "remaining_mismatch", _("Remaining differs from bought minus used")
    VALVE_CLOSED_WITH_CREDIT = "valve_closed", _("Valve closed with credit left")
    TAMPER = "tamper", _("Tamper flags raised")


FINDING_COLOURS: dict[str, str] = {
    Finding.SOLD_GAP: "danger", Finding.NOT_LOADED: "warning", Finding.SEQUENCE_BACKWARDS: "danger",
    Finding.BOUGHT_MISMATCH: "danger", Finding.USED_BACKWARDS: "danger", Finding.REMAINING_MISMATCH: "warning",
    Finding.VALVE_CLOSED_WITH_CREDIT: "warning", Finding.TAMPER: "danger",
}


class PrepaidEventKind(models.TextChoices):
    ISSUED = "issued", _("Card issued")
    PURCHASE = "purchase", _("Gas purchased")
    WRITE_BACK = "write_back", _("Meter status written back")
    HOUSEHOLD = "household", _("Household category changed")
    LOST = "lost", _("Card reported lost")
    REPLACED = "replaced", _("Card replaced")
