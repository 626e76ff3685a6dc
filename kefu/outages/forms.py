"""Forms of the outage pages. They check shapes only (a number is a number, a date is a date); the
services own the rules and their messages, which the views copy beside the fields."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kefu.core.choices import UtilityKind
from kefu.core.web import BootstrapFormMixin
from kefu.org.forms import UnitChoiceField
from kefu.org.models import OrgUnit

from .choices import GAS_CLASSES, MARKETING_CLASSES, POWER_CLASSES, Action, MessageKind, OutageClass, Status
from .models import Outage
from .selectors import OutageFilters

MAX_VERSION = 2**31 - 1
LOCAL_INPUT = "%Y-%m-%dT%H:%M"  # what a datetime-local input sends and shows


def local_input(value: datetime | None) -> str:
    """A stored moment as the value of a datetime-local input (local time, minutes)."""
    return timezone.localtime(value).strftime(LOCAL_INPUT) if value else ""


def when_widget() -> forms.DateTimeInput:
    return forms.DateTimeInput(attrs={"type": "datetime-local"}, format=LOCAL_INPUT)


def class_choices(blank: Any = None) -> list[Any]:
    """Outage classes grouped by utility (power production, power marketing, gas)."""
    labels = dict(OutageClass.choices)
    order = list(OutageClass.values)
    production = [(c, labels[c]) for c in order if c in POWER_CLASSES and c not in MARKETING_CLASSES]
    marketing = [(c, labels[c]) for c in order if c in MARKETING_CLASSES]
    gas = [(c, labels[c]) for c in order if c in GAS_CLASSES]
    head = [("", blank)] if blank is not None else []
    return [*head, (_("Power"), production), (_("Power, disconnection of one account"), marketing),
            (_("Gas"), gas)]


class OutageFilterForm(BootstrapFormMixin, forms.Form):
    q = forms.CharField(label=_("Number, area or reason"), required=False, max_length=100)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("All")), *Status.choices])
    outage_class = forms.ChoiceField(label=_("Outage class"), required=False, choices=class_choices(_("All")))
    utility = forms.ChoiceField(label=_("Utility kind"), required=False,
                                choices=[("", _("All")), *UtilityKind.choices])
    live = forms.BooleanField(label=_("Only outages in force"), required=False)
    start_from = forms.DateField(label=_("Starts from"), required=False,
                                 widget=forms.DateInput(attrs={"type": "date"}))
    start_to = forms.DateField(label=_("Starts until"), required=False,
                               widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start_from, start_to = data.get("start_from"), data.get("start_to")
        if start_from and start_to and start_to < start_from:
            self.add_error("start_to", _("The end of the range must not be before its beginning."))
        return data

    def filters(self) -> OutageFilters:
        if not self.is_valid():
            return OutageFilters()
        d = self.cleaned_data
        return OutageFilters(status=d["status"], outage_class=d["outage_class"], utility=d["utility"],
                             live=bool(d["live"]), q=d["q"].strip(), start_from=d["start_from"],
                             start_to=d["start_to"])


class OutageForm(BootstrapFormMixin, forms.Form):
    """A draft: what, where (topology nodes and/or listed accounts) and when. The service checks the
    codes, the times and the scope and names the field at fault."""

    utility = forms.ChoiceField(label=_("Utility kind"), choices=UtilityKind.choices, initial=UtilityKind.POWER)
    outage_class = forms.ChoiceField(label=_("Outage class"), choices=class_choices(""))
    area = forms.CharField(label=_("Area"), max_length=300,
                           help_text=_("As customers know it: streets, communities, villages."))
    reason = forms.CharField(label=_("Reason"), max_length=300)
    planned_start = forms.CharField(label=_("Start"), max_length=40, widget=when_widget())
    planned_end = forms.CharField(label=_("Expected restoration"), max_length=40, widget=when_widget())
    nodes = forms.CharField(label=_("Topology nodes"), required=False, max_length=20_000,
                            help_text=_("Node codes, separated by commas: everything supplied below them is "
                                        "cut off."))
    accounts = forms.CharField(label=_("Listed accounts"), required=False, max_length=20_000,
                               widget=forms.Textarea(attrs={"rows": 3}),
                               help_text=_("Account numbers, separated by commas or one per line, besides or "
                                           "instead of nodes."))
    account = forms.CharField(label=_("Account disconnected"), required=False, max_length=40,
                              help_text=_("Arrears, theft and contract-violation outages follow one account."))
    order = forms.CharField(label=_("Work order"), required=False, max_length=40,
                            help_text=_("The order behind the disconnection, by number."))
    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0, max_value=MAX_VERSION)

    def __init__(self, data: Any = None, *args: Any, outage: Outage | None = None, **kwargs: Any) -> None:
        if outage is not None and data is None and "initial" not in kwargs:
            kwargs["initial"] = outage_initial(outage)
        super().__init__(data, *args, **kwargs)
        self.outage = outage
        for name in ("planned_start", "planned_end"):
            self.fields[name].widget.attrs["placeholder"] = "2026-12-01T08:00"
        self.fields["nodes"].widget.attrs.update({"placeholder": "F1, TA3", "autocomplete": "off"})

    def service_data(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {key: d.get(key) or "" for key in ("utility", "outage_class", "area", "reason", "planned_start",
                                                   "planned_end", "nodes", "accounts", "account", "order")}


def outage_initial(outage: Outage) -> dict[str, Any]:
    nodes = outage.scope_nodes.select_related("node").order_by("node__code")
    listed = outage.listed_accounts.select_related("account").order_by("account__number")
    if outage.account_id is not None:
        listed = listed.exclude(account_id=outage.account_id)
    return {
        "utility": outage.utility, "outage_class": outage.outage_class, "area": outage.area,
        "reason": outage.reason, "planned_start": local_input(outage.planned_start),
        "planned_end": local_input(outage.planned_end), "nodes": ", ".join(n.node.code for n in nodes),
        "accounts": "\n".join(a.account.number for a in listed),
        "account": outage.account.number if outage.account else "",
        "order": outage.order.number if outage.order else "", "version": outage.version,
    }


# Actions on one outage ----------------------------------------------------------------------------

class ActionForm(BootstrapFormMixin, forms.Form):
    """Every action posts the version the page showed, so a stale page is refused, not applied."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0, max_value=MAX_VERSION,
                                 error_messages={"required": _("The page is out of date. Reload it and try again.")})

    def __init__(self, *args: Any, outage: Outage, overrider: bool = False, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {})
        kwargs["initial"].setdefault("version", outage.version)
        # Several action forms share the page: the names stay plain, the ids are told apart.
        kwargs.setdefault("auto_id", f"id_{self.prefix_name}_%s")
        super().__init__(*args, **kwargs)
        self.outage = outage
        if not overrider and "override_reason" in self.fields:
            del self.fields["override_reason"]

    prefix_name = ""


