"""Outage API: thin views over the outage selectors and services.

Every outage is read through ``selectors.outage_qs`` (out of scope is a 404). A step first finds the
outage, then checks the role (403), then the body (400), then calls the service, which checks the
status (409), the version the user read (409) and the notice rules (400 ``notice_rule``) under the
row lock. The public list needs no sign-in and shows no people, accounts or units.

A create may carry an ``Idempotency-Key``. Outages have no key column (the work orders' one is their
own), so the key is kept in the data of the outage's "create" event and looked up there; the
person's row is locked meanwhile, so a retry racing the first request waits and then replays it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, serializers, status, viewsets
from rest_framework.decorators import action as route
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kefu.core.api import ApiViewMixin, KeysetPagination, error_responses, parse_id
from kefu.core.errors import InvalidInput
from kefu.org.choices import Capability
from kefu.org.scope import require, visible_units

from .. import services
from ..grouping import proposal_confirm, proposal_dismiss, proposal_qs
from ..models import FaultCall, FaultProposal, Outage
from ..reliability import reliability
from ..selectors import (
    OutageFilters,
    affected_accounts,
    linked_calls,
    open_proposals,
    outage_events,
    outage_get,
    outage_list,
    outage_qs,
    public_live,
)
from . import serializers as s

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY = 64

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER, str, location=OpenApiParameter.HEADER, required=False,
    description="A key unique per outage you mean to create (at most 64 characters). A retry with the same key "
                "returns the first outage (200) instead of creating a second one.",
)
REPLAYED_PARAMETER = OpenApiParameter(
    REPLAYED_HEADER, str, location=OpenApiParameter.HEADER, response=[200], enum=["true"],
    description="Present when the Idempotency-Key was seen before and the first outage is returned.",
)
IF_MATCH_PARAMETER = OpenApiParameter(
    "If-Match", str, location=OpenApiParameter.HEADER, required=False,
    description='The version you read, e.g. "3" (the ETag of the detail); instead of the body field version.',
)
ETAG_PARAMETER = OpenApiParameter(
    "ETag", str, location=OpenApiParameter.HEADER, response=[200, 201],
    description="The outage's version, for If-Match.",
)


class NewestFirst(KeysetPagination):
    ordering = "-id"


def _validated(serializer_class: type[serializers.Serializer], data: Any, *, partial: bool = False
               ) -> dict[str, Any]:
    serializer = serializer_class(data=data, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _query(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    # A plain dict, not the QueryDict: an absent boolean stays absent instead of reading as false.
    return _validated(serializer_class, request.query_params.dict())


def _version(request: Request, data: dict[str, Any]) -> int | None:
    """The version the user read: the body's ``version`` or the If-Match header (one of them)."""
    body = data.pop("version", None)
    header = request.headers.get("If-Match", "").strip()
    if not header:
        return body
    number = parse_id(header.removeprefix("W/").strip().strip('"'))
    if number is None or number > s.MAX_VERSION:
        raise InvalidInput({"If-Match": [_('If-Match must carry the version you read, e.g. "3".')]})
    if body is not None and body != number:
        raise InvalidInput({"version": [_("The version differs from If-Match; send one of them.")]})
    return number


def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
    if len(key) > MAX_KEY:
        raise InvalidInput({IDEMPOTENCY_HEADER: [_("The idempotency key is too long (at most 64 characters).")]})
    return key or None


def _create_once(*, actor: Any, data: dict[str, Any], key: str | None) -> tuple[Outage, bool]:
    """``services.outage_create``, or the outage an earlier request with the same key created."""
    if key is None:
        return services.outage_create(actor=actor, data=data), True
    return services.outage_create_once(actor=actor, data=data, intake_key=key)


def _detail(request: Request, outage: Outage, *, code: int = status.HTTP_200_OK) -> Response:
    fresh = outage_get(request.user, outage.pk)
    context = {
        "nodes": fresh.scope_nodes.select_related("node").order_by("node__path"),
        "listed": fresh.listed_accounts.select_related("account").order_by("account__number"),
        "calls": linked_calls(fresh),
        "events": outage_events(fresh),
    }
    response = Response(s.OutageDetailOutput(fresh, context=context).data, status=code)
    response["ETag"] = f'"{fresh.version}"'
    return response


def _current(outage: Outage) -> dict[str, Any]:
    """The outage as a full create body, so that a PATCH changes only what it sends."""
    return {
        "utility": outage.utility, "outage_class": outage.outage_class, "area": outage.area, "reason": outage.reason,
        "planned_start": outage.planned_start, "planned_end": outage.planned_end,
        "nodes": list(outage.scope_nodes.values_list("node__code", flat=True)),
        "accounts": list(outage.listed_accounts.values_list("account__number", flat=True)),
        "account": outage.account.number if outage.account else "",
        "order": outage.order.number if outage.order else "",
    }


