"""Reads for org units and staff, narrowed by scope."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404

from kefu.org.choices import Capability
from kefu.org.models import OrgUnit, Staff, StaffRole
from kefu.org.scope import for_user, has_capability


def orgunit_qs(user: Any) -> QuerySet[OrgUnit]:
    if not has_capability(user, Capability.ORG_VIEW):
        return OrgUnit.objects.none()
    return OrgUnit.objects.for_user(user)


def orgunit_list(*, user: Any, query: str = "", utility: str = "") -> QuerySet[OrgUnit]:
    qs = orgunit_qs(user).annotate(staff_count=Count("staff"))
    if query:
        qs = qs.filter(Q(name__contains=query) | Q(code__icontains=query))
    if utility:
        qs = qs.filter(utility__in=[utility, "both"])
    return qs.order_by("path")


def orgunit_get(*, user: Any, pk: int) -> OrgUnit:
    unit = orgunit_qs(user).filter(pk=pk).first()
    if unit is None:
        raise Http404
    return unit


def staff_qs(user: Any) -> QuerySet[Staff]:
    return for_user(Staff.objects.all(), user, capability=Capability.ORG_VIEW)


def staff_list(*, user: Any, query: str = "", role: str = "", unit: OrgUnit | None = None) -> QuerySet[Staff]:
    qs = staff_qs(user).select_related("unit").prefetch_related(Prefetch("roles", queryset=StaffRole.objects.all()))
    if query:
        qs = qs.filter(Q(username__icontains=query) | Q(full_name__contains=query))
    if role:
        qs = qs.filter(roles__role=role)
    if unit is not None:
        qs = qs.filter(unit__path__startswith=unit.path)
    return qs.order_by("id").distinct()


def staff_get(*, user: Any, pk: int) -> Staff:
    staff = staff_qs(user).select_related("unit").filter(pk=pk).first()
    if staff is None:
        raise Http404
    return staff


def orgunit_ancestors(*, user: Any, unit: OrgUnit) -> list[OrgUnit]:
    """The visible units above ``unit``, top first (for breadcrumbs)."""
    ids = [int(step) for step in unit.path.split(".")[:-1] if int(step) != unit.pk]
    return list(orgunit_qs(user).filter(pk__in=ids).order_by("depth"))
