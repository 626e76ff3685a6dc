"""The intake form: who called, about what, through which channel."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kefu.core.choices import UtilityKind
from kefu.core.validators import parse_phone
from kefu.core.web import BootstrapFormMixin
from kefu.customers.models import Account
from kefu.workorders.choices import Channel
from kefu.workorders.models import OrderType
from kefu.workorders.selectors import ordertype_choices

Choice = tuple[Any, Any]
BLANK: Choice = ("", "---------")


def ordertype_groups(types: list[OrderType]) -> list[Any]:
    """Select choices for the leaf types: top-level types as options, sub-types under their parent."""
    out: list[Any] = [BLANK]
    groups: dict[int, list[Choice]] = {}
    for kind in types:
        if kind.parent is None:
            out.append((kind.pk, kind.label))
            continue
        group = groups.get(kind.parent.pk)
        if group is None:
            group = groups[kind.parent.pk] = []
            out.append((kind.parent.label, group))
        group.append((kind.pk, kind.label))
    return out


def new_intake_key() -> str:
    return uuid.uuid4().hex


class IntakeForm(BootstrapFormMixin, forms.Form):
    account = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput)
    utility = forms.ChoiceField(label=_("Utility kind"), choices=[BLANK, *UtilityKind.choices], required=False,
                                help_text=_("Needed when the type serves both power and gas."))
    order_type = forms.TypedChoiceField(label=_("Order type"), coerce=int, choices=[BLANK])
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.PHONE)
    caller_name = forms.CharField(label=_("Caller name"), max_length=60, required=False)
    caller_phone = forms.CharField(label=_("Caller phone"), max_length=40, required=False)
    address = forms.CharField(label=_("Address"), max_length=300, required=False)
    content = forms.CharField(label=_("Request"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4}))
    # Generated when the form is shown: submitting twice returns the first order instead of a second one.
    intake_key = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args: Any, account: Account | None = None, user_utility: str = "", **kwargs: Any) -> None:
        initial = {"intake_key": new_intake_key(), **(kwargs.pop("initial", None) or {})}
        if account is not None:
            initial.update(account=account.pk, utility=account.utility)
        elif user_utility in UtilityKind.values:
            initial.setdefault("utility", user_utility)
        super().__init__(*args, initial=initial, **kwargs)
        self.prefilled = account
        order_type = self.fields["order_type"]
        assert isinstance(order_type, forms.TypedChoiceField)
        order_type.choices = ordertype_groups(ordertype_choices(utility=account.utility if account else None))
        if account is not None:
            self.fields["utility"].widget = forms.HiddenInput()
            self.fields["caller_name"].help_text = _("Leave blank when the customer calls: %(name)s.") % {
                "name": account.customer.name}
            self.fields["address"].help_text = _("Leave blank for the account's address: %(address)s.") % {
                "address": account.premise.address}
        else:
            self.fields["caller_phone"].help_text = _("Needed when no account is chosen, so that the caller can "
                                                      "be reached.")
        self.fields["content"].widget.attrs["placeholder"] = _("What the caller asks for, in their words")
        self.fields["caller_phone"].widget.attrs.update(inputmode="tel", autocomplete="off")

    def clean_caller_phone(self) -> str:
        value: str = self.cleaned_data.get("caller_phone", "")
        if value:
            parse_phone(value)  # raises ValidationError with a clerk-readable message
        return value

    def service_input(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "order_type": data["order_type"], "channel": data["channel"], "content": data["content"],
            "account": self.prefilled.pk if self.prefilled is not None else None,
            "utility": data["utility"] if self.prefilled is None else "",
            "caller_name": data["caller_name"], "caller_phone": data["caller_phone"], "address": data["address"],
            "intake_key": data["intake_key"] or None,
        }


class RepeatCallForm(forms.Form):
    """The "link as repeat call" button of a possible duplicate."""

    caller_phone = forms.CharField(required=False, max_length=40)
    note = forms.CharField(required=False, max_length=2000)
    intake_key = forms.CharField(required=False, max_length=64)
