"""Input and output serializers of the topology API. Inputs check shapes; the services decide the rest."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from kefu.core.api import OutputModelSerializer, ScopedPrimaryKeyField, StrictInput
from kefu.core.choices import RegionClass, UtilityKind
from kefu.customers.models import Account
from kefu.grid.choices import NodeKind
from kefu.grid.models import GridNode
from kefu.grid.selectors import node_qs
from kefu.org.api.serializers import UnitRefOutput
from kefu.org.models import OrgUnit


def _units(user: Any) -> Any:
    return OrgUnit.objects.for_user(user).filter(is_active=True)


def _one_of(choices: Any) -> str:
    return "One of: " + ", ".join(str(value) for value, _label in choices)


class NodeRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField(help_text=_one_of(NodeKind.choices))
    kind_label = serializers.CharField(source="get_kind_display")
    depth = serializers.IntegerField()


class NodeOutput(OutputModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display")
    utility_label = serializers.CharField(source="get_utility_display")
    region_class_label = serializers.CharField(source="get_region_class_display")
    parent = serializers.IntegerField(source="parent_id", allow_null=True)  # type: ignore[assignment]
    parent_code = serializers.SerializerMethodField()
    unit = UnitRefOutput()

    class Meta:
        model = GridNode
        fields = ["id", "code", "name", "kind", "kind_label", "utility", "utility_label", "parent", "parent_code",
                  "depth", "unit", "region_class", "region_class_label", "dedicated", "version", "updated_at"]
        read_only_fields = fields

    def get_parent_code(self, node: GridNode) -> str | None:
        return node.parent.code if node.parent_id and node.parent else None


class NodeDetailOutput(NodeOutput):
    path = serializers.SerializerMethodField(help_text="From the root down to this node.")

    class Meta(NodeOutput.Meta):
        fields = [*NodeOutput.Meta.fields, "path"]
        read_only_fields = fields

    @extend_schema_field(NodeRefOutput(many=True))
    def get_path(self, node: GridNode) -> Any:
        return NodeRefOutput(self.context.get("path", []), many=True).data


class NodeAccountOutput(OutputModelSerializer):
    customer_name = serializers.CharField(source="customer.name")
    address = serializers.CharField(source="premise.address")
    importance_label = serializers.CharField(source="get_importance_display")
    service_point = serializers.IntegerField(source="service_point_id", allow_null=True)

    class Meta:
        model = Account
        fields = ["id", "number", "customer_name", "address", "utility", "importance", "importance_label",
                  "service_point"]
        read_only_fields = fields


class ServicePointPathOutput(serializers.Serializer):
    service_point = serializers.IntegerField()
    nodes = NodeRefOutput(many=True, help_text="From the service point's node up to the root (nearest first); "
                                               "empty when the service point hangs on no node.")


class NodeCreateInput(StrictInput):
    code = serializers.CharField(max_length=40)
    name = serializers.CharField(max_length=100)
    kind = serializers.CharField(max_length=16, help_text=_one_of(NodeKind.choices))
    utility = serializers.CharField(max_length=8, help_text=_one_of(UtilityKind.choices))
    parent = ScopedPrimaryKeyField(  # type: ignore[assignment]  # a field named like Field.parent
        model=GridNode, scope=node_qs, allow_null=True, required=False,
                                   help_text="Parent node id; omit or null for a top node.")
    unit = ScopedPrimaryKeyField(model=OrgUnit, scope=_units, help_text="Owning org unit id.")
    region_class = serializers.CharField(max_length=8, required=False, help_text=_one_of(RegionClass.choices))
    dedicated = serializers.BooleanField(required=False, default=False)


class NodeUpdateInput(StrictInput):
    version = serializers.IntegerField(min_value=0, help_text="The version you read; a stale one is a 409.")
    code = serializers.CharField(max_length=40, required=False)
    name = serializers.CharField(max_length=100, required=False)
    kind = serializers.CharField(max_length=16, required=False, help_text=_one_of(NodeKind.choices))
    parent = ScopedPrimaryKeyField(  # type: ignore[assignment]  # a field named like Field.parent
        model=GridNode, scope=node_qs, allow_null=True, required=False,
                                   help_text="New parent node id (moves the subtree); null makes it a top node.")
    unit = ScopedPrimaryKeyField(model=OrgUnit, scope=_units, required=False)
    region_class = serializers.CharField(max_length=8, required=False, help_text=_one_of(RegionClass.choices))
    dedicated = serializers.BooleanField(required=False)
