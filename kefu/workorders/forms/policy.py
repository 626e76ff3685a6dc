"""Forms for the policy pages: order types, time-limit policies, warning levels, calendar days."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from kefu.core.choices import RegionClass, UtilityKind
from kefu.core.web import BootstrapFormMixin
from kefu.customers.choices import Importance
from kefu.workorders.choices import Basis, Channel, ClockKind, ClockStart, LimitUnit
from kefu.workorders.models import OrderType, SlaPolicy, WarningLevel

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _any(choices: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return [("", _("Any")), *choices]


class TypeChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        prefix = "— " if obj.parent_id else ""
        return f"{prefix}{obj.label} ({obj.code})"


class OrderTypeForm(BootstrapFormMixin, forms.Form):
    name = forms.CharField(label=_("Name (Chinese)"), max_length=60)
    name_en = forms.CharField(label=_("Name (English)"), max_length=80)
    field_work = forms.BooleanField(label=_("Needs a visit on site"), required=False)
    callback_required = forms.BooleanField(label=_("Callback required before archiving"), required=False)
    duplicate_window_hours = forms.IntegerField(
        label=_("Duplicate window (hours)"),
        help_text=_("Open orders of the same customer, phone or premise accepted within this window are shown at "
                    "intake."))
    is_active = forms.BooleanField(label=_("In use for new orders"), required=False)
    sort = forms.IntegerField(label=_("Sort order"))

    EDIT_FIELDS = ("name", "name_en", "field_work", "callback_required", "duplicate_window_hours", "is_active",
                   "sort")

    @classmethod
    def initial_for(cls, order_type: OrderType) -> dict[str, Any]:
        return {name: getattr(order_type, name) for name in cls.EDIT_FIELDS}

    def changes(self, order_type: OrderType) -> dict[str, Any]:
        return {k: v for k, v in self.cleaned_data.items() if k in self.EDIT_FIELDS and getattr(order_type, k) != v}


class OrderTypeCreateForm(OrderTypeForm):
    code = forms.CharField(label=_("Code"), max_length=40,
                           help_text=_("Lower-case letters, digits and underscores; cannot be changed later."))
    parent = forms.ModelChoiceField(label=_("Parent type"), queryset=OrderType.objects.none(), required=False,
                                    empty_label=_("(none: a top-level type)"))
    utility = forms.ChoiceField(label=_("Utility kind"), choices=_any(list(UtilityKind.choices)), required=False)

    field_order = ["code", "parent", "name", "name_en", "utility"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        parent = self.fields["parent"]
        assert isinstance(parent, forms.ModelChoiceField)
        parent.queryset = OrderType.objects.filter(parent__isnull=True).order_by("sort", "code")


class SlaPolicyForm(BootstrapFormMixin, forms.Form):
    order_type = TypeChoiceField(label=_("Order type"), queryset=OrderType.objects.none())
    clock = forms.ChoiceField(label=_("Clock"),
                              choices=[(v, label) for v, label in ClockKind.choices if v != ClockKind.SUPERVISION])
    basis = forms.ChoiceField(label=_("Basis"), choices=Basis.choices, initial=Basis.PUBLIC)
    amount = forms.IntegerField(label=_("Limit"))
    unit = forms.ChoiceField(label=_("Limit unit"), choices=LimitUnit.choices)
    starts_on = forms.ChoiceField(label=_("Clock starts"), choices=ClockStart.choices, initial=ClockStart.ACCEPTED)
    utility = forms.ChoiceField(label=_("Only for utility"), choices=_any(list(UtilityKind.choices)), required=False)
    region_class = forms.ChoiceField(label=_("Only for region class"), choices=_any(list(RegionClass.choices)),
                                     required=False)
    importance = forms.ChoiceField(label=_("Only for importance grade"), choices=_any(list(Importance.choices)),
                                   required=False)
    channel = forms.ChoiceField(label=_("Only for channel"), choices=_any(list(Channel.choices)), required=False)
    effective_from = forms.DateField(label=_("Effective from"), widget=DATE)
    effective_to = forms.DateField(label=_("Effective until"), widget=DATE, required=False,
                                   help_text=_("Leave blank while the policy is in force."))
    source = forms.CharField(label=_("Source"), max_length=200, required=False,
                             help_text=_("The rule or promise this limit comes from."))
    weak_source = forms.BooleanField(label=_("Weak source (to be confirmed)"), required=False)

    FIELDS = ("order_type", "clock", "basis", "utility", "region_class", "importance", "channel", "amount", "unit",
              "starts_on", "effective_from", "effective_to", "source", "weak_source")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["order_type"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = OrderType.objects.order_by("sort", "code")

    @classmethod
    def initial_for(cls, policy: SlaPolicy) -> dict[str, Any]:
        return {name: getattr(policy, name) for name in cls.FIELDS}

    def changes(self, policy: SlaPolicy) -> dict[str, Any]:
        return {k: v for k, v in self.cleaned_data.items() if getattr(policy, k) != v}


class SlaFilterForm(forms.Form):
    type = forms.ModelChoiceField(label=_("Order type"), queryset=OrderType.objects.order_by("sort", "code"),
                                  required=False, empty_label=_("All types"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["type"].widget.attrs["class"] = "form-select"


class WarningLevelForm(BootstrapFormMixin, forms.Form):
    fraction = forms.DecimalField(label=_("Share of the allowed time"), max_digits=4, decimal_places=2,
                                  help_text=_("From 0.05 to 1.00; the level at 1.00 makes the order overdue."))
    name = forms.CharField(label=_("Name"), max_length=40)
    notify_shift_leader = forms.BooleanField(label=_("Notify the shift leader"), required=False)

    @staticmethod
    def initial_for(level: WarningLevel) -> dict[str, Any]:
        return {"fraction": level.fraction, "name": level.name, "notify_shift_leader": level.notify_shift_leader}


HOLIDAY = "holiday"
WORKDAY = "workday"


class CalendarDayForm(BootstrapFormMixin, forms.Form):
    date = forms.DateField(label=_("Date"), widget=DATE)
    kind = forms.ChoiceField(label=_("The day is"), widget=forms.RadioSelect, choices=[
        (HOLIDAY, _("a holiday (a weekday off)")),
        (WORKDAY, _("a working day (a weekend day worked, 调休)")),
    ])
    name = forms.CharField(label=_("Name"), max_length=60, required=False,
                           help_text=_("For example: National Day, Spring Festival."))
    source = forms.CharField(label=_("Source"), max_length=200, required=False,
                             help_text=_("For example: the State Council notice of the year."))

    @staticmethod
    def field_for(key: str) -> str | None:
        return {"is_workday": "kind"}.get(key, key)

    def service_input(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {"day": data["date"], "is_workday": data["kind"] == WORKDAY, "name": data["name"],
                "source": data["source"]}


class CalendarYearForm(forms.Form):
    year = forms.IntegerField(min_value=2000, max_value=2100, required=False)
