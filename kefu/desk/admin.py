"""Django admin for the desk: look-up only, caller numbers masked.

Calls change only through the telephone events and the desk services (state derivation, version,
callback queue); extensions are added and removed on the desk's extension page, which checks scope.
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from kefu.core.admin import ReadOnlyAdmin, ReadOnlyInline
from kefu.core.validators import mask_phone
from kefu.desk.models import Call, CallActivity, CallOrder, CtiEvent, Extension


@admin.register(Extension)
class ExtensionAdmin(ReadOnlyAdmin):
    list_display = ("number", "unit", "agent", "signed_in_at")
    search_fields = ("=number", "agent__username")
    list_select_related = ("unit", "agent")


class CtiEventInline(ReadOnlyInline):
    model = CtiEvent
    fields = ("kind", "occurred_at", "received_at")


class CallOrderInline(ReadOnlyInline):
    model = CallOrder
    fields = ("order", "relation", "actor", "at")


class CallActivityInline(ReadOnlyInline):
    model = CallActivity
    fields = ("kind", "actor", "text", "at")


@admin.register(Call)
class CallAdmin(ReadOnlyAdmin):
    list_display = ("call_id", "started_at", "state", "masked_caller", "extension", "agent", "unit", "result",
                    "callback_status")
    list_filter = ("state", "callback_status", "result")
    # Exact search by call id or normalised number finds a call without listing full numbers.
    search_fields = ("=call_id", "=caller_e164")
    list_select_related = ("agent", "unit")
    date_hierarchy = "started_at"
    exclude = ("caller", "caller_e164")
    readonly_fields = ("masked_caller",)
    inlines = (CtiEventInline, CallOrderInline, CallActivityInline)

    @admin.display(description=_("caller number"))
    def masked_caller(self, obj: Call) -> str:
        return mask_phone(obj.caller_e164) if obj.caller_e164 else ("***" if obj.caller else "")
