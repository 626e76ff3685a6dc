"""Django admin for the core tables: history and audit rows are evidence, so they are read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from kefu.core.models import AuditLog, FieldChange


class ReadOnlyAdmin(admin.ModelAdmin):
    """View and search only. Writes go through the services (history, scope, tree paths), which the
    admin's plain ``save()`` would bypass; the /org/ and customer pages are where data is changed."""

    show_full_result_count = False  # skip the second COUNT(*) over large tables

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(FieldChange)
class FieldChangeAdmin(ReadOnlyAdmin):
    list_display = ("at", "model", "object_id", "field", "old_value", "new_value", "actor", "reason")
    list_filter = ("model",)
    search_fields = ("=object_id", "field", "actor__username")
    list_select_related = ("actor",)
    date_hierarchy = "at"


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin):
    list_display = ("at", "action", "actor", "model", "object_id", "ip")
    list_filter = ("action",)
    search_fields = ("actor__username", "=ip", "=object_id")
    list_select_related = ("actor",)
    date_hierarchy = "at"
