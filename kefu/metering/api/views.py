"""Metering API: readings from devices and the head-end system, the analyst's exceptions queue, meters.

Thin views over ``selectors`` and ``services``. A reading names its meter by number; a number
unknown or outside the user's area is a 400 on ``meter`` (the body is at fault, nothing is revealed).
Every reading goes through ``services.reading_record``, so the validation rules and the exceptions
queue apply exactly as on the page, and the same value sent again changes nothing (200).

A batch (the head-end system of smart meters, token authentication) is checked whole before
anything is written: every bad item is reported with its index, field and reason and nothing is
applied; a clean batch is applied in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from kefu.core.api import KeysetPagination, NewestFirst, error_responses, flatten_errors, parse_id, validated
from kefu.core.errors import ApplicationError, InvalidInput
from kefu.customers.models import Account
from kefu.org.api.auth import StaffTokenAuthentication
from kefu.org.choices import Capability
from kefu.org.scope import for_user, require

from .. import fieldwork, plans, selectors, services
from ..choices import MeterState, ReadingState
from ..models import ImportBatch, Meter, MeterEvent, Reading, ReadingException
from . import serializers as s

METER_READINGS = 12


def _readings(qs: Any) -> Any:
    return qs.select_related("meter", "service_point", "reader", "unit")


# ---------------------------------------------------------------- checking readings


@dataclass
class _Checked:
    meter: Meter
    value: Decimal
    data: dict[str, Any]


def _meters(user: Any, serials: set[str]) -> dict[str, Meter]:
    """The user's meters with these numbers, in one query."""
    found = selectors.meter_qs(user).filter(serial__in=sorted(serials)) if serials else Meter.objects.none()
    return {m.serial: m for m in found}


def _check(data: dict[str, Any], meters: dict[str, Meter], today: date) -> tuple[_Checked | None, dict[str, str]]:
    """The rules a reading must pass before it is recorded, each failure under its field."""
    problems: dict[str, str] = {}
    serial = data["meter"].strip()
    meter = meters.get(serial)
    if meter is None:
        problems["meter"] = _("Unknown meter number %(serial)s, or outside your area.") % {"serial": serial[:32]}
    elif meter.state != MeterState.INSTALLED or meter.service_point_id is None:
        problems["meter"] = _("Meter %(serial)s is not installed anywhere.") % {"serial": serial}
    elif data["register"] >= max(meter.registers, 1):
        problems["register"] = _("Meter %(serial)s has no register %(register)s.") % {
            "serial": serial, "register": data["register"]}
    value: Decimal | None = None
    try:
        value = services.parse_value(data["value"], "value")
    except InvalidInput as exc:
        problems["value"] = str(exc.message)
    if data["read_on"] > today:
        problems["read_on"] = _("A reading cannot be dated in the future.")
    if problems or meter is None or value is None:
        return None, problems
    return _Checked(meter, value, data), {}


def _set_aside(item: _Checked) -> bool:
    """Whether the month waits for a re-read, to tell a re-read's new value from a replay."""
    d = item.data
    return Reading.objects.filter(meter=item.meter, period=services.month_of(d["read_on"]), register=d["register"],
                                  state=ReadingState.SUPERSEDED).exists()


def _outcome(item: _Checked, recorded: services.Recorded, set_aside: bool) -> str:
    if recorded.created:
        return "recorded"
    if recorded.reading.value != item.value:
        return "duplicate"
    # The new value took the place of the reading sent back for a re-read.
    return "reread" if set_aside else "unchanged"


def _record(user: Any, item: _Checked, *, now: Any, batch: ImportBatch | None = None) -> tuple[str, Any]:
    """``services.reading_record`` and what came of it: recorded, reread, unchanged or duplicate."""
    d = item.data
    set_aside = _set_aside(item)
    recorded = services.reading_record(
        actor=user, meter=item.meter, value=item.value, read_on=d["read_on"], source=d["source"],
        register=d["register"], multiplier_given=d.get("multiplier"), batch=batch, now=now)
    return _outcome(item, recorded, set_aside), recorded


# ---------------------------------------------------------------- readings


READING_EXAMPLE = OpenApiExample(
    "A smart meter's monthly reading", request_only=True,
    value={"meter": "M00012345", "value": "1234.50", "read_on": "2026-03-10", "source": "remote"},
)
HAZARD_EXAMPLE = OpenApiExample(
    "A reader's reading with a hazard noted", request_only=True,
    value={"meter": "G00004567", "value": "862", "read_on": "2026-03-12", "hazard": "户内胶管老化, 已告知用户"},
)


