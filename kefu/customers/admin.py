"""Django admin for the customer registry: look-up only, with phone and ID numbers masked.

Full personal data is shown only on the customer pages, where each view is audited (rule 8).
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from kefu.core.admin import ReadOnlyAdmin, ReadOnlyInline
from kefu.core.validators import mask_id_number, mask_phone
from kefu.customers.models import Account, AccountEvent, Contact, Customer, Premise, ServicePoint


class ContactInline(ReadOnlyInline):
    model = Contact
    fields = ("name", "relation", "masked_phone", "phone_kind", "is_primary", "note")
    readonly_fields = ("masked_phone",)

    @admin.display(description=_("phone"))
    def masked_phone(self, obj: Contact) -> str:
        return mask_phone(obj.phone) if obj.phone else ""


class AccountInline(ReadOnlyInline):
    model = Account
    fields = ("number", "utility", "customer_class", "status", "unit", "manager")
    show_change_link = True


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin):
    list_display = ("name", "kind", "id_type", "masked_id_number", "unit", "created_at")
    list_filter = ("kind", "id_type")
    # Exact ID-number search finds a record without the list ever showing the full number.
    search_fields = ("name", "=id_number", "=accounts__number")
    list_select_related = ("unit",)
    fields = ("name", "kind", "id_type", "masked_id_number", "unit", "note", "created_at", "updated_at")
    readonly_fields = ("masked_id_number",)
    inlines = (ContactInline, AccountInline)

    @admin.display(description=_("ID number"))
    def masked_id_number(self, obj: Customer) -> str:
        return mask_id_number(obj.id_number)


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ("number", "customer", "utility", "customer_class", "importance", "status", "unit", "manager")
    list_filter = ("utility", "status", "customer_class", "importance")
    search_fields = ("=number", "customer__name")
    list_select_related = ("customer", "unit", "manager")


@admin.register(Premise)
class PremiseAdmin(ReadOnlyAdmin):
    list_display = ("address", "region_class", "unit")
    list_filter = ("region_class",)
    search_fields = ("address",)
    list_select_related = ("unit",)


@admin.register(ServicePoint)
class ServicePointAdmin(ReadOnlyAdmin):
    list_display = ("code", "utility", "premise", "description")
    list_filter = ("utility",)
    search_fields = ("=code",)
    list_select_related = ("premise",)


@admin.register(AccountEvent)
class AccountEventAdmin(ReadOnlyAdmin):
    list_display = ("at", "account", "kind", "from_status", "to_status", "actor", "reason")
    list_filter = ("kind",)
    search_fields = ("=account__number",)
    list_select_related = ("account", "actor")
    date_hierarchy = "at"
