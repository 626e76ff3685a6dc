"""One small form per order action. Each carries the order's version, so a page that was loaded before
someone else acted gets "changed by someone else, reload" instead of overwriting their work."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kefu.core.choices import UnitUtility
from kefu.core.web import BootstrapFormMixin
from kefu.org.models import OrgUnit
from kefu.workorders.choices import Action, CancelReason, Satisfaction
from kefu.workorders.models import WorkOrder
from kefu.workorders.selectors import workorder_qs

TEXT_MAX = 2000
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


def _text(label: Any, *, required: bool = True, rows: int = 2) -> forms.CharField:
    return forms.CharField(label=label, max_length=TEXT_MAX, required=required,
                           widget=forms.Textarea(attrs={"rows": rows}))


def dispatch_units(user: Any, order: WorkOrder) -> QuerySet[OrgUnit]:
    """Active units in the user's area, those serving the order's utility first."""
    fits = Case(When(utility__in=[order.utility, UnitUtility.BOTH], then=Value(0)), default=Value(1),
                output_field=IntegerField())
    return OrgUnit.objects.for_user(user).filter(is_active=True).annotate(fits=fits).order_by("fits", "path")


class UnitChoiceField(forms.ModelChoiceField):
    """Units by name; a unit that does not serve the order's utility says which one it serves."""

    def label_from_instance(self, obj: Any) -> str:
        if getattr(obj, "fits", 0):
            return f"{obj.name} ({obj.get_utility_display()})"
        return str(obj.name)


class ActionForm(BootstrapFormMixin, forms.Form):
    version = forms.IntegerField(min_value=1, max_value=2**31 - 1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, order: WorkOrder, user: Any, **kwargs: Any) -> None:
        initial = {"version": order.version, **(kwargs.pop("initial", None) or {})}
        super().__init__(*args, initial=initial, **kwargs)
        self.order = order
        self.user = user


class DispatchForm(ActionForm):
    unit = UnitChoiceField(label=_("Handling unit"), queryset=OrgUnit.objects.none())
    note = _text(_("Note for the unit"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["unit"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = dispatch_units(self.user, self.order)


class TransferForm(ActionForm):
    unit = UnitChoiceField(label=_("New handling unit"), queryset=OrgUnit.objects.none())
    reason = _text(_("Reason"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["unit"]
        assert isinstance(field, forms.ModelChoiceField)
        units = dispatch_units(self.user, self.order)
        if self.order.handling_unit_id is not None:
            units = units.exclude(pk=self.order.handling_unit_id)
        field.queryset = units


class NoFieldsForm(ActionForm):
    """Acknowledge, archive: a confirmation button and the version."""


class NoteOptionalForm(ActionForm):
    note = _text(_("Note"), required=False)


class ReasonForm(ActionForm):
    reason = _text(_("Reason"))


class HandleForm(ActionForm):
    result = _text(_("Result"), rows=4)


class ReplyForm(ActionForm):
    reply = _text(_("Reply to the customer"), rows=4)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The recorded result is usually what the customer is told; the agent rewords it.
        self.fields["reply"].initial = self.order.result


class CallbackForm(ActionForm):
    satisfaction = forms.ChoiceField(label=_("Satisfaction"), choices=Satisfaction.choices, widget=forms.RadioSelect)
    note = _text(_("What the customer said"), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("satisfaction") == Satisfaction.UNSATISFIED and not (data.get("note") or "").strip():
            self.add_error("note", _("Write down why the customer is unsatisfied."))
        return data


class CancelForm(ActionForm):
    reason = forms.ChoiceField(label=_("Why is the order cancelled?"), choices=CancelReason.choices,
                               widget=forms.RadioSelect)
    note = _text(_("Note"), required=False)


class SuperviseForm(ActionForm):
    deadline = forms.DateTimeField(
        label=_("Supervision deadline"), input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
    )
    reason = _text(_("Reason"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["deadline"].initial = timezone.localtime() + timedelta(hours=24)


class MergeForm(ActionForm):
    into = forms.CharField(label=_("Merge into order number"), max_length=20)
    note = _text(_("Note"), required=False)

    def clean_into(self) -> WorkOrder:
        number = self.cleaned_data["into"].strip()
        target = workorder_qs(self.user).filter(number=number).first()
        if target is None:
            raise forms.ValidationError(_("No order with this number in your area."))
        if target.pk == self.order.pk:
            raise forms.ValidationError(_("An order cannot be merged into itself."))
        return target


class NoteForm(ActionForm):
    text = _text(_("Note"), rows=3)


ACTION_FORMS: dict[str, type[ActionForm]] = {
    Action.DISPATCH: DispatchForm,
    Action.ACKNOWLEDGE: NoFieldsForm,
    Action.RETURN: ReasonForm,
    Action.TRANSFER: TransferForm,
    Action.CONTACT: NoteOptionalForm,
    Action.ARRIVE: NoteOptionalForm,
    Action.HANDLE: HandleForm,
    Action.SUSPEND: ReasonForm,
    Action.RESUME: NoteOptionalForm,
    Action.REPLY: ReplyForm,
    Action.CALLBACK: CallbackForm,
    Action.REOPEN: ReasonForm,
    Action.ARCHIVE: NoFieldsForm,
    Action.CANCEL: CancelForm,
    Action.URGE: ReasonForm,
    Action.SUPERVISE: SuperviseForm,
    Action.MERGE: MergeForm,
    Action.NOTE: NoteForm,
}

# What happens, in one sentence, shown above each action's form.
ACTION_HELP: dict[str, Any] = {
    Action.DISPATCH: _("The unit is told by SMS; the order waits there to be acknowledged."),
    Action.ACKNOWLEDGE: _("Your unit takes the order on; you become its handler."),
    Action.RETURN: _("The order goes back to the dispatcher, for example when it was sent to the wrong unit."),
    Action.TRANSFER: _("The order moves to another unit, which is told by SMS."),
    Action.CONTACT: _("Records that the customer has been contacted; this stops the first-contact clock."),
    Action.ARRIVE: _("Records arrival on site; this stops the arrival clock and starts the restoration clock."),
    Action.HANDLE: _("Records what was done. The center then replies to the customer."),
    Action.SUSPEND: _("Pauses the time limits until the order is resumed."),
    Action.RESUME: _("The time limits run again, extended by the time the order was suspended."),
    Action.REPLY: _("What the customer is told about the result."),
    Action.CALLBACK: _("Ask the customer whether they are satisfied. An unsatisfied order can be reopened."),
    Action.REOPEN: _("The order goes back to its handling unit with new time limits."),
    Action.ARCHIVE: _("Closes the order for good."),
    Action.CANCEL: _("Closes the order without handling it."),
    Action.URGE: _("The handling unit is reminded by SMS; the urge is counted."),
    Action.SUPERVISE: _("Sets a deadline the order is watched against, with warnings like any time limit."),
    Action.MERGE: _("This order closes as merged; the other order counts its calls as repeat calls."),
    Action.NOTE: _("A note on the timeline; nothing else changes."),
}
