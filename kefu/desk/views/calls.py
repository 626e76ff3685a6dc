"""Placeholder views; replaced by the real pages."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse


def _missing(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    raise Http404

call_list = _missing
call_detail = _missing
callback_list = _missing
callback_claim = _missing
callback_record = _missing
callback_release = _missing
extension_list = _missing
