"""Org API: org units and staff (read only), and the token sign-in for integrations."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kefu.core.api import ApiViewMixin, error_responses
from kefu.core.errors import ApplicationError
from kefu.org.api.serializers import OrgUnitOutput, StaffOutput, TokenInput, TokenOutput
from kefu.org.filters import OrgUnitFilter, StaffFilter
from kefu.org.models import OrgUnit, Staff
from kefu.org.selectors import orgunit_qs, staff_qs
from kefu.org.services import login_locked_until, login_record_failure, login_record_success


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


class LoginLocked(ApplicationError):
    code = "locked"
    status_code = 403


class BadCredentials(ApplicationError):
    code = "invalid_credentials"


def _locked_error(until: Any) -> LoginLocked:
    return LoginLocked(
        _("This account is locked after too many failed sign-ins. Try again after %(time)s.")
        % {"time": timezone.localtime(until).strftime("%H:%M")}
    )


def auth_token_obtain(*, request: Request, username: str, password: str) -> tuple[Token, Staff]:
    """Check the password under the same lock-out as the sign-in page and hand out the user's token.

    Not wrapped in a transaction on purpose: a failed attempt must stay counted when we refuse.
    """
    ip = request.META.get("REMOTE_ADDR") or None
    known = Staff.objects.filter(username=username).first()
    # A locked account is refused before the password is even checked, so guessing gains nothing.
    if known is not None and (until := login_locked_until(staff=known)):
        raise _locked_error(until)
    user = authenticate(request._request, username=username, password=password)
    if not isinstance(user, Staff):
        failed = login_record_failure(username=username, ip=ip)
        if failed is not None and (until := login_locked_until(staff=failed)):
            raise _locked_error(until)
        raise BadCredentials(_("Wrong user name or password."))
    login_record_success(staff=user, ip=ip)
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
