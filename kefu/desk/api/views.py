"""Desk API: the telephone system's events and IVR queries, the call log and the callback queue.

Thin views: the telephone system's account (role telephony, Capability.CALL_EVENTS) posts events
that ``services.cti_receive`` turns into calls; agents and shift leaders (Capability.DESK) read the
log through ``selectors.call_log`` and work the queue through the callback services.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.decorators import action as route
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kefu.core.api import ApiViewMixin, KeysetPagination, error_responses
from kefu.core.errors import InvalidInput
from kefu.core.models import AuditLog
from kefu.core.services import audit_record
from kefu.desk import services
from kefu.desk.api import serializers as s
from kefu.desk.models import Call
from kefu.desk.selectors import call_get, call_log, callback_queue, ivr_lookup
from kefu.org.choices import Capability
from kefu.org.scope import has_capability, require

CALL_EXAMPLE: dict[str, Any] = {
    "id": 812, "call_id": "pbx-20260312-000417", "direction": "in", "direction_label": "Inbound",
    "state": "completed", "state_label": "Completed", "caller": "+86 138 0013 8000", "caller_masked": False,
    "called": "95598", "extension": "8001", "agent": {"id": 12, "name": "王芳"},
    "unit": {"id": 3, "name": "县A1供电公司", "code": "A1"}, "ivr_result": "1-2", "candidates": [455],
    "customer": {"id": 455, "name": "王小明"}, "account": 901, "started_at": "2026-03-12T09:15:02+08:00",
    "rang_at": "2026-03-12T09:15:02+08:00", "answered_at": "2026-03-12T09:15:09+08:00",
    "ended_at": "2026-03-12T09:18:40+08:00", "duration_seconds": 211, "recording_ref": "rec/2026/03/12/000417.wav",
    "result": "", "result_label": "", "result_note": "", "callback_status": "", "callback_status_label": "",
    "callback_by": None, "callback_attempts": 0, "callback_at": None, "version": 4,
}
MISSED_EXAMPLE = {**CALL_EXAMPLE, "state": "missed", "state_label": "Missed", "answered_at": None,
                  "duration_seconds": 0, "recording_ref": "", "callback_status": "pending",
                  "callback_status_label": "Waiting for a callback"}


class NewestFirst(KeysetPagination):
    ordering = "-id"


def _input(serializer_class: type[serializers.Serializer], data: Any, request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=data, context={"request": request})
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _personal(request: Request) -> bool:
    return has_capability(request.user, Capability.PERSONAL_DATA)


def _context(request: Request) -> dict[str, Any]:
    return {"request": request, "personal": _personal(request)}


def _json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object. A telephone system that sends junk learns what is wrong with it."""
    try:
        data = request.data
    except exceptions.ParseError as exc:
        raise InvalidInput({"body": [_("The body is not valid JSON: %(error)s") % {"error": exc.detail}]}) from exc
    if not isinstance(data, dict):
        raise InvalidInput({"body": [_("The body must be a JSON object with the fields of one event.")]})
    return dict(data)


# ---------------------------------------------------------------- telephone system


