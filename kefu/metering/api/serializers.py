"""Input and output serializers of the metering API.

Inputs check shapes only and refuse keys they do not know; the meter lookup, the reading rules
(a non-negative number, not dated in the future, an installed meter) and the analyst's decisions
belong to the views' checks and the services, which name the field at fault. Outputs carry a label
beside every coded value; decimals are strings, exact.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from kefu.core.api import CodeOutputField, ErrorOutput, StrictInput
from kefu.core.choices import UtilityKind
from kefu.customers.api.serializers import StaffRefOutput
from kefu.org.api.serializers import UnitRefOutput

from ..choices import (
    BILLABLE,
    Location,
    MeterEventKind,
    MeterKind,
    MeterState,
    PlanStatus,
    ReadingState,
    Register,
    Resolution,
    Rule,
    Source,
)
from ..fieldwork import MAX_NOTE, NoteKind
from ..models import MeterEvent, Reading
from ..plans import SignerRole

MAX_BATCH = 1000


def _decimal(**kwargs: Any) -> serializers.DecimalField:
    """A register value or consumption: 12 digits and 2 decimals."""
    return serializers.DecimalField(max_digits=14, decimal_places=2, **kwargs)


def _label(choices: Any, value: Any) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


# ---------------------------------------------------------------- outputs


class MeterRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    serial = serializers.CharField(help_text="The meter number.")


class ServicePointRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()


class ReadingOutput(serializers.Serializer):
    """One register value of one meter for one month."""

    id = serializers.IntegerField()
    meter = MeterRefOutput()
    service_point = ServicePointRefOutput()
    period = serializers.DateField(format="%Y-%m", help_text="The month read, YYYY-MM.")
    register = serializers.IntegerField(help_text="0 total; 1 peak, 2 flat, 3 valley, 4 critical peak.")
    register_label = serializers.SerializerMethodField()
    value = _decimal()
    previous = _decimal(allow_null=True, help_text="The reading it was measured from.")
    consumption = _decimal(allow_null=True,
                                           help_text="Register difference × multiplier (rollover counted).")
    read_on = serializers.DateField()
    source = CodeOutputField(choices=Source.choices)  # type: ignore[assignment]  # named like Field.source
    source_label = serializers.CharField(source="get_source_display")
    state = CodeOutputField(choices=ReadingState.choices)
    state_label = serializers.CharField(source="get_state_display")
    billable = serializers.SerializerMethodField(help_text="False while the reading waits in the exceptions queue.")
    reader = StaffRefOutput(allow_null=True)
    unit = UnitRefOutput()
    created_at = serializers.DateTimeField()

    def get_register_label(self, reading: Reading) -> str:
        return _label(Register, reading.register)

    def get_billable(self, reading: Reading) -> bool:
        return reading.state in BILLABLE


class ReadingRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    register = serializers.IntegerField()
    value = _decimal()
    previous = _decimal(allow_null=True)
    consumption = _decimal(allow_null=True)
    read_on = serializers.DateField()
    source = CodeOutputField(choices=Source.choices)  # type: ignore[assignment]  # named like Field.source
    state = CodeOutputField(choices=ReadingState.choices)
    state_label = serializers.CharField(source="get_state_display")


class ExceptionOutput(serializers.Serializer):
    """A reading (or a missing one) that failed a rule."""

    id = serializers.IntegerField()
    meter = MeterRefOutput()
    reading = ReadingRefOutput(allow_null=True, help_text="Null for a missing reading.")
    period = serializers.DateField(format="%Y-%m", help_text="The month, YYYY-MM.")
    rule = CodeOutputField(choices=Rule.choices)
    rule_label = serializers.CharField(source="get_rule_display")
    detail = serializers.CharField()
    data = serializers.JSONField(  # type: ignore[assignment]  # a field named like Serializer.data
        help_text="What the rule measured (previous value, average, factor ...).")
    resolution = CodeOutputField(choices=Resolution.choices)
    resolution_label = serializers.CharField(source="get_resolution_display")
    note = serializers.CharField()
    unit = UnitRefOutput()
    raised_at = serializers.DateTimeField()
    resolved_by = StaffRefOutput(allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)


class RecordedOutput(serializers.Serializer):
    """The outcome of one reading sent in."""

    outcome = serializers.ChoiceField(
        choices=["recorded", "reread", "unchanged", "duplicate"],
        help_text="recorded: a new reading; reread: it replaced a reading sent back for a re-read; unchanged: "
                  "the same value was already there (a replay, nothing done); duplicate: another value for a "
                  "month already read — the first stays and the analyst is told.")
    reading = ReadingOutput()
    exceptions = ExceptionOutput(many=True, help_text="Exceptions this request raised (empty on a replay).")


class FieldOrderOutput(serializers.Serializer):
    """A work order a reader's note made, or the one an earlier report of the same note made."""

    note_kind = serializers.ChoiceField(choices=NoteKind.choices, source="kind", help_text="hazard or theft.")
    id = serializers.IntegerField(source="order.pk")
    number = serializers.CharField(source="order.number")
    order_type = serializers.CharField(source="order.order_type.code")
    order_type_label = serializers.CharField(source="order.order_type.label")
    handling_unit = UnitRefOutput(source="order.handling_unit", allow_null=True)
    created = serializers.BooleanField(help_text="False: the same note was reported before; no new order.")


