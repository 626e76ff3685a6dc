"""Placeholder views; replaced by the real pages."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse


def _missing(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    raise Http404

desk_screen = _missing
desk_poll = _missing
extension_sign_in = _missing
extension_sign_out = _missing
suggest = _missing
order_types = _missing
find_customer = _missing
answer = _missing
identify = _missing
create_order = _missing
link_order = _missing
urge_order = _missing
record_result = _missing