class ReadingListView(GenericAPIView):
    parser_classes = [JSONParser]
    pagination_class = NewestFirst
    filter_backends: list[Any] = []
    serializer_class = s.ReadingOutput

    def get_queryset(self) -> Any:
        return _readings(selectors.reading_qs(self.request.user))

    @extend_schema(
        summary="Readings of your area, newest first",
        description="Narrow by meter number, month (YYYY-MM) and state.",
        parameters=[s.ReadingListQuery],
        responses={200: s.ReadingOutput(many=True), **error_responses(400)},
    )
    def get(self, request: Request) -> Response:
        query = validated(s.ReadingListQuery, request.query_params.dict())
        qs = self.get_queryset()
        if query.get("meter"):
            qs = qs.filter(meter__serial=query["meter"].strip())
        if query.get("period"):
            year, month = (int(x) for x in query["period"].split("-"))
            qs = qs.filter(period=date(year, month, 1))
        if query.get("state"):
            qs = qs.filter(state=query["state"])
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(s.ReadingOutput(page, many=True).data)

    @extend_schema(
        summary="Record one reading (a device, a reader's app, a customer's own reading)",
        description="The reading is checked against the validation rules: one that breaks a rule is stored but "
                    "waits in the exceptions queue (state `exception`) and does not go to billing. The same value "
                    "again is a replay: 200, nothing changes. Another value for a month already read keeps the "
                    "first and raises a duplicate exception (200, outcome `duplicate`). A reader's `hazard` text "
                    "and `theft` flag each make one work order for the unit of the meter's premise, in the same "
                    "transaction; the same note for the same meter and month again makes none (`created` false). "
                    "Needs `reading.enter`.",
        request=s.ReadingReportInput, examples=[READING_EXAMPLE, HAZARD_EXAMPLE],
        responses={201: s.ReadingReportedOutput,
                   200: OpenApiResponse(s.ReadingReportedOutput, description="Nothing new: the same value again, "
                                                                             "or a duplicate sent to the analyst."),
                   **error_responses(400, 403)},
    )
    def post(self, request: Request) -> Response:
        require(request.user, Capability.READING_ENTER)
        data = validated(s.ReadingReportInput, request.data)
        meters = _meters(request.user, {data["meter"].strip()})
        now = timezone.now()
        item, problems = _check(data, meters, timezone.localdate(now))
        if (data.get("theft_note") or "").strip() and not data["theft"]:
            problems["theft_note"] = _("Give a theft note only with theft.")
        if item is None or problems:
            raise InvalidInput({field: [message] for field, message in problems.items()})
        set_aside = _set_aside(item)
        reported = fieldwork.reading_report(
            actor=request.user, meter=item.meter, value=item.value, read_on=data["read_on"], source=data["source"],
            register=data["register"], multiplier_given=data.get("multiplier"), hazard=data.get("hazard", ""),
            theft=data["theft"], theft_note=data.get("theft_note", ""), now=now)
        recorded = reported.recorded
        outcome = _outcome(item, recorded, set_aside)
        reading = _readings(Reading.objects).get(pk=recorded.reading.pk)
        body = s.ReadingReportedOutput({"outcome": outcome, "reading": reading, "exceptions": recorded.exceptions,
                                        "orders": reported.orders}).data
        code = status.HTTP_201_CREATED if outcome in ("recorded", "reread") else status.HTTP_200_OK
        return Response(body, status=code)


