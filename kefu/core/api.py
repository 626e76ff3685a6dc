"""API plumbing shared by every app: keyset pagination and one error format."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from kefu.core.errors import ApplicationError, InvalidInput


class KeysetPagination(CursorPagination):
    """Keyset (cursor) pagination on the primary key: constant cost however deep the page."""

    ordering = "id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every error as {"code", "detail", "errors": {field: [messages]}}; business errors 400/409."""
    if isinstance(exc, InvalidInput):
        return Response(exc.as_dict(), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, ApplicationError):
        return Response(exc.as_dict(), status=exc.status_code)
    if isinstance(exc, ValidationError):
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(errors)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(_("Not found."))
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(exc, exceptions.ValidationError):
        errors = data if isinstance(data, dict) else {"non_field_errors": data}
        first_field = next(iter(errors), "")
        first = errors.get(first_field)
        detail = first[0] if isinstance(first, list) and first else str(first or "")
        response.data = {"code": "invalid", "detail": f"{first_field}: {detail}", "errors": errors}
    elif isinstance(data, dict) and "detail" in data:
        response.data = {"code": getattr(data["detail"], "code", "error"), "detail": str(data["detail"])}
    return response
