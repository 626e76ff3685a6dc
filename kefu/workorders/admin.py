"""Django admin for work orders: look-up only, caller phones masked.

Orders change only through their action services (version, clocks, events, notifications) and policy
rows through ``workorders.policy`` (history, cache reset); the admin's plain ``save()`` would skip
all of that, so nothing here is editable.
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from kefu.core.admin import ReadOnlyAdmin, ReadOnlyInline
from kefu.core.validators import mask_phone
from kefu.workorders.models import (
    HandoverItem,
    OrderClock,
    OrderEvent,
    OrderType,
    ShiftHandover,
    SlaPolicy,
    WarningLevel,
    WorkOrder,
)


@admin.register(OrderType)
class OrderTypeAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "name_en", "parent", "utility", "field_work", "callback_required",
                    "duplicate_window_hours", "is_active", "sort")
    list_filter = ("utility", "is_active", "field_work")
    search_fields = ("code", "name", "name_en")
    list_select_related = ("parent",)


@admin.register(SlaPolicy)
class SlaPolicyAdmin(ReadOnlyAdmin):
    list_display = ("order_type", "clock", "basis", "utility", "region_class", "importance", "channel", "amount",
                    "unit", "starts_on", "effective_from", "effective_to", "weak_source")
    list_filter = ("clock", "basis", "unit", "weak_source")
    search_fields = ("order_type__code", "order_type__name", "source")
    list_select_related = ("order_type",)


@admin.register(WarningLevel)
class WarningLevelAdmin(ReadOnlyAdmin):
    list_display = ("fraction", "name", "notify_shift_leader")


class OrderClockInline(ReadOnlyInline):
    model = OrderClock
    fields = ("kind", "basis", "amount", "unit", "state", "started_at", "due_at", "paused_seconds", "stopped_at")


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    fields = ("at", "kind", "from_status", "to_status", "actor", "actor_unit", "text")


@admin.register(WorkOrder)
class WorkOrderAdmin(ReadOnlyAdmin):
    list_display = ("number", "order_type", "status", "time_state", "due_at", "caller_name", "masked_phone",
                    "handling_unit", "accepted_at")
    list_filter = ("status", "time_state", "utility", "channel", "supervised")
    search_fields = ("=number", "caller_name")
    list_select_related = ("order_type", "handling_unit")
    date_hierarchy = "accepted_at"
    exclude = ("caller_phone",)
    readonly_fields = ("masked_phone",)
    inlines = (OrderClockInline, OrderEventInline)

    @admin.display(description=_("caller phone"))
    def masked_phone(self, obj: WorkOrder) -> str:
        return mask_phone(obj.caller_phone) if obj.caller_phone else ""


class HandoverItemInline(ReadOnlyInline):
    model = HandoverItem
    fields = ("order", "status_at_handover", "note")


@admin.register(ShiftHandover)
class ShiftHandoverAdmin(ReadOnlyAdmin):
    list_display = ("id", "unit", "shift_start", "shift_end", "status", "created_by", "confirmed_by")
    list_filter = ("status",)
    list_select_related = ("unit", "created_by", "confirmed_by")
    date_hierarchy = "created_at"
    inlines = (HandoverItemInline,)
