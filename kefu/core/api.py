"""API plumbing shared by every app: keyset pagination, one error format, scoped id fields."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters import NumberFilter
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.exceptions import ErrorDetail
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from kefu.core.errors import ApplicationError, InvalidInput

# Largest value a 64-bit signed id column holds: bigger numbers are "unknown", never a DB overflow.
MAX_ID = 2**63 - 1
# URL ids: digits only and short enough to fit the id column, so /customers/abc/ is a 404.
ID_REGEX = r"[0-9]{1,18}"


def parse_id(value: Any) -> int | None:
    """A whole number that fits an id column, or None. ASCII digits only: "²" and "١" pass
    str.isdigit() yet break int(), and 5,000 digits exceed Python's int-parsing limit."""
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    number = int(text)
    return number if number <= MAX_ID else None


class ApiViewMixin:
    """Mix into resource viewsets: JSON bodies only, numeric ids only (anything else is a 404).

    A mixin, not a GenericViewSet subclass: DRF imports this module for its settings
    (pagination, exception handler) while it is still loading its own views.
    """

    parser_classes: Sequence[type[BaseParser]] = (JSONParser,)
    lookup_value_regex = ID_REGEX


class KeysetPagination(CursorPagination):
    """Keyset (cursor) pagination on the primary key: constant cost however deep the page."""

    ordering = "id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    invalid_cursor_message = gettext_lazy(  # type: ignore[assignment]
        "Invalid cursor: use the next/previous links as given."
    )

    def decode_cursor(self, request: Request) -> Cursor | None:
        # DRF answers a broken cursor with 404 and trusts the position it decodes; a cursor is
        # user input, so answer 400 and accept only an id-shaped position.
        try:
            cursor = super().decode_cursor(request)
        except exceptions.NotFound as exc:
            raise exceptions.ValidationError({self.cursor_query_param: [str(self.invalid_cursor_message)]}) from exc
        position = cursor.position if cursor is not None else None
        if position is not None and parse_id(str(position).removeprefix("-")) is None:
            raise exceptions.ValidationError({self.cursor_query_param: [str(self.invalid_cursor_message)]})
        return cursor


class NewestFirst(KeysetPagination):
    ordering = "-id"