class ReadingReportedOutput(RecordedOutput):
    """The outcome of one reading sent in with what the reader noted."""

    orders = FieldOrderOutput(many=True, help_text="The work orders the hazard note and the theft flag made.")


class FlaggedOutput(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the item in the batch, from 0.")
    meter = serializers.CharField()
    reading = serializers.IntegerField(help_text="The reading's id.")
    rules = serializers.ListField(child=serializers.CharField())


class BatchOutput(serializers.Serializer):
    batch = serializers.IntegerField(help_text="The import batch id the readings carry.")
    items = serializers.IntegerField()
    created = serializers.IntegerField(help_text="New readings (re-reads included).")
    unchanged = serializers.IntegerField(help_text="The same value was already there: nothing done.")
    duplicates = serializers.IntegerField(help_text="Another value for a month already read: the first stays.")
    exceptions = serializers.IntegerField(help_text="Exceptions raised for the data analyst.")
    flagged = FlaggedOutput(many=True, help_text="The items that raised exceptions.")


class BatchErrorItemOutput(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the bad item in the batch, from 0.")
    field = serializers.CharField(help_text="The item's field at fault; empty when the item as a whole is wrong.")
    message = serializers.CharField()


class BatchErrorExtraOutput(serializers.Serializer):
    items = BatchErrorItemOutput(many=True, help_text="Every problem of every bad item.")


class ErrorWithItemsOutput(ErrorOutput):
    """The error body of a refused batch: the usual one, with the bad items listed in ``extra``."""

    extra = BatchErrorExtraOutput(required=False)


class MeterEventOutput(serializers.Serializer):
    kind = CodeOutputField(choices=MeterEventKind.choices)
    kind_label = serializers.CharField(source="get_kind_display")
    service_point = ServicePointRefOutput()
    installed_on = serializers.DateField()
    removed_on = serializers.DateField(allow_null=True)
    initial_reading = _decimal()
    final_reading = _decimal(allow_null=True)
    actor = StaffRefOutput(allow_null=True)


class MeterDetailOutput(serializers.Serializer):
    """A meter with where it hung (newest first), its latest readings and its open exceptions."""

    id = serializers.IntegerField()
    serial = serializers.CharField()
    kind = CodeOutputField(choices=MeterKind.choices)
    kind_label = serializers.CharField(source="get_kind_display")
    utility = CodeOutputField(choices=UtilityKind.choices)
    utility_label = serializers.CharField(source="get_utility_display")
    model = serializers.CharField()
    manufacturer = serializers.CharField()
    registers = serializers.IntegerField()
    multiplier = serializers.DecimalField(max_digits=10, decimal_places=2)
    digits = serializers.IntegerField(help_text="Whole digits: the register starts again at 10^digits.")
    verified_on = serializers.DateField(allow_null=True)
    verification_due_on = serializers.DateField(allow_null=True)
    location = CodeOutputField(choices=Location.choices)
    location_label = serializers.CharField(source="get_location_display")
    in_box = serializers.BooleanField()
    state = CodeOutputField(choices=MeterState.choices)
    state_label = serializers.CharField(source="get_state_display")
    service_point = ServicePointRefOutput(allow_null=True, help_text="Where it hangs now.")
    accounts = serializers.SerializerMethodField(help_text="Account numbers on that service point.")
    unit = UnitRefOutput()
    installations = serializers.SerializerMethodField(help_text="Installation history, newest first.")
    readings = serializers.SerializerMethodField(help_text="The latest 12 readings, newest month first.")
    open_exceptions = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_accounts(self, _meter: Any) -> list[str]:
        return list(self.context.get("accounts", []))

    @extend_schema_field(MeterEventOutput(many=True))
    def get_installations(self, _meter: Any) -> Any:
        rows: list[MeterEvent] = list(self.context.get("events", []))
        return MeterEventOutput(rows, many=True).data

    @extend_schema_field(ReadingOutput(many=True))
    def get_readings(self, _meter: Any) -> Any:
        return ReadingOutput(list(self.context.get("readings", [])), many=True).data

    @extend_schema_field(ExceptionOutput(many=True))
    def get_open_exceptions(self, _meter: Any) -> Any:
        return ExceptionOutput(list(self.context.get("exceptions", [])), many=True).data


# ---------------------------------------------------------------- inputs


class ReadingInput(StrictInput):
    """One register reading. ``value`` may be a JSON number or a string ("1234.5")."""

    meter = serializers.CharField(max_length=32, help_text="The meter number (serial).")
    value = serializers.CharField(max_length=30, help_text="Register value, non-negative, at most 2 decimals.")
    read_on = serializers.DateField(help_text="The day it was read, YYYY-MM-DD; the month read follows from it.")
    source = serializers.ChoiceField(  # type: ignore[assignment]  # a field named like Field.source
        choices=Source.choices, default=Source.ACTUAL)
    register = serializers.ChoiceField(choices=Register.choices, default=Register.TOTAL,
                                       help_text="0 total; 1 peak, 2 flat, 3 valley, 4 critical peak.")
    multiplier = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=Decimal("0.01"), required=False,
                                          allow_null=True,
                                          help_text="The multiplier (CT ratio) the device reports, if any; "
                                                    "one that differs from the meter's is an exception.")


class ReadingReportInput(ReadingInput):
    """One reading with what the reader noted at the meter."""

    hazard = serializers.CharField(max_length=MAX_NOTE, required=False, allow_blank=True,
                                   help_text="A safety hazard seen at the meter: a work order for the unit of the "
                                             "premise.")
    theft = serializers.BooleanField(required=False, default=False,
                                     help_text="Suspected theft of electricity or gas: a work order for the unit of "
                                               "the premise.")
    theft_note = serializers.CharField(max_length=MAX_NOTE, required=False, allow_blank=True,
                                       help_text="What points to theft (with theft).")


@extend_schema_field(ReadingInput(many=True))
class BatchItemsField(serializers.ListField):
    """The readings of a batch, taken as they come: the view checks each item on its own, so that
    every bad one is reported at once."""


class ReadingBatchInput(StrictInput):
    """Readings from the head-end system, recorded all together or not at all."""

    readings = BatchItemsField(child=serializers.JSONField(), min_length=1, max_length=MAX_BATCH,
                               help_text=f"1 to {MAX_BATCH} readings.")


class ResolveInput(StrictInput):
    resolution = serializers.ChoiceField(
        choices=[(r.value, r.label) for r in (Resolution.ACCEPTED, Resolution.CORRECTED, Resolution.ESTIMATED,
                                              Resolution.REREAD)],
        error_messages={"invalid_choice": _("Choose accepted, corrected, estimated or reread.")})
    value = serializers.CharField(max_length=30, required=False, allow_blank=True,
                                  help_text="The new value, for corrected and estimated.")
    note = serializers.CharField(max_length=300, required=False, allow_blank=True,
                                 help_text="The reason; required except for accepted.")


class ReadingListQuery(serializers.Serializer):
    meter = serializers.CharField(max_length=32, required=False, help_text="A meter number.")
    period = serializers.RegexField(r"^(19|20)\d{2}-(0[1-9]|1[0-2])$", required=False,
                                    help_text="A month, YYYY-MM.",
                                    error_messages={"invalid": _("Give the month as YYYY-MM.")})
    state = serializers.ChoiceField(choices=ReadingState.choices, required=False)


class ExceptionListQuery(serializers.Serializer):
    rule = serializers.ChoiceField(choices=Rule.choices, required=False)


# ---------------------------------------------------------------- routes, plans, confirmation sheets


class RouteRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()


class RouteOutput(serializers.Serializer):
    """A reading route (抄表册)."""

    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    utility = CodeOutputField(choices=UtilityKind.choices)
    utility_label = serializers.CharField(source="get_utility_display")
    unit = UnitRefOutput()
    reader = StaffRefOutput(allow_null=True)
    is_active = serializers.BooleanField()


class PlanOutput(serializers.Serializer):
    """One route's monthly reading plan with its progress."""

    id = serializers.IntegerField()
    route = RouteRefOutput()
    period = serializers.DateField(format="%Y-%m", help_text="The month, YYYY-MM.")
    window_start = serializers.DateField()
    window_end = serializers.DateField()
    status = CodeOutputField(choices=PlanStatus.choices)
    status_label = serializers.CharField(source="get_status_display")
    planned = serializers.IntegerField(help_text="Meters to read.")
    read = serializers.IntegerField(source="read_count", help_text="Planned meters with a reading for the month.")
    missing_open = serializers.IntegerField(help_text="Missing-reading exceptions still open.")


class ItemReadingOutput(serializers.Serializer):
    value = _decimal(source="reading_value")
    state = CodeOutputField(choices=ReadingState.choices, source="reading_state")
    read_on = serializers.DateField()


class PlanItemOutput(serializers.Serializer):
    seq = serializers.IntegerField(help_text="Walking order.")
    service_point = ServicePointRefOutput()
    address = serializers.CharField(source="service_point.premise.address")
    meter = MeterRefOutput()
    reading = serializers.SerializerMethodField(help_text="The month's reading, null while unread.")
    open_exceptions = serializers.IntegerField(help_text="Open exceptions of the meter for the month.")

    @extend_schema_field(ItemReadingOutput(allow_null=True))
    def get_reading(self, item: Any) -> Any:
        return ItemReadingOutput(item).data if item.reading_value is not None else None


class SheetOutput(serializers.Serializer):
    """A reading confirmation sheet (抄表确认单) signed on a route day."""

    id = serializers.IntegerField()
    plan = serializers.IntegerField(source="plan_id")
    day = serializers.DateField(help_text="The route day.")
    signed_by = serializers.CharField()
    signer_role = CodeOutputField(choices=SignerRole.choices)
    signer_role_label = serializers.SerializerMethodField()
    note = serializers.CharField()
    actor = StaffRefOutput(allow_null=True, help_text="Who recorded it.")

    def get_signer_role_label(self, sheet: Any) -> str:
        return _label(SignerRole, sheet.signer_role)


class PlanDetailOutput(PlanOutput):
    items = serializers.SerializerMethodField(help_text="The meters in walking order.")
    sheets = serializers.SerializerMethodField(help_text="Confirmation sheets, by route day.")

    @extend_schema_field(PlanItemOutput(many=True))
    def get_items(self, _plan: Any) -> Any:
        return PlanItemOutput(list(self.context.get("items", [])), many=True).data

    @extend_schema_field(SheetOutput(many=True))
    def get_sheets(self, _plan: Any) -> Any:
        return SheetOutput(list(self.context.get("sheets", [])), many=True).data


class PlanListQuery(serializers.Serializer):
    route = serializers.IntegerField(required=False, min_value=1, help_text="A route id.")
    period = serializers.RegexField(r"^(19|20)\d{2}-(0[1-9]|1[0-2])$", required=False, help_text="A month, YYYY-MM.",
                                    error_messages={"invalid": _("Give the month as YYYY-MM.")})
    status = serializers.ChoiceField(choices=PlanStatus.choices, required=False)


class SheetInput(StrictInput):
    day = serializers.DateField(help_text="The route day: inside the plan's window, not in the future.")
    signed_by = serializers.CharField(max_length=60, help_text="Who signed.")
    signer_role = serializers.ChoiceField(choices=SignerRole.choices)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
