"""What every page's shell needs: the user's unit, roles and capabilities for the menu."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from kefu.org.scope import capabilities


def shell(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"caps": frozenset()}
    return {"caps": capabilities(user), "user_unit": getattr(user, "unit", None)}
