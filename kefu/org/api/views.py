"""Org API: org units and staff (read only), and the token sign-in for integrations."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kefu.core.api import ApiViewMixin, error_responses
from kefu.org.api.serializers import OrgUnitOutput, StaffOutput, TokenInput, TokenOutput
from kefu.org.filters import OrgUnitFilter, StaffFilter
from kefu.org.models import OrgUnit, Staff
from kefu.org.selectors import orgunit_qs, staff_qs
from kefu.org.services import login_authenticate


@extend_schema_view(
    list=extend_schema(summary="List org units you may see", responses={200: OrgUnitOutput}),
    retrieve=extend_schema(summary="One org unit", responses={200: OrgUnitOutput, **error_responses(404)}),
)
class OrgUnitViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewMixin,
                     viewsets.GenericViewSet):
    serializer_class = OrgUnitOutput
    filterset_class = OrgUnitFilter

    def get_queryset(self) -> QuerySet[OrgUnit]:
        return orgunit_qs(self.request.user)


@extend_schema_view(
    list=extend_schema(summary="List staff you may see, with their roles", responses={200: StaffOutput}),
    retrieve=extend_schema(summary="One staff member", responses={200: StaffOutput, **error_responses(404)}),
)
class StaffViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewMixin,
                     viewsets.GenericViewSet):
    serializer_class = StaffOutput
    filterset_class = StaffFilter

    def get_queryset(self) -> QuerySet[Staff]:
        return staff_qs(self.request.user).select_related("unit").prefetch_related("roles")


def auth_token_obtain(*, request: Request, username: str, password: str) -> tuple[Token, Staff]:
    user = login_authenticate(request=request._request, username=username, password=password,
                              ip=request.META.get("REMOTE_ADDR") or None)
    token, _created = Token.objects.get_or_create(user=user)
    return token, user


class TokenObtainView(APIView):
    """POST user name and password, get the API token (for CTI, dispatch, SMS and bank integrations)."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Get an API token",
        request=TokenInput,
        responses={200: TokenOutput, **error_responses(400, 403)},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        data = TokenInput(data=request.data)
        data.is_valid(raise_exception=True)
        token, user = auth_token_obtain(request=request, **data.validated_data)
        user = Staff.objects.select_related("unit").prefetch_related("roles").get(pk=user.pk)
        return Response(TokenOutput({"token": token.key, "user": user}).data)
