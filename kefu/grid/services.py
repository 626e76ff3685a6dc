"""Writes to the topology: nodes (create, edit, move with their subtree) and attachments of service
points. Imports (``imports.py``) check a whole file first and then call the same path arithmetic."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Max, Value
from django.db.models.functions import Concat, Substr
from django.utils.translation import gettext as _

from kefu.core.choices import RegionClass, UtilityKind
from kefu.core.errors import Conflict, InvalidInput, NotFoundError
from kefu.customers.models import ServicePoint
from kefu.org.choices import Capability
from kefu.org.models import OrgUnit
from kefu.org.scope import require, unit_in_scope

from .choices import GAS_KINDS, MAX_DEPTH, PATH_STEP, POWER_KINDS, NodeKind
from .models import Attachment, GridNode, NodeEvent

# Enum ``.values`` is rebuilt on every access; imports check 100,000 rows with these.
_UTILITIES = frozenset(UtilityKind.values)
_KINDS = frozenset(NodeKind.values)
_REGIONS = frozenset(RegionClass.values)


def node_path(parent: GridNode | None, pk: int) -> str:
    return (parent.path if parent else "") + f"{pk:0{PATH_STEP}d}."


def kind_fits(kind: str, utility: str) -> bool:
    return kind in (POWER_KINDS if utility == UtilityKind.POWER else GAS_KINDS)


def check_node_fields(data: dict[str, Any]) -> dict[str, list[str]]:
    """Field errors of a node's own values (not its place in the tree), in a clerk's words."""
    errors: dict[str, list[str]] = {}
    code = str(data.get("code") or "").strip()
    if not code:
        errors["code"] = [_("A node needs a code.")]
    elif len(code) > 40:
        errors["code"] = [_("The node code is too long (at most 40 characters).")]
    name = str(data.get("name") or "").strip()
    if not name:
        errors["name"] = [_("A node needs a name.")]
    elif len(name) > 100:
        errors["name"] = [_("The name is too long (at most 100 characters).")]
    utility = data.get("utility")
    if utility not in _UTILITIES:
        errors["utility"] = [_("Utility must be power or gas.")]
    kind = data.get("kind")
    if kind not in _KINDS:
        errors["kind"] = [_("Unknown node kind %(value)s.") % {"value": kind}]
    elif utility in _UTILITIES and not kind_fits(kind, utility):
        errors["kind"] = [_("A %(kind)s is not part of a %(utility)s network.")
                          % {"kind": NodeKind(kind).label, "utility": UtilityKind(utility).label}]
    if data.get("region_class") and data["region_class"] not in _REGIONS:
        errors["region_class"] = [_("Region class must be urban, rural or remote.")]
    return errors


def check_parent(node: GridNode | None, parent: GridNode | None, utility: str) -> list[str]:
    """Why ``parent`` cannot be the parent of ``node`` (None for a new node), or nothing."""
    if parent is None:
        return []
    if parent.utility != utility:
        return [_("The parent node belongs to the other utility's network.")]
    if node is not None and node.pk and parent.path.startswith(node.path):
        return [_("A node cannot be moved under itself or one of its own descendants (that would be a cycle).")]
    # A moved node brings its subtree along: its deepest descendant must still fit.
    height = 0
    if node is not None and node.pk:
        deepest = GridNode.objects.filter(path__startswith=node.path).aggregate(m=Max("depth"))["m"]
        height = (deepest or node.depth) - node.depth
    if parent.depth + 1 + height >= MAX_DEPTH:
        return [_("The tree would be deeper than %(max)d levels.") % {"max": MAX_DEPTH}]
    return []


def _event(node: GridNode, kind: str, actor: Any, data: dict[str, Any] | None = None) -> None:
    NodeEvent.objects.create(node=node, kind=kind, actor=actor, data=data or {})


def _unit(actor: Any, unit: OrgUnit | int | None) -> OrgUnit:
    if isinstance(unit, int):
        unit = OrgUnit.objects.filter(pk=unit).first()
    if unit is None or not unit_in_scope(actor, unit):
        raise InvalidInput({"unit": [_("Choose an org unit in your scope.")]})
    return unit


@transaction.atomic
def node_create(*, actor: Any, data: dict[str, Any], parent: GridNode | None = None,
                unit: OrgUnit | int | None = None) -> GridNode:
    require(actor, Capability.GRID_EDIT)
    errors = check_node_fields(data)
    owner = _unit(actor, unit) if "unit" not in errors else None
    utility = data.get("utility", "")
    if parent_errors := check_parent(None, parent, utility):
        errors["parent"] = parent_errors
    if errors:
        raise InvalidInput(errors)
    assert owner is not None
    try:
        with transaction.atomic():
            node = GridNode.objects.create(
                code=str(data["code"]).strip(), name=str(data["name"]).strip(), kind=data["kind"], utility=utility,
                parent=parent, path="", depth=(parent.depth + 1) if parent else 0, unit=owner,
                region_class=data.get("region_class") or RegionClass.URBAN, dedicated=bool(data.get("dedicated")),
            )
    except IntegrityError as exc:
        raise InvalidInput({"code": [_("A node with code %(code)s already exists.") % {"code": data["code"]}]}) from exc
    node.path = node_path(parent, node.pk)
    GridNode.objects.filter(pk=node.pk).update(path=node.path)
    _event(node, "created", actor, {"parent": parent.code if parent else None})
    return node


def _locked(actor: Any, node_id: int, seen_version: int | None) -> GridNode:
    node = GridNode.objects.select_for_update(of=("self",)).select_related("parent").filter(pk=node_id).first()
    if node is None or not unit_in_scope(actor, node.unit):
        raise NotFoundError(_("No such topology node in your scope."))
    if seen_version is not None and node.version != seen_version:
        raise Conflict(_("Someone else changed this node after you opened it. Reload it and try again."))
    return node


def move_subtree(node: GridNode, parent: GridNode | None) -> None:
    """Re-hang ``node`` under ``parent`` and rewrite every descendant's path in one UPDATE."""
    old_path, old_depth = node.path, node.depth
    node.parent = parent
    node.path = node_path(parent, node.pk)
    node.depth = (parent.depth + 1) if parent else 0
    GridNode.objects.filter(path__startswith=old_path).exclude(pk=node.pk).update(
        path=Concat(Value(node.path), Substr("path", len(old_path) + 1)),
        depth=F("depth") + (node.depth - old_depth),
    )


