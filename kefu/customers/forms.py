"""Page forms for the customer registry. They check shape and length; the services check the rules.

Service errors come back as InvalidInput with keys such as "customer.name", "premise.city",
"contacts.0.phone" or "account.number"; ``core.web.add_service_errors`` puts each one on its field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from kefu.core.choices import RegionClass, UtilityKind
from kefu.core.validators import mask_id_number, parse_phone, validate_resident_id, validate_uscc
from kefu.core.web import BootstrapFormMixin
from kefu.customers.choices import (
    CLASS_UTILITY,
    AccountStatus,
    ContactRelation,
    CustomerClass,
    CustomerKind,
    IdType,
    Importance,
)
from kefu.customers.models import Account, Customer
from kefu.customers.services import ContactInput
from kefu.org.models import OrgUnit, Staff

MAX_CONTACTS = 2
PREMISE_FORM_FIELDS = ("province", "city", "district", "street", "community", "building", "entrance", "room",
                       "detail", "region_class")
CUSTOMER_FORM_FIELDS = ("kind", "name", "id_type", "id_number", "note")


def _class_choices() -> list[tuple[Any, Any]]:
    power = [(c.value, c.label) for c in CustomerClass if c.value.startswith("p_")]
    gas = [(c.value, c.label) for c in CustomerClass if c.value.startswith("g_")]
    return [("", "---------"), (UtilityKind.POWER.label, power), (UtilityKind.GAS.label, gas)]


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), max_length=100, required=False)
    after = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput)


class PremiseFields(forms.Form):
    """The parts of a Chinese address, shared by registration and the address edit page."""

    province = forms.CharField(label=_("Province"), max_length=20)
    city = forms.CharField(label=_("City"), max_length=20)
    district = forms.CharField(label=_("District / county"), max_length=20)
    street = forms.CharField(label=_("Street / town"), max_length=40, required=False)
    community = forms.CharField(label=_("Community / village"), max_length=40, required=False)
    building = forms.CharField(label=_("Building"), max_length=20, required=False)
    entrance = forms.CharField(label=_("Unit (entrance)"), max_length=20, required=False)
    room = forms.CharField(label=_("Room"), max_length=20, required=False)
    detail = forms.CharField(label=_("Address detail"), max_length=100, required=False)
    region_class = forms.ChoiceField(label=_("Region class"), choices=RegionClass.choices, initial=RegionClass.URBAN)


class CustomerRegisterForm(BootstrapFormMixin, PremiseFields):
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=OrgUnit.objects.none())
    # Customer
    kind = forms.ChoiceField(label=_("Customer kind"), choices=CustomerKind.choices, initial=CustomerKind.PERSON)
    name = forms.CharField(label=_("Name"), max_length=100)
    id_type = forms.ChoiceField(label=_("ID type"), choices=IdType.choices, initial=IdType.RESIDENT_ID)
    id_number = forms.CharField(label=_("ID number"), max_length=32)
    note = forms.CharField(label=_("Note"), max_length=500, required=False)
    # Premise fields come from PremiseFields.
    # First account
    utility = forms.ChoiceField(label=_("Utility kind"), choices=UtilityKind.choices, initial=UtilityKind.POWER)
    customer_class = forms.ChoiceField(label=_("Customer class"), choices=_class_choices)
    importance = forms.ChoiceField(label=_("Importance grade"), choices=Importance.choices, initial=Importance.NORMAL)
    account_number = forms.CharField(
        label=_("Account number"), max_length=20, required=False,
        help_text=_("Leave blank to issue a new number. Fill in only when taking over an existing account."),
    )
    # Contacts: the first is required (and primary), the second optional.
    contact0_name = forms.CharField(label=_("Contact name"), max_length=60)
    contact0_phone = forms.CharField(label=_("Phone"), max_length=40)
    contact0_relation = forms.ChoiceField(label=_("Relation"), choices=ContactRelation.choices,
                                          initial=ContactRelation.SELF)
    contact1_name = forms.CharField(label=_("Contact name"), max_length=60, required=False)
    contact1_phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    contact1_relation = forms.ChoiceField(label=_("Relation"), choices=ContactRelation.choices,
                                          initial=ContactRelation.FAMILY, required=False)

    def __init__(self, *args: Any, units: QuerySet[OrgUnit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units  # type: ignore[attr-defined]
        self.fields["name"].widget.attrs["autofocus"] = True
        if units.count() == 1:
            self.fields["unit"].initial = units.first()

    # Early checks of phone and ID so that all mistakes show at once; the service checks again.
    def _check_phone(self, name: str) -> str:
        value = self.cleaned_data.get(name, "")
        if value:
            parse_phone(value)  # raises ValidationError with a clerk-readable message
        return value

    def clean_contact0_phone(self) -> str:
        return self._check_phone("contact0_phone")

    def clean_contact1_phone(self) -> str:
        return self._check_phone("contact1_phone")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        number, id_type = data.get("id_number"), data.get("id_type")
        checks: dict[str, Callable[[str], str]] = {IdType.RESIDENT_ID: validate_resident_id,
                                                   IdType.USCC: validate_uscc}
        check = checks.get(id_type or "")
        if number and check is not None:
            try:
                check(number)
            except forms.ValidationError as exc:
                self.add_error("id_number", exc)
        if data.get("contact1_phone") and not data.get("contact1_name"):
            self.add_error("contact1_name", _("Contact name is required."))
        return data

    @staticmethod
    def field_for(key: str) -> str | None:
        """Map a service error key ("premise.city", "contacts.1.phone") to a form field name."""
        part, _sep, rest = key.partition(".")
        if rest == "unit" or key == "unit":
            return "unit"
        if part == "customer":
            return rest
        if part == "premise":
            return rest
        if part == "account":
            return "account_number" if rest == "number" else rest
        if part == "contacts":
            index, _sep, name = rest.partition(".")
            return f"contact{index}_{name}"
        return None

    def service_input(self) -> dict[str, Any]:
        data = self.cleaned_data
        contacts = [ContactInput(name=data["contact0_name"], phone=data["contact0_phone"],
                                 relation=data["contact0_relation"], is_primary=True)]
        if data.get("contact1_name") or data.get("contact1_phone"):
            contacts.append(ContactInput(name=data.get("contact1_name", ""), phone=data.get("contact1_phone", ""),
                                         relation=data.get("contact1_relation") or ContactRelation.FAMILY))
        account: dict[str, Any] = {"utility": data["utility"], "customer_class": data["customer_class"],
                                   "importance": data["importance"]}
        if data.get("account_number"):
            account["number"] = data["account_number"]
        return {
            "unit": data["unit"],
            "customer": {f: data[f] for f in CUSTOMER_FORM_FIELDS},
            "premise": {f: data[f] for f in PREMISE_FORM_FIELDS},
            "account": account,
            "contacts": contacts,
        }


class CustomerEditForm(BootstrapFormMixin, forms.Form):
    kind = forms.ChoiceField(label=_("Customer kind"), choices=CustomerKind.choices)
    name = forms.CharField(label=_("Name"), max_length=100)
    id_type = forms.ChoiceField(label=_("ID type"), choices=IdType.choices)
    id_number = forms.CharField(label=_("New ID number"), max_length=32, required=False)
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=OrgUnit.objects.none())
    note = forms.CharField(label=_("Note"), max_length=500, required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0, max_value=2**31)

    def __init__(self, *args: Any, customer: Customer, units: QuerySet[OrgUnit], **kwargs: Any) -> None:
        kwargs.setdefault("initial", {
            "kind": customer.kind, "name": customer.name, "id_type": customer.id_type, "unit": customer.unit,
            "note": customer.note, "version": customer.version,
        })
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units.filter(Q(is_active=True) | Q(pk=customer.unit_id))  # type: ignore[attr-defined]
        # The current number is never sent to the browser here: editing is not a way round masking.
        self.fields["id_number"].help_text = _("Leave blank to keep the current number (%(masked)s).") % {
            "masked": mask_id_number(customer.id_number)
        }

    def changes(self) -> dict[str, Any]:
        data = self.cleaned_data
        out = {f: data[f] for f in ("kind", "name", "id_type", "unit", "note")}
        if data.get("id_number"):
            out["id_number"] = data["id_number"]
        return out


class AccountStatusForm(BootstrapFormMixin, forms.Form):
    # Any known status passes the form; the service decides whether the move is allowed.
    to_status = forms.ChoiceField(label=_("New status"), choices=AccountStatus.choices)
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)
    current = forms.CharField(widget=forms.HiddenInput, max_length=20)

    def __init__(self, *args: Any, account: Account, allowed: list[str], **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"current": account.status})
        super().__init__(*args, **kwargs)
        self.fields["to_status"].widget.choices = [(s, AccountStatus(s).label) for s in allowed]
        self.fields["to_status"].widget.attrs["autofocus"] = True


class AccountManagerForm(BootstrapFormMixin, forms.Form):
    manager = forms.ModelChoiceField(label=_("Customer manager"), queryset=Staff.objects.none(), required=False,
                                     empty_label=_("— no manager —"))
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)

    def __init__(self, *args: Any, candidates: QuerySet[Staff], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["manager"]
        field.queryset = candidates  # type: ignore[attr-defined]
        field.label_from_instance = lambda s: f"{s.display_name()} · {s.unit}"  # type: ignore[attr-defined]
        field.widget.attrs["autofocus"] = True


class ContactForm(BootstrapFormMixin, forms.Form):
    name = forms.CharField(label=_("Contact name"), max_length=60)
    phone = forms.CharField(label=_("Phone"), max_length=40,
                            help_text=_("Mobile or landline; an extension may follow “转”."))
    relation = forms.ChoiceField(label=_("Relation"), choices=ContactRelation.choices, initial=ContactRelation.SELF)
    is_primary = forms.BooleanField(label=_("Primary contact"), required=False)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].widget.attrs["autofocus"] = True

    @staticmethod
    def field_for(key: str) -> str | None:
        return "phone" if key == "extension" else key


class AccountEditForm(BootstrapFormMixin, forms.Form):
    """Class and importance of an account; the classes offered are those of its utility kind."""

    customer_class = forms.ChoiceField(label=_("Customer class"), choices=CustomerClass.choices)
    importance = forms.ChoiceField(label=_("Importance grade"), choices=Importance.choices)

    def __init__(self, *args: Any, account: Account, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"customer_class": account.customer_class, "importance": account.importance})
        super().__init__(*args, **kwargs)
        field = self.fields["customer_class"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [
            (value, label) for value, label in CustomerClass.choices if CLASS_UTILITY[value] == account.utility
        ]


class PremiseForm(BootstrapFormMixin, PremiseFields):
    """Edit a premise's address; the full address is composed by the service."""


class ContactEditForm(ContactForm):
    """Like ContactForm, but a blank phone keeps the current number (never sent to the browser)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["phone"].required = False