# ---------------------------------------------------------------- examples

CREATE_EXAMPLE = OpenApiExample(
    "Planned maintenance on two transformer areas", request_only=True,
    value={"utility": "power", "outage_class": "planned", "area": "文三路1号、2号台区",
           "reason": "10kV城东线检修", "planned_start": "2026-12-10T08:00:00+08:00",
           "planned_end": "2026-12-10T17:00:00+08:00", "nodes": ["TA1", "TA2"], "accounts": []},
)
PUBLISH_EXAMPLE = OpenApiExample("Publish", request_only=True, value={"version": 3})
OVERRIDE_EXAMPLE = OpenApiExample(
    "Publish late, as a supervisor", request_only=True,
    value={"version": 3, "override_reason": "抢修后需立即转检修，已电话告知重要客户"},
)
BREACH_EXAMPLE = OpenApiExample(
    "Too late for the notice rule", response_only=True, status_codes=["400"],
    value={"code": "notice_rule",
           "detail": "A Planned outage must be announced to customers at least 7 days before it starts; it starts "
                     "in 2 days. A supervisor may publish anyway with a reason.",
           "field": "planned_start", "errors": {"planned_start": ["A Planned outage must be announced ..."]},
           "extra": {"rules": [{"rule": 1, "message": "A Planned outage must be announced ...",
                                "source": "国家电网 供电服务十项承诺 (2023) 第2条; 供电监管办法"}]}},
)


# ---------------------------------------------------------------- outages

Step = Callable[..., Outage]


def _step(name: str, capability: str, input_class: type[s.OutageStepInput], service: Step, summary: str,
          description: str, examples: list[OpenApiExample] | None = None) -> Any:
    """A POST /outages/{id}/<name>/ endpoint named api-outage-<name>."""

    def endpoint(self: OutageViewSet, request: Request, pk: str) -> Response:
        return self.take_step(request, capability, input_class, service)

    endpoint.__name__ = name if name != "return" else "return_step"
    routed = route(detail=True, methods=["post"], url_path=name, url_name=name, filter_backends=[])(endpoint)
    # The schema goes on last: @action replaces the function's kwargs, where extend_schema keeps it.
    return extend_schema(
        summary=summary,
        description=f"{description} Needs the `{capability}` capability. Send `version` (or If-Match) to make "
                    "sure nobody changed the outage since you read it.",
        request=input_class, parameters=[IF_MATCH_PARAMETER], examples=examples or [],
        responses={200: s.OutageDetailOutput, **error_responses(400, 403, 404, 409)},
    )(routed)


