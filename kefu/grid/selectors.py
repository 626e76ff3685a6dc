"""Reads of the topology: scoped nodes, subtrees, the way to the root, and the service points and
accounts under a node, all set-based (one prefix scan of the path, then joins)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from kefu.core.api import parse_id
from kefu.customers.models import Account, ServicePoint
from kefu.org.choices import Capability
from kefu.org.scope import for_user

from .models import Attachment, GridNode


def node_qs(user: Any) -> QuerySet[GridNode]:
    return for_user(GridNode.objects.all(), user, capability=Capability.GRID_VIEW)


def node_get(user: Any, pk: Any) -> GridNode:
    node = node_qs(user).select_related("parent", "unit").filter(pk=parse_id(pk) or 0).first()
    if node is None:
        raise Http404
    return node


def subtree_nodes(node: GridNode) -> QuerySet[GridNode]:
    """The node and everything below it."""
    return GridNode.objects.filter(path__startswith=node.path)


def ancestors(node: GridNode) -> list[GridNode]:
    """From the root down to the node itself."""
    ids = node.ancestor_ids()
    found = GridNode.objects.in_bulk(ids)
    return [found[i] for i in ids if i in found]


def attachments_under(node: GridNode) -> QuerySet[Attachment]:
    return Attachment.objects.filter(node__path__startswith=node.path)


def service_points_under(node: GridNode) -> QuerySet[ServicePoint]:
    return ServicePoint.objects.filter(pk__in=attachments_under(node).values("service_point_id"))


def accounts_under(node: GridNode) -> QuerySet[Account]:
    """Accounts supplied through the node's subtree (the affected accounts of an outage there)."""
    return Account.objects.filter(service_point_id__in=attachments_under(node).values("service_point_id"))


def path_to_root(service_point: ServicePoint | int) -> list[GridNode]:
    """The nodes from the service point's node up to the root (nearest first); empty if unattached."""
    sp_id = service_point.pk if isinstance(service_point, ServicePoint) else service_point
    attachment = Attachment.objects.select_related("node").filter(service_point_id=sp_id).first()
    if attachment is None:
        return []
    return list(reversed(ancestors(attachment.node)))


def children_of(user: Any, node: GridNode | None) -> QuerySet[GridNode]:
    qs = node_qs(user)
    return qs.filter(parent=node) if node is not None else qs.filter(parent__isnull=True)
