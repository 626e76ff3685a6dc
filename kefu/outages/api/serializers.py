"""Input and output serializers of the outage API.

Inputs check shapes, types and lengths only and refuse keys they do not know; the services own the
rules (a class that fits the utility, nodes in the user's area, end after start, notice rules) and
answer with messages naming the field. Outputs carry a label beside every coded value. The public
list has its own output without people, phones, accounts or units.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from kefu.core.api import MAX_ID, CodeOutputField, StrictInput
from kefu.core.choices import UtilityKind
from kefu.customers.api.serializers import StaffRefOutput
from kefu.grid.choices import NodeKind
from kefu.org.api.serializers import UnitRefOutput

from ..choices import Action, OutageClass, ProposalStatus, Status
from ..models import FaultCall, OutageEvent, OutageListedAccount, OutageNode
from ..services import MAX_SCOPE

MAX_VERSION = 2**31 - 1
MAX_TEXT = 2000
# Outage times outside these years are typing mistakes (and years near 1 or 9999 overflow on conversion).
FIRST_YEAR, LAST_YEAR = 2000, 2099


def _one_of(choices: Any) -> str:
    return "One of: " + ", ".join(str(value) for value, _label in choices)


def _label(choices: Any, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


# ---------------------------------------------------------------- outputs


class OutageAccountRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()


class OutageOrderRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()


class OutageScopeNodeOutput(serializers.Serializer):
    id = serializers.IntegerField(source="node_id")
    code = serializers.CharField(source="node.code")
    name = serializers.CharField(source="node.name")
    kind = CodeOutputField(source="node.kind", choices=NodeKind.choices)
    kind_label = serializers.CharField(source="node.get_kind_display")


class OutageListedAccountOutput(serializers.Serializer):
    id = serializers.IntegerField(source="account_id")
    number = serializers.CharField(source="account.number")


class OutageEventOutput(serializers.Serializer):
    kind = CodeOutputField(choices=Action.choices)
    kind_label = serializers.SerializerMethodField()
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    text = serializers.CharField()
    data = serializers.JSONField(  # type: ignore[assignment]  # a field named like Serializer.data
        help_text="What the step recorded: counts, messages queued, override, breaches.")
    actor = StaffRefOutput(allow_null=True)
    at = serializers.DateTimeField()

    def get_kind_label(self, event: OutageEvent) -> str:
        return _label(Action, event.kind)


class OutageCallOutput(serializers.Serializer):
    order = OutageOrderRefOutput()
    lead = serializers.BooleanField(help_text="The order that goes to the crew; the others wait on the outage.")
    at = serializers.DateTimeField()


class OutageOutput(serializers.Serializer):
    """One outage in a list."""

    id = serializers.IntegerField()
    number = serializers.CharField()
    utility = CodeOutputField(choices=UtilityKind.choices)
    utility_label = serializers.CharField(source="get_utility_display")
    outage_class = CodeOutputField(choices=OutageClass.choices)
    outage_class_label = serializers.CharField(source="get_outage_class_display")
    status = CodeOutputField(choices=Status.choices)
    status_label = serializers.CharField(source="get_status_display")
    unit = UnitRefOutput()
    area = serializers.CharField()
    reason = serializers.CharField()
    planned_start = serializers.DateTimeField()
    planned_end = serializers.DateTimeField(help_text="Expected restoration.")
    actual_start = serializers.DateTimeField(allow_null=True)
    actual_end = serializers.DateTimeField(allow_null=True, help_text="Actual restoration.")
    affected_count = serializers.IntegerField()
    important_count = serializers.IntegerField()
    dedicated_count = serializers.IntegerField()
    published_at = serializers.DateTimeField(allow_null=True)
    version = serializers.IntegerField(help_text="Send it back with a change or a step; a newer one is a 409.")


class OutageDetailOutput(OutageOutput):
    """One outage with its scope, the people behind it, the repair calls waiting on it and its timeline."""

    announced_start = serializers.DateTimeField(allow_null=True, help_text="The start customers were last told.")
    announced_end = serializers.DateTimeField(allow_null=True, help_text="The restoration customers were last told.")
    account = OutageAccountRefOutput(allow_null=True, help_text="The disconnected account (disconnection outages).")
    order = OutageOrderRefOutput(allow_null=True, help_text="The work order behind the outage, if any.")
    channels = serializers.ListField(child=serializers.CharField(), help_text="Where it was published.")
    override_reason = serializers.CharField(help_text="Why a supervisor published against a notice rule.")
    override_by = StaffRefOutput(allow_null=True)
    created_by = StaffRefOutput()
    created_at = serializers.DateTimeField()
    reviewed_by = StaffRefOutput(allow_null=True)
    reviewed_at = serializers.DateTimeField(allow_null=True)
    cancelled_at = serializers.DateTimeField(allow_null=True)
    nodes = serializers.SerializerMethodField(help_text="Topology nodes in the scope: everything under them.")
    listed_accounts = serializers.SerializerMethodField(help_text="Accounts named in the scope.")
    calls = serializers.SerializerMethodField(help_text="Repair orders linked to the outage.")
    events = serializers.SerializerMethodField(help_text="The timeline, oldest first.")

    @extend_schema_field(OutageScopeNodeOutput(many=True))
    def get_nodes(self, _outage: Any) -> Any:
        rows: list[OutageNode] = list(self.context.get("nodes", []))
        return OutageScopeNodeOutput(rows, many=True).data

    @extend_schema_field(OutageListedAccountOutput(many=True))
    def get_listed_accounts(self, _outage: Any) -> Any:
        rows: list[OutageListedAccount] = list(self.context.get("listed", []))
        return OutageListedAccountOutput(rows, many=True).data

    @extend_schema_field(OutageCallOutput(many=True))
    def get_calls(self, _outage: Any) -> Any:
        rows: list[FaultCall] = list(self.context.get("calls", []))
        return OutageCallOutput(rows, many=True).data

    @extend_schema_field(OutageEventOutput(many=True))
    def get_events(self, _outage: Any) -> Any:
        rows: list[OutageEvent] = list(self.context.get("events", []))
        return OutageEventOutput(rows, many=True).data


class OutageAffectedOutput(serializers.Serializer):
    """An account the outage cuts off. Names and addresses only: no phone numbers."""

    account = serializers.IntegerField(source="account_id")
    number = serializers.CharField(source="account.number")
    customer_name = serializers.CharField(source="account.customer.name")
    address = serializers.CharField(source="account.premise.address")
    important = serializers.BooleanField(help_text="An important (graded) customer.")
    dedicated = serializers.BooleanField(help_text="Supplied through a dedicated transformer.")


class PublicOutageOutput(serializers.Serializer):
    """What anyone may read: no customers, phones, accounts, units or counts."""

    number = serializers.CharField()
    utility = CodeOutputField(choices=UtilityKind.choices)
    utility_label = serializers.CharField(source="get_utility_display")
    outage_class = CodeOutputField(choices=OutageClass.choices)
    class_label = serializers.CharField(source="get_outage_class_display")
    status = CodeOutputField(choices=Status.choices)
    status_label = serializers.CharField(source="get_status_display")
    area = serializers.CharField()
    reason = serializers.CharField()
    start = serializers.DateTimeField(source="planned_start")
    expected_restoration = serializers.DateTimeField(source="planned_end")


class FaultProposalNodeOutput(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    kind = CodeOutputField(choices=NodeKind.choices)
    kind_label = serializers.CharField(source="get_kind_display")


class FaultProposalCallOutput(serializers.Serializer):
    order = OutageOrderRefOutput()
    at = serializers.DateTimeField()


class FaultProposalOutput(serializers.Serializer):
    """Repair calls that point to one faulted device, waiting for a dispatcher."""

    id = serializers.IntegerField()
    node = FaultProposalNodeOutput(help_text="The device the calls point to.")
    utility = CodeOutputField(choices=UtilityKind.choices)
    utility_label = serializers.CharField(source="get_utility_display")
    unit = UnitRefOutput()
    status = CodeOutputField(choices=ProposalStatus.choices)
    status_label = serializers.CharField(source="get_status_display")
    first_call_at = serializers.DateTimeField()
    last_call_at = serializers.DateTimeField()
    call_count = serializers.IntegerField()
    calls = serializers.SerializerMethodField()
    version = serializers.IntegerField(help_text="Send it back when confirming; more calls since make it a 409.")

    @extend_schema_field(FaultProposalCallOutput(many=True))
    def get_calls(self, proposal: Any) -> Any:
        rows = getattr(proposal, "call_rows", None)
        if rows is None:
            rows = list(proposal.calls.select_related("order").order_by("at"))
        return FaultProposalCallOutput(rows, many=True).data


class OutageReliabilityOutput(serializers.Serializer):
    """IEEE 1366 indices of one unit and period; decimals as strings, exact."""

    unit = UnitRefOutput()
    utility = CodeOutputField(choices=UtilityKind.choices)
    start = serializers.DateField()
    end = serializers.DateField(help_text="Inclusive.")
    customers_served = serializers.IntegerField()
    interruptions = serializers.IntegerField(help_text="Customer interruptions, overlapping outages merged.")
    customer_hours = serializers.DecimalField(max_digits=20, decimal_places=4,
                                              help_text="Customer interruption hours.")
    outages = serializers.IntegerField()
    saifi = serializers.DecimalField(max_digits=20, decimal_places=4)
    saidi = serializers.DecimalField(max_digits=20, decimal_places=4, help_text="Hours per customer served.")
    caidi = serializers.DecimalField(max_digits=20, decimal_places=4, help_text="Hours per interruption.")
    rs1 = serializers.DecimalField(max_digits=9, decimal_places=4, help_text="Supply reliability, per cent.")


# ---------------------------------------------------------------- inputs


class WhenField(serializers.DateTimeField):
    """ISO 8601 date and time; without an offset it is China time (Asia/Shanghai)."""

    default_error_messages = {"range": _("Enter a date between {first} and {last}.")}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("help_text", "ISO 8601, e.g. 2026-12-01T08:00:00+08:00; without an offset: China time.")
        super().__init__(**kwargs)

    def to_internal_value(self, value: Any) -> datetime:
        if isinstance(value, str) and not FIRST_YEAR <= _year(value) <= LAST_YEAR:
            self.fail("range", first=FIRST_YEAR, last=LAST_YEAR)
        moment: datetime = super().to_internal_value(value)
        if not FIRST_YEAR <= moment.year <= LAST_YEAR:
            self.fail("range", first=FIRST_YEAR, last=LAST_YEAR)
        return moment


def _year(text: str) -> int:
    """The year a date text begins with, checked before any conversion (text that does not begin with
    one is left to the date parser, which refuses it)."""
    head = text.strip()[:4]
    return int(head) if head.isascii() and head.isdigit() else FIRST_YEAR


def _text(max_length: int = 300, **kwargs: Any) -> serializers.CharField:
    """Optional text: absent is empty, and the service says when it is needed."""
    return serializers.CharField(max_length=max_length, allow_blank=True, default="", **kwargs)


def _refs(help_text: str) -> serializers.ListField:
    return serializers.ListField(child=serializers.CharField(max_length=40), max_length=MAX_SCOPE, required=False,
                                 help_text=help_text)


class _OutageFields(StrictInput):
    # Plain text for coded values: the services answer with messages that name the field, and a
    # choice set here would clash with the other "utility" enums of the schema.
    utility = serializers.CharField(max_length=8, help_text=_one_of(UtilityKind.choices))
    outage_class = serializers.CharField(max_length=16, help_text=_one_of(OutageClass.choices))
    area = _text(help_text="The area without supply, as customers are told.")
    reason = _text(help_text="Why, as customers are told.")
    planned_start = WhenField()
    planned_end = WhenField(help_text="Expected restoration; ISO 8601, without an offset: China time.")
    nodes = _refs("Topology nodes by code (TA1) or id: everything under them is affected.")
    accounts = _refs("Account numbers (or ids) cut off besides or instead of the nodes.")
    account = _text(40, help_text="Disconnection outages (arrears, theft, violation): the account number or id.")
    order = _text(40, help_text="The work order behind the outage: its number or id.")


class OutageCreateInput(_OutageFields):
    pass


class OutageUpdateInput(_OutageFields):
    """Fields not sent keep their values; ``nodes`` and ``accounts`` replace the whole scope."""

    version = serializers.IntegerField(required=False, min_value=1, max_value=MAX_VERSION,
                                       help_text="The version you read (or send it in If-Match); a newer one is "
                                                 "a 409.")


class OutageStepInput(StrictInput):
    version = serializers.IntegerField(required=False, min_value=1, max_value=MAX_VERSION,
                                       help_text="The version you read (or send it in If-Match); a newer one is "
                                                 "a 409.")


class OutageReviewInput(OutageStepInput):
    note = _text(MAX_TEXT)


class OutageReasonInput(OutageStepInput):
    reason = _text(MAX_TEXT, help_text="Required.")


class OutagePublishInput(OutageStepInput):
    override_reason = _text(help_text="Only to publish against a notice rule (outage.override capability).")


class OutageExtendInput(OutageStepInput):
    planned_end = WhenField(default=None, allow_null=True, help_text="The new expected restoration (later).")
    reason = _text(help_text="Required; customers are told it.")
    override_reason = _text(help_text="Only when the change is reported too late (outage.override capability).")


class OutageChangeInput(OutageStepInput):
    planned_start = WhenField(default=None, allow_null=True)
    planned_end = WhenField(default=None, allow_null=True)
    reason = _text(help_text="Required; customers are told it.")
    override_reason = _text(help_text="Only when the change is reported too late (outage.override capability).")


class OutageRestoreInput(OutageStepInput):
    actual_start = WhenField(default=None, allow_null=True, help_text="Default: the recorded or planned start.")
    actual_end = WhenField(default=None, allow_null=True, help_text="Default: now.")
    note = _text(MAX_TEXT)


class FaultProposalConfirmInput(OutageStepInput):
    expected_hours = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=72,
                                              help_text="Hours until the expected restoration (default: rule).")


class FaultProposalDismissInput(OutageStepInput):
    reason = _text(MAX_TEXT, help_text="Required: why the calls are not one fault.")


class OutageListQuery(serializers.Serializer):
    status = serializers.ChoiceField(choices=Status.choices, required=False)
    outage_class = serializers.ChoiceField(choices=OutageClass.choices, required=False)
    utility = serializers.ChoiceField(choices=UtilityKind.choices, required=False)
    live = serializers.BooleanField(required=False, default=False, help_text="Only published and in force.")
    q = serializers.CharField(max_length=100, required=False, allow_blank=True,
                              help_text="Number, area or reason contains.")
    start_from = serializers.DateField(required=False, help_text="Starts on or after this day (China time).")
    start_to = serializers.DateField(required=False, help_text="Starts on or before this day (China time).")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        lo, hi = attrs.get("start_from"), attrs.get("start_to")
        if lo and hi and hi < lo:
            raise serializers.ValidationError({"start_to": [_("The last day is before the first.")]})
        return attrs


class AffectedQuery(serializers.Serializer):
    important = serializers.BooleanField(required=False, allow_null=True, default=None,
                                         help_text="true: only important customers.")


class PublicQuery(serializers.Serializer):
    utility = serializers.ChoiceField(choices=UtilityKind.choices, required=False)


MAX_DAYS = 10 * 366


class ReliabilityQuery(serializers.Serializer):
    unit = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID,
                                    help_text="Org unit id in your area (default: your own unit).")
    start = serializers.DateField(help_text="First day, YYYY-MM-DD.")
    end = serializers.DateField(help_text="Last day (inclusive), YYYY-MM-DD.")
    utility = serializers.ChoiceField(choices=UtilityKind.choices, required=False, default=UtilityKind.POWER)

    def validate_start(self, value: date) -> date:
        return _in_range(value)

    def validate_end(self, value: date) -> date:
        return _in_range(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["end"] < attrs["start"]:
            raise serializers.ValidationError({"end": [_("The last day is before the first.")]})
        if (attrs["end"] - attrs["start"]).days >= MAX_DAYS:
            raise serializers.ValidationError({"end": [_("Choose a period of at most ten years.")]})
        return attrs


def _in_range(value: date) -> date:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise serializers.ValidationError(_("Enter a date between %(first)d and %(last)d.") % {
            "first": FIRST_YEAR, "last": LAST_YEAR})
    return value
