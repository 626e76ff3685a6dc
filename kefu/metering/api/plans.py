"""Metering API for routes and monthly plans: the routes and plans of one's area with their progress,
one plan with its meters and confirmation sheets, and recording a sheet signed on a route day.

Everything needs ``reading.enter`` (meter readers, analysts, full-time customer managers); a plan
outside the user's area is a 404. A sheet sent again (same day, signer and role) answers 200 with the
first one instead of making a second.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.http import Http404
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from kefu.core.api import KeysetPagination, NewestFirst, error_responses, parse_id, validated
from kefu.org.choices import Capability
from kefu.org.scope import require

from .. import plans
from ..models import ReadingPlan
from . import serializers as s


def _plan_or_404(request: Request, pk: str) -> ReadingPlan:
    require(request.user, Capability.READING_ENTER)
    plan = (plans.with_progress(plans.plan_qs(request.user).select_related("route"))
            .filter(pk=parse_id(pk) or 0).first())
    if plan is None:
        raise Http404
    return plan


class RouteListView(GenericAPIView):
    pagination_class = KeysetPagination
    filter_backends: list[Any] = []
    serializer_class = s.RouteOutput

    @extend_schema(
        summary="Reading routes of your area",
        description="Needs `reading.enter`.",
        responses={200: s.RouteOutput(many=True), **error_responses(403)},
    )
    def get(self, request: Request) -> Response:
        require(request.user, Capability.READING_ENTER)
        page = self.paginate_queryset(plans.route_qs(request.user).select_related("unit", "reader"))
        return self.get_paginated_response(s.RouteOutput(page, many=True).data)


class PlanListView(GenericAPIView):
    pagination_class = NewestFirst
    filter_backends: list[Any] = []
    serializer_class = s.PlanOutput

    @extend_schema(
        summary="Reading plans of your area with their progress, newest first",
        description="Narrow by route id, month (YYYY-MM) and status. `read` counts the planned meters with a "
                    "reading for the month; `missing_open` the missing-reading exceptions still open. Needs "
                    "`reading.enter`.",
        parameters=[s.PlanListQuery],
        responses={200: s.PlanOutput(many=True), **error_responses(400, 403)},
    )
    def get(self, request: Request) -> Response:
        require(request.user, Capability.READING_ENTER)
        query = validated(s.PlanListQuery, request.query_params.dict())
        qs = plans.plan_qs(request.user)
        if query.get("route"):
            qs = qs.filter(route_id=query["route"])
        if query.get("period"):
            year, month = (int(x) for x in query["period"].split("-"))
            qs = qs.filter(period=date(year, month, 1))
        if query.get("status"):
            qs = qs.filter(status=query["status"])
        page = self.paginate_queryset(plans.with_progress(qs))
        return self.get_paginated_response(s.PlanOutput(page, many=True).data)


class PlanDetailView(GenericAPIView):
    serializer_class = s.PlanDetailOutput

    @extend_schema(
        summary="One reading plan: progress, the meters in walking order with their reading, the sheets",
        responses={200: s.PlanDetailOutput, **error_responses(403, 404)},
    )
    def get(self, request: Request, pk: str) -> Response:
        plan = _plan_or_404(request, pk)
        context = {"items": plans.item_rows(plan),
                   "sheets": plans.sheet_qs(request.user).filter(plan=plan).order_by("day", "id")}
        return Response(s.PlanDetailOutput(plan, context=context).data)


SHEET_EXAMPLE = OpenApiExample(
    "Signed by the property manager", request_only=True,
    value={"day": "2026-03-12", "signed_by": "张经理", "signer_role": "property_manager", "note": "3号楼全部抄见"},
)


class PlanSheetView(GenericAPIView):
    parser_classes = [JSONParser]
    serializer_class = s.SheetOutput

    def get_queryset(self) -> Any:
        return plans.sheet_qs(self.request.user)

    @extend_schema(
        summary="The reading confirmation sheets of a plan",
        responses={200: s.SheetOutput(many=True), **error_responses(403, 404)},
    )
    def get(self, request: Request, pk: str) -> Response:
        plan = _plan_or_404(request, pk)
        sheets = self.get_queryset().filter(plan=plan).order_by("day", "id")
        return Response(s.SheetOutput(sheets, many=True).data)

    @extend_schema(
        summary="Record a reading confirmation sheet signed on a route day",
        description="The route day must fall inside the plan's reading window and not in the future; the signer "
                    "is the property manager or the customer. The same sheet again (day, signer, role) answers "
                    "200 with the first one. Needs `reading.enter`.",
        request=s.SheetInput, examples=[SHEET_EXAMPLE],
        responses={201: s.SheetOutput,
                   200: OpenApiResponse(s.SheetOutput, description="Recorded before: the first sheet."),
                   **error_responses(400, 403, 404)},
    )
    def post(self, request: Request, pk: str) -> Response:
        plan = _plan_or_404(request, pk)
        data = validated(s.SheetInput, request.data)
        result = plans.sheet_record(actor=request.user, plan=plan, day=data["day"], signed_by=data["signed_by"],
                                    signer_role=data["signer_role"], note=data.get("note", ""))
        code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        return Response(s.SheetOutput(result.sheet).data, status=code)