def validated(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    """The serializer's validated data, or its 400 with every field's message."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def flatten_errors(data: Any, prefix: str = "") -> dict[str, list[str]]:
    """Nested serializer errors as flat dotted keys: {"contacts": [{}, {"phone": [..]}]} → "contacts.1.phone"."""
    out: dict[str, list[str]] = {}
    if isinstance(data, Mapping):
        for key, value in data.items():
            # A nested part's own error ("expected a list") belongs to the part: "contacts", not
            # "contacts.non_field_errors".
            name = prefix if prefix and key == "non_field_errors" else f"{prefix}.{key}" if prefix else str(key)
            out.update(flatten_errors(value, name))
    elif isinstance(data, list | tuple):
        if all(not isinstance(item, Mapping | list | tuple) for item in data):
            if data:
                out[prefix or "non_field_errors"] = [str(item) for item in data]
        else:
            for i, item in enumerate(data):
                if item:
                    out.update(flatten_errors(item, f"{prefix}.{i}" if prefix else str(i)))
    else:
        out[prefix or "non_field_errors"] = [str(data)]
    return out


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Every error as {"code", "detail", "errors": {field: [messages]}}; business errors 400/403/409."""
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
        errors = flatten_errors(data if isinstance(data, dict) else {"non_field_errors": data})
        first_field = next(iter(errors), "non_field_errors")
        first = errors.get(first_field) or [""]
        detail = first[0] if first_field == "non_field_errors" else f"{first_field}: {first[0]}"
        response.data = {"code": "invalid", "detail": detail, "errors": errors}
    elif isinstance(data, dict) and "detail" in data:
        response.data = {"code": getattr(data["detail"], "code", "error"), "detail": str(data["detail"])}
    return response


class ErrorOutput(serializers.Serializer):
    """The one error body every endpoint answers with (documentation only)."""

    code = serializers.CharField(help_text="Machine-readable error code, e.g. invalid, forbidden, conflict.")
    detail = serializers.CharField(help_text="One readable sentence for the user.")
    errors = serializers.DictField(  # type: ignore[assignment]  # a field, not Serializer.errors
        child=serializers.ListField(child=serializers.CharField()), required=False,
        help_text='Messages per input field; nested input uses dotted keys such as "contacts.0.phone".',
    )


_ERROR_TEXT = {
    400: "Invalid input",
    403: "Not allowed for your role",
    404: "Not found or outside your scope",
    409: "Conflict: illegal state change or changed by someone else",
}


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    return {code: OpenApiResponse(ErrorOutput, description=_ERROR_TEXT.get(code, "Error")) for code in codes}


class CodeOutputField(serializers.CharField):
    """A coded value in an output. Its label travels beside it in ``<name>_label``.

    Plain strings rather than enums in output schemas: the same choice set under several field
    names (status / to_status) would otherwise make clashing enum components.
    """

    def __init__(self, *, choices: Any = None, **kwargs: Any) -> None:
        if choices and "help_text" not in kwargs:
            kwargs["help_text"] = "One of: " + ", ".join(str(value) for value, _label in choices)
        super().__init__(**kwargs)


class OutputModelSerializer(serializers.ModelSerializer):
    """Read-only model serializer for responses."""

    serializer_choice_field = CodeOutputField


def request_user(serializer: serializers.Field | serializers.BaseSerializer) -> Any:
    request = serializer.context.get("request")
    return getattr(request, "user", None)


class ScopedPrimaryKeyField(serializers.PrimaryKeyRelatedField):
    """An id resolved only inside what the requesting user may see: anything else is "unknown".

    ``scope(user)`` returns the queryset to look in (a scoped selector), so an id outside the
    user's units gets the same 400 as an id that does not exist and reveals nothing.
    """

    default_error_messages = {
        "required": gettext_lazy("This field is required."),
        "does_not_exist": gettext_lazy("Unknown id {pk_value}, or outside your units."),
        "incorrect_type": gettext_lazy("Expected an id (a whole number), got {data_type}."),
    }

    def __init__(self, *, model: type[models.Model], scope: Callable[[Any], models.QuerySet[Any]],
                 **kwargs: Any) -> None:
        self.scope = scope
        # An empty queryset of the model tells the schema generator the id type; lookups use scope.
        super().__init__(queryset=model._default_manager.none(), **kwargs)

    def get_queryset(self) -> models.QuerySet[Any]:
        return self.scope(request_user(self))

    def to_internal_value(self, data: Any) -> Any:
        # Only whole numbers within the id range: "1.5", floats and huge numbers are refused cleanly.
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("incorrect_type", data_type=type(data).__name__)
        number = parse_id(data)
        if number is None:
            self.fail("does_not_exist", pk_value=str(data)[:40])
        return super().to_internal_value(number)


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(NumberFilter):
    """Filter on an id column: whole numbers in range only, so junk is a 400 and never an overflow."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class StrictInput(serializers.Serializer):
    """Refuses keys it does not know, so a misspelt field is a 400 instead of silently ignored."""

    default_error_messages = {"unknown_field": gettext_lazy("Unknown field.")}

    def to_internal_value(self, data: Any) -> Any:
        unknown = sorted(str(k) for k in set(data) - set(self.fields)) if isinstance(data, Mapping) else []
        message = str(self.error_messages["unknown_field"])
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if unknown and isinstance(exc.detail, dict):
                exc.detail.update({k: [ErrorDetail(message, code="unknown_field")] for k in unknown})
            raise
        if unknown:
            raise serializers.ValidationError({k: [ErrorDetail(message, code="unknown_field")] for k in unknown})
        return value