@transaction.atomic
def node_update(*, actor: Any, node_id: int, data: dict[str, Any], parent: GridNode | None,
                seen_version: int | None = None) -> GridNode:
    """Edit a node; a new parent moves it with its whole subtree (a move under itself is refused)."""
    require(actor, Capability.GRID_EDIT)
    node = _locked(actor, node_id, seen_version)
    merged = {"code": node.code, "name": node.name, "kind": node.kind, "utility": node.utility,
              "region_class": node.region_class, **data}
    merged["utility"] = node.utility  # a node never changes network
    errors = check_node_fields(merged)
    if parent_errors := check_parent(node, parent, node.utility):
        errors["parent"] = parent_errors
    if merged["code"] != node.code and GridNode.objects.filter(code=merged["code"]).exclude(pk=node.pk).exists():
        errors["code"] = [_("A node with code %(code)s already exists.") % {"code": merged["code"]}]
    if errors:
        raise InvalidInput(errors)
    before = {"code": node.code, "name": node.name, "parent": node.parent.code if node.parent else None}
    if (parent.pk if parent else None) != node.parent_id:
        move_subtree(node, parent)
    node.code = str(merged["code"]).strip()
    node.name = str(merged["name"]).strip()
    node.kind = merged["kind"]
    node.region_class = merged["region_class"] or RegionClass.URBAN
    if "dedicated" in data:
        node.dedicated = bool(data["dedicated"])
    if "unit" in data and data["unit"] is not None:
        node.unit = _unit(actor, data["unit"])
    node.version += 1
    node.save()
    _event(node, "changed", actor, {"before": before, "parent": parent.code if parent else None})
    return node


@transaction.atomic
def attach(*, actor: Any, service_point: ServicePoint | int, node: GridNode | int) -> Attachment:
    """Hang a service point on a node (or move it to another one)."""
    require(actor, Capability.GRID_EDIT)
    sp = service_point if isinstance(service_point, ServicePoint) else ServicePoint.objects.filter(
        pk=service_point).select_related("premise__unit").first()
    target = node if isinstance(node, GridNode) else GridNode.objects.filter(pk=node).first()
    errors: dict[str, list[str]] = {}
    if sp is None or not unit_in_scope(actor, sp.premise.unit):
        errors["service_point"] = [_("No such service point in your scope.")]
    if target is None or not unit_in_scope(actor, target.unit):
        errors["node"] = [_("No such topology node in your scope.")]
    if not errors and sp is not None and target is not None and sp.utility != target.utility:
        errors["node"] = [_("The service point and the node belong to different utilities.")]
    if errors:
        raise InvalidInput(errors)
    assert sp is not None and target is not None
    attachment, _created = Attachment.objects.update_or_create(service_point=sp, defaults={"node": target})
    return attachment
