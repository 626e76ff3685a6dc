"""Django admin for the topology: look-up only.

Nodes change through the grid services (path and subtree arithmetic, version, events); the admin's
plain ``save()`` would skip all of that, so nothing here is editable.
"""

from __future__ import annotations

from django.contrib import admin

from kefu.core.admin import ReadOnlyAdmin
from kefu.grid.models import Attachment, GridNode, NodeEvent


@admin.register(GridNode)
class GridNodeAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "kind", "utility", "parent", "depth", "unit", "region_class", "dedicated")
    list_filter = ("utility", "kind", "region_class", "dedicated")
    search_fields = ("code", "name")
    list_select_related = ("parent", "unit")


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdmin):
    list_display = ("service_point", "node", "attached_at")
    search_fields = ("service_point__code", "node__code")
    list_select_related = ("service_point", "node")


@admin.register(NodeEvent)
class NodeEventAdmin(ReadOnlyAdmin):
    list_display = ("node", "kind", "actor", "at")
    list_filter = ("kind",)
    search_fields = ("node__code",)
    list_select_related = ("node", "actor")
