"""Topology API: thin views over the grid selectors and services."""

from __future__ import annotations

from typing import Any

import django_filters as df
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kefu.core.api import ApiViewMixin, IdFilter, error_responses, parse_id
from kefu.core.choices import UtilityKind
from kefu.customers.models import ServicePoint
from kefu.customers.selectors import account_qs
from kefu.grid.api import serializers as s
from kefu.grid.choices import NodeKind
from kefu.grid.models import GridNode
from kefu.grid.selectors import accounts_under, ancestors, node_qs, path_to_root
from kefu.grid.services import node_create, node_update
from kefu.org.choices import Capability
from kefu.org.scope import for_user


class NodeFilter(df.FilterSet):
    utility = df.ChoiceFilter(choices=UtilityKind.choices, label=_("Utility kind"))
    kind = df.ChoiceFilter(choices=NodeKind.choices, label=_("Node kind"))
    parent = IdFilter(field_name="parent_id", label=_("Parent node id"))
    q = df.CharFilter(method="filter_q", max_length=100, label=_("Code or name contains"))

    class Meta:
        model = GridNode
        fields: list[str] = []

    def filter_q(self, qs: QuerySet[GridNode], name: str, value: str) -> QuerySet[GridNode]:
        value = value.strip()
        return qs.filter(Q(code__icontains=value) | Q(name__icontains=value)) if value else qs


def _input(serializer_class: Any, request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data, context={"request": request})
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


@extend_schema_view(
    list=extend_schema(summary="List topology nodes", responses={200: s.NodeOutput, **error_responses(400)}),
    retrieve=extend_schema(summary="One node with its path from the root",
                           responses={200: s.NodeDetailOutput, **error_responses(404)}),
    create=extend_schema(summary="Create a node", request=s.NodeCreateInput,
                         responses={201: s.NodeDetailOutput, **error_responses(400, 403)}),
    partial_update=extend_schema(summary="Change or move a node (send the version you read)",
                                 request=s.NodeUpdateInput,
                                 responses={200: s.NodeDetailOutput, **error_responses(400, 403, 404, 409)}),
)
class NodeViewSet(ApiViewMixin, viewsets.GenericViewSet):
    serializer_class = s.NodeOutput
    filterset_class = NodeFilter

    def get_queryset(self) -> QuerySet[GridNode]:
        return node_qs(self.request.user).select_related("parent", "unit")

    def _detail(self, node: GridNode, *, code: int = status.HTTP_200_OK) -> Response:
        node = self.get_queryset().get(pk=node.pk)
        return Response(s.NodeDetailOutput(node, context={"path": ancestors(node)}).data, status=code)

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(s.NodeOutput(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return self._detail(self.get_object())

    def create(self, request: Request) -> Response:
        data = _input(s.NodeCreateInput, request)
        parent, unit = data.pop("parent", None), data.pop("unit")
        return self._detail(node_create(actor=request.user, data=data, parent=parent, unit=unit),
                            code=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        node = self.get_object()
        data = _input(s.NodeUpdateInput, request)
        version = data.pop("version")
        parent = data.pop("parent") if "parent" in data else node.parent
        return self._detail(node_update(actor=request.user, node_id=node.pk, data=data, parent=parent,
                                        seen_version=version))

    @extend_schema(summary="Accounts supplied through the node's subtree", filters=False,
                   responses={200: s.NodeAccountOutput(many=True), **error_responses(400, 404)})
    @action(detail=True, methods=["get"], url_path="accounts", filterset_class=None)
    def accounts(self, request: Request, pk: str) -> Response:
        node = self.get_object()
        rows = account_qs(request.user).filter(pk__in=accounts_under(node).values("pk")) \
            .select_related("customer", "premise")
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(s.NodeAccountOutput(page, many=True).data)


class ServicePointPathView(APIView):
    @extend_schema(summary="The way from a service point's node to the root",
                   responses={200: s.ServicePointPathOutput, **error_responses(404)})
    def get(self, request: Request, pk: str) -> Response:
        points = for_user(ServicePoint.objects.all(), request.user, field="premise__unit",
                          capability=Capability.GRID_VIEW)
        point = points.filter(pk=parse_id(pk) or 0).first()
        if point is None:
            raise Http404
        return Response(s.ServicePointPathOutput({"service_point": point.pk, "nodes": path_to_root(point)}).data)