class CtiEventView(APIView):
    parser_classes = (JSONParser,)

    @extend_schema(
        summary="Receive one telephone event (ringing, answered, ended, IVR result)",
        description=(
            "For the telephone system's integration account (`call.events` capability). Each event of a call "
            "is stored once: a retry answers 200 with `duplicate: true` and changes nothing. Events may come in "
            "any order; the call's state is worked out from all of them. An unanswered call with a number to "
            "ring back joins the callback queue."
        ),
        request=s.CtiEventInput,
        responses={
            201: OpenApiResponse(s.CtiOutput, description="A new event: the call as it stands now."),
            200: OpenApiResponse(s.CtiOutput, description="This event of this call was received before."),
            **error_responses(400, 403),
        },
        examples=[
            OpenApiExample("Ringing at an extension", request_only=True, value={
                "event": "ringing", "call_id": "pbx-20260312-000417", "at": "2026-03-12T09:15:02+08:00",
                "caller": "+86 138 0013 8000", "called": "95598", "extension": "8001"}),
            OpenApiExample("Ended", request_only=True, value={
                "event": "ended", "call_id": "pbx-20260312-000417", "at": "2026-03-12T09:18:40+08:00",
                "duration": 211, "recording": "rec/2026/03/12/000417.wav", "reason": "normal"}),
            OpenApiExample("IVR result with an account number", request_only=True, value={
                "event": "ivr", "call_id": "pbx-20260312-000418", "caller": "0571-87654321",
                "ivr_choice": "1-2", "account_number": "3300012345"}),
            OpenApiExample("Stored", response_only=True, status_codes=["201"],
                           value={"call": CALL_EXAMPLE, "duplicate": False}),
            OpenApiExample("Received before", response_only=True, status_codes=["200"],
                           value={"call": CALL_EXAMPLE, "duplicate": True}),
            OpenApiExample("Unknown extension", response_only=True, status_codes=["400"], value={
                "code": "invalid", "detail": "Extension 8099 is not registered at the desk. Add it under "
                "extensions first.", "errors": {"extension": ["Extension 8099 is not registered at the desk. "
                                                              "Add it under extensions first."]}}),
        ],
    )
    def post(self, request: Request) -> Response:
        require(request.user, Capability.CALL_EVENTS)
        body = _json_object(request)
        data = _input(s.CtiEventInput, body, request)
        event = services.CtiInput(
            event=data["event"], call_id=data["call_id"], at=data.get("at"),
            **{k: data.get(k) or "" for k in ("caller", "called", "extension", "recording", "reason", "ivr_choice",
                                              "account_number")},
            duration=data.get("duration"), raw=body,
        )
        outcome = services.cti_receive(actor=request.user, event=event)
        body_out = {"call": s.CallOutput(outcome.call, context=_context(request)).data,
                    "duplicate": outcome.duplicate}
        return Response(body_out, status=status.HTTP_200_OK if outcome.duplicate else status.HTTP_201_CREATED)


class IvrLookupView(APIView):
    @extend_schema(
        summary="What the IVR can tell a caller: open orders, when they are expected done, known outages",
        description="For the telephone system's integration account (`call.events` capability). Give the calling "
                    "number, an account number keyed in, or both. `outages` are the live outages (in force, or "
                    "starting within 24 hours) over the account keyed in, else over the accounts of the customers "
                    "with the calling number. `say` is what to read out, in the language of the Accept-Language "
                    "header (zh-hans by default): a known outage and its expected restoration first, then the open "
                    "requests.",
        parameters=[s.IvrQuery],
        responses={200: s.IvrOutput, **error_responses(400, 403)},
        examples=[
            OpenApiExample("A caller inside a known outage, with a repair order", response_only=True, value={
                "matched": True, "has_open_order": True,
                "open_orders": [{"number": "GD202612010007", "type": "故障报修", "status": "dispatched",
                                 "status_label": "Dispatched", "accepted_at": "2026-12-01T09:12:40+08:00",
                                 "expected_by": "2026-12-01T11:12:40+08:00"}],
                "outages": [{"number": "TD261123000001", "outage_class": "planned",
                             "outage_class_label": "Planned outage", "status": "extended",
                             "status_label": "Extended", "area": "文三路1号、2号台区",
                             "start": "2026-12-01T08:00:00+08:00",
                             "expected_restoration": "2026-12-01T18:00:00+08:00", "in_force": True}],
                "say": "There is a known outage in your area; supply is expected to be restored at Dec 1 18:00. Your "
                       "request GD202612010007 is Dispatched and is expected to be done by 12/01/2026 11:12 a.m."}),
            OpenApiExample("An outage announced for tomorrow", response_only=True, value={
                "matched": True, "has_open_order": False, "open_orders": [],
                "outages": [{"number": "TD261123000001", "outage_class": "planned",
                             "outage_class_label": "Planned outage", "status": "published",
                             "status_label": "Published", "area": "文三路1号、2号台区",
                             "start": "2026-12-01T08:00:00+08:00",
                             "expected_restoration": "2026-12-01T18:00:00+08:00", "in_force": False}],
                "say": "An outage is announced in your area from Dec 1 08:00; supply is expected to be restored at "
                       "Dec 1 18:00."}),
            OpenApiExample("A caller with an open repair order", response_only=True, value={
                "matched": True, "has_open_order": True,
                "open_orders": [{"number": "GD202603120001", "type": "故障报修", "status": "dispatched",
                                 "status_label": "Dispatched", "accepted_at": "2026-03-12T08:02:11+08:00",
                                 "expected_by": "2026-03-12T10:02:11+08:00"}],
                "outages": [],
                "say": "Your request GD202603120001 is Dispatched and is expected to be done by 3/12/2026 10:02."}),
            OpenApiExample("An unknown caller", response_only=True, value={
                "matched": False, "has_open_order": False, "open_orders": [], "outages": [],
                "say": "We could not find your records; please hold for an agent."}),
        ],
    )
    def get(self, request: Request) -> Response:
        require(request.user, Capability.CALL_EVENTS)
        query = _input(s.IvrQuery, request.query_params, request)
        answer = ivr_lookup(request.user, caller=(query.get("caller") or "").strip(),
                            account_number=(query.get("account") or "").strip())
        return Response(s.IvrOutput(answer).data)


