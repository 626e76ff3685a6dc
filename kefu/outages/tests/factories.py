"""A small power network under county A1 for outage tests, with customers hung on it.

    变电站 SUB ── 10kV 线路 F1 ─┬─ 台区 TA1 (3 accounts, one of them grade-1 important)
                               └─ 台区 TA2 (2 accounts)
                 10kV 线路 F2 ─── 台区 TA3 (专变, 1 account: dedicated transformer)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from kefu.customers.models import Account
from kefu.customers.tests.factories import make_account
from kefu.grid.models import GridNode
from kefu.grid.services import attach
from kefu.grid.tests.factories import make_node
from kefu.org.models import Staff

# A Tuesday, 08:00 Beijing time: the start the outage tests plan around.
START = datetime(2026, 12, 8, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def outage_data(*, nodes: tuple[str, ...] = ("TA1",), outage_class: str = "planned", start: datetime = START,
                hours: int = 8, utility: str = "power", **extra: Any) -> dict[str, Any]:
    """The body of a planned outage of transformer area TA1 (by default), as a form or API sends it."""
    return {"utility": utility, "outage_class": outage_class, "area": "文三路1号至3号", "reason": "线路检修",
            "planned_start": start, "planned_end": start + timedelta(hours=hours), "nodes": list(nodes), **extra}


@dataclass
class Grid:
    sub: GridNode
    f1: GridNode
    f2: GridNode
    ta1: GridNode
    ta2: GridNode
    ta3: GridNode
    accounts: dict[str, list[Account]] = field(default_factory=dict)  # node code → accounts on it

    def under(self, *codes: str) -> list[Account]:
        return [a for c in codes for a in self.accounts[c]]


def hang(actor: Staff, node: GridNode, count: int, **account: Any) -> list[Account]:
    made = []
    for _i in range(count):
        acct = make_account(unit=node.unit, **account)
        assert acct.service_point_id is not None
        attach(actor=actor, service_point=acct.service_point_id, node=node)
        made.append(acct)
    return made


def make_grid(world: Any) -> Grid:
    actor, unit = world.supervisor, world.county_a1
    sub = make_node(actor=actor, unit=unit, code="SUB", name="城东变电站", kind="substation")
    f1 = make_node(actor=actor, unit=unit, parent=sub, code="F1", name="10kV城东线", kind="feeder")
    f2 = make_node(actor=actor, unit=unit, parent=sub, code="F2", name="10kV城西线", kind="feeder")
    ta1 = make_node(actor=actor, unit=unit, parent=f1, code="TA1", name="文三路1号台区", kind="ta")
    ta2 = make_node(actor=actor, unit=unit, parent=f1, code="TA2", name="文三路2号台区", kind="ta")
    ta3 = make_node(actor=actor, unit=unit, parent=f2, code="TA3", name="华星科技专变", kind="ta", dedicated=True)
    grid = Grid(sub, f1, f2, ta1, ta2, ta3)
    grid.accounts["TA1"] = [*hang(actor, ta1, 2), *hang(actor, ta1, 1, importance="grade1")]
    grid.accounts["TA2"] = hang(actor, ta2, 2)
    grid.accounts["TA3"] = hang(actor, ta3, 1, customer_class="p_ded_industrial")
    return grid