class BatchRefused(InvalidInput):
    """Bad items of a batch: ``errors`` under "readings.<index>.<field>", and the same as a list."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        errors: dict[str, list[str]] = {}
        for item in items:
            key = f"readings.{item['index']}" + (f".{item['field']}" if item["field"] else "")
            errors.setdefault(key, []).append(item["message"])
        super().__init__(errors)
        self.items = items

    def as_dict(self) -> dict[str, Any]:
        body = super().as_dict()
        body["detail"] = _("%(count)d of the readings are wrong; nothing was recorded. First: %(first)s") % {
            "count": len({i["index"] for i in self.items}), "first": f"{next(iter(self.errors))}: {self.message}"}
        body["extra"] = {"items": self.items}
        return body


BATCH_REFUSED_EXAMPLE = OpenApiExample(
    "Two bad items: nothing recorded", response_only=True, status_codes=["400"],
    value={"code": "invalid",
           "detail": "2 of the readings are wrong; nothing was recorded. First: readings.3.value: A reading "
                     "cannot be negative.",
           "errors": {"readings.3.value": ["A reading cannot be negative."],
                      "readings.7.meter": ["Unknown meter number X9, or outside your area."]},
           "extra": {"items": [{"index": 3, "field": "value", "message": "A reading cannot be negative."},
                               {"index": 7, "field": "meter",
                                "message": "Unknown meter number X9, or outside your area."}]}},
)


class ReadingBatchView(GenericAPIView):
    """The head-end system of smart meters sends its readings here (token authentication)."""

    authentication_classes = [StaffTokenAuthentication]
    parser_classes = [JSONParser]
    serializer_class = s.BatchOutput

    @extend_schema(
        summary="Record up to 1,000 readings at once, all or nothing (head-end system)",
        description="Every item is checked first (shape, meter number in your area and installed, register, "
                    "value, date). Any bad item: 400 listing each one — `errors` under `readings.<index>.<field>` "
                    "and `extra.items` as {index, field, message} — and nothing is recorded. Otherwise all are "
                    "recorded in one transaction, each through the validation rules like a single reading; a "
                    "batch sent again changes nothing. Token authentication; needs `reading.enter`.",
        request=s.ReadingBatchInput,
        responses={200: s.BatchOutput,
                   400: OpenApiResponse(s.ErrorWithItemsOutput, description="Bad items; nothing recorded.",
                                        examples=[BATCH_REFUSED_EXAMPLE]),
                   **error_responses(403)},
    )
    def post(self, request: Request) -> Response:
        require(request.user, Capability.READING_ENTER)
        items = validated(s.ReadingBatchInput, request.data)["readings"]
        now = timezone.now()
        today = timezone.localdate(now)
        bad: list[dict[str, Any]] = []
        shaped: list[tuple[int, dict[str, Any]]] = []
        for index, raw in enumerate(items):
            serializer = s.ReadingInput(data=raw)
            if serializer.is_valid():
                shaped.append((index, dict(serializer.validated_data)))
                continue
            for field, messages in flatten_errors(serializer.errors).items():
                # The item as a whole (not an object): no field.
                name = "" if field == "non_field_errors" else field
                bad += [{"index": index, "field": name, "message": m} for m in messages]
        meters = _meters(request.user, {d["meter"].strip() for _i, d in shaped})
        good: list[tuple[int, _Checked]] = []
        first: dict[tuple[str, int, date], int] = {}
        for index, data in shaped:
            item, problems = _check(data, meters, today)
            key = (data["meter"].strip(), data["register"], services.month_of(data["read_on"]))
            if key in first:
                problems.setdefault("meter", _("Meter %(serial)s is read twice for one month and register (first at "
                                               "index %(index)d).") % {"serial": key[0], "index": first[key]})
            else:
                first[key] = index
            bad += [{"index": index, "field": f, "message": m} for f, m in problems.items()]
            if item is not None and not problems:
                good.append((index, item))
        if bad:
            raise BatchRefused(sorted(bad, key=lambda b: (b["index"], b["field"])))
        counts = {"created": 0, "unchanged": 0, "duplicates": 0, "exceptions": 0}
        flagged: list[dict[str, Any]] = []
        with transaction.atomic():
            batch = ImportBatch.objects.create(name=_("API batch of %(count)d readings") % {"count": len(good)},
                                               rows=len(good), actor_id=request.user.pk)
            for index, item in good:
                try:
                    outcome, recorded = _record(request.user, item, now=now, batch=batch)
                except InvalidInput as exc:  # changed since the check (a meter removed meanwhile): nothing stays
                    field = next(iter(exc.errors), "meter")
                    raise BatchRefused([{"index": index, "field": field, "message": str(exc.errors[field][0])}]) \
                        from exc
                except ApplicationError as exc:
                    raise BatchRefused([{"index": index, "field": exc.field or "meter", "message": str(exc.message)}]) \
                        from exc
                counts["created" if outcome in ("recorded", "reread") else
                       "duplicates" if outcome == "duplicate" else "unchanged"] += 1
                counts["exceptions"] += len(recorded.exceptions)
                if recorded.exceptions:
                    flagged.append({"index": index, "meter": item.meter.serial, "reading": recorded.reading.pk,
                                    "rules": [e.rule for e in recorded.exceptions]})
            # Late readings settle their months' missing-reading exceptions.
            plans.missing_settle(meter_ids=[item.meter.pk for _i, item in good], actor=request.user, now=now)
            batch.applied, batch.exceptions = counts["created"], counts["exceptions"]
            batch.save(update_fields=["applied", "exceptions"])
        return Response(s.BatchOutput({"batch": batch.pk, "items": len(good), **counts, "flagged": flagged}).data)


# ---------------------------------------------------------------- exceptions


def _exceptions(qs: Any) -> Any:
    return qs.select_related("meter", "reading", "unit", "resolved_by")


class ExceptionListView(GenericAPIView):
    parser_classes = [JSONParser]
    pagination_class = KeysetPagination
    filter_backends: list[Any] = []
    serializer_class = s.ExceptionOutput

    @extend_schema(
        summary="Open reading exceptions of your area, oldest first (the analyst's queue)",
        description="Narrow by rule. Needs `reading.review`.",
        parameters=[s.ExceptionListQuery],
        responses={200: s.ExceptionOutput(many=True), **error_responses(400, 403)},
    )
    def get(self, request: Request) -> Response:
        require(request.user, Capability.READING_REVIEW)
        query = validated(s.ExceptionListQuery, request.query_params.dict())
        page = self.paginate_queryset(_exceptions(selectors.exception_queue(request.user, rule=query.get("rule", ""))))
        return self.get_paginated_response(s.ExceptionOutput(page, many=True).data)


RESOLVE_EXAMPLES = [
    OpenApiExample("Accept as read", request_only=True, value={"resolution": "accepted"}),
    OpenApiExample("Correct with the reason", request_only=True,
                   value={"resolution": "corrected", "value": "1150", "note": "抄表员看错一位"}),
    OpenApiExample("Send back for a re-read", request_only=True,
                   value={"resolution": "reread", "note": "示数异常，请复抄"}),
]


class ExceptionResolveView(GenericAPIView):
    parser_classes = [JSONParser]
    serializer_class = s.ExceptionOutput

    @extend_schema(
        summary="Decide an exception: accept, correct, estimate or send back for a re-read",
        description="`corrected` and `estimated` need the new `value`; every decision but `accepted` needs the "
                    "`note` (the reason). The original value stays in the reading's corrections. An exception "
                    "already decided answers 409. A missing reading (rule `missing`, no reading) has nothing to "
                    "accept or correct (409): `estimated` records an estimated reading for the month, `reread` "
                    "sends the reader back. Needs `reading.review`.",
        request=s.ResolveInput, examples=RESOLVE_EXAMPLES,
        responses={200: s.ExceptionOutput, **error_responses(400, 403, 404, 409)},
    )
    def post(self, request: Request, pk: str) -> Response:
        # Decided ones too, so that a second decision is told so (409) rather than 404.
        scoped = for_user(ReadingException.objects.all(), request.user, capability=Capability.CUSTOMER_VIEW)
        exc = scoped.filter(pk=parse_id(pk) or 0).first()
        if exc is None:
            raise Http404
        require(request.user, Capability.READING_REVIEW)
        data = validated(s.ResolveInput, request.data)
        plans.exception_decide(actor=request.user, exception=exc, resolution=data["resolution"],
                               value=data.get("value"), note=data.get("note", ""))
        return Response(s.ExceptionOutput(_exceptions(ReadingException.objects).get(pk=exc.pk)).data)


# ---------------------------------------------------------------- meters


class MeterDetailView(GenericAPIView):
    serializer_class = s.MeterDetailOutput

    @extend_schema(
        summary="One meter with its installation history, latest 12 readings and open exceptions",
        responses={200: s.MeterDetailOutput, **error_responses(404)},
    )
    def get(self, request: Request, pk: str) -> Response:
        meter = (selectors.meter_qs(request.user).select_related("service_point", "unit")
                 .filter(pk=parse_id(pk) or 0).first())
        if meter is None:
            raise Http404
        events = (MeterEvent.objects.filter(meter=meter).select_related("service_point", "actor")
                  .order_by("-installed_on", "-id"))
        readings = _readings(selectors.reading_qs(request.user).filter(meter=meter)).order_by(
            "-period", "register")[:METER_READINGS]
        context = {
            "events": events, "readings": readings,
            "exceptions": _exceptions(selectors.exception_queue(request.user).filter(meter=meter)),
            "accounts": (Account.objects.filter(service_point_id=meter.service_point_id).order_by("number")
                         .values_list("number", flat=True)) if meter.service_point_id else [],
        }
        return Response(s.MeterDetailOutput(meter, context=context).data)
