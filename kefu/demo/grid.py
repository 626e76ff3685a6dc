"""Demo network topology (part of ``kefu demo``): per power station 2–3 substations, their 10 kV
feeders and transformer areas (a few dedicated ones for dedicated-transformer and key customers);
per gas station a gas station, its pressure zones and buildings. Every demo service point is then
attached to a leaf of its own unit and utility.

Set-based and idempotent like the rest of the demo: the nodes are written with ``bulk_create`` level
by level (their paths need their own ids, so one ``bulk_update`` of the paths follows), and the
attachments with one ``INSERT … SELECT``: the unit's service points are numbered in address order
(community, building), cut into slots of about ``SLOT`` service points, and each leaf owns a run of
2–12 slots, so a transformer area holds roughly 50–300 service points and a community stays on
neighbouring leaves. A completed step leaves the ``demo:grid`` marker (the number of attachments).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from kefu.core.choices import UnitUtility, UtilityKind
from kefu.core.models import NumberSequence
from kefu.customers.choices import CustomerClass
from kefu.customers.models import Account, Premise, ServicePoint
from kefu.demo.dice import Dice
from kefu.demo.orgplan import demo_unit_ids
from kefu.grid.choices import PATH_STEP, NodeKind
from kefu.grid.models import Attachment, GridNode, NodeEvent
from kefu.org.choices import UnitLevel
from kefu.org.models import OrgUnit

GRID_MARKER_KEY = "demo:grid"
SLOT = 25  # service points per slot
LEAF_SLOTS = (2, 12)  # slots per leaf: 50–300 service points
LEAVES_PER_MIDDLE = 14  # transformer areas per feeder, buildings per pressure zone (on average)
MIN_LEAVES_PER_MIDDLE = 2
DEDICATED_PER_FEEDER = (0, 2)
DEDICATED_CLASSES = (CustomerClass.POWER_DEDICATED_INDUSTRIAL, CustomerClass.POWER_DEDICATED_INSTITUTION,
                     CustomerClass.POWER_KEY_IMPORTANT, CustomerClass.POWER_KEY_LARGE, CustomerClass.POWER_KEY_FOCUS)
BATCH = 1000
LINE_WORDS = ("文三", "学院", "古墩", "天目", "紫金", "丰潭", "余杭塘", "西溪", "留和", "之江", "龙坞", "东岳",
              "桃源", "跃龙", "江南", "城北", "新华", "金沙", "望江", "星光", "春江", "富春", "东洲", "新登",
              "湖滨", "汇金", "钟公", "首南", "姜山", "长街", "胡陈", "梅林", "枫林", "青山", "白沙", "龙门",
              "凤凰", "九堡", "笕桥", "丁兰", "北干", "瓜沥", "古荡", "蒋村", "翠苑", "转塘", "双浦", "洞桥")
NUMERALS = ("", "Ⅱ", "Ⅲ", "Ⅳ", "Ⅴ", "Ⅵ", "Ⅶ", "Ⅷ")


@dataclass
class GridResult:
    loaded: bool  # False: the topology was there already (or there is no demo org)
    attached: int
    nodes: int = 0
    seconds: float = 0.0
    rows: dict[str, int] = field(default_factory=dict)


@dataclass
class Draft:
    code: str
    name: str
    kind: str
    utility: str
    unit_id: int
    region_class: str
    parent: int | None  # index into the plan's drafts
    depth: int
    dedicated: bool = False
    pk: int | None = None

    @property
    def id(self) -> int:
        assert self.pk is not None, "written first"
        return self.pk


@dataclass
class UnitPlan:
    unit_id: int
    utility: str
    leaves: list[int] = field(default_factory=list)  # draft index per slot, in address order
    dedicated: list[tuple[int, int]] = field(default_factory=list)  # (service point, draft index)


def grid_demo_count() -> int | None:
    marker = NumberSequence.objects.filter(key=GRID_MARKER_KEY).first()
    return marker.last_value if marker else None


def grid_demo_wipe() -> dict[str, int]:
    """Remove the demo units' topology (before the units and customers it points at go)."""
    units = demo_unit_ids()
    nodes = GridNode.objects.filter(unit_id__in=units)
    deleted: dict[str, int] = {}
    with transaction.atomic():
        deleted["grid.Attachment"] = Attachment.objects.filter(node__unit_id__in=units).delete()[0]
        NodeEvent.objects.filter(node__unit_id__in=units).delete()
        count = 0
        for depth in sorted(set(nodes.values_list("depth", flat=True)), reverse=True):  # children first
            count += GridNode.objects.filter(unit_id__in=units, depth=depth).delete()[1].get("grid.GridNode", 0)
        deleted["grid.GridNode"] = count
        NumberSequence.objects.filter(key=GRID_MARKER_KEY).delete()
    return deleted


