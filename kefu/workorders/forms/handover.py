"""Shift handover forms: the outgoing leader's list with a note per order, the incoming leader's note."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kefu.core.web import BootstrapFormMixin
from kefu.workorders.models import WorkOrder

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
DEFAULT_SHIFT = timedelta(hours=8)
NOTE_PREFIX = "note_"


def _moment(label: Any) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label, input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
    )


def default_window() -> tuple[Any, Any]:
    """The last eight hours, ending now (to the minute)."""
    end = timezone.localtime().replace(second=0, microsecond=0)
    return end - DEFAULT_SHIFT, end


class ShiftWindowForm(BootstrapFormMixin, forms.Form):
    """The GET form that picks which orders the handover lists."""

    shift_start = _moment(_("Shift started"))
    shift_end = _moment(_("Shift ended"))


class HandoverForm(ShiftWindowForm):
    summary = forms.CharField(label=_("Handover notes"), max_length=4000, required=False,
                              widget=forms.Textarea(attrs={"rows": 4}),
                              help_text=_("What the next shift must know: escalations, outages, staffing."))

    def __init__(self, *args: Any, orders: list[WorkOrder], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.orders = orders
        for order in orders:
            self.fields[f"{NOTE_PREFIX}{order.pk}"] = forms.CharField(
                label=_("Note on %(number)s") % {"number": order.number}, max_length=300, required=False,
            )
            self.fields[f"{NOTE_PREFIX}{order.pk}"].widget.attrs["class"] = "form-control form-control-sm"

    def note_field(self, order: WorkOrder) -> forms.BoundField:
        return self[f"{NOTE_PREFIX}{order.pk}"]

    def notes(self) -> dict[int, str]:
        return {
            int(name.removeprefix(NOTE_PREFIX)): value
            for name, value in self.cleaned_data.items()
            if name.startswith(NOTE_PREFIX) and value
        }

    @staticmethod
    def field_for(key: str) -> str | None:
        """Service error keys "notes.<id>" belong to the note box of that order."""
        if key.startswith("notes."):
            return NOTE_PREFIX + key.removeprefix("notes.")
        return key


class HandoverConfirmForm(BootstrapFormMixin, forms.Form):
    note = forms.CharField(label=_("Your note (optional)"), max_length=2000, required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))
