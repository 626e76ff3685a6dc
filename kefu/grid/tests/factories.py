"""Factories for the topology: nodes go through the service so paths and depths are right."""

from __future__ import annotations

import itertools
from typing import Any

from kefu.grid.models import GridNode
from kefu.grid.services import node_create
from kefu.org.models import OrgUnit, Staff

_seq = itertools.count(1)


def make_node(*, actor: Staff, unit: OrgUnit, parent: GridNode | None = None, code: str | None = None,
              kind: str | None = None, utility: str | None = None, **data: Any) -> GridNode:
    n = next(_seq)
    utility = utility or (parent.utility if parent else "power")
    if kind is None:
        kind = ("substation" if parent is None else "feeder") if utility == "power" else \
            ("gas_station" if parent is None else "pressure_zone")
    return node_create(actor=actor, parent=parent, unit=unit,
                       data={"code": code or f"N{n:05d}", "name": data.pop("name", f"节点{n}"), "kind": kind,
                             "utility": utility, **data})
