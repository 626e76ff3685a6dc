"""Turn a business error that escaped a view into a readable page instead of a 500."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.html import format_html

from kefu.core.errors import ApplicationError


class ApplicationErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, ApplicationError):
            return None
        if request.headers.get("HX-Request"):
            return HttpResponse(
                format_html('<div class="alert alert-danger" role="alert">{}</div>', exception.message),
                status=exception.status_code,
            )
        return render(request, "error.html", {"message": exception.message}, status=exception.status_code)
