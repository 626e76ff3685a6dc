"""Reads for metering: which meter hung on a service point on a day, scoped lists."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Q, QuerySet

from kefu.customers.models import ServicePoint
from kefu.org.choices import Capability
from kefu.org.scope import for_user

from .choices import Resolution
from .models import Meter, MeterEvent, Reading, ReadingException


def meter_at(service_point: ServicePoint | int, on: date) -> Meter | None:
    """The meter installed on the service point on day ``on`` (installed that day or before, not yet
    removed, or removed later)."""
    sp_id = service_point.pk if isinstance(service_point, ServicePoint) else service_point
    event = (MeterEvent.objects.filter(service_point_id=sp_id, installed_on__lte=on)
             .filter(Q(removed_on__isnull=True) | Q(removed_on__gt=on))
             .select_related("meter").order_by("-installed_on", "-id").first())
    return event.meter if event is not None else None


def meter_qs(user: Any) -> QuerySet[Meter]:
    return for_user(Meter.objects.all(), user, capability=Capability.CUSTOMER_VIEW)


def reading_qs(user: Any) -> QuerySet[Reading]:
    return for_user(Reading.objects.all(), user, capability=Capability.CUSTOMER_VIEW)


def exception_queue(user: Any, *, rule: str = "") -> QuerySet[ReadingException]:
    qs = (for_user(ReadingException.objects.all(), user, capability=Capability.CUSTOMER_VIEW)
          .filter(resolution=Resolution.OPEN).select_related("meter", "reading"))
    if rule:
        qs = qs.filter(rule=rule)
    return qs.order_by("raised_at", "id")
