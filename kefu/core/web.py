"""Small helpers every page view uses: htmx detection, client address, Bootstrap form styling."""

from __future__ import annotations

import ipaddress
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers


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
            if isinstance(widget, forms.CheckboxInput):
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
