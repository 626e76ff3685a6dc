"""Helpers shared by the work-order views."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from kefu.core.errors import ApplicationError
from kefu.core.web import is_htmx
from kefu.workorders.models import WorkOrder
from kefu.workorders.selectors import workorder_get


def order_or_404(request: HttpRequest, pk: int) -> WorkOrder:
    """The order if the user may see it; out of scope is the same 404 as a missing order."""
    try:
        return workorder_get(request.user, pk)
    except WorkOrder.DoesNotExist as exc:
        raise Http404 from exc


def form_status(form: forms.BaseForm, error: ApplicationError | None = None) -> int:
    """400 for bad input, 409 for a conflict or refused move, 200 for a fresh form."""
    if error is not None:
        return error.status_code
    return 400 if form.is_bound and form.errors else 200


def post_data(request: HttpRequest) -> Any:
    # Bind on any POST, even an empty one, so that missing fields are reported.
    return request.POST if request.method == "POST" else None


def htmx_target(request: HttpRequest) -> str:
    return request.headers.get("HX-Target", "") if is_htmx(request) else ""


def go_to(request: HttpRequest, url_name: str, *args: Any) -> HttpResponse:
    """Redirect after a successful POST; an htmx form is sent on with HX-Redirect (a full page load)."""
    url = reverse(url_name, args=args)
    if is_htmx(request):
        response = HttpResponse(status=200)
        response["HX-Redirect"] = url
        return response
    return redirect(url)
