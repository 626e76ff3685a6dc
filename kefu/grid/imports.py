"""Import of the topology and of attachments from CSV or Excel files.

Every row is checked first and every bad row is reported (row number as in the file, the header
being row 1); only a file without errors is applied, in one transaction, set-based: new nodes are
inserted level by level (parents first) and get their paths in one UPDATE per level and chunk;
existing nodes are updated in place by code, a new parent moving the node with its subtree."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from django.db import IntegrityError, transaction
from django.db.models import CharField, OuterRef, Subquery, Value
from django.db.models.functions import Cast, Coalesce, Concat, LPad
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from kefu.core.choices import RegionClass, UtilityKind
from kefu.core.errors import Conflict, InvalidInput
from kefu.core.tabular import column_message, file_rows
from kefu.customers.models import Account, ServicePoint
from kefu.org.choices import Capability
from kefu.org.models import OrgUnit, Staff
from kefu.org.scope import require, unit_in_scope, unit_scope_q

from .choices import MAX_DEPTH, PATH_STEP, NodeKind
from .models import Attachment, GridNode, NodeEvent
from .services import check_node_fields, move_subtree

CHUNK = 2000

# Column layout of the files: canonical name → Chinese header. The export writes "编码(code)"; the
# reader accepts either part, so files saved by Chinese Excel and hand-made English files both work.
TOPOLOGY_COLUMNS: dict[str, str] = {
    "code": "编码", "name": "名称", "kind": "类型", "utility": "专业", "parent_code": "上级编码",
    "unit_code": "单位编码", "region_class": "区域类别", "dedicated": "专变",
}
TOPOLOGY_REQUIRED = ("code", "name", "kind", "utility", "parent_code", "unit_code")
ATTACHMENT_COLUMNS: dict[str, str] = {"service_point": "计量点编码", "account": "户号", "node_code": "节点编码"}

_HEADER_ALIASES: dict[str, str] = {
    "parent": "parent_code", "unit": "unit_code", "node": "node_code", "account_number": "account",
    "service_point_code": "service_point", "上级": "parent_code", "上级节点": "parent_code", "单位": "unit_code",
    "区域": "region_class", "是否专变": "dedicated", "计量点": "service_point", "服务点编码": "service_point",
    "节点": "node_code", "节点编码": "node_code", "类别": "kind", "节点类型": "kind",
}

# Values a clerk types in a Chinese sheet, besides the codes and the catalogue's labels.
_KIND_ALIASES = {
    "变电站": NodeKind.SUBSTATION, "线路": NodeKind.FEEDER, "馈线": NodeKind.FEEDER, "分支线": NodeKind.BRANCH,
    "支线": NodeKind.BRANCH, "台区": NodeKind.TRANSFORMER_AREA, "配变台区": NodeKind.TRANSFORMER_AREA,
    "门站": NodeKind.GAS_STATION, "燃气场站": NodeKind.GAS_STATION, "场站": NodeKind.GAS_STATION,
    "调压区": NodeKind.PRESSURE_ZONE, "压力区": NodeKind.PRESSURE_ZONE, "楼栋": NodeKind.BUILDING,
    "立管": NodeKind.RISER, "其他": NodeKind.OTHER,
}
_UTILITY_ALIASES = {"电": UtilityKind.POWER, "电力": UtilityKind.POWER, "供电": UtilityKind.POWER,
                    "气": UtilityKind.GAS, "燃气": UtilityKind.GAS}
_REGION_ALIASES = {"城区": RegionClass.URBAN, "城市": RegionClass.URBAN, "农村": RegionClass.RURAL,
                   "偏远": RegionClass.REMOTE, "边远": RegionClass.REMOTE, "特殊边远地区": RegionClass.REMOTE}
_TRUE = {"1", "true", "yes", "y", "是", "√", "x"}
_FALSE = {"", "0", "false", "no", "n", "否"}


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    message: str


@dataclass
class ImportReport:
    dry_run: bool = False
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def applied(self) -> bool:
        return self.ok and not self.dry_run

    def add(self, row: int, field_name: str, message: str) -> None:
        self.errors.append(RowError(row, field_name, message))

    def lines(self) -> list[str]:
        """The report as lines for a person (command output, a page)."""
        out = [_("Row %(row)d, %(field)s: %(message)s") % {"row": e.row, "field": e.field, "message": e.message}
               for e in sorted(self.errors, key=lambda e: (e.row, e.field))]
        if self.ok:
            out.append(_("Created %(created)d, updated %(updated)d, unchanged %(unchanged)d.")
                       % {"created": self.created, "updated": self.updated, "unchanged": self.unchanged})
            if self.dry_run:
                out.append(_("Dry run: nothing was saved."))
        else:
            out.append(_("%(count)d errors; nothing was imported.") % {"count": len(self.errors)})
        return out


# --------------------------------------------------------------------------- reading files

def _header_name(cell: Any, known: dict[str, str]) -> str | None:
    text = str(cell or "").replace("\ufeff", "").strip()
    names = {canon: canon for canon in known} | {zh: canon for canon, zh in known.items()}
    candidates = [text, *re.split(r"[()（）/\s]+", text)]
    for candidate in candidates:
        key = candidate.strip().lower()
        if not key:
            continue
        canon = names.get(key) or _HEADER_ALIASES.get(key)
        if canon in known:
            return canon
    return None


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores typed numbers as floats: 12.0 means code "12"
    return str(value).strip()


def read_table(file: str | Path | bytes | IO[bytes], filename: str = "", *,
               columns: str = "topology") -> list[dict[str, Any]]:
    """Rows of a .csv or .xlsx file as dicts keyed by canonical column names, each with ``_row``
    (its row number in the file, the header being row 1). ``columns``: "topology" or "attachments"."""
    raw = file_rows(file, filename)
    known = TOPOLOGY_COLUMNS if columns == "topology" else ATTACHMENT_COLUMNS
    header_at = next((i for i, r in enumerate(raw) if any(_cell(c) for c in r)), None)
    if header_at is None:
        raise InvalidInput({"file": [_("The file is empty.")]})
    header = [_header_name(c, known) if _cell(c) else None for c in raw[header_at]]
    unknown = [_cell(c) for c, name in zip(raw[header_at], header, strict=True) if _cell(c) and name is None]
    present = [h for h in header if h]
    required = TOPOLOGY_REQUIRED if columns == "topology" else ("node_code",)
    missing = [c for c in required if c not in present]
    if columns != "topology" and "service_point" not in present and "account" not in present:
        missing.append("service_point")
    doubled = sorted({h for h in present if present.count(h) > 1})
    if unknown or missing or doubled:
        raise InvalidInput({"file": [column_message(known, required, unknown, missing, doubled)]})
    rows: list[dict[str, Any]] = []
    for offset, values in enumerate(raw[header_at + 1:], start=header_at + 2):
        cells = [_cell(v) for v in values]
        if not any(cells):
            continue
        row: dict[str, Any] = {"_row": offset}
        for name, value in zip(header, cells, strict=False):
            if name:
                row[name] = value
        for name in present:
            row.setdefault(name, "")
        rows.append(row)
    return rows


# --------------------------------------------------------------------------- value parsing

_VALUES: dict[Any, frozenset[str]] = {c: frozenset(c.values) for c in (NodeKind, UtilityKind, RegionClass)}


def _choice(value: str, choices: Any, aliases: Mapping[str, str]) -> str | None:
    text = value.strip()
    if text.lower() in _VALUES[choices]:
        return str(text.lower())
    if text in aliases:
        return str(aliases[text])
    for member in choices:
        if text.lower() == str(member.label).lower():
            return str(member.value)
        with translation.override("zh-hans"):
            if text == str(member.label):
                return str(member.value)
    return None


def _flag(value: str) -> bool | None:
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


def _chunks(items: list[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _by_code(model: Any, codes: Iterable[str], field_name: str = "code", **extra: Any) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for part in _chunks(sorted(set(codes))):
        qs = model.objects.filter(**{f"{field_name}__in": part})
        if extra.get("related"):
            qs = qs.select_related(*extra["related"])
        for obj in qs:
            found[getattr(obj, field_name)] = obj
    return found


def _event_actor(actor: Any) -> Staff | None:
    return actor if isinstance(actor, Staff) else None


# --------------------------------------------------------------------------- topology

@dataclass
class _Row:
    row: int
    code: str
    name: str
    kind: str
    utility: str
    parent_code: str | None
    unit: OrgUnit | None
    region_class: str | None  # None: column absent, keep the node's value
    dedicated: bool | None
    existing: GridNode | None = None
    depth: int = -1


def _parse_topology_row(raw: dict[str, Any], report: ImportReport, units: dict[str, OrgUnit],
                        actor: Any) -> _Row | None:
    n = int(raw.get("_row", 0))
    errors_before = len(report.errors)
    kind = _choice(str(raw.get("kind", "")), NodeKind, _KIND_ALIASES)
    utility = _choice(str(raw.get("utility", "")), UtilityKind, _UTILITY_ALIASES)
    region: str | None = None
    if "region_class" in raw:
        region = _choice(str(raw["region_class"]), RegionClass, _REGION_ALIASES) if raw["region_class"] else ""
        if region is None:
            report.add(n, "region_class", _("Region class must be urban, rural or remote."))
    data = {"code": raw.get("code", ""), "name": raw.get("name", ""), "kind": kind or raw.get("kind", ""),
            "utility": utility or raw.get("utility", "")}
    for name, messages in check_node_fields(data).items():
        for message in messages:
            report.add(n, name, message)
    dedicated: bool | None = None
    if "dedicated" in raw:
        dedicated = _flag(str(raw["dedicated"]))
        if dedicated is None:
            report.add(n, "dedicated", _("Dedicated must be yes or no (1 or 0)."))
    unit_code = str(raw.get("unit_code", "")).strip()
    unit = units.get(unit_code)
    if not unit_code:
        report.add(n, "unit_code", _("A node needs the code of its org unit."))
    elif unit is None or not unit_in_scope(actor, unit):
        report.add(n, "unit_code", _("Unknown org unit %(code)s or not in your scope.") % {"code": unit_code})
    parent_code = str(raw.get("parent_code", "")).strip() or None
    if len(report.errors) > errors_before:
        return None
    return _Row(row=n, code=str(data["code"]).strip(), name=str(data["name"]).strip(), kind=str(kind),
                utility=str(utility), parent_code=parent_code, unit=unit, region_class=region or None,
                dedicated=dedicated)


def _changes(row: _Row, node: GridNode, parent_id: int | None) -> dict[str, Any]:
    want: dict[str, Any] = {"name": row.name, "kind": row.kind, "unit_id": row.unit.pk if row.unit else None}
    if row.region_class is not None:
        want["region_class"] = row.region_class
    if row.dedicated is not None:
        want["dedicated"] = row.dedicated
    changed = {k: v for k, v in want.items() if getattr(node, k) != v}
    if parent_id != node.parent_id:
        changed["parent_id"] = parent_id
    return changed


@transaction.atomic
def topology_import(*, actor: Any, rows: list[dict[str, Any]], dry_run: bool = False) -> ImportReport:
    """Check every row, then create or update the nodes (see the module doc). Nothing is applied when
    any row is bad; the report lists them all."""
    require(actor, Capability.GRID_EDIT)
    report = ImportReport(dry_run=dry_run)
    if rows and not all(c in rows[0] for c in TOPOLOGY_REQUIRED):
        missing = [c for c in TOPOLOGY_REQUIRED if c not in rows[0]]
        raise InvalidInput({"file": [column_message(TOPOLOGY_COLUMNS, TOPOLOGY_REQUIRED, [], missing, [])]})
    units = _by_code(OrgUnit, (str(r.get("unit_code", "")).strip() for r in rows))
    parsed: dict[str, _Row] = {}
    first_row: dict[str, int] = {}
    for raw in rows:
        row = _parse_topology_row(raw, report, units, actor)
        code = str(raw.get("code", "")).strip()
        if code and code in first_row:
            report.add(int(raw.get("_row", 0)), "code", _("Code %(code)s appears twice in the file (first in row "
                                                          "%(row)d).") % {"code": code, "row": first_row[code]})
            parsed.pop(code, None)  # its first row is not the whole truth either: check no further
            continue
        if code:
            first_row[code] = int(raw.get("_row", 0))
        if row is not None:
            parsed[code] = row
    existing = {code: n for code, n in _locked_nodes(set(first_row)).items()}
    for code, row in parsed.items():
        node = existing.get(code)
        if node is None:
            continue
        if not unit_in_scope(actor, node.unit):
            report.add(row.row, "code", _("Node %(code)s belongs to a unit outside your scope.") % {"code": code})
        elif node.utility != row.utility:
            report.add(row.row, "utility", _("A node never changes network; %(code)s is a %(utility)s node.")
                       % {"code": code, "utility": UtilityKind(node.utility).label})
        row.existing = node
    db_parents = _db_parents(actor, {r.parent_code for r in parsed.values() if r.parent_code} - set(first_row))
    _check_tree(parsed, first_row, existing, db_parents, report)
    if not report.ok:
        transaction.set_rollback(True)
        return report
    created = [r for r in parsed.values() if r.existing is None]
    report.created = len(created)
    parent_ids = {code: n.pk for code, n in {**db_parents, **existing}.items()}
    changed = {r.code: _changes(r, r.existing, parent_ids.get(r.parent_code) if r.parent_code else None)
               for r in parsed.values() if r.existing is not None}
    report.updated = sum(1 for c in changed.values() if c)
    report.unchanged = len(changed) - report.updated
    if dry_run:
        return report
    try:
        with transaction.atomic():
            _apply(actor, parsed, changed, parent_ids)
    except IntegrityError as exc:
        raise Conflict(_("Someone changed the topology while the file was being imported. Import it again.")) from exc
    return report


def _locked_nodes(codes: set[str]) -> dict[str, GridNode]:
    found: dict[str, GridNode] = {}
    for part in _chunks(sorted(codes)):
        for node in GridNode.objects.select_for_update().filter(code__in=part):
            found[node.code] = node
    # Their units, once each (scope check), instead of a join per node.
    units = OrgUnit.objects.in_bulk({n.unit_id for n in found.values()})
    for node in found.values():
        node.unit = units[node.unit_id]
    return found


def _db_parents(actor: Any, codes: set[str]) -> dict[str, GridNode]:
    """Parents named by the file but not in it, with the nodes above them (for the cycle and depth check)."""
    scoped = GridNode.objects.filter(unit_scope_q(actor))
    found = {n.code: n for part in _chunks(sorted(codes)) for n in scoped.filter(code__in=part)}
    ids = {i for n in found.values() for i in n.ancestor_ids()} - {n.pk for n in found.values()}
    for part in _chunks(sorted(ids)):
        for node in GridNode.objects.filter(pk__in=part):
            found.setdefault(node.code, node)
    return found


def _check_tree(parsed: dict[str, _Row], first_row: dict[str, int], existing: dict[str, GridNode],
                db_parents: dict[str, GridNode], report: ImportReport) -> None:
    """Unknown parents, other utility, cycles and depth, on the tree as it will be after the import."""
    by_id = {n.pk: n for n in db_parents.values()}

    def final_parent(code: str) -> str | None:
        if code in parsed:
            return parsed[code].parent_code
        node = db_parents.get(code)
        if node is None or node.parent_id is None:
            return None
        parent = by_id.get(node.parent_id)
        return parent.code if parent else None

    for row in parsed.values():
        if row.parent_code is None:
            continue
        if row.parent_code == row.code:
            report.add(row.row, "parent_code", _("A node cannot be its own parent."))
        elif row.parent_code in first_row and row.parent_code not in parsed:
            row.depth = -2  # the parent's row is bad: reported there
        elif row.parent_code not in parsed and row.parent_code not in db_parents:
            report.add(row.row, "parent_code", _("Unknown parent node %(code)s (neither in the file nor in the "
                                                 "topology).") % {"code": row.parent_code})
        else:
            utility = parsed[row.parent_code].utility if row.parent_code in parsed else \
                db_parents[row.parent_code].utility
            if utility != row.utility:
                report.add(row.row, "parent_code", _("The parent node belongs to the other utility's network."))
    depth: dict[str, int] = {}
    for start in parsed:
        chain: list[str] = []
        on_chain: set[str] = set()
        code: str | None = start
        while code is not None and code not in depth:
            if code in on_chain:
                cycle = chain[chain.index(code):]
                for member in cycle:
                    if member in parsed and member not in depth:
                        report.add(parsed[member].row, "parent_code", _(
                            "Cycle in the tree: %(cycle)s.") % {"cycle": " → ".join([*cycle, code])})
                        depth[member] = -1
                break
            chain.append(code)
            on_chain.add(code)
            code = final_parent(code)
        base = depth.get(code, -1) if code is not None else -1
        if code is not None and base < 0:
            for member in chain:
                depth.setdefault(member, -1)
            continue
        for member in reversed(chain):
            base += 1
            depth[member] = base
    for row in parsed.values():
        row.depth = depth.get(row.code, -1)
        if row.depth >= MAX_DEPTH:
            report.add(row.row, "parent_code", _("The tree would be deeper than %(max)d levels.") % {"max": MAX_DEPTH})
    # A moved node brings its subtree along: the deepest node below must still fit.
    for row in parsed.values():
        node = existing.get(row.code)
        if node is None or row.depth <= node.depth or row.depth >= MAX_DEPTH:
            continue
        below = GridNode.objects.filter(path__startswith=node.path).order_by("-depth").values_list(
            "depth", flat=True).first() or node.depth
        if row.depth + below - node.depth >= MAX_DEPTH:
            report.add(row.row, "parent_code", _("The tree would be deeper than %(max)d levels.") % {"max": MAX_DEPTH})


def _path_expression() -> Any:
    parent_path = Subquery(GridNode.objects.filter(pk=OuterRef("parent_id")).values("path")[:1])
    return Concat(Coalesce(parent_path, Value("")), LPad(Cast("id", CharField()), PATH_STEP, Value("0")),
                  Value("."), output_field=CharField())


def _apply(actor: Any, parsed: dict[str, _Row], changed: dict[str, dict[str, Any]],
           parent_ids: dict[str, int]) -> None:
    who = _event_actor(actor)
    events: list[NodeEvent] = []
    ids = dict(parent_ids)  # code → id, grows as levels are created
    levels: dict[int, list[_Row]] = {}
    for row in parsed.values():
        levels.setdefault(row.depth, []).append(row)
    now = timezone.now()
    for level in sorted(levels):
        rows = levels[level]
        new = [GridNode(code=r.code, name=r.name, kind=r.kind, utility=r.utility,
                        parent_id=ids[r.parent_code] if r.parent_code else None, path="", depth=level,
                        unit=r.unit, region_class=r.region_class or RegionClass.URBAN, dedicated=bool(r.dedicated),
                        updated_at=now)
               for r in rows if r.existing is None]
        for part in _chunks(new):
            GridNode.objects.bulk_create(part)
            created_ids = [n.pk for n in part]
            GridNode.objects.filter(pk__in=created_ids).update(path=_path_expression())
            events += [NodeEvent(node_id=n.pk, kind="created", actor=who, data={"source": "import"}) for n in part]
        ids.update({n.code: n.pk for n in new})
        movers = [r for r in rows if r.existing is not None and "parent_id" in changed[r.code]]
        if movers:
            # Paths as they are now: moves on the levels above have rewritten them.
            want = {r.existing.pk for r in movers if r.existing} | {ids[r.parent_code] for r in movers
                                                                   if r.parent_code}
            current = {n.pk: n for part in _chunks(sorted(want))
                       for n in GridNode.objects.filter(pk__in=part).only("id", "path", "depth", "parent_id")}
            for r in movers:
                assert r.existing is not None
                node = current[r.existing.pk]
                parent = current[ids[r.parent_code]] if r.parent_code else None
                move_subtree(node, parent)
                GridNode.objects.filter(pk=node.pk).update(parent=parent, path=node.path, depth=node.depth)
    updates: list[GridNode] = []
    for row in parsed.values():
        change = changed.get(row.code)
        if not change or row.existing is None:
            continue
        node = row.existing
        before = {k.removesuffix("_id"): getattr(node, k) for k in change}
        for k, v in change.items():
            if k != "parent_id":
                setattr(node, k, v)
        node.version += 1
        node.updated_at = now
        updates.append(node)
        events.append(NodeEvent(node=node, kind="changed", actor=who, data={
            "source": "import", "before": before, "parent": row.parent_code}))
    fields = ["name", "kind", "unit", "region_class", "dedicated", "version", "updated_at"]
    for part in _chunks(updates, 1000):
        GridNode.objects.bulk_update(part, fields)
    for part in _chunks(events):
        NodeEvent.objects.bulk_create(part)


# --------------------------------------------------------------------------- attachments

@transaction.atomic
def attachments_import(*, actor: Any, rows: list[dict[str, Any]], dry_run: bool = False) -> ImportReport:
    """Hang service points (by code, or by account number) on nodes; all rows or none."""
    require(actor, Capability.GRID_EDIT)
    report = ImportReport(dry_run=dry_run)
    if rows and ("node_code" not in rows[0] or not ({"service_point", "account"} & rows[0].keys())):
        raise InvalidInput({"file": [column_message(ATTACHMENT_COLUMNS, ("node_code",), [], ["node_code"], [])]})
    points = _by_code(ServicePoint, (str(r.get("service_point", "")).strip() for r in rows),
                      related=["premise__unit"])
    accounts = _by_code(Account, (str(r.get("account", "")).strip() for r in rows), "number",
                        related=["service_point__premise__unit", "unit"])
    nodes = _by_code(GridNode, (str(r.get("node_code", "")).strip() for r in rows), related=["unit"])
    wanted: dict[int, GridNode] = {}
    first_row: dict[int, int] = {}
    for raw in rows:
        n = int(raw.get("_row", 0))
        sp_code = str(raw.get("service_point", "")).strip()
        number = str(raw.get("account", "")).strip()
        node_code = str(raw.get("node_code", "")).strip()
        sp: ServicePoint | None = None
        if sp_code:
            sp = points.get(sp_code)
            if sp is None or not unit_in_scope(actor, sp.premise.unit):
                report.add(n, "service_point", _("Unknown service point %(code)s or not in your scope.")
                           % {"code": sp_code})
                sp = None
        if number:
            account = accounts.get(number)
            if account is None or not unit_in_scope(actor, account.unit):
                report.add(n, "account", _("Unknown account %(number)s or not in your scope.") % {"number": number})
            elif account.service_point is None:
                report.add(n, "account", _("Account %(number)s has no service point.") % {"number": number})
            elif sp is not None and account.service_point_id != sp.pk:
                report.add(n, "account", _("Account %(number)s is not supplied through service point %(code)s.")
                           % {"number": number, "code": sp_code})
            elif not sp_code:
                sp = account.service_point
        elif not sp_code:
            report.add(n, "service_point", _("Give a service point code or an account number."))
        node = nodes.get(node_code)
        if not node_code:
            report.add(n, "node_code", _("Give the code of the topology node."))
        elif node is None or not unit_in_scope(actor, node.unit):
            report.add(n, "node_code", _("Unknown topology node %(code)s or not in your scope.") % {"code": node_code})
            node = None
        if sp is None or node is None:
            continue
        if sp.utility != node.utility:
            report.add(n, "node_code", _("The service point and the node belong to different utilities."))
        elif sp.pk in first_row:
            report.add(n, "service_point", _("Service point %(code)s appears twice in the file (first in row "
                                             "%(row)d).") % {"code": sp.code, "row": first_row[sp.pk]})
        else:
            first_row[sp.pk] = n
            wanted[sp.pk] = node
    if not report.ok:
        return report
    current: dict[int, Attachment] = {}
    for part in _chunks(sorted(wanted)):
        current.update({a.service_point_id: a for a in
                        Attachment.objects.select_for_update().filter(service_point_id__in=part)})
    now = timezone.now()
    new = [Attachment(service_point_id=sp_id, node=node, attached_at=now) for sp_id, node in wanted.items()
           if sp_id not in current]
    moved = []
    for sp_id, attachment in current.items():
        if attachment.node_id != wanted[sp_id].pk:
            attachment.node = wanted[sp_id]
            attachment.attached_at = now
            moved.append(attachment)
    report.created, report.updated, report.unchanged = len(new), len(moved), len(current) - len(moved)
    if dry_run:
        return report
    for part in _chunks(new):
        Attachment.objects.bulk_create(part)
    for part in _chunks(moved, 1000):
        Attachment.objects.bulk_update(part, ["node", "attached_at"])
    return report