def grid_demo_load(*, seed: int = 7) -> GridResult:
    """Build the demo topology unless the marker says it is there. Needs the demo customers loaded."""
    loaded = grid_demo_count()
    if loaded is not None:
        return GridResult(loaded=False, attached=loaded)
    units = demo_unit_ids()
    stations = list(OrgUnit.objects.filter(id__in=units, level=UnitLevel.STATION).order_by("code"))
    if not stations:
        return GridResult(loaded=False, attached=0)
    started = time.monotonic()
    with transaction.atomic():
        if GridNode.objects.filter(unit_id__in=units).exists():  # a crashed earlier run: start over
            grid_demo_wipe()
        counts: dict[tuple[int, str], int] = {
            (row["premise__unit_id"], row["utility"]): row["n"]
            for row in ServicePoint.objects.filter(premise__unit_id__in=[s.pk for s in stations])
            .values("premise__unit_id", "utility").annotate(n=Count("id"))}
        planner = Planner(seed)
        for unit in stations:
            utilities = [u for u in (UtilityKind.POWER, UtilityKind.GAS) if (unit.pk, u) in counts]
            if not utilities:
                utilities = [UtilityKind.GAS if unit.utility == UnitUtility.GAS else UtilityKind.POWER]
            for utility in utilities:
                planner.unit(unit, utility, counts.get((unit.pk, utility), 0))
        _nodes_write(planner.drafts)
        attached = _attach(planner)
        NumberSequence.objects.update_or_create(key=GRID_MARKER_KEY, defaults={"last_value": attached})
    return GridResult(loaded=True, attached=attached, nodes=len(planner.drafts), seconds=time.monotonic() - started,
                      rows={"grid.GridNode": len(planner.drafts), "grid.Attachment": attached})


