"""Work-order API: thin views. Querysets come from the scoped selectors, each write from one service.

Scope is the pages' scope: every order is read through ``selectors.workorder_qs``, so an order
outside the user's area is a 404. Actions first ask ``rules.refusal`` (403 for the role, 409 for the
state), then check the body (400), then call the service, which checks everything again under the
row lock and compares the version the user read (409 when stale).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Prefetch, QuerySet, prefetch_related_objects
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action as route
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kefu.core.api import ApiViewMixin, KeysetPagination, error_responses
from kefu.core.errors import IllegalTransition, InvalidInput, PermissionDeniedError
from kefu.core.models import AuditLog
from kefu.core.services import audit_record
from kefu.core.validators import try_parse_phone
from kefu.customers.selectors import account_qs
from kefu.org.choices import Capability
from kefu.org.scope import has_capability, require
from kefu.workorders import rules, services
from kefu.workorders.api import serializers as s
from kefu.workorders.choices import ACTION_CAPABILITY, TRANSITIONS, Action
from kefu.workorders.filters import WorkOrderFilter
from kefu.workorders.models import HandoverItem, OrderType, ShiftHandover, SlaPolicy, WorkOrder
from kefu.workorders.selectors import (
    Queue,
    handover_qs,
    intake_duplicates,
    ordertype_list,
    queue_qs,
    slapolicy_list,
    workorder_qs,
)

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER, str, location=OpenApiParameter.HEADER, required=False,
    description="A key unique per request (at most 64 characters). A retry with the same key returns the first "
                "answer instead of doing the work twice. The body field intake_key is accepted too.",
)
REPLAYED_PARAMETER = OpenApiParameter(
    REPLAYED_HEADER, str, location=OpenApiParameter.HEADER, response=[200], enum=["true"],
    description="Present when the Idempotency-Key was seen before and the first result is returned.",
)


class NewestFirst(KeysetPagination):
    ordering = "-id"


def _input(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    """Validate the body with an input serializer; a bad shape is a 400 naming the field."""
    serializer = serializer_class(data=request.data, context={"request": request})
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _query(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.query_params, context={"request": request})
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _personal(request: Request) -> bool:
    return has_capability(request.user, Capability.PERSONAL_DATA)


def _context(request: Request) -> dict[str, Any]:
    return {"request": request, "personal": _personal(request)}


def _idempotency_key(request: Request, body_key: str) -> str | None:
    header = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
    body = (body_key or "").strip()
    if header and body and header != body:
        raise InvalidInput({"intake_key": [_("intake_key differs from the Idempotency-Key header; send one key.")]})
    key = header or body
    if len(key) > 64:
        raise InvalidInput({IDEMPOTENCY_HEADER: [_("The idempotency key is too long (at most 64 characters).")]})
    return key or None


def workorder_list_qs(user: Any, queue: str) -> QuerySet[WorkOrder]:
    """A queue with what its rows show: type, area unit and handling unit in the same query."""
    return queue_qs(user, queue).select_related("order_type", "unit", "handling_unit")


def workorder_action_qs(user: Any) -> QuerySet[WorkOrder]:
    """What the action checks read: the type (field work, callback) and the handling unit."""
    return workorder_qs(user).select_related("order_type", "unit", "handling_unit")


def workorder_detail_qs(user: Any) -> QuerySet[WorkOrder]:
    """One order with its people, units, clocks and the (visible) orders merged into it: three queries."""
    merged = workorder_qs(user).only("id", "number", "merged_into").order_by("id")
    return workorder_qs(user).select_related(
        "order_type", "order_type__parent", "unit", "handling_unit", "accepted_unit", "accepted_by", "assignee",
        "merged_into", "supervised_by",
    ).prefetch_related("clocks", Prefetch("merged", queryset=merged, to_attr="visible_merged"))


def ordertype_tree(*, utility: str | None = None) -> list[OrderType]:
    """The active catalogue as a tree; with ``utility``, only types that business may use.

    Each node gets ``tree_children`` and ``has_active_children`` (a type with active sub-types
    cannot be chosen for a new order).
    """
    by_parent: dict[int | None, list[OrderType]] = {}
    for kind in ordertype_list():
        if kind.is_active:
            by_parent.setdefault(kind.parent_id, []).append(kind)

    def grow(node: OrderType, depth: int) -> OrderType:
        children = by_parent.get(node.pk, [])
        node.has_active_children = bool(children)  # type: ignore[attr-defined]
        node.tree_children = [  # type: ignore[attr-defined]
            grow(c, depth + 1) for c in children if depth < 10 and (utility is None or c.allows_utility(utility))
        ]
        return node

    return [grow(t, 0) for t in by_parent.get(None, []) if utility is None or t.allows_utility(utility)]


# ---------------------------------------------------------------- actions

ActionService = Callable[..., WorkOrder]

ACTION_SUMMARY: dict[str, str] = {
    Action.DISPATCH: "Dispatch the order to a handling unit",
    Action.ACKNOWLEDGE: "Acknowledge a dispatched order (handling unit)",
    Action.RETURN: "Return a wrongly dispatched order to the dispatcher (handling unit)",
    Action.TRANSFER: "Transfer the order to another handling unit",
    Action.CONTACT: "Record the first contact with the customer (handling unit)",
    Action.ARRIVE: "Record the arrival on site (handling unit)",
    Action.HANDLE: "Record the result (handling unit; or the agent for an order answered on the call)",
    Action.SUSPEND: "Suspend the order: its clocks pause (handling unit)",
    Action.RESUME: "Resume a suspended order (handling unit)",
    Action.REPLY: "Record the reply to the customer",
    Action.CALLBACK: "Record the callback and the customer's satisfaction",
    Action.REOPEN: "Reopen an order whose callback was unsatisfied",
    Action.ARCHIVE: "Archive a finished order",
    Action.CANCEL: "Cancel the order",
    Action.URGE: "Urge the order",
    Action.SUPERVISE: "Supervise the order with a deadline",
    Action.MERGE: "Merge the order into another open order",
    Action.NOTE: "Add a note to the order's timeline",
}


def _action_route(action: Action, input_class: type[s.ActionInput], service: ActionService) -> Any:
    """A POST /workorders/{id}/actions/<action>/ endpoint named api-workorder-<action>."""

    def endpoint(self: WorkOrderViewSet, request: Request, pk: str) -> Response:
        return self.act(request, action, input_class, service)

    endpoint.__name__ = f"act_{action.value}"
    sources = ", ".join(sorted(TRANSITIONS[action][0]))
    documented = extend_schema(
        summary=ACTION_SUMMARY[action],
        description=(f"Needs the `{ACTION_CAPABILITY[action]}` capability. Possible while the order is: {sources}. "
                     "Send `version` to make sure nobody changed the order since you read it."),
        request=input_class,
        responses={200: s.WorkOrderDetailOutput, **error_responses(400, 403, 404, 409)},
    )(endpoint)
    return route(detail=True, methods=["post"], url_path=f"actions/{action.value}", url_name=action.value,
                 filter_backends=[])(documented)


@extend_schema_view(
    list=extend_schema(
        summary="A work queue: orders you may see, newest first",
        parameters=[OpenApiParameter("queue", str, enum=list(Queue.CHOICES), default=Queue.ALL,
                                     description="mine: open orders you accepted or handle; unit: open orders at "
                                                 "your unit; dispatch: waiting for dispatch; warnings: warned or "
                                                 "overdue; supervised; all.")],
        responses={200: s.WorkOrderOutput, **error_responses(400)},
    ),
    retrieve=extend_schema(summary="One order with its clocks, outcome and the actions you may take",
                           responses={200: s.WorkOrderDetailOutput, **error_responses(404)}),
    create=extend_schema(
        summary="Accept a request as a new work order (intake)",
        request=s.IntakeInput,
        parameters=[IDEMPOTENCY_PARAMETER, REPLAYED_PARAMETER],
        responses={
            201: s.WorkOrderOutput,
            200: OpenApiResponse(s.WorkOrderOutput, description="The key was seen before: the first order."),
            **error_responses(400, 403),
        },
    ),
)
class WorkOrderViewSet(ApiViewMixin, viewsets.GenericViewSet):
    serializer_class = s.WorkOrderOutput
    filterset_class = WorkOrderFilter
    pagination_class = NewestFirst

    def get_queryset(self) -> QuerySet[WorkOrder]:
        user = self.request.user
        if self.action == "list":
            queue = self.request.query_params.get("queue", Queue.ALL)
            if queue not in Queue.CHOICES:
                raise InvalidInput({"queue": [_("Unknown queue: choose one of %(queues)s.") % {
                    "queues": ", ".join(Queue.CHOICES)}]})
            return workorder_list_qs(user, queue)
        if self.action == "retrieve":
            return workorder_detail_qs(user)
        return workorder_action_qs(user)

    def filter_queryset(self, queryset: QuerySet[WorkOrder]) -> QuerySet[WorkOrder]:
        # The queue filters narrow lists only; one order is found by its id alone.
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def _detail(self, order: WorkOrder) -> Response:
        fresh = workorder_detail_qs(self.request.user).filter(pk=order.pk).first()
        return Response(s.WorkOrderDetailOutput(fresh or order, context=_context(self.request)).data)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(s.workorder_rows(list(page or []), personal=_personal(request)))

    def retrieve(self, request: Request, pk: str) -> Response:
        order = self.get_object()
        context = _context(request)
        if context["personal"] and order.caller_phone:
            # Rule 8: every view of full personal data leaves an audit row.
            audit_record(actor=request.user, action=AuditLog.Action.VIEW_PERSONAL, instance=order,
                         ip=request.META.get("REMOTE_ADDR") or None, detail={"via": "api"})
        return Response(s.WorkOrderDetailOutput(order, context=context).data)

    def create(self, request: Request) -> Response:
        data = _input(s.IntakeInput, request)
        key = _idempotency_key(request, data.pop("intake_key", ""))
        result = services.workorder_intake(actor=request.user, intake_key=key, **data)
        # On a replay the service loaded the first order as it is now, with what the row shows.
        order = result.order
        code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        response = Response(s.workorder_rows([order], personal=_personal(request))[0], status=code)
        if not result.created:
            response[REPLAYED_HEADER] = "true"
        return response

    # ------------------------------------------------------------ repeat calls

    def _repeat(self, request: Request, order: WorkOrder, data: dict[str, Any]) -> Response:
        key = _idempotency_key(request, data.pop("intake_key", ""))
        seen = order.version
        linked = services.workorder_link_repeat(actor=request.user, order=order, intake_key=key, **data)
        response = Response(s.workorder_rows([linked], personal=_personal(request))[0])
        if key is not None and linked.version == seen:
            # Nothing was written: the key was recorded on this order before.
            response[REPLAYED_HEADER] = "true"
        return response

    @extend_schema(
        summary="Record a repeat call about an open order (by id or order number)",
        request=s.RepeatInput, parameters=[IDEMPOTENCY_PARAMETER, REPLAYED_PARAMETER],
        responses={200: s.WorkOrderOutput, **error_responses(400, 403, 409)},
    )
    @route(detail=False, methods=["post"], url_path="repeat", filter_backends=[])
    def repeat(self, request: Request) -> Response:
        data = _input(s.RepeatInput, request)
        order = data.pop("order")
        return self._repeat(request, order, data)

    @extend_schema(
        summary="Record a repeat call about this open order",
        request=s.RepeatCallInput, parameters=[IDEMPOTENCY_PARAMETER, REPLAYED_PARAMETER],
        responses={200: s.WorkOrderOutput, **error_responses(400, 403, 404, 409)},
    )
    @route(detail=True, methods=["post"], url_path="repeat-call", filter_backends=[])
    def repeat_call(self, request: Request, pk: str) -> Response:
        order = self.get_object()
        data = _input(s.RepeatCallInput, request)
        return self._repeat(request, order, data)

    # ------------------------------------------------------------ reads beside the order

    @extend_schema(
        summary="Open orders of the same account or phone a new request may duplicate",
        parameters=[s.DuplicatesQuery],
        responses={200: inline_serializer("WorkOrderDuplicates", {"results": s.WorkOrderOutput(many=True)}),
                   **error_responses(400)},
    )
    @route(detail=False, methods=["get"], url_path="duplicates", pagination_class=None, filter_backends=[])
    def duplicates(self, request: Request) -> Response:
        query = _query(s.DuplicatesQuery, request)
        customer_id = premise_id = None
        if "account" in query:
            found = account_qs(request.user).filter(pk=query["account"]).values_list("customer_id",
                                                                                      "premise_id").first()
            if found is None:
                raise InvalidInput({"account": [_("No such account in your area.")]})
            customer_id, premise_id = found
        phone = ""
        if query.get("phone"):
            parsed = try_parse_phone(query["phone"])
            if parsed is None:
                raise InvalidInput({"phone": [_("Phone number is not a valid mainland China number.")]})
            phone = parsed.e164
        if customer_id is None and not phone:
            raise InvalidInput({"account": [_("Give an account or a phone number.")]})
        order_type = None
        if "order_type" in query:
            order_type = s.type_lookup(query["order_type"])
            if order_type is None:
                raise InvalidInput({"order_type": [_("Unknown order type: %(value)s") % {
                    "value": query["order_type"]}]})
        rows = intake_duplicates(user=request.user, customer_id=customer_id, phone=phone, premise_id=premise_id,
                                 order_type=order_type)
        prefetch_related_objects(rows, "unit")
        return Response({"results": s.workorder_rows(rows, personal=_personal(request))})

    @extend_schema(
        summary="The order's timeline: every action, warning, urge, repeat call and note, oldest first",
        responses={200: inline_serializer("WorkOrderEvents", {"results": s.EventOutput(many=True)}),
                   **error_responses(404)},
    )
    @route(detail=True, methods=["get"], url_path="events", pagination_class=None, filter_backends=[])
    def events(self, request: Request, pk: str) -> Response:
        order = self.get_object()
        events = order.events.select_related("actor", "actor_unit").order_by("at", "id")
        return Response({"results": s.EventOutput(events, many=True, context=_context(request)).data})

    # ------------------------------------------------------------ actions

    def act(self, request: Request, action: str, input_class: type[s.ActionInput],
            service: ActionService) -> Response:
        order = self.get_object()
        refused = rules.refusal(request.user, order, action)
        if refused is not None:
            kind, message = refused
            raise PermissionDeniedError(message) if kind == "role" else IllegalTransition(message)
        data = _input(input_class, request)
        version = data.pop("version", None)
        return self._detail(service(actor=request.user, order=order, expected_version=version, **data))

    act_dispatch = _action_route(Action.DISPATCH, s.DispatchInput, services.workorder_dispatch)
    act_acknowledge = _action_route(Action.ACKNOWLEDGE, s.ActionInput, services.workorder_acknowledge)
    act_return = _action_route(Action.RETURN, s.ReasonInput, services.workorder_return)
    act_transfer = _action_route(Action.TRANSFER, s.TransferInput, services.workorder_transfer)
    act_contact = _action_route(Action.CONTACT, s.NoteInput, services.workorder_contact)
    act_arrive = _action_route(Action.ARRIVE, s.NoteInput, services.workorder_arrive)
    act_handle = _action_route(Action.HANDLE, s.HandleInput, services.workorder_handle)
    act_suspend = _action_route(Action.SUSPEND, s.ReasonInput, services.workorder_suspend)
    act_resume = _action_route(Action.RESUME, s.NoteInput, services.workorder_resume)
    act_reply = _action_route(Action.REPLY, s.ReplyInput, services.workorder_reply)
    act_callback = _action_route(Action.CALLBACK, s.CallbackInput, services.workorder_callback)
    act_reopen = _action_route(Action.REOPEN, s.ReasonInput, services.workorder_reopen)
    act_archive = _action_route(Action.ARCHIVE, s.ActionInput, services.workorder_archive)
    act_cancel = _action_route(Action.CANCEL, s.CancelInput, services.workorder_cancel)
    act_urge = _action_route(Action.URGE, s.ReasonInput, services.workorder_urge)
    act_supervise = _action_route(Action.SUPERVISE, s.SuperviseInput, services.workorder_supervise)
    act_merge = _action_route(Action.MERGE, s.MergeInput, services.workorder_merge)
    act_note = _action_route(Action.NOTE, s.TextInput, services.workorder_note)


# ---------------------------------------------------------------- catalogue, policies, handovers


class OrderTypeTreeView(APIView):
    """The active type catalogue as a tree (read by intake forms and integrations)."""

    @extend_schema(
        summary="The active order-type catalogue as a tree",
        parameters=[s.TypeQuery],
        responses={200: inline_serializer("OrderTypeTree", {"results": s.OrderTypeOutput(many=True)}),
                   **error_responses(400, 403)},
    )
    def get(self, request: Request) -> Response:
        require(request.user, Capability.ORDER_VIEW)
        query = _query(s.TypeQuery, request)
        roots = ordertype_tree(utility=query.get("utility"))
        return Response({"results": s.OrderTypeOutput(roots, many=True).data})


@extend_schema_view(
    list=extend_schema(summary="Time-limit policies (read only)", parameters=[s.PolicyQuery],
                       responses={200: s.SlaPolicyOutput, **error_responses(400, 403)}),
)
class SlaPolicyViewSet(ApiViewMixin, viewsets.GenericViewSet):
    serializer_class = s.SlaPolicyOutput
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[SlaPolicy]:
        return slapolicy_list()

    def list(self, request: Request) -> Response:
        require(request.user, Capability.ORDER_VIEW)
        query = _query(s.PolicyQuery, request)
        order_type = None
        if "order_type" in query:
            order_type = s.type_lookup(query["order_type"])
            if order_type is None:
                raise InvalidInput({"order_type": [_("Unknown order type: %(value)s") % {
                    "value": query["order_type"]}]})
        page = self.paginate_queryset(slapolicy_list(order_type=order_type))
        return self.get_paginated_response(s.SlaPolicyOutput(page, many=True).data)


@extend_schema_view(
    list=extend_schema(summary="Shift handovers of your units, newest first",
                       responses={200: s.HandoverOutput, **error_responses(400)}),
)
class HandoverViewSet(ApiViewMixin, viewsets.GenericViewSet):
    serializer_class = s.HandoverOutput
    filter_backends: list[Any] = []
    pagination_class = NewestFirst

    def get_queryset(self) -> QuerySet[ShiftHandover]:
        items = HandoverItem.objects.select_related("order").only(
            "id", "handover_id", "status_at_handover", "note", "order__id", "order__number")
        return handover_qs(self.request.user).select_related("unit", "created_by", "confirmed_by").prefetch_related(
            Prefetch("items", queryset=items))

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(s.HandoverOutput(page, many=True).data)

