"""Forms of the metering pages. They check shapes only (a date is a date, a choice is a choice); the
services own the rules and their messages (a reading is a non-negative number, a decision needs its
reason), which the views copy beside the fields."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kefu.core.web import BootstrapFormMixin

from .choices import Resolution, Rule, Source
from .fieldwork import MAX_NOTE
from .plans import SignerRole

# The analyst's decisions, in the order the buttons show them.
DECISIONS = [Resolution.ACCEPTED, Resolution.CORRECTED, Resolution.ESTIMATED, Resolution.REREAD]
DECISION_LABELS = {
    Resolution.ACCEPTED: _("Accept"),
    Resolution.CORRECTED: _("Correct"),
    Resolution.ESTIMATED: _("Estimate"),
    Resolution.REREAD: _("Re-read"),
}
# Service error keys → form fields.
RESOLVE_FIELDS = {"resolution": "decision", "note": "reason", "value": "value"}
ENTRY_FIELDS = {"meter": "meter", "value": "value", "read_on": "read_on", "source": "source", "hazard": "hazard",
                "theft": "theft"}
SHEET_FIELDS = {"day": "day", "signed_by": "signed_by", "signer_role": "signer_role", "note": "note"}


class ExceptionFilterForm(BootstrapFormMixin, forms.Form):
    rule = forms.ChoiceField(label=_("Rule"), required=False, choices=[("", _("All rules")), *Rule.choices])

    def rule_value(self) -> str:
        return self.cleaned_data["rule"] if self.is_valid() else ""


class ResolveForm(BootstrapFormMixin, forms.Form):
    """One decision on one exception. The decision comes from the button pressed."""

    decision = forms.ChoiceField(label=_("Decision"), choices=[(d.value, DECISION_LABELS[d]) for d in DECISIONS],
                                 error_messages={"required": _("Choose accept, correct, estimate or re-read."),
                                                 "invalid_choice": _("Choose accept, correct, estimate or re-read.")})
    value = forms.CharField(label=_("New value"), required=False, max_length=20,
                            help_text=_("For a correction or an estimate."),
                            widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}))
    reason = forms.CharField(label=_("Reason"), required=False, max_length=300,
                             widget=forms.TextInput(attrs={"autocomplete": "off"}))


class ReadingEntryForm(BootstrapFormMixin, forms.Form):
    meter = forms.CharField(label=_("Meter number"), max_length=32,
                            widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True}))
    # Text, not a number field: the service gives the one message for every bad shape.
    value = forms.CharField(label=_("Reading (register total)"), max_length=20,
                            widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}))
    read_on = forms.DateField(label=_("Read on"), widget=forms.DateInput(attrs={"type": "date"}))
    source = forms.ChoiceField(label=_("Source"), choices=Source.choices, initial=Source.ACTUAL)
    # What the reader noted at the meter: each becomes a work order for the unit of the premise.
    hazard = forms.CharField(label=_("Safety hazard noted"), required=False, max_length=MAX_NOTE,
                             help_text=_("Describe it; a work order goes to the unit of the premise. At an indoor "
                                         "gas meter the customer signs the hazard notice."),
                             widget=forms.Textarea(attrs={"rows": 2}))
    theft = forms.BooleanField(label=_("Suspected theft of electricity or gas"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("read_on", timezone.localdate().isoformat())


class SheetForm(BootstrapFormMixin, forms.Form):
    """A reading confirmation sheet (抄表确认单). The service checks the day against the window."""

    day = forms.DateField(label=_("Route day"), widget=forms.DateInput(attrs={"type": "date"}))
    signed_by = forms.CharField(label=_("Signed by"), max_length=60, widget=forms.TextInput(attrs={
        "autocomplete": "off"}))
    signer_role = forms.ChoiceField(label=_("Signer"), choices=SignerRole.choices)
    note = forms.CharField(label=_("Note"), required=False, max_length=200)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("day", timezone.localdate().isoformat())


class ResultsUploadForm(BootstrapFormMixin, forms.Form):
    """The handheld's results file (the exported route with the readings filled in)."""

    file = forms.FileField(label=_("Results file (.csv or .xlsx)"))
    partial = forms.BooleanField(label=_("Apply the good rows even if some rows are wrong"), required=False)
