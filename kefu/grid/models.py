"""Network topology: a tree of nodes per utility (substation → feeder → transformer area; gas
station → pressure zone → building / riser) and the attachment of each service point to one node."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from kefu.core.choices import RegionClass, UtilityKind
from kefu.customers.models import ServicePoint
from kefu.org.models import OrgUnit

from .choices import NodeKind


class GridNode(models.Model):
    code = models.CharField(_("node code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=NodeKind.choices)
    utility = models.CharField(_("utility kind"), max_length=8, choices=UtilityKind.choices)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children",
                               verbose_name=_("parent node"))
    # Materialised path of zero-padded ids ("0000000001.0000000007."): a subtree is one indexed
    # prefix scan, the way to the root is the path itself (decision 0011).
    path = models.CharField(_("tree path"), max_length=255, editable=False)
    depth = models.PositiveSmallIntegerField(_("depth"), default=0, editable=False)
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("unit"))
    region_class = models.CharField(_("region class"), max_length=8, choices=RegionClass.choices,
                                    default=RegionClass.URBAN)
    # 专变: a transformer that serves one customer; their outages are flagged for the dispatcher.
    dedicated = models.BooleanField(_("dedicated transformer"), default=False)
    version = models.PositiveIntegerField(default=1, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("topology node")
        verbose_name_plural = _("topology nodes")
        ordering = ["path"]
        indexes = [
            models.Index(fields=["path"], name="grid_node_path_idx", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["unit", "kind"], name="grid_node_unit_kind_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def ancestor_ids(self) -> list[int]:
        """Ids from the root down to this node."""
        return [int(part) for part in self.path.split(".") if part]


class Attachment(models.Model):
    """Which node a service point hangs on. One node per service point; moving it is an update."""

    service_point = models.OneToOneField(ServicePoint, primary_key=True, on_delete=models.CASCADE,
                                         related_name="+", verbose_name=_("service point"))
    node = models.ForeignKey(GridNode, on_delete=models.PROTECT, related_name="attachments",
                             verbose_name=_("node"))
    attached_at = models.DateTimeField(_("attached at"), auto_now=True)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        indexes = [models.Index(fields=["node"], name="grid_attach_node_idx")]

    def __str__(self) -> str:
        return f"{self.service_point_id}@{self.node_id}"


class NodeEvent(models.Model):
    """Every change of a node (created, renamed, moved, imported), with who and when."""

    node = models.ForeignKey(GridNode, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("event"), max_length=12)
    data = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey("org.Staff", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("node event")
        verbose_name_plural = _("node events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.node_id}:{self.kind}"
