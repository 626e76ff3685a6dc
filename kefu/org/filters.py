"""Filters for org units and staff, shared by pages and the API. Unit choices are always scoped."""

from __future__ import annotations

from typing import Any

import django_filters as df
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from kefu.core.choices import UnitUtility
from kefu.org.choices import Role
from kefu.org.models import OrgUnit, Staff, StaffRole


def visible_units(request: Any) -> QuerySet[OrgUnit]:
    """Units the requesting user may pick in a filter; without a request, none."""
    return OrgUnit.objects.for_user(getattr(request, "user", None))


class UnitSubtreeFilter(df.ModelChoiceFilter):
    """Rows whose unit is the chosen unit or lies below it. Units outside the user's scope are invalid."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("queryset", visible_units)
        kwargs.setdefault("label", _("Unit (and the units below it)"))
        super().__init__(*args, **kwargs)

    def filter(self, qs: QuerySet[Any], value: Any) -> QuerySet[Any]:
        if not value:
            return qs
        # unit__path__startswith: one indexed prefix match for the whole subtree.
        return qs.filter(**{f"{self.field_name}__path__startswith": value.path})


class OrgUnitFilter(df.FilterSet):
    q = df.CharFilter(method="filter_q", label=_("Name or code contains"), max_length=100)
    utility = df.ChoiceFilter(choices=UnitUtility.choices, method="filter_utility", label=_("Utility kind"))
    parent = df.ModelChoiceFilter(queryset=visible_units, label=_("Parent unit (direct children)"))
    level = df.CharFilter(field_name="level", label=_("Level"), max_length=16)

    class Meta:
        model = OrgUnit
        fields: list[str] = []

    def filter_q(self, qs: QuerySet[OrgUnit], name: str, value: str) -> QuerySet[OrgUnit]:
        return qs.filter(Q(name__contains=value) | Q(code__icontains=value))

    def filter_utility(self, qs: QuerySet[OrgUnit], name: str, value: str) -> QuerySet[OrgUnit]:
        # A unit serving both power and gas belongs to either list.
        if value == UnitUtility.BOTH:
            return qs.filter(utility=value)
        return qs.filter(utility__in=[value, UnitUtility.BOTH])


class StaffFilter(df.FilterSet):
    q = df.CharFilter(method="filter_q", label=_("User name or name contains"), max_length=150)
    role = df.ChoiceFilter(choices=Role.choices, method="filter_role", label=_("Role"))
    unit = UnitSubtreeFilter()
    is_active = df.BooleanFilter(label=_("Active"))

    class Meta:
        model = Staff
        fields: list[str] = []

    def filter_q(self, qs: QuerySet[Staff], name: str, value: str) -> QuerySet[Staff]:
        return qs.filter(Q(username__icontains=value) | Q(full_name__contains=value))

    def filter_role(self, qs: QuerySet[Staff], name: str, value: str) -> QuerySet[Staff]:
        # A subquery rather than a join, so a staff member is never listed twice.
        return qs.filter(id__in=StaffRole.objects.filter(role=value).values("staff_id"))