def _override_field() -> forms.CharField:
    return forms.CharField(label=_("Override reason"), required=False, max_length=300,
                           widget=forms.Textarea(attrs={"rows": 2}),
                           help_text=_("Only if a notice rule must be broken: say why. It is recorded with your "
                                       "name."))


class ReviewForm(ActionForm):
    prefix_name = "review"
    note = forms.CharField(label=_("Note"), required=False, max_length=500)


class ReturnForm(ActionForm):
    prefix_name = "return"
    reason = forms.CharField(label=_("What must be corrected"), max_length=500)


class PublishForm(ActionForm):
    prefix_name = "publish"
    override_reason = _override_field()


class ExtendForm(ActionForm):
    prefix_name = "extend"
    planned_end = forms.CharField(label=_("New expected restoration"), max_length=40, widget=when_widget())
    reason = forms.CharField(label=_("Reason (customers are told)"), max_length=200)
    override_reason = _override_field()

    def __init__(self, *args: Any, outage: Outage, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"planned_end": local_input(outage.planned_end)})
        super().__init__(*args, outage=outage, **kwargs)


class ChangeForm(ActionForm):
    prefix_name = "change"
    planned_start = forms.CharField(label=_("New start"), max_length=40, widget=when_widget())
    planned_end = forms.CharField(label=_("New expected restoration"), max_length=40, widget=when_widget())
    reason = forms.CharField(label=_("Reason (customers are told)"), max_length=200)
    override_reason = _override_field()

    def __init__(self, *args: Any, outage: Outage, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"planned_start": local_input(outage.planned_start),
                                      "planned_end": local_input(outage.planned_end)})
        super().__init__(*args, outage=outage, **kwargs)


