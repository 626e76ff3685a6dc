"""Filters for the customer registry, shared by pages and the API. Unit choices are always scoped."""

from __future__ import annotations

import django_filters as df
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from kefu.core.api import IdFilter
from kefu.core.choices import RegionClass, UtilityKind
from kefu.customers.choices import AccountStatus, CustomerClass, CustomerKind
from kefu.customers.models import Account, Customer, Premise
from kefu.customers.selectors import customer_search
from kefu.org.filters import UnitSubtreeFilter

# The search answers at most this many matches; a query that needs more should be narrower.
SEARCH_CAP = 500


class CustomerFilter(df.FilterSet):
    q = df.CharFilter(
        method="filter_q", max_length=100,
        label=_("Search: account number, phone, ID number, name prefix or address words"),
    )
    unit = UnitSubtreeFilter()
    kind = df.ChoiceFilter(choices=CustomerKind.choices, label=_("Customer kind"))

    class Meta:
        model = Customer
        fields: list[str] = []

    def filter_q(self, qs: QuerySet[Customer], name: str, value: str) -> QuerySet[Customer]:
        # customer_search picks the right index for what was typed; the ids then combine with the
        # other filters and the keyset pagination.
        user = getattr(self.request, "user", None)
        result = customer_search(user=user, query=value, limit=SEARCH_CAP)
        return qs.filter(id__in=[c.pk for c in result.customers])


class AccountFilter(df.FilterSet):
    number = df.CharFilter(field_name="number", max_length=20, label=_("Account number"))
    utility = df.ChoiceFilter(choices=UtilityKind.choices, label=_("Utility kind"))
    status = df.ChoiceFilter(choices=AccountStatus.choices, label=_("Status"))
    customer_class = df.ChoiceFilter(choices=CustomerClass.choices, label=_("Customer class"))
    unit = UnitSubtreeFilter()
    manager = IdFilter(field_name="manager_id", label=_("Customer manager id"))
    has_manager = df.BooleanFilter(field_name="manager", lookup_expr="isnull", exclude=True,
                                   label=_("Has a customer manager"))
    customer = IdFilter(field_name="customer_id", label=_("Customer id"))

    class Meta:
        model = Account
        fields: list[str] = []


class PremiseFilter(df.FilterSet):
    q = df.CharFilter(method="filter_q", max_length=100, label=_("Address contains (all words)"))
    unit = UnitSubtreeFilter()
    region_class = df.ChoiceFilter(choices=RegionClass.choices, label=_("Region class"))

    class Meta:
        model = Premise
        fields: list[str] = []

    def filter_q(self, qs: QuerySet[Premise], name: str, value: str) -> QuerySet[Premise]:
        for word in value.split()[:5]:
            qs = qs.filter(address__contains=word)
        return qs
