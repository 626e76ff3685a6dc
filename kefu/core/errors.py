"""One family of business errors. Views and the API turn them into clear messages (400/409)."""

from __future__ import annotations

from typing import Any

from django.utils.functional import Promise


class ApplicationError(Exception):
    """A business rule refused the request. ``field`` names the input at fault, if any."""

    status_code = 400
    code = "invalid"

    def __init__(
        self,
        message: str | Promise,
        *,
        field: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(str(message))
        self.message = message
        self.field = field
        self.extra = extra or {}

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "detail": str(self.message)}
        if self.field:
            body["field"] = self.field
            body["errors"] = {self.field: [str(self.message)]}
        if self.extra:
            body["extra"] = self.extra
        return body


class InvalidInput(ApplicationError):
    """Input failed validation; ``errors`` maps each field to its messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        first_field = next(iter(errors), None)
        first = errors[first_field][0] if first_field else ""
        super().__init__(first, field=first_field)
        self.errors = errors

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "detail": str(self.message), "errors": self.errors}


class IllegalTransition(ApplicationError):
    code = "illegal_transition"
    status_code = 409


class Conflict(ApplicationError):
    """Someone else changed the record first; reload and try again."""

    code = "conflict"
    status_code = 409


class PermissionDeniedError(ApplicationError):
    code = "forbidden"
    status_code = 403


class NotFoundError(PermissionDeniedError):
    """The record does not exist or lies outside the user's scope (never revealed which): a 404."""

    code = "not_found"
    status_code = 404
