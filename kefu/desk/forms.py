"""Forms of the agent desk screen: extension sign-in, identify, the new order, link/urge, the call result."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kefu.core.choices import UtilityKind
from kefu.core.web import BootstrapFormMixin
from kefu.customers.models import Account

from .choices import CallResult

BIG = 2**63 - 1


def new_intake_key() -> str:
    return uuid.uuid4().hex


class ExtensionForm(BootstrapFormMixin, forms.Form):
    number = forms.CharField(label=_("Extension"), max_length=16,
                             widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off",
                                                           "class": "form-control-sm", "size": 8,
                                                           "placeholder": _("Extension")}))


class IdentifyForm(forms.Form):
    customer = forms.IntegerField(min_value=1, max_value=BIG,
                                  error_messages={"required": _("Choose the customer who is calling.")})
    account = forms.IntegerField(min_value=1, max_value=BIG, required=False)


class LinkForm(forms.Form):
    order = forms.IntegerField(min_value=1, max_value=BIG, error_messages={"required": _("Choose an order.")})
    note = forms.CharField(max_length=2000, required=False)


class UrgeForm(forms.Form):
    order = forms.IntegerField(min_value=1, max_value=BIG, error_messages={"required": _("Choose an order.")})
    reason = forms.CharField(max_length=2000, error_messages={"required": _("Say why the caller urges the order.")})


class ResultForm(BootstrapFormMixin, forms.Form):
    result = forms.ChoiceField(label=_("Result"), choices=[("", "---------"), *CallResult.choices],
                               error_messages={"required": _("Choose what came of the call.")})
    note = forms.CharField(label=_("Note"), max_length=2000, required=False,
                           widget=forms.TextInput(attrs={"autocomplete": "off"}))
    version = forms.IntegerField(required=False, min_value=0, max_value=BIG, widget=forms.HiddenInput)


class DeskOrderForm(BootstrapFormMixin, forms.Form):
    """A new order from the call. The type is chosen with the picker (the hidden ``order_type``); the
    account comes from the identified customer, the caller's number from the call itself."""

    order_type = forms.IntegerField(label=_("Order type"), min_value=1, max_value=BIG, widget=forms.HiddenInput,
                                    error_messages={"required": _("Choose the order type."),
                                                    "invalid": _("Choose the order type from the list.")})
    content = forms.CharField(label=_("Request"), max_length=2000,
                              widget=forms.Textarea(attrs={"rows": 4, "autocomplete": "off"}))
    account = forms.TypedChoiceField(label=_("Account"), coerce=int, required=False, empty_value=None)
    utility = forms.ChoiceField(label=_("Utility kind"), choices=[("", "---------"), *UtilityKind.choices],
                                required=False)
    caller_name = forms.CharField(label=_("Caller name"), max_length=60, required=False)
    address = forms.CharField(label=_("Address"), max_length=300, required=False)
    # One key per form shown: a double submit or a retry returns the first order instead of a second.
    intake_key = forms.CharField(required=False, max_length=40, widget=forms.HiddenInput)

    def __init__(self, *args: Any, accounts: list[Account] | None = None, **kwargs: Any) -> None:
        self.accounts = accounts or []
        initial = {"intake_key": new_intake_key(), **(kwargs.pop("initial", None) or {})}
        super().__init__(*args, initial=initial, **kwargs)
        account = self.fields["account"]
        assert isinstance(account, forms.TypedChoiceField)
        account.choices = [(a.pk, f"{a.number} · {a.get_utility_display()}") for a in self.accounts]
        if not self.accounts:
            account.widget = forms.HiddenInput()
        self.fields["content"].widget.attrs["placeholder"] = _("What the caller asks for, in their words")

    def clean_intake_key(self) -> str:
        value: str = self.cleaned_data.get("intake_key", "")
        if value and not all(c.isascii() and (c.isalnum() or c in "-_") for c in value):
            raise forms.ValidationError(_("The form key is damaged: reload the desk."))
        return value

    def service_input(self) -> dict[str, Any]:
        data = self.cleaned_data
        account = data.get("account")
        return {
            "order_type": data["order_type"], "content": data["content"], "account": account,
            "utility": "" if account else data.get("utility", ""), "caller_name": data.get("caller_name", ""),
            "address": data.get("address", ""), "intake_key": data.get("intake_key") or None,
        }


class FindForm(forms.Form):
    q = forms.CharField(max_length=100, required=False)
