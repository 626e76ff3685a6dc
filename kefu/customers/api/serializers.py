"""Input and output serializers for the customer API.

Inputs check shape, types and lengths only; business rules live in the services. Outputs carry a
label beside every coded value, and mask phone and ID numbers unless the context says
``personal=True`` (the user holds Capability.PERSONAL_DATA).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from kefu.core.api import OutputModelSerializer, ScopedPrimaryKeyField
from kefu.core.choices import RegionClass, UtilityKind
from kefu.core.validators import mask_id_number, mask_phone
from kefu.customers.choices import AccountStatus, ContactRelation, CustomerClass, CustomerKind, IdType, Importance
from kefu.customers.models import Account, Contact, Customer, Premise
from kefu.customers.selectors import customer_qs, premise_qs
from kefu.customers.services import account_allowed_statuses
from kefu.org.api.serializers import UnitRefOutput
from kefu.org.models import OrgUnit, Staff

# ---------------------------------------------------------------- outputs


class StaffRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="display_name")


class PremiseRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    address = serializers.CharField()


class CustomerRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class StatusOption(serializers.Serializer):
    status = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.label


class ContactOutput(OutputModelSerializer):
    customer = serializers.IntegerField(source="customer_id")
    relation_label = serializers.CharField(source="get_relation_display")
    phone = serializers.SerializerMethodField(help_text="E.164 when you may see personal data, else masked.")
    phone_kind_label = serializers.CharField(source="get_phone_kind_display")
    phone_masked = serializers.SerializerMethodField()

    class Meta:
        model = Contact
        fields = ["id", "customer", "name", "relation", "relation_label", "phone", "phone_masked", "phone_kind",
                  "phone_kind_label", "extension", "is_primary", "note"]
        read_only_fields = fields

    def get_phone(self, contact: Contact) -> str:
        return contact.phone if self.context.get("personal") else mask_phone(contact.phone)

    def get_phone_masked(self, contact: Contact) -> bool:
        return not self.context.get("personal")


class AccountBriefOutput(OutputModelSerializer):
    utility_label = serializers.CharField(source="get_utility_display")
    customer_class_label = serializers.CharField(source="get_customer_class_display")
    importance_label = serializers.CharField(source="get_importance_display")
    status_label = serializers.CharField(source="get_status_display")
    premise = PremiseRefOutput()
    unit = UnitRefOutput()
    manager = StaffRefOutput(allow_null=True)

    class Meta:
        model = Account
        fields = ["id", "number", "utility", "utility_label", "customer_class", "customer_class_label",
                  "importance", "importance_label", "status", "status_label", "premise", "unit", "manager",
                  "opened_on"]
        read_only_fields = fields


class AccountOutput(AccountBriefOutput):
    customer = CustomerRefOutput()
    service_point = serializers.CharField(source="service_point.code", allow_null=True, default=None)
    allowed_statuses = serializers.SerializerMethodField(help_text="Statuses this account may move to next.")

    class Meta(AccountBriefOutput.Meta):
        fields = [*AccountBriefOutput.Meta.fields, "customer", "service_point", "status_changed_at",
                  "allowed_statuses", "version", "created_at", "updated_at"]
        read_only_fields = fields

    @extend_schema_field(StatusOption(many=True))
    def get_allowed_statuses(self, account: Account) -> list[dict[str, str]]:
        return [{"status": s, "label": str(AccountStatus(s).label)} for s in account_allowed_statuses(account)]


class CustomerListOutput(OutputModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display")
    id_type_label = serializers.CharField(source="get_id_type_display")
    id_number = serializers.SerializerMethodField(help_text="Always masked in lists.")
    unit = UnitRefOutput()

    class Meta:
        model = Customer
        fields = ["id", "kind", "kind_label", "name", "id_type", "id_type_label", "id_number", "unit",
                  "created_at"]
        read_only_fields = fields

    def get_id_number(self, customer: Customer) -> str:
        return mask_id_number(customer.id_number)


class CustomerLookupOutput(CustomerListOutput):
    accounts = AccountBriefOutput(many=True, source="visible_accounts")

    class Meta(CustomerListOutput.Meta):
        fields = [*CustomerListOutput.Meta.fields, "accounts"]
        read_only_fields = fields


class CustomerDetailOutput(CustomerListOutput):
    id_number = serializers.SerializerMethodField(help_text="Full when you may see personal data, else masked.")
    accounts = AccountBriefOutput(many=True, source="visible_accounts")
    contacts = ContactOutput(many=True)
    personal_data_visible = serializers.SerializerMethodField()

    class Meta(CustomerListOutput.Meta):
        fields = [*CustomerListOutput.Meta.fields, "note", "version", "updated_at", "accounts", "contacts",
                  "personal_data_visible"]
        read_only_fields = fields

    def get_id_number(self, customer: Customer) -> str:
        return customer.id_number if self.context.get("personal") else mask_id_number(customer.id_number)

    def get_personal_data_visible(self, customer: Customer) -> bool:
        return bool(self.context.get("personal"))


class PremiseOutput(OutputModelSerializer):
    region_class_label = serializers.CharField(source="get_region_class_display")
    unit = UnitRefOutput()

    class Meta:
        model = Premise
        fields = ["id", "province", "city", "district", "street", "community", "building", "entrance", "room",
                  "detail", "address", "region_class", "region_class_label", "unit", "created_at", "updated_at"]
        read_only_fields = fields


# ---------------------------------------------------------------- inputs


def _units(user: Any) -> QuerySet[OrgUnit]:
    return OrgUnit.objects.for_user(user)


def UnitField(**kwargs: Any) -> ScopedPrimaryKeyField:
    return ScopedPrimaryKeyField(model=OrgUnit, scope=_units, **kwargs)


def _text(max_length: int, *, required: bool = True) -> serializers.CharField:
    return serializers.CharField(max_length=max_length, required=required, allow_blank=not required)


class CustomerPartInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=CustomerKind.choices)
    name = _text(100)
    id_type = serializers.ChoiceField(choices=IdType.choices)
    id_number = _text(32)
    note = _text(500, required=False)


class PremisePartInput(serializers.Serializer):
    province = _text(20)
    city = _text(20)
    district = _text(20)
    street = _text(40, required=False)
    community = _text(40, required=False)
    building = _text(20, required=False)
    entrance = _text(20, required=False)
    room = _text(20, required=False)
    detail = _text(100, required=False)
    region_class = serializers.ChoiceField(choices=RegionClass.choices, required=False)


class AccountPartInput(serializers.Serializer):
    utility = serializers.ChoiceField(choices=UtilityKind.choices)
    customer_class = serializers.ChoiceField(choices=CustomerClass.choices)
    importance = serializers.ChoiceField(choices=Importance.choices, required=False)
    number = serializers.CharField(max_length=20, required=False,
                                   help_text="Only for legacy numbers; leave out to have one issued.")
    opened_on = serializers.DateField(required=False)


class ContactPartInput(serializers.Serializer):
    name = _text(60)
    phone = serializers.CharField(max_length=40, help_text="Any common spelling: +86 138-0000-1111, 0571 8765 4321.")
    relation = serializers.ChoiceField(choices=ContactRelation.choices, required=False, default=ContactRelation.SELF)
    is_primary = serializers.BooleanField(required=False, default=False)
    note = _text(200, required=False)


class CustomerCreateInput(serializers.Serializer):
    unit = UnitField(help_text="Org unit that serves the customer, premise and account.")
    customer = CustomerPartInput()
    premise = PremisePartInput()
    account = AccountPartInput()
    contacts = ContactPartInput(many=True, max_length=20)  # type: ignore[call-arg]  # ListSerializer kwarg


class CustomerUpdateInput(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, max_value=2**31 - 1,
                                       help_text="The version you read; a newer one on the server is a 409.")
    kind = serializers.ChoiceField(choices=CustomerKind.choices, required=False)
    name = serializers.CharField(max_length=100, required=False)
    id_type = serializers.ChoiceField(choices=IdType.choices, required=False)
    id_number = serializers.CharField(max_length=32, required=False)
    unit = UnitField(required=False)
    note = _text(500, required=False)


class AccountCreateInput(AccountPartInput):
    customer = ScopedPrimaryKeyField(model=Customer, scope=customer_qs)
    premise = ScopedPrimaryKeyField(model=Premise, scope=premise_qs)
    unit = UnitField(required=False, help_text="Defaults to the premise's unit.")


class AccountUpdateInput(serializers.Serializer):
    customer_class = serializers.ChoiceField(choices=CustomerClass.choices, required=False)
    importance = serializers.ChoiceField(choices=Importance.choices, required=False)


class AccountStatusInput(serializers.Serializer):
    to_status = serializers.ChoiceField(choices=AccountStatus.choices)
    reason = _text(200, required=False)


class ManagerField(ScopedPrimaryKeyField):
    """A customer manager the account may get: the view puts the candidates into the context."""

    def get_queryset(self) -> QuerySet[Staff]:
        return self.context["manager_candidates"]


class AccountManagerInput(serializers.Serializer):
    manager = ManagerField(model=Staff, scope=lambda user: Staff.objects.none(), allow_null=True,
                           help_text="Staff id of the customer manager, or null to remove the manager.")
    reason = _text(200, required=False)


class PremiseUpdateInput(PremisePartInput):
    province = serializers.CharField(max_length=20, required=False)
    city = serializers.CharField(max_length=20, required=False)
    district = serializers.CharField(max_length=20, required=False)
    unit = UnitField(required=False)


class PremiseCreateInput(PremisePartInput):
    unit = UnitField()


class ContactCreateInput(ContactPartInput):
    customer = ScopedPrimaryKeyField(model=Customer, scope=customer_qs)


class ContactUpdateInput(serializers.Serializer):
    name = serializers.CharField(max_length=60, required=False)
    phone = serializers.CharField(max_length=40, required=False)
    relation = serializers.ChoiceField(choices=ContactRelation.choices, required=False)
    extension = _text(10, required=False)
    is_primary = serializers.BooleanField(required=False)
    note = _text(200, required=False)


# ---------------------------------------------------------------- hot path

_DATETIME = serializers.DateTimeField()
_DATE = serializers.DateField()


def _ref_unit(unit: OrgUnit) -> dict[str, Any]:
    return {"id": unit.pk, "name": unit.name, "code": unit.code}


def customer_lookup_rows(customers: list[Customer]) -> list[dict[str, Any]]:
    """The CustomerLookupOutput shape built by hand.

    The IVR and screen-pop call this on every ringing phone; building ModelSerializers with nested
    many-fields costs more CPU than the whole database work, so this path writes the dicts itself.
    A test keeps it equal to CustomerLookupOutput, which stays the documented schema.
    """
    rows = []
    for c in customers:
        rows.append({
            "id": c.pk, "kind": c.kind, "kind_label": str(CustomerKind(c.kind).label), "name": c.name,
            "id_type": c.id_type, "id_type_label": str(IdType(c.id_type).label),
            "id_number": mask_id_number(c.id_number), "unit": _ref_unit(c.unit),
            "created_at": _DATETIME.to_representation(c.created_at),
            "accounts": [
                {
                    "id": a.pk, "number": a.number, "utility": a.utility,
                    "utility_label": str(UtilityKind(a.utility).label),
                    "customer_class": a.customer_class,
                    "customer_class_label": str(CustomerClass(a.customer_class).label),
                    "importance": a.importance, "importance_label": str(Importance(a.importance).label),
                    "status": a.status, "status_label": str(AccountStatus(a.status).label),
                    "premise": {"id": a.premise.pk, "address": a.premise.address},
                    "unit": _ref_unit(a.unit),
                    "manager": {"id": a.manager.pk, "name": a.manager.display_name()} if a.manager else None,
                    "opened_on": _DATE.to_representation(a.opened_on),
                }
                for a in c.visible_accounts  # type: ignore[attr-defined]
            ],
        })
    return rows
