"""Input and output serializers for the org API. Outputs carry a label beside every coded value."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from kefu.core.api import OutputModelSerializer
from kefu.org.choices import Role
from kefu.org.models import OrgUnit, Staff


class UnitRefOutput(serializers.Serializer):
    """A unit as it appears inside other records."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    code = serializers.CharField()


class OrgUnitOutput(OutputModelSerializer):
    parent = serializers.IntegerField(source="parent_id", allow_null=True)  # type: ignore[assignment]
    level_label = serializers.CharField(source="get_level_display")
    utility_label = serializers.CharField(source="get_utility_display")
    region_class_label = serializers.CharField(source="get_region_class_display")

    class Meta:
        model = OrgUnit
        fields = ["id", "name", "code", "parent", "depth", "level", "level_label", "utility", "utility_label",
                  "region_class", "region_class_label", "phone", "is_active"]
        read_only_fields = fields


class RoleOutput(serializers.Serializer):
    role = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.label


class StaffOutput(OutputModelSerializer):
    name = serializers.CharField(source="display_name")
    unit = UnitRefOutput(allow_null=True)
    roles = serializers.SerializerMethodField()

    class Meta:
        model = Staff
        fields = ["id", "username", "name", "full_name", "unit", "roles", "extension", "is_active"]
        read_only_fields = fields

    @extend_schema_field(RoleOutput(many=True))
    def get_roles(self, staff: Staff) -> list[dict[str, str]]:
        # Uses the prefetched roles when the list prefetched them: no query per row.
        return [{"role": r.role, "label": str(Role(r.role).label)} for r in staff.roles.all()]


class TokenInput(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})


class TokenOutput(serializers.Serializer):
    token = serializers.CharField(help_text="Send as the header: Authorization: Token <token>")
    user = StaffOutput()
