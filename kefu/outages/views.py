"""Placeholder list page; replaced by the outage pages."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse


@login_required
def outage_list_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse("")
