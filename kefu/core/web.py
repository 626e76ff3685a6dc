"""Small helpers every page view uses: htmx detection, client address, Bootstrap form styling."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

from kefu.core.errors import ApplicationError, InvalidInput, PermissionDeniedError


def is_htmx(request: HttpRequest) -> bool:
    """True for an htmx request that wants a fragment.

    A history-restore request (back button after a cache miss) needs the whole page, so it is not
    treated as a fragment request.
    """
    return bool(request.headers.get("HX-Request")) and not request.headers.get("HX-History-Restore-Request")


def vary_on_htmx(response: HttpResponse) -> HttpResponse:
    # The same URL answers with a fragment or a full page: caches must keep them apart.
    patch_vary_headers(response, ("HX-Request",))
    return response


def client_ip(request: HttpRequest) -> str | None:
    """The peer address for audit rows. Proxy headers are not trusted (they are easy to forge)."""
    raw = request.META.get("REMOTE_ADDR") or ""
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        return None


class BootstrapFormMixin:
    """Give widgets Bootstrap classes, and mark fields with errors (from the form or a service)."""

    fields: dict[str, forms.Field]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            # Checkbox groups subclass SelectMultiple, so they are tested first.
            if isinstance(widget, forms.CheckboxInput | forms.CheckboxSelectMultiple | forms.RadioSelect):
                css = "form-check-input"
            elif isinstance(widget, forms.Select | forms.SelectMultiple):
                css = "form-select"
            elif isinstance(widget, forms.HiddenInput):
                continue
            else:
                css = "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()

    def add_error(self, field: str | None, error: Any) -> None:
        super().add_error(field, error)  # type: ignore[misc]
        for name in self.errors:  # type: ignore[attr-defined]
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                if "is-invalid" not in attrs.get("class", ""):
                    attrs["class"] = f"{attrs.get('class', '')} is-invalid".strip()
                attrs["aria-invalid"] = "true"


def add_service_errors(
    form: forms.BaseForm,
    exc: ApplicationError,
    *,
    field_map: dict[str, str] | Callable[[str], str | None] | None = None,
) -> None:
    """Copy a service error onto the form: per field where the form has that field, else on top.

    ``field_map`` renames service keys to form fields (a dict, or a function such as one that
    strips the "customer." prefix). A permission error is not a form problem: it is re-raised so
    the middleware shows the 403 page.
    """
    if isinstance(exc, PermissionDeniedError):
        raise exc
    errors: Mapping[str, list[str]] = (
        exc.errors if isinstance(exc, InvalidInput) else {exc.field or "__all__": [str(exc.message)]}
    )
    for key, messages in errors.items():
        name = field_map(key) if callable(field_map) else (field_map or {}).get(key, key)
        target = name if name and name in form.fields else None
        for message in messages:
            form.add_error(target, str(message))
