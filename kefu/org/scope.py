"""The one place that decides what a user may see and do.

Every page and API endpoint narrows its queryset with ``for_user`` and checks actions with
``require``. Scope: the user's unit and the units below it. Role: which actions (choices.py).
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext as _

from kefu.core.errors import PermissionDeniedError
from kefu.org.choices import ROLE_CAPABILITIES, Capability
from kefu.org.models import OrgUnit

M = TypeVar("M", bound=models.Model)


def capabilities(user: Any) -> frozenset[str]:
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return frozenset()
    if getattr(user, "is_superuser", False):
        return frozenset(Capability)
    cached = getattr(user, "_kefu_caps", None)
    if cached is None:
        caps: set[str] = set()
        for role in user.role_codes:
            caps |= ROLE_CAPABILITIES.get(role, frozenset())
        cached = frozenset(caps)
        user._kefu_caps = cached
    return cached


def has_capability(user: Any, capability: str) -> bool:
    return capability in capabilities(user)


def require(user: Any, capability: str) -> None:
    """Raise a clear 403 error when the user's roles do not allow the action."""
    if not has_capability(user, capability):
        label = Capability(capability).label
        raise PermissionDeniedError(_("Your role does not allow this action: %(action)s") % {"action": label})


def visible_units(user: Any) -> models.QuerySet[OrgUnit]:
    return OrgUnit.objects.for_user(user)


def unit_scope_q(user: Any, *, field: str = "unit") -> Q:
    """Q that keeps rows whose ``field`` (an OrgUnit FK path) lies in the user's subtree."""
    if getattr(user, "is_superuser", False):
        return Q()
    unit = getattr(user, "unit", None)
    if not getattr(user, "is_authenticated", False) or unit is None:
        return Q(pk__in=[])
    return Q(**{f"{field}__in": OrgUnit.objects.filter(path__startswith=unit.path).values("id")})


def for_user(
    queryset: models.QuerySet[M], user: Any, *, field: str = "unit", capability: str | None = None
) -> models.QuerySet[M]:
    """Narrow ``queryset`` to what ``user`` may see. Without the capability, nothing."""
    if capability is not None and not has_capability(user, capability):
        return queryset.none()
    return queryset.filter(unit_scope_q(user, field=field))


def unit_in_scope(user: Any, unit: OrgUnit | None) -> bool:
    if unit is None:
        return False
    if getattr(user, "is_superuser", False):
        return True
    own = getattr(user, "unit", None)
    return own is not None and unit.path.startswith(own.path)