# ---------------------------------------------------------------- desk: call log


@extend_schema_view(
    list=extend_schema(
        summary="The call log of your units, newest first",
        parameters=[s.CallLogQuery],
        responses={200: s.CallOutput, **error_responses(400, 403)},
        examples=[OpenApiExample("A page", response_only=True, value={
            "next": "https://kefu.example/api/v1/desk/calls/?cursor=cD0xMjM%3D", "previous": None,
            "results": [CALL_EXAMPLE]})],
    ),
    retrieve=extend_schema(
        summary="One call with its linked orders and what agents did with it",
        responses={200: s.CallDetailOutput, **error_responses(403, 404)},
        examples=[OpenApiExample("A call that became an order", response_only=True, value={
            **CALL_EXAMPLE, "result": "order_created", "result_label": "Work order created",
            "orders": [{"order": {"id": 3301, "number": "GD202603120001"}, "status": "accepted",
                        "status_label": "Accepted", "relation": "created", "relation_label": "Created during the call",
                        "actor": {"id": 12, "name": "王芳"}, "at": "2026-03-12T09:17:55+08:00"}],
            "activities": [{"kind": "result", "kind_label": "Result recorded", "actor": {"id": 12, "name": "王芳"},
                            "text": "", "data": {"result": "order_created"}, "at": "2026-03-12T09:18:50+08:00"}]})],
    ),
)
class CallViewSet(ApiViewMixin, viewsets.GenericViewSet):
    lookup_value_regex = r"[0-9]{1,18}"
    queryset = Call.objects.none()  # names the model for the schema; reads go through call_log
    serializer_class = s.CallOutput
    pagination_class = NewestFirst
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[Call]:
        user = self.request.user
        require(user, Capability.DESK)
        query = _input(s.CallLogQuery, self.request.query_params, self.request)
        return call_log(user, state=query.get("state", ""), phone=query.get("phone", ""),
                        agent_id=query.get("agent"), since=query.get("since"), until=query.get("until")
                        ).select_related("unit", "account", "callback_by")

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(s.CallOutput(page, many=True, context=_context(request)).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        require(request.user, Capability.DESK)
        call = call_get(request.user, int(pk))
        context = _context(request)
        if context["personal"] and call.caller:
            # Rule 8: every view of full personal data leaves an audit row.
            audit_record(actor=request.user, action=AuditLog.Action.VIEW_PERSONAL, instance=call,
                         ip=request.META.get("REMOTE_ADDR") or None, detail={"via": "api"})
        return Response(s.CallDetailOutput(call, context=context).data)


# ---------------------------------------------------------------- desk: callbacks

CALLBACK_ERRORS = error_responses(400, 403, 404, 409)


@extend_schema_view(
    list=extend_schema(
        summary="The callback queue: unanswered calls to ring back, one line per number, longest waiting first",
        responses={200: s.CallbackQueueOutput, **error_responses(403)},
        examples=[OpenApiExample("Two missed calls from one number", response_only=True, value={
            "results": [{"call": MISSED_EXAMPLE, "waiting": 2, "first_at": "2026-03-12T09:02:40+08:00"}]})],
    ),
)
class CallbackViewSet(ApiViewMixin, viewsets.GenericViewSet):
    lookup_value_regex = r"[0-9]{1,18}"
    queryset = Call.objects.none()  # names the model for the schema; the services find the call in scope
    serializer_class = s.CallOutput
    pagination_class = None
    filter_backends: list[Any] = []

    def list(self, request: Request) -> Response:
        require(request.user, Capability.DESK)
        items = callback_queue(request.user)
        return Response({"results": s.callback_rows(items, _context(request))})

    def _answer(self, request: Request, call: Call) -> Response:
        return Response(s.CallOutput(call_get(request.user, call.pk), context=_context(request)).data)

    @extend_schema(
        summary="Take a call to ring back, so no colleague calls the same customer at once",
        request=s.EmptyInput,
        responses={200: s.CallOutput, **CALLBACK_ERRORS},
        examples=[OpenApiExample("Taken", response_only=True, value={
            **MISSED_EXAMPLE, "callback_status": "claimed", "callback_status_label": "Being called back",
            "callback_by": {"id": 12, "name": "王芳"}})],
    )
    @route(detail=True, methods=["post"], url_path="claim")
    def claim(self, request: Request, pk: str) -> Response:
        _input(s.EmptyInput, request.data, request)
        return self._answer(request, services.callback_claim(actor=request.user, call_pk=int(pk)))

    @extend_schema(
        summary="Record a callback attempt",
        description="Reaching the caller settles every waiting call from the same number; after three failed "
                    "attempts, or a wrong number, the call leaves the queue as unreachable.",
        request=s.CallbackRecordInput,
        responses={200: s.CallOutput, **CALLBACK_ERRORS},
        examples=[
            OpenApiExample("Reached", request_only=True, value={"outcome": "reached", "note": "已回电，客户已来电"}),
            OpenApiExample("Done", response_only=True, value={
                **MISSED_EXAMPLE, "callback_status": "done", "callback_status_label": "Called back",
                "callback_attempts": 1, "callback_at": "2026-03-12T09:40:00+08:00",
                "callback_by": {"id": 12, "name": "王芳"}}),
        ],
    )
    @route(detail=True, methods=["post"], url_path="record")
    def record(self, request: Request, pk: str) -> Response:
        require(request.user, Capability.DESK)
        call_get(request.user, int(pk))  # out of scope is 404 before the body is judged
        data = _input(s.CallbackRecordInput, request.data, request)
        call = services.callback_record(actor=request.user, call_pk=int(pk), outcome=data["outcome"],
                                        note=data.get("note", ""))
        return self._answer(request, call)

    @extend_schema(
        summary="Give a taken callback back to the queue",
        request=s.EmptyInput,
        responses={200: s.CallOutput, **CALLBACK_ERRORS},
        examples=[OpenApiExample("Back in the queue", response_only=True, value=MISSED_EXAMPLE)],
    )
    @route(detail=True, methods=["post"], url_path="release")
    def release(self, request: Request, pk: str) -> Response:
        _input(s.EmptyInput, request.data, request)
        return self._answer(request, services.callback_release(actor=request.user, call_pk=int(pk)))