class Planner:
    """Drafts the nodes of each unit and which leaf owns which slot of its service points."""

    def __init__(self, seed: int) -> None:
        self.rng = Dice(f"grid:{seed}")
        self.drafts: list[Draft] = []
        self.plans: list[UnitPlan] = []

    def _add(self, draft: Draft) -> int:
        self.drafts.append(draft)
        return len(self.drafts) - 1

    def unit(self, unit: OrgUnit, utility: str, count: int) -> None:
        rng = self.rng
        power = utility == UtilityKind.POWER
        roots = rng.between(2, 3) if power else rng.between(1, 2)
        dedicated_sps: list[int] = []
        if power:
            dedicated_sps = list(
                Account.objects.filter(unit_id=unit.pk, utility=utility, customer_class__in=DEDICATED_CLASSES,
                                       service_point__isnull=False)
                .order_by("service_point_id").values_list("service_point_id", flat=True).distinct()[:400])
        # Leaves (public transformer areas, buildings) until their slots hold every service point.
        weights: list[int] = []
        minimum = roots * 2 * MIN_LEAVES_PER_MIDDLE
        while len(weights) < minimum or sum(weights) * SLOT < count:
            weights.append(rng.between(*LEAF_SLOTS))
        middles = max(roots * 2, round(len(weights) / LEAVES_PER_MIDDLE))
        plan = UnitPlan(unit_id=unit.pk, utility=utility)
        words = list(LINE_WORDS)
        rng.rng.shuffle(words)

        def draft(**values: Any) -> int:
            return self._add(Draft(utility=utility, unit_id=unit.pk, region_class=unit.region_class, **values))

        root_ids = []
        for r in range(roots):
            word = words[(r + 7) % len(words)]
            name = f"110kV {word}变" if power else f"{word}燃气调压站"
            code = f"{unit.code}-{'S' if power else 'G'}{r + 1}"
            kind = NodeKind.SUBSTATION if power else NodeKind.GAS_STATION
            root_ids.append(draft(code=code, name=name, kind=kind, parent=None, depth=0))
        middle_ids: list[tuple[int, str]] = []
        for m in range(middles):
            root = root_ids[m % roots]
            word = words[m % len(words)] + NUMERALS[(m // len(words)) % len(NUMERALS)]
            name = f"10kV {word}线" if power else f"{word}中压{m + 1}区"
            code = f"{self.drafts[root].code}-{'F' if power else 'P'}{m + 1:02d}"
            kind = NodeKind.FEEDER if power else NodeKind.PRESSURE_ZONE
            middle_ids.append((draft(code=code, name=name, kind=kind, parent=root, depth=1),
                               word))
        per_middle: dict[int, int] = {}
        for i, slots in enumerate(weights):
            middle, word = middle_ids[i * middles // len(weights)]
            k = per_middle[middle] = per_middle.get(middle, 0) + 1
            name = f"{word}线{k}号台区" if power else f"{word}{k}幢"
            code = f"{self.drafts[middle].code}-{'T' if power else 'B'}{k:03d}"
            kind = NodeKind.TRANSFORMER_AREA if power else NodeKind.BUILDING
            leaf = draft(code=code, name=name, kind=kind, parent=middle, depth=2)
            plan.leaves += [leaf] * slots
        # 专变: a few transformer areas per feeder that serve a single dedicated or key customer.
        for middle, word in middle_ids:
            for k in range(rng.between(*DEDICATED_PER_FEEDER)):
                if len(plan.dedicated) >= len(dedicated_sps):
                    break
                leaf = draft(code=f"{self.drafts[middle].code}-Z{k + 1:02d}", name=f"{word}线专变{k + 1}号",
                                       kind=NodeKind.TRANSFORMER_AREA, parent=middle, depth=2, dedicated=True)
                plan.dedicated.append((dedicated_sps[len(plan.dedicated)], leaf))
        self.plans.append(plan)


def _nodes_write(drafts: list[Draft]) -> None:
    """Level by level: a level's parents have their ids and paths before it is written."""
    paths: dict[int, str] = {}
    for depth in sorted({d.depth for d in drafts}):
        level = [d for d in drafts if d.depth == depth]
        nodes = [GridNode(code=d.code, name=d.name, kind=d.kind, utility=d.utility, unit_id=d.unit_id,
                          region_class=d.region_class, dedicated=d.dedicated, depth=d.depth, path="",
                          parent_id=drafts[d.parent].pk if d.parent is not None else None) for d in level]
        created = GridNode.objects.bulk_create(nodes, batch_size=BATCH)
        if any(n.pk is None for n in created):  # a backend without RETURNING: read the ids back
            ids = dict(GridNode.objects.filter(code__in=[d.code for d in level]).values_list("code", "id"))
            for n in created:
                n.pk = ids[n.code]
        for d, node in zip(level, created, strict=True):
            d.pk = node.pk
            parent_path = paths[node.parent_id] if node.parent_id is not None else ""
            node.path = paths[node.pk] = parent_path + f"{node.pk:0{PATH_STEP}d}."
        GridNode.objects.bulk_update(created, ["path"], batch_size=BATCH)


def _attach(planner: Planner) -> int:
    """Dedicated customers onto their 专变, then every other service point of each unit and utility
    onto the leaf that owns its slot: one INSERT … SELECT, the slot map in temporary tables."""
    drafts = planner.drafts
    now = timezone.now()
    Attachment.objects.bulk_create(
        [Attachment(service_point_id=sp, node_id=drafts[leaf].id) for plan in planner.plans
         for sp, leaf in plan.dedicated], batch_size=BATCH)
    with connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS demo_grid_unit")
        cur.execute("DROP TABLE IF EXISTS demo_grid_slot")
        cur.execute("CREATE TEMPORARY TABLE demo_grid_unit (k integer PRIMARY KEY, unit_id integer NOT NULL, "
                    "utility varchar(8) NOT NULL, slots integer NOT NULL)")
        cur.execute("CREATE TEMPORARY TABLE demo_grid_slot (k integer NOT NULL, slot integer NOT NULL, "
                    "node_id integer NOT NULL, PRIMARY KEY (k, slot))")
        cur.executemany("INSERT INTO demo_grid_unit (k, unit_id, utility, slots) VALUES (%s, %s, %s, %s)",
                        [(k, p.unit_id, p.utility, len(p.leaves)) for k, p in enumerate(planner.plans)])
        slots = [(k, s, drafts[leaf].id) for k, p in enumerate(planner.plans) for s, leaf in enumerate(p.leaves)]
        for i in range(0, len(slots), 10_000):
            cur.executemany("INSERT INTO demo_grid_slot (k, slot, node_id) VALUES (%s, %s, %s)",
                            slots[i:i + 10_000])
        if connection.vendor == "postgresql":
            cur.execute("ANALYZE demo_grid_unit")
            cur.execute("ANALYZE demo_grid_slot")
        sp, premise, attachment = ServicePoint._meta.db_table, Premise._meta.db_table, Attachment._meta.db_table
        cur.execute(f"""
            INSERT INTO {attachment} (service_point_id, node_id, attached_at)
            SELECT x.id, s.node_id, %s FROM (
                SELECT sp.id, u.k, u.slots,
                       ROW_NUMBER() OVER (PARTITION BY u.k ORDER BY p.community, p.building, sp.id) AS rn,
                       COUNT(*) OVER (PARTITION BY u.k) AS n
                FROM {sp} sp
                JOIN {premise} p ON p.id = sp.premise_id
                JOIN demo_grid_unit u ON u.unit_id = p.unit_id AND u.utility = sp.utility
                WHERE NOT EXISTS (SELECT 1 FROM {attachment} a WHERE a.service_point_id = sp.id)
            ) x
            JOIN demo_grid_slot s ON s.k = x.k AND s.slot = ((x.rn - 1) * x.slots) / x.n
        """, [now])  # noqa: S608 - table names from the models, values as parameters
        cur.execute("DROP TABLE demo_grid_unit")
        cur.execute("DROP TABLE demo_grid_slot")
    return Attachment.objects.filter(node__unit_id__in={p.unit_id for p in planner.plans}).count()
