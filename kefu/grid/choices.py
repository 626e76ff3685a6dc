from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class NodeKind(models.TextChoices):
    """What a topology node is. The tree may be any depth; the kind names the level for people and
    for fault grouping (calls under one transformer area, or several of one feeder)."""

    # Power
    SUBSTATION = "substation", _("Substation")
    FEEDER = "feeder", _("Feeder (line)")
    BRANCH = "branch", _("Branch line")
    TRANSFORMER_AREA = "ta", _("Transformer area")
    # Gas
    GAS_STATION = "gas_station", _("Gas station")
    PRESSURE_ZONE = "pressure_zone", _("Pressure zone")
    BUILDING = "building", _("Building")
    RISER = "riser", _("Riser")
    OTHER = "other", _("Other")


POWER_KINDS = frozenset({NodeKind.SUBSTATION, NodeKind.FEEDER, NodeKind.BRANCH, NodeKind.TRANSFORMER_AREA,
                         NodeKind.OTHER})
GAS_KINDS = frozenset({NodeKind.GAS_STATION, NodeKind.PRESSURE_ZONE, NodeKind.BUILDING, NodeKind.RISER,
                       NodeKind.OTHER})

PATH_STEP = 10  # digits per level of the materialised path: "0000000012.0000000345."
MAX_DEPTH = 20  # path column of 255 characters holds 23 levels; 20 is far deeper than any real grid
