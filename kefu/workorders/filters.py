"""The work-queue filters, shared by the queue pages, their htmx table and the API."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import django_filters as df
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kefu.core.choices import UtilityKind
from kefu.org.filters import UnitSubtreeFilter
from kefu.workorders.choices import Channel, Status, TimeState
from kefu.workorders.models import OrderType, WorkOrder


def _day_start(value: Any) -> datetime:
    return timezone.make_aware(datetime.combine(value, time.min))


class WorkOrderFilter(df.FilterSet):
    number = df.CharFilter(field_name="number", max_length=20, label=_("Order number"))
    order_type = df.ModelChoiceFilter(
        queryset=OrderType.objects.all(), method="filter_type", label=_("Type (with its sub-types)")
    )
    status = df.MultipleChoiceFilter(choices=Status.choices, label=_("Status"))
    channel = df.ChoiceFilter(choices=Channel.choices, label=_("Channel"))
    utility = df.ChoiceFilter(choices=UtilityKind.choices, label=_("Utility kind"))
    time_state = df.ChoiceFilter(choices=TimeState.choices, label=_("Time-limit state"))
    unit = UnitSubtreeFilter(label=_("Area unit (and below)"))
    handling_unit = UnitSubtreeFilter(label=_("Handling unit (and below)"))
    accepted_from = df.DateFilter(method="filter_from", label=_("Accepted on or after"))
    accepted_to = df.DateFilter(method="filter_to", label=_("Accepted on or before"))
    supervised = df.BooleanFilter(field_name="supervised", label=_("Supervised"))

    class Meta:
        model = WorkOrder
        fields: list[str] = []

    def filter_type(self, qs: QuerySet[WorkOrder], name: str, value: OrderType | None) -> QuerySet[WorkOrder]:
        if value is None:
            return qs
        ids = [value.pk, *OrderType.objects.filter(parent=value).values_list("pk", flat=True)]
        return qs.filter(order_type_id__in=ids)

    def filter_from(self, qs: QuerySet[WorkOrder], name: str, value: Any) -> QuerySet[WorkOrder]:
        return qs.filter(accepted_at__gte=_day_start(value)) if value else qs

    def filter_to(self, qs: QuerySet[WorkOrder], name: str, value: Any) -> QuerySet[WorkOrder]:
        return qs.filter(accepted_at__lt=_day_start(value + timedelta(days=1))) if value else qs