class CancelForm(ActionForm):
    prefix_name = "cancel"
    reason = forms.CharField(label=_("Reason (customers are told)"), max_length=200)


class RestoreForm(ActionForm):
    prefix_name = "restore"
    actual_start = forms.CharField(label=_("Actual start"), required=False, max_length=40, widget=when_widget(),
                                   help_text=_("Empty: the announced start."))
    actual_end = forms.CharField(label=_("Restored at"), required=False, max_length=40, widget=when_widget(),
                                 help_text=_("Empty: now."))
    note = forms.CharField(label=_("Note"), required=False, max_length=500)

    def __init__(self, *args: Any, outage: Outage, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"actual_start": local_input(outage.actual_start or outage.planned_start)})
        super().__init__(*args, outage=outage, **kwargs)


ACTION_FORMS: dict[str, type[ActionForm]] = {
    Action.REVIEW: ReviewForm, Action.RETURN: ReturnForm, Action.PUBLISH: PublishForm, Action.EXTEND: ExtendForm,
    Action.CHANGE: ChangeForm, Action.CANCEL: CancelForm, Action.RESTORE: RestoreForm,
}


# Fault proposals ----------------------------------------------------------------------------------

class ProposalConfirmForm(BootstrapFormMixin, forms.Form):
    expected_hours = forms.IntegerField(label=_("Expected restoration in (hours)"), required=False, min_value=1,
                                        max_value=72)
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0, max_value=MAX_VERSION,
                                 error_messages={"required": _("The page is out of date. Reload it and try again.")})


class ProposalDismissForm(BootstrapFormMixin, forms.Form):
    reason = forms.CharField(label=_("Why these calls are not one fault"), max_length=300)
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0, max_value=MAX_VERSION,
                                 error_messages={"required": _("The page is out of date. Reload it and try again.")})


# Reliability --------------------------------------------------------------------------------------

MAX_PERIOD_DAYS = 366 * 5


class ReliabilityForm(BootstrapFormMixin, forms.Form):
    unit = UnitChoiceField(label=_("Unit"), queryset=OrgUnit.objects.none(), required=False)
    start = forms.DateField(label=_("Period from"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("Period to"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    utility = forms.ChoiceField(label=_("Utility kind"), required=False, choices=UtilityKind.choices)

    def __init__(self, *args: Any, units: QuerySet[OrgUnit], default_unit: OrgUnit | None, today: date,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["unit"]
        assert isinstance(field, UnitChoiceField)
        field.queryset = units
        field.base = min((u.depth for u in units), default=0)
        self.default_unit = default_unit
        self.today = today
        self.fields["unit"].initial = default_unit.pk if default_unit else None
        self.fields["start"].initial = date(today.year, 1, 1)
        self.fields["end"].initial = today
        self.fields["utility"].initial = UtilityKind.POWER

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["unit"] = data.get("unit") or self.default_unit
        data["start"] = data.get("start") or date(self.today.year, 1, 1)
        data["end"] = data.get("end") or self.today
        data["utility"] = data.get("utility") or UtilityKind.POWER
        if data["unit"] is None:
            self.add_error("unit", _("Choose a unit."))
        if data["end"] < data["start"]:
            self.add_error("end", _("The period must end on or after its first day."))
        elif (data["end"] - data["start"]).days > MAX_PERIOD_DAYS:
            self.add_error("end", _("Choose a period of at most five years."))
        return data


# SMS templates ------------------------------------------------------------------------------------

class TemplateForm(BootstrapFormMixin, forms.Form):
    kind = forms.ChoiceField(widget=forms.HiddenInput, choices=MessageKind.choices)
    text = forms.CharField(label=_("Chinese text"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    text_en = forms.CharField(label=_("English text"), required=False, max_length=2000,
                              widget=forms.Textarea(attrs={"rows": 3}))
