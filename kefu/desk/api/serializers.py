"""Input and output serializers of the desk API: telephone events, the IVR answer, the call log and
the callback queue.

Telephone-event input checks types and lengths and ignores keys it does not know (switch vendors add
their own); the services own the rules. Desk inputs refuse unknown keys. Outputs carry a label beside
every coded value and mask the caller's number unless the context says ``personal=True``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.validators import RegexValidator
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from kefu.core.api import CodeOutputField, OutputModelSerializer, StrictInput
from kefu.core.validators import mask_phone
from kefu.customers.api.serializers import CustomerRefOutput, StaffRefOutput
from kefu.desk.choices import (
    ActivityKind,
    CallbackOutcome,
    CallState,
    CtiKind,
    EndReason,
    OrderRelation,
)
from kefu.desk.models import Call, CallActivity, CallOrder
from kefu.desk.selectors import CallbackItem, IvrAnswer, IvrOutage, moment_text
from kefu.desk.services import CALL_ID
from kefu.org.api.serializers import UnitRefOutput
from kefu.outages.choices import LIVE, OutageClass, Status
from kefu.workorders.api.serializers import IdField, OrderRefOutput

MAX_NOTE = 2000


def _masked(value: str, *, personal: bool) -> str:
    return value if personal or not value else mask_phone(value)


# ---------------------------------------------------------------- telephone system


class CtiEventInput(serializers.Serializer):
    """One event of one call as the telephone system sends it. Only ``event`` and ``call_id`` are
    required; a retry of the same event of the same call is answered as a duplicate."""

    event = serializers.ChoiceField(choices=CtiKind.choices, help_text="ringing, answered, ended or ivr.")
    call_id = serializers.CharField(
        max_length=64,
        validators=[RegexValidator(CALL_ID, gettext_lazy("The call id must be 1 to 64 letters, digits or . _ : -"))],
        help_text="The telephone system's id of the call: the same for every event of the call.",
    )
    at = serializers.DateTimeField(required=False, allow_null=True,
                                   help_text="When it happened (ISO 8601 with offset); default: when received.")
    caller = serializers.CharField(max_length=40, required=False, allow_blank=True,
                                   help_text="Calling number in any common spelling (+86…, 0086…, 0571-…转…).")
    called = serializers.CharField(max_length=40, required=False, allow_blank=True,
                                   help_text="The hotline number dialled.")
    extension = serializers.CharField(max_length=16, required=False, allow_blank=True,
                                      help_text="The desk extension ringing or answering; must be registered.")
    duration = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=86_400,
                                        help_text="Talk time in seconds (ended).")
    recording = serializers.CharField(max_length=200, required=False, allow_blank=True,
                                      help_text="Reference of the call recording (ended).")
    reason = serializers.ChoiceField(choices=EndReason.choices, required=False, allow_blank=True,
                                     help_text="Why the call ended (ended).")
    ivr_choice = serializers.CharField(max_length=40, required=False, allow_blank=True,
                                       help_text="The IVR menu path the caller chose (ivr).")
    account_number = serializers.CharField(max_length=40, required=False, allow_blank=True,
                                           help_text="Account number keyed in at the IVR: identifies the customer.")


class CallOutput(OutputModelSerializer):
    """A call as the log shows it."""

    direction_label = serializers.CharField(source="get_direction_display")
    state_label = serializers.CharField(source="get_state_display")
    caller = serializers.SerializerMethodField(help_text="As received when you may see personal data, else masked.")
    caller_masked = serializers.SerializerMethodField()
    agent = StaffRefOutput(allow_null=True)
    unit = UnitRefOutput()
    candidates = serializers.ListField(child=serializers.IntegerField(),
                                       help_text="Customers with a contact on the caller's number (screen pop).")
    customer = CustomerRefOutput(allow_null=True, help_text="The identified customer.")
    account = serializers.IntegerField(source="account_id", allow_null=True)
    result_label = serializers.CharField(source="get_result_display")
    callback_status_label = serializers.CharField(source="get_callback_status_display")
    callback_by = StaffRefOutput(allow_null=True)

    class Meta:
        model = Call
        fields = ["id", "call_id", "direction", "direction_label", "state", "state_label", "caller", "caller_masked",
                  "called", "extension", "agent", "unit", "ivr_result", "candidates", "customer", "account",
                  "started_at", "rang_at", "answered_at", "ended_at", "duration_seconds", "recording_ref", "result",
                  "result_label", "result_note", "callback_status", "callback_status_label", "callback_by",
                  "callback_attempts", "callback_at", "version"]
        read_only_fields = fields

    def get_caller(self, call: Call) -> str:
        return _masked(call.caller, personal=bool(self.context.get("personal")))

    def get_caller_masked(self, call: Call) -> bool:
        return bool(call.caller) and not self.context.get("personal")


class CtiOutput(serializers.Serializer):
    call = CallOutput()
    duplicate = serializers.BooleanField(help_text="True when this event of this call was received before: "
                                                   "nothing changed.")


# ---------------------------------------------------------------- IVR


class IvrQuery(serializers.Serializer):
    caller = serializers.CharField(max_length=40, required=False, allow_blank=True,
                                   help_text="Calling number in any common spelling.")
    account = serializers.CharField(max_length=40, required=False, allow_blank=True,
                                    help_text="Account number keyed in by the caller.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not (attrs.get("caller") or "").strip() and not (attrs.get("account") or "").strip():
            raise serializers.ValidationError({"caller": [_("Give the calling number or an account number.")]})
        return attrs


class IvrOrderOutput(serializers.Serializer):
    number = serializers.CharField()
    type = serializers.CharField(source="type_name", help_text="The order type's name.")
    status = serializers.CharField()
    status_label = serializers.CharField()
    accepted_at = serializers.DateTimeField()
    expected_by = serializers.DateTimeField(allow_null=True, help_text="The earliest running deadline.")


class IvrOutageOutput(serializers.Serializer):
    number = serializers.CharField(help_text="The outage number.")
    outage_class = CodeOutputField(choices=OutageClass.choices)
    outage_class_label = serializers.CharField()
    status = CodeOutputField(choices=[(value, label) for value, label in Status.choices if value in LIVE])
    status_label = serializers.CharField()
    area = serializers.CharField(help_text="The area cut off, as announced.")
    start = serializers.DateTimeField(help_text="Planned (or announced) start.")
    expected_restoration = serializers.DateTimeField(help_text="When supply is expected back.")
    in_force = serializers.BooleanField(help_text="Started already; false for one starting within the next 24 hours.")


class IvrOutput(serializers.Serializer):
    matched = serializers.BooleanField(help_text="The number or account belongs to a known customer.")
    has_open_order = serializers.BooleanField()
    open_orders = IvrOrderOutput(many=True)
    outages = IvrOutageOutput(many=True, help_text="Live outages over the account keyed in, else over the accounts "
                                                   "of the calling number's customers: in force, or starting "
                                                   "within 24 hours; nearest start first.")
    say = serializers.SerializerMethodField(help_text="One sentence the IVR can read out, in the language of the "
                                                      "Accept-Language header.")

    def get_say(self, answer: IvrAnswer) -> str:
        return ivr_sentence(answer)


def _when(moment: datetime) -> str:
    return formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")


def _outage_sentence(outage: IvrOutage) -> str:
    if outage.in_force:
        return _("There is a known outage in your area; supply is expected to be restored at %(end)s.") % {
            "end": moment_text(outage.expected_restoration)}
    return _("An outage is announced in your area from %(start)s; supply is expected to be restored at "
             "%(end)s.") % {"start": moment_text(outage.start), "end": moment_text(outage.expected_restoration)}


def _orders_sentence(answer: IvrAnswer) -> str:
    if not answer.open_orders:
        return ""
    first = answer.open_orders[0]
    count = len(answer.open_orders)
    due = [o.expected_by for o in answer.open_orders if o.expected_by is not None]
    if count == 1 and first.expected_by is not None:
        return _("Your request %(number)s is %(status)s and is expected to be done by %(time)s.") % {
            "number": first.number, "status": first.status_label, "time": _when(first.expected_by)}
    if count == 1:
        return _("Your request %(number)s is %(status)s.") % {"number": first.number, "status": first.status_label}
    if due:
        return _("You have %(count)d open requests; the first is expected to be done by %(time)s.") % {
            "count": count, "time": _when(min(due))}
    return _("You have %(count)d open requests being handled.") % {"count": count}


def ivr_sentence(answer: IvrAnswer) -> str:
    """What the IVR tells the caller, in the active language: a known outage first (the nearest),
    then their open requests."""
    parts = [_outage_sentence(answer.outages[0])] if answer.outages else []
    orders = _orders_sentence(answer)
    if orders:
        parts.append(orders)
    if parts:
        return " ".join(parts)
    if answer.matched:
        return _("You have no open request with us; please hold for an agent.")
    return _("We could not find your records; please hold for an agent.")


# ---------------------------------------------------------------- desk: call log


class CallLogQuery(serializers.Serializer):
    state = serializers.ChoiceField(choices=CallState.choices, required=False)
    phone = serializers.CharField(max_length=40, required=False, help_text="Caller number, any common spelling.")
    agent = IdField(required=False, help_text="Staff id of the agent who took the call.")
    since = serializers.DateTimeField(required=False, help_text="Calls started at or after this moment.")
    until = serializers.DateTimeField(required=False, help_text="Calls started before this moment.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("since") and attrs.get("until") and attrs["until"] <= attrs["since"]:
            raise serializers.ValidationError({"until": [_("The end must come after the start.")]})
        return attrs


class CallOrderOutput(serializers.Serializer):
    order = OrderRefOutput()
    status = CodeOutputField(source="order.status", help_text="The order's status now.")
    status_label = serializers.CharField(source="order.get_status_display")
    relation = CodeOutputField(choices=OrderRelation.choices)
    relation_label = serializers.CharField(source="get_relation_display")
    actor = StaffRefOutput(allow_null=True)
    at = serializers.DateTimeField()


class CallActivityOutput(serializers.Serializer):
    kind = CodeOutputField(choices=ActivityKind.choices)
    kind_label = serializers.CharField(source="get_kind_display")
    actor = StaffRefOutput(allow_null=True)
    text = serializers.CharField()
    data = serializers.JSONField(help_text="Details: result, order, outcome, attempt.")  # type: ignore[assignment]
    at = serializers.DateTimeField()


class CallDetailOutput(CallOutput):
    """A call with the orders linked to it and what agents did with it."""

    orders = serializers.SerializerMethodField(help_text="Orders created, linked or urged during the call.")
    activities = serializers.SerializerMethodField()

    class Meta(CallOutput.Meta):
        fields = [*CallOutput.Meta.fields, "orders", "activities"]
        read_only_fields = fields

    @extend_schema_field(CallOrderOutput(many=True))
    def get_orders(self, call: Call) -> list[dict[str, Any]]:
        links: list[CallOrder] = list(call.order_links.select_related("order", "actor").order_by("at", "id"))
        return list(CallOrderOutput(links, many=True).data)

    @extend_schema_field(CallActivityOutput(many=True))
    def get_activities(self, call: Call) -> list[dict[str, Any]]:
        rows: list[CallActivity] = list(call.activities.select_related("actor").order_by("at", "id"))
        out = CallActivityOutput()  # its field "data" hides Serializer.data: represent row by row
        return [dict(out.to_representation(row)) for row in rows]


# ---------------------------------------------------------------- desk: callbacks


class CallbackItemOutput(serializers.Serializer):
    call = CallOutput(help_text="The latest waiting call from this number: claim and record on it.")
    waiting = serializers.IntegerField(help_text="Unanswered calls from this number waiting for a callback.")
    first_at = serializers.DateTimeField(help_text="When the longest-waiting of them came in.")


class CallbackQueueOutput(serializers.Serializer):
    results = CallbackItemOutput(many=True)


class CallbackRecordInput(StrictInput):
    outcome = serializers.ChoiceField(choices=CallbackOutcome.choices)
    note = serializers.CharField(max_length=MAX_NOTE, required=False, allow_blank=True)


class EmptyInput(StrictInput):
    """No body needed."""


def callback_rows(items: list[CallbackItem], context: dict[str, Any]) -> list[dict[str, Any]]:
    return list(CallbackItemOutput(items, many=True, context=context).data)
