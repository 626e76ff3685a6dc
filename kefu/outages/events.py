"""Appending to the outage timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .models import Outage, OutageEvent


def outage_event(outage: Outage, kind: str, actor: Any, now: datetime, *, from_status: str = "", text: str = "",
                 data: dict[str, Any] | None = None) -> OutageEvent:
    return OutageEvent.objects.create(
        outage=outage, kind=kind, from_status=from_status,
        to_status=outage.status if from_status and outage.status != from_status else "", text=text,
        data=data or {}, actor=actor if getattr(actor, "pk", None) else None, at=now,
    )
