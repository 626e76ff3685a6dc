"""Choices shared by every app. Labels are gettext so the UI shows Chinese by default."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class UtilityKind(models.TextChoices):
    POWER = "power", _("Power")
    GAS = "gas", _("Gas")


class UnitUtility(models.TextChoices):
    """An org unit may serve power, gas, or both."""

    POWER = "power", _("Power")
    GAS = "gas", _("Gas")
    BOTH = "both", _("Power and gas")


class RegionClass(models.TextChoices):
    """Region class decides the field time limits (urban 45 min, rural 90 min, remote 120 min)."""

    URBAN = "urban", _("Urban")
    RURAL = "rural", _("Rural")
    REMOTE = "remote", _("Remote")


def transition_allowed(table: dict[str, frozenset[str]], current: str, target: str) -> bool:
    return target in table.get(current, frozenset())