@extend_schema_view(
    list=extend_schema(summary="Outages of your area, newest first", parameters=[s.OutageListQuery],
                       responses={200: s.OutageOutput, **error_responses(400, 403)}),
    retrieve=extend_schema(summary="One outage with its scope, counts, times, linked calls and timeline",
                           parameters=[ETAG_PARAMETER],
                           responses={200: s.OutageDetailOutput, **error_responses(403, 404)}),
    create=extend_schema(
        summary="Draft a new outage",
        description="Times are ISO 8601; without an offset they are China time. The scope is the topology nodes "
                    "and/or listed accounts; their customers are counted at once. Needs `outage.edit`.",
        request=s.OutageCreateInput, examples=[CREATE_EXAMPLE],
        parameters=[IDEMPOTENCY_PARAMETER, REPLAYED_PARAMETER],
        responses={201: s.OutageDetailOutput,
                   200: OpenApiResponse(s.OutageDetailOutput, description="The key was seen before: the first "
                                                                          "outage."),
                   **error_responses(400, 403)},
    ),
    partial_update=extend_schema(
        summary="Change a draft (send the version you read)",
        description="Fields not sent keep their values; nodes and accounts, when sent, replace the scope. "
                    "Needs `outage.edit`; only drafts change.",
        request=s.OutageUpdateInput, parameters=[IF_MATCH_PARAMETER],
        responses={200: s.OutageDetailOutput, **error_responses(400, 403, 404, 409)},
    ),
)
class OutageViewSet(ApiViewMixin, viewsets.GenericViewSet):
    serializer_class = s.OutageOutput
    pagination_class = NewestFirst
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[Outage]:
        return outage_qs(self.request.user).select_related("unit")

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        require(request.user, Capability.OUTAGE_VIEW)

    def list(self, request: Request) -> Response:
        query = _query(s.OutageListQuery, request)
        filters = OutageFilters(
            status=query.get("status", ""), outage_class=query.get("outage_class", ""),
            utility=query.get("utility", ""), live=query["live"], q=query.get("q", "").strip(),
            start_from=query.get("start_from"), start_to=query.get("start_to"),
        )
        page = self.paginate_queryset(outage_list(request.user, filters))
        return self.get_paginated_response(s.OutageOutput(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return _detail(request, self.get_object())

    def create(self, request: Request) -> Response:
        require(request.user, Capability.OUTAGE_EDIT)
        data = _validated(s.OutageCreateInput, request.data)
        outage, created = _create_once(actor=request.user, data=data, key=_idempotency_key(request))
        response = _detail(request, outage, code=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
        if not created:
            response[REPLAYED_HEADER] = "true"
        return response

    def partial_update(self, request: Request, pk: str) -> Response:
        outage = self.get_object()
        require(request.user, Capability.OUTAGE_EDIT)
        data = _validated(s.OutageUpdateInput, request.data, partial=True)
        version = _version(request, data)
        if version is None:
            raise InvalidInput({"version": [_("Send the version you read (the field version or If-Match).")]})
        outage = outage_get(request.user, outage.pk)
        changed = services.outage_update(actor=request.user, outage=outage.pk, data=_current(outage) | data,
                                         expected_version=version)
        return _detail(request, changed)

    def take_step(self, request: Request, capability: str, input_class: type[s.OutageStepInput],
                  service: Step) -> Response:
        outage = self.get_object()
        require(request.user, capability)
        data = _validated(input_class, request.data)
        version = _version(request, data)
        return _detail(request, service(actor=request.user, outage=outage.pk, expected_version=version, **data))

    review = _step("review", Capability.OUTAGE_PUBLISH, s.OutageReviewInput, services.outage_review,
                   "Review a draft: it may be published", "The customers are counted again.")
    return_step = _step("return", Capability.OUTAGE_PUBLISH, s.OutageReasonInput, services.outage_return,
                        "Return a reviewed outage to draft (reason required)", "")
    publish = _step(
        "publish", Capability.OUTAGE_PUBLISH, s.OutagePublishInput, services.outage_publish,
        "Publish a reviewed outage: customers are told by SMS, the desk, the IVR and the outage list",
        "The notice rules are checked: a breach answers 400 with code `notice_rule` and the broken rules in "
        "`extra.rules`; a supervisor (`outage.override`) may publish anyway with `override_reason`. Publishing "
        "again answers 409 and sends nothing.",
        examples=[PUBLISH_EXAMPLE, OVERRIDE_EXAMPLE, BREACH_EXAMPLE],
    )
    extend = _step("extend", Capability.OUTAGE_EDIT, s.OutageExtendInput, services.outage_extend,
                   "Extend a published outage: a later expected restoration",
                   "Customers are told the new time; reported too late it needs `override_reason`.")
    change = _step("change", Capability.OUTAGE_EDIT, s.OutageChangeInput, services.outage_change,
                   "Change the times of a published outage",
                   "An earlier start or a later restoration is checked against the change rule.")
    cancel = _step("cancel", Capability.OUTAGE_EDIT, s.OutageReasonInput, services.outage_cancel,
                   "Cancel an outage (reason required)", "Customers of a published outage are told.")
    restore = _step("restore", Capability.OUTAGE_EDIT, s.OutageRestoreInput, services.outage_restore,
                    "Record the restoration of a published outage",
                    "Customers and callers are told; the repair orders waiting on it are resolved.")

    @extend_schema(summary="Accounts the outage cuts off (no phone numbers)", parameters=[s.AffectedQuery],
                   responses={200: s.OutageAffectedOutput(many=True), **error_responses(400, 403, 404)})
    @route(detail=True, methods=["get"], url_path="affected", url_name="affected", pagination_class=KeysetPagination,
           filter_backends=[])
    def affected(self, request: Request, pk: str) -> Response:
        outage = self.get_object()
        query = _query(s.AffectedQuery, request)
        rows = affected_accounts(outage)
        if query.get("important") is not None:
            rows = rows.filter(important=query["important"])
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(s.OutageAffectedOutput(page, many=True).data)


# ---------------------------------------------------------------- public list


class PublicOutageView(generics.ListAPIView):
    """The outage list of the customer portal: no sign-in, nothing about people or units."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    serializer_class = s.PublicOutageOutput
    pagination_class = KeysetPagination
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[Outage]:
        query = _query(s.PublicQuery, self.request)
        # A disconnection names one customer's account: never public.
        return public_live(utility=query.get("utility", ""))

    @extend_schema(
        summary="Published outages in force or starting within 7 days (public, no sign-in)",
        description="For the customer portal: number, class, status, area, reason, start and expected "
                    "restoration. No customers, accounts, phones or units.",
        parameters=[s.PublicQuery], auth=[],
        responses={200: s.PublicOutageOutput(many=True), **error_responses(400)},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


# ---------------------------------------------------------------- fault proposals


def _proposal_rows(qs: QuerySet[FaultProposal]) -> QuerySet[FaultProposal]:
    calls = FaultCall.objects.select_related("order").order_by("at", "order_id")
    return qs.select_related("node", "unit").prefetch_related(Prefetch("calls", queryset=calls, to_attr="call_rows"))


@extend_schema_view(
    list=extend_schema(summary="Open fault proposals of your area: repair calls that point to one device",
                       responses={200: s.FaultProposalOutput, **error_responses(400, 403)}),
)
class FaultProposalViewSet(ApiViewMixin, viewsets.GenericViewSet):
    serializer_class = s.FaultProposalOutput
    pagination_class = NewestFirst
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[FaultProposal]:
        if self.action == "list":
            return _proposal_rows(open_proposals(self.request.user))
        return _proposal_rows(proposal_qs(self.request.user))

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        require(request.user, Capability.ORDER_DISPATCH)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(s.FaultProposalOutput(page, many=True).data)

    @extend_schema(
        summary="Confirm a proposal: it becomes a published fault outage at its node",
        description="The earliest call stays the crew's repair order, the others wait on the outage; affected "
                    "customers get an SMS. Send `version`: more calls since you looked make it a 409.",
        request=s.FaultProposalConfirmInput, parameters=[IF_MATCH_PARAMETER],
        responses={201: s.OutageDetailOutput, **error_responses(400, 403, 404, 409)},
    )
    @route(detail=True, methods=["post"], url_path="confirm", url_name="confirm", filter_backends=[])
    def confirm(self, request: Request, pk: str) -> Response:
        proposal = self.get_object()
        data = _validated(s.FaultProposalConfirmInput, request.data)
        version = _version(request, data)
        outage = proposal_confirm(actor=request.user, proposal=proposal.pk, expected_hours=data.get("expected_hours"),
                                  expected_version=version)
        return _detail(request, outage, code=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Dismiss a proposal: the calls are not one fault (reason required)",
        request=s.FaultProposalDismissInput, parameters=[IF_MATCH_PARAMETER],
        responses={200: s.FaultProposalOutput, **error_responses(400, 403, 404, 409)},
    )
    @route(detail=True, methods=["post"], url_path="dismiss", url_name="dismiss", filter_backends=[])
    def dismiss(self, request: Request, pk: str) -> Response:
        proposal = self.get_object()
        data = _validated(s.FaultProposalDismissInput, request.data)
        version = _version(request, data)
        done = proposal_dismiss(actor=request.user, proposal=proposal.pk, reason=data["reason"],
                                expected_version=version)
        return Response(s.FaultProposalOutput(self.get_queryset().get(pk=done.pk)).data)


# ---------------------------------------------------------------- reliability


class ReliabilityView(APIView):
    @extend_schema(
        summary="Reliability indices (SAIFI, SAIDI, CAIDI, RS-1) of a unit and period",
        description="From outages with an actual start (marketing disconnections excluded); overlapping outages "
                    "count once per customer. Decimals are strings.",
        parameters=[s.ReliabilityQuery],
        responses={200: s.OutageReliabilityOutput, **error_responses(400, 403, 404)},
    )
    def get(self, request: Request) -> Response:
        require(request.user, Capability.OUTAGE_VIEW)
        query = _query(s.ReliabilityQuery, request)
        if "unit" in query:
            unit = visible_units(request.user).filter(pk=query["unit"]).first()
            if unit is None:
                raise Http404
        else:
            unit = getattr(request.user, "unit", None)
            if unit is None:
                raise InvalidInput({"unit": [_("Choose the org unit.")]})
        found = reliability(unit=unit, start=query["start"], end=query["end"], utility=query["utility"])
        return Response(s.OutageReliabilityOutput({
            "unit": unit, "utility": query["utility"], "start": found.start, "end": found.end,
            "customers_served": found.customers_served, "interruptions": found.interruptions,
            "customer_hours": found.customer_hours, "outages": found.outages, "saifi": found.saifi,
            "saidi": found.saidi, "caidi": found.caidi, "rs1": found.rs1,
        }).data)
