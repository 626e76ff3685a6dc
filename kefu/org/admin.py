"""Django admin for org units and staff: look-up only; changes go through the /org/ pages."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from kefu.core.admin import ReadOnlyAdmin, ReadOnlyInline
from kefu.org.models import OrgUnit, Staff, StaffRole


@admin.register(OrgUnit)
class OrgUnitAdmin(ReadOnlyAdmin):
    list_display = ("name", "code", "level", "utility", "region_class", "parent", "staff_count", "is_active")
    list_filter = ("level", "utility", "region_class", "is_active")
    search_fields = ("name", "code")
    list_select_related = ("parent",)
    ordering = ("path",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrgUnit]:
        return super().get_queryset(request).annotate(staff_total=Count("staff"))

    @admin.display(description=_("staff"), ordering="staff_total")
    def staff_count(self, obj: OrgUnit) -> int:
        return obj.staff_total  # type: ignore[attr-defined]


class StaffRoleInline(ReadOnlyInline):
    model = StaffRole


@admin.register(Staff)
class StaffAdmin(ReadOnlyAdmin):
    list_display = ("username", "full_name", "unit", "roles_text", "extension", "is_active", "last_login")
    list_filter = ("is_active", "roles__role", "is_superuser")
    search_fields = ("username", "full_name", "=extension")
    list_select_related = ("unit",)
    # Never the password hash; the lock-out counters help when someone cannot log in.
    fields = ("username", "full_name", "unit", "phone", "extension", "email", "is_active", "is_staff",
              "is_superuser", "last_login", "date_joined", "failed_logins", "locked_until")
    inlines = (StaffRoleInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Staff]:
        return super().get_queryset(request).prefetch_related("roles")

    @admin.display(description=_("roles"))
    def roles_text(self, obj: Staff) -> str:
        return ", ".join(str(r.get_role_display()) for r in obj.roles.all())
