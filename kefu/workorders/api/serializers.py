"""Input and output serializers for the work-order API.

Inputs check shape, types and lengths only and refuse keys they do not know; the services own the
business rules. Outputs carry a label beside every coded value and mask the caller's phone unless
the context says ``personal=True`` (the user holds Capability.PERSONAL_DATA).

Lists and intake answer with rows built by ``workorder_rows`` (the hot path: hundreds of intakes a
second); ``WorkOrderOutput`` documents the same shape and a test keeps the two equal.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from kefu.core.api import CodeOutputField, OutputModelSerializer, StrictInput, parse_id, request_user
from kefu.core.choices import UtilityKind
from kefu.core.validators import mask_phone
from kefu.customers.api.serializers import StaffRefOutput
from kefu.org.api.serializers import UnitRefOutput
from kefu.org.models import OrgUnit
from kefu.workorders import rules
from kefu.workorders.choices import (
    Action,
    CancelReason,
    Channel,
    Satisfaction,
    Status,
    TimeState,
)
from kefu.workorders.models import (
    HandoverItem,
    OrderClock,
    OrderEvent,
    OrderType,
    ShiftHandover,
    SlaPolicy,
    WorkOrder,
)
from kefu.workorders.selectors import workorder_qs

MAX_TEXT = 2000
MAX_VERSION = 2**31 - 1
# Type codes are ASCII slugs (models.SlugField).
_CODE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
_ASCII_DIGITS = re.compile(r"^[0-9]+$")


def caller_phone(order: WorkOrder, *, personal: bool) -> str:
    if not order.caller_phone or personal:
        return order.caller_phone
    return mask_phone(order.caller_phone)


# ---------------------------------------------------------------- outputs


class TypeRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.label


class OrderRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()


class WorkOrderOutput(serializers.Serializer):
    """One order in a queue, and the answer to an intake."""

    id = serializers.IntegerField()
    number = serializers.CharField()
    order_type = TypeRefOutput()
    status = CodeOutputField(choices=Status.choices)
    status_label = serializers.CharField(source="get_status_display")
    utility = CodeOutputField(choices=UtilityKind.choices)
    utility_label = serializers.CharField(source="get_utility_display")
    channel = CodeOutputField(choices=Channel.choices)
    channel_label = serializers.CharField(source="get_channel_display")
    time_state = CodeOutputField(choices=TimeState.choices)
    time_state_label = serializers.CharField(source="get_time_state_display")
    due_at = serializers.DateTimeField(allow_null=True, help_text="The earliest running deadline.")
    accepted_at = serializers.DateTimeField()
    unit = UnitRefOutput(help_text="Area unit: the account's unit, else the accepting unit.")
    handling_unit = UnitRefOutput(allow_null=True)
    account = serializers.IntegerField(source="account_id", allow_null=True)
    caller_name = serializers.CharField()
    caller_phone = serializers.SerializerMethodField(help_text="E.164 when you may see personal data, else masked.")
    caller_phone_masked = serializers.SerializerMethodField()
    urge_count = serializers.IntegerField()
    repeat_count = serializers.IntegerField()
    return_count = serializers.IntegerField()
    transfer_count = serializers.IntegerField()
    reopen_count = serializers.IntegerField()
    supervised = serializers.BooleanField()
    version = serializers.IntegerField(help_text="Send it back with an action; a newer one on the server is a 409.")

    def get_caller_phone(self, order: WorkOrder) -> str:
        return caller_phone(order, personal=bool(self.context.get("personal")))

    def get_caller_phone_masked(self, order: WorkOrder) -> bool:
        return bool(order.caller_phone) and not self.context.get("personal")


class ClockOutput(OutputModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display")
    basis_label = serializers.CharField(source="get_basis_display")
    unit_label = serializers.CharField(source="get_unit_display")
    state_label = serializers.CharField(source="get_state_display")

    class Meta:
        model = OrderClock
        fields = ["id", "kind", "kind_label", "basis", "basis_label", "amount", "unit", "unit_label", "working",
                  "state", "state_label", "started_at", "due_at", "paused_seconds", "stopped_at", "warned"]
        read_only_fields = fields


class ActionOption(serializers.Serializer):
    action = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.label


class WorkOrderDetailOutput(WorkOrderOutput):
    """One order with its clocks, outcome and the actions the requesting user may take now."""

    content = serializers.CharField()
    address = serializers.CharField()
    customer = serializers.IntegerField(source="customer_id", allow_null=True)
    region_class = serializers.CharField()
    region_class_label = serializers.CharField(source="get_region_class_display")
    importance = serializers.CharField()
    importance_label = serializers.CharField(source="get_importance_display")
    accepted_by = StaffRefOutput()
    accepted_unit = UnitRefOutput()
    assignee = StaffRefOutput(allow_null=True)
    suspended_from = serializers.CharField(help_text="The status a suspended order returns to; blank otherwise.")
    dispatched_at = serializers.DateTimeField(allow_null=True)
    acknowledged_at = serializers.DateTimeField(allow_null=True)
    contacted_at = serializers.DateTimeField(allow_null=True)
    arrived_at = serializers.DateTimeField(allow_null=True)
    handled_at = serializers.DateTimeField(allow_null=True)
    replied_at = serializers.DateTimeField(allow_null=True)
    called_back_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    result = serializers.CharField()
    reply = serializers.CharField()
    satisfaction = serializers.CharField(help_text="One of: " + ", ".join(Satisfaction.values) + "; blank before "
                                         "the callback.")
    satisfaction_label = serializers.CharField(source="get_satisfaction_display")
    cancel_reason = serializers.CharField(help_text="One of: " + ", ".join(CancelReason.values) + "; blank "
                                          "unless cancelled.")
    cancel_reason_label = serializers.CharField(source="get_cancel_reason_display")
    merged_into = OrderRefOutput(allow_null=True, help_text="The order this one was merged into.")
    merged = serializers.SerializerMethodField(help_text="Orders merged into this one (those you may see).")
    supervised_by = StaffRefOutput(allow_null=True)
    supervise_due_at = serializers.DateTimeField(allow_null=True)
    clocks = ClockOutput(many=True)
    allowed_actions = serializers.SerializerMethodField(help_text="What you may do with the order now.")

    @extend_schema_field(OrderRefOutput(many=True))
    def get_merged(self, order: WorkOrder) -> list[dict[str, Any]]:
        merged = getattr(order, "visible_merged", [])
        return [{"id": o.pk, "number": o.number} for o in merged]

    @extend_schema_field(ActionOption(many=True))
    def get_allowed_actions(self, order: WorkOrder) -> list[dict[str, str]]:
        user = request_user(self)
        return [{"action": a, "label": str(Action(a).label)} for a in rules.allowed_actions(user, order)]


class EventOutput(OutputModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display")
    from_status_label = serializers.CharField(source="get_from_status_display")
    to_status_label = serializers.CharField(source="get_to_status_display")
    actor = StaffRefOutput(allow_null=True)
    actor_unit = UnitRefOutput(allow_null=True)
    data = serializers.SerializerMethodField(  # type: ignore[assignment]  # a field named like Serializer.data
        help_text="Details of the step; phone numbers masked unless you may see personal data.")

    class Meta:
        model = OrderEvent
        fields = ["id", "kind", "kind_label", "from_status", "from_status_label", "to_status", "to_status_label",
                  "actor", "actor_unit", "text", "data", "at"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_data(self, event: OrderEvent) -> dict[str, Any]:
        data = dict(event.data or {})
        phone = data.get("phone")
        if phone and isinstance(phone, str) and not self.context.get("personal"):
            data["phone"] = mask_phone(phone)
        return data


class OrderTypeOutput(OutputModelSerializer):
    """A type of the catalogue with its active sub-types (a tree)."""

    parent = serializers.IntegerField(source="parent_id", allow_null=True)  # type: ignore[assignment]
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.label
    utility_label = serializers.CharField(source="get_utility_display")
    selectable = serializers.SerializerMethodField(help_text="A new order may take this type (it has no active "
                                                   "sub-types).")
    children = serializers.SerializerMethodField()

    class Meta:
        model = OrderType
        fields = ["id", "code", "parent", "name", "name_en", "label", "utility", "utility_label", "field_work",
                  "callback_required", "duplicate_window_hours", "sort", "selectable", "children"]
        read_only_fields = fields

    def get_selectable(self, order_type: OrderType) -> bool:
        return not getattr(order_type, "has_active_children", False)

    @extend_schema_field({"type": "array", "items": {"$ref": "#/components/schemas/OrderTypeOutput"}})
    def get_children(self, order_type: OrderType) -> list[dict[str, Any]]:
        children = getattr(order_type, "tree_children", [])
        return list(OrderTypeOutput(children, many=True, context=self.context).data)


class SlaPolicyOutput(OutputModelSerializer):
    order_type = TypeRefOutput()
    clock_label = serializers.CharField(source="get_clock_display")
    basis_label = serializers.CharField(source="get_basis_display")
    utility_label = serializers.CharField(source="get_utility_display")
    region_class_label = serializers.CharField(source="get_region_class_display")
    importance_label = serializers.CharField(source="get_importance_display")
    channel_label = serializers.CharField(source="get_channel_display")
    unit_label = serializers.CharField(source="get_unit_display")
    starts_on_label = serializers.CharField(source="get_starts_on_display")

    class Meta:
        model = SlaPolicy
        fields = ["id", "order_type", "clock", "clock_label", "basis", "basis_label", "utility", "utility_label",
                  "region_class", "region_class_label", "importance", "importance_label", "channel",
                  "channel_label", "amount", "unit", "unit_label", "starts_on", "starts_on_label", "effective_from",
                  "effective_to", "source", "weak_source"]
        read_only_fields = fields


class HandoverItemOutput(OutputModelSerializer):
    order = OrderRefOutput()
    status_at_handover_label = serializers.CharField(source="get_status_at_handover_display")

    class Meta:
        model = HandoverItem
        fields = ["id", "order", "status_at_handover", "status_at_handover_label", "note"]
        read_only_fields = fields


class HandoverOutput(OutputModelSerializer):
    unit = UnitRefOutput()
    status_label = serializers.CharField(source="get_status_display")
    created_by = StaffRefOutput()
    confirmed_by = StaffRefOutput(allow_null=True)
    items = HandoverItemOutput(many=True)

    class Meta:
        model = ShiftHandover
        fields = ["id", "unit", "shift_start", "shift_end", "summary", "status", "status_label", "created_by",
                  "created_at", "confirmed_by", "confirmed_at", "confirm_note", "items"]
        read_only_fields = fields


# ---------------------------------------------------------------- hot path

_DATETIME = serializers.DateTimeField()


def _datetime(value: Any) -> str | None:
    return None if value is None else _DATETIME.to_representation(value)


def _label(choices: type[models.TextChoices], value: str) -> str:
    # get_FOO_display() rebuilds the field's choices dict on every call: ten times slower than this.
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def _unit_ref(unit: OrgUnit | None) -> dict[str, Any] | None:
    return None if unit is None else {"id": unit.pk, "name": unit.name, "code": unit.code}


def workorder_rows(orders: list[WorkOrder], *, personal: bool) -> list[dict[str, Any]]:
    """The WorkOrderOutput shape built by hand: no serializer fields to build per request.

    Reads ``order_type``, ``unit`` and ``handling_unit``: load them with the orders.
    """
    rows = []
    for o in orders:
        kind = o.order_type
        rows.append({
            "id": o.pk, "number": o.number,
            "order_type": {"id": kind.pk, "code": kind.code, "label": kind.label},
            "status": o.status, "status_label": _label(Status, o.status),
            "utility": o.utility, "utility_label": _label(UtilityKind, o.utility),
            "channel": o.channel, "channel_label": _label(Channel, o.channel),
            "time_state": o.time_state, "time_state_label": _label(TimeState, o.time_state),
            "due_at": _datetime(o.due_at), "accepted_at": _datetime(o.accepted_at),
            "unit": _unit_ref(o.unit), "handling_unit": _unit_ref(o.handling_unit),
            "account": o.account_id,
            "caller_name": o.caller_name,
            "caller_phone": caller_phone(o, personal=personal),
            "caller_phone_masked": bool(o.caller_phone) and not personal,
            "urge_count": o.urge_count, "repeat_count": o.repeat_count, "return_count": o.return_count,
            "transfer_count": o.transfer_count, "reopen_count": o.reopen_count,
            "supervised": o.supervised, "version": o.version,
        })
    return rows


# ---------------------------------------------------------------- input fields


@extend_schema_field(OpenApiTypes.INT)
class IdField(serializers.Field):
    """A whole number that fits an id column, returned as an int; the service looks it up in scope."""

    default_error_messages = {"invalid": _("Expected an id (a whole number).")}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("invalid")
        number = parse_id(data)
        if number is None:
            self.fail("invalid")
        assert number is not None
        return number

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field({"oneOf": [{"type": "string", "pattern": _CODE.pattern}, {"type": "integer"}]})
class TypeCodeField(serializers.Field):
    """An order type by code (``repair``) or by id: returns the code (str) or the id (int)."""

    default_error_messages = {"invalid": _("Expected an order type code (such as repair) or its id.")}

    def to_internal_value(self, data: Any) -> int | str:
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("invalid")
        text = str(data).strip()
        if _ASCII_DIGITS.fullmatch(text):
            number = parse_id(text)
            if number is None:
                self.fail("invalid")
            assert number is not None
            return number
        if not _CODE.fullmatch(text):
            self.fail("invalid")
        return text

    def to_representation(self, value: Any) -> Any:
        return value


def type_lookup(value: int | str) -> OrderType | None:
    qs = OrderType.objects.select_related("parent")
    return qs.filter(pk=value).first() if isinstance(value, int) else qs.filter(code=value).first()


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string"}]})
class OrderRefField(serializers.Field):
    """An order you may see, by id (a number) or by order number (a string): returns the WorkOrder."""

    default_error_messages = {
        "invalid": _("Expected an order id or an order number."),
        "unknown": _("Unknown order {value}, or outside your area."),
    }

    def to_internal_value(self, data: Any) -> WorkOrder:
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("invalid")
        text = str(data).strip()
        if not text or len(text) > 20 or not _ASCII_DIGITS.fullmatch(text):
            self.fail("invalid")
        number = parse_id(text)
        if isinstance(data, int):
            # A JSON number is an id; a string is an order number (or an id written as text).
            if number is None:
                self.fail("unknown", value=text)
            match = Q(pk=number)
        else:
            match = Q(number=text) | Q(pk=number) if number is not None else Q(number=text)
        found = sorted(workorder_qs(request_user(self)).filter(match).only("id", "number", "status", "version"),
                       key=lambda o: o.number != text)
        if not found:
            self.fail("unknown", value=text)
        return found[0]

    def to_representation(self, value: Any) -> Any:
        return getattr(value, "pk", value)


# ---------------------------------------------------------------- inputs


def _text(max_length: int = MAX_TEXT, *, required: bool = True, **kwargs: Any) -> serializers.CharField:
    return serializers.CharField(max_length=max_length, required=required, allow_blank=not required, **kwargs)


def _key() -> serializers.CharField:
    return serializers.CharField(max_length=64, required=False, allow_blank=True,
                                 help_text="Idempotency key; the Idempotency-Key header is preferred.")


class IntakeInput(StrictInput):
    order_type = TypeCodeField(help_text="A leaf type of the catalogue, by code (repair) or id.")
    channel = serializers.ChoiceField(choices=Channel.choices)
    content = _text(help_text="What the customer asks for.")
    account = IdField(required=False, allow_null=True, help_text="Account id (in your area), if known.")
    utility = serializers.ChoiceField(choices=UtilityKind.choices, required=False, allow_blank=True,
                                      help_text="Needed without an account unless the type implies it.")
    caller_name = _text(60, required=False)
    caller_phone = _text(40, required=False, help_text="Any common spelling; needed without an account.")
    address = _text(300, required=False)
    intake_key = _key()


class RepeatCallInput(StrictInput):
    caller_phone = _text(40, required=False)
    note = _text(required=False)
    intake_key = _key()


class RepeatInput(RepeatCallInput):
    order = OrderRefField(help_text="The open order called about: its id, or its order number as a string.")


class DuplicatesQuery(serializers.Serializer):
    account = IdField(required=False, help_text="Account id.")
    phone = serializers.CharField(max_length=40, required=False, help_text="Caller phone, any common spelling.")
    order_type = TypeCodeField(required=False, help_text="Type code or id: only related types are shown.")


class TypeQuery(serializers.Serializer):
    utility = serializers.ChoiceField(choices=UtilityKind.choices, required=False)


class PolicyQuery(serializers.Serializer):
    order_type = TypeCodeField(required=False, help_text="Type code or id.")


# One input per action; every one may carry the version the user read.


class ActionInput(StrictInput):
    version = serializers.IntegerField(required=False, min_value=1, max_value=MAX_VERSION,
                                       help_text="The version you read; a newer one on the server is a 409.")


class DispatchInput(ActionInput):
    unit = IdField(help_text="The handling unit (in your area).")
    note = _text(required=False)


class ReasonInput(ActionInput):
    reason = _text()


class TransferInput(ReasonInput):
    unit = IdField(help_text="The new handling unit (in your area).")


class NoteInput(ActionInput):
    note = _text(required=False)


class HandleInput(ActionInput):
    result = _text(help_text="What was done.")


class ReplyInput(ActionInput):
    reply = _text(help_text="The answer given to the customer.")


class CallbackInput(ActionInput):
    satisfaction = serializers.ChoiceField(choices=Satisfaction.choices)
    note = _text(required=False, help_text="What the customer said; required when unsatisfied.")


class CancelInput(ActionInput):
    reason = serializers.ChoiceField(choices=CancelReason.choices)
    note = _text(required=False)


class SuperviseInput(ActionInput):
    deadline = serializers.DateTimeField(help_text="ISO-8601; must be in the future.")
    reason = _text()


class MergeInput(ActionInput):
    into = OrderRefField(help_text="The surviving order: its id, or its order number as a string.")
    note = _text(required=False)


class TextInput(ActionInput):
    text = _text()

