"""Reads of outages: scoped lists and details, the live outages over a set of accounts (desk banner,
IVR), the public list (portal), and open fault proposals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from kefu.core.api import parse_id
from kefu.org.choices import Capability
from kefu.org.scope import for_user

from .choices import LIVE, MARKETING_CLASSES, ProposalStatus
from .models import AffectedAccount, FaultCall, FaultProposal, Outage, OutageEvent

# The desk warns about outages in force now and those starting within this horizon.
BANNER_HORIZON = timedelta(hours=24)


def outage_qs(user: Any) -> QuerySet[Outage]:
    return for_user(Outage.objects.all(), user, capability=Capability.OUTAGE_VIEW)


def outage_get(user: Any, pk: Any) -> Outage:
    outage = (outage_qs(user).select_related("unit", "account", "order", "created_by", "reviewed_by", "override_by")
              .filter(pk=parse_id(pk) or 0).first())
    if outage is None:
        raise Http404
    return outage


@dataclass(frozen=True)
class OutageFilters:
    status: str = ""
    outage_class: str = ""
    utility: str = ""
    live: bool = False
    q: str = ""
    start_from: date | None = None
    start_to: date | None = None


def outage_list(user: Any, filters: OutageFilters | None = None) -> QuerySet[Outage]:
    f = filters or OutageFilters()
    qs = outage_qs(user).select_related("unit")
    if f.live:
        qs = qs.filter(status__in=LIVE)
    if f.status:
        qs = qs.filter(status=f.status)
    if f.outage_class:
        qs = qs.filter(outage_class=f.outage_class)
    if f.utility:
        qs = qs.filter(utility=f.utility)
    if f.q:
        qs = qs.filter(Q(number__icontains=f.q) | Q(area__icontains=f.q) | Q(reason__icontains=f.q))
    if f.start_from:
        qs = qs.filter(planned_start__date__gte=f.start_from)
    if f.start_to:
        qs = qs.filter(planned_start__date__lte=f.start_to)
    return qs.order_by("-planned_start", "-id")


def outage_events(outage: Outage) -> QuerySet[OutageEvent]:
    return OutageEvent.objects.filter(outage=outage).select_related("actor").order_by("at", "id")


def affected_accounts(outage: Outage) -> QuerySet[AffectedAccount]:
    return (AffectedAccount.objects.filter(outage=outage)
            .select_related("account", "account__customer", "account__premise")
            .order_by("-important", "-dedicated", "account__number"))


def linked_calls(outage: Outage) -> QuerySet[FaultCall]:
    return FaultCall.objects.filter(outage=outage).select_related("order").order_by("at", "order_id")


def live_for_accounts(account_ids: list[int], *, now: datetime | None = None) -> list[Outage]:
    """Live outages over any of the accounts, in force now or starting within the banner horizon
    (nearest start first). One indexed query; the accounts are already in the caller's scope."""
    if not account_ids:
        return []
    now = now or timezone.now()
    ids = (AffectedAccount.objects.filter(account_id__in=account_ids[:50]).values("outage_id"))
    return list(Outage.objects.filter(pk__in=ids, status__in=LIVE, planned_start__lte=now + BANNER_HORIZON)
                .filter(Q(actual_end__isnull=True)).order_by("planned_start", "id")[:5])


def public_live(*, utility: str = "", now: datetime | None = None, days: int = 7) -> QuerySet[Outage]:
    """What the public list shows: live outages and those starting within ``days``; no personal data,
    so no disconnections of single accounts (arrears, theft, violation)."""
    now = now or timezone.now()
    qs = (Outage.objects.filter(status__in=LIVE, planned_start__lte=now + timedelta(days=days))
          .exclude(outage_class__in=MARKETING_CLASSES))
    if utility:
        qs = qs.filter(utility=utility)
    return qs.only("number", "utility", "outage_class", "status", "area", "reason", "planned_start", "planned_end",
                   "unit_id").order_by("planned_start", "id")


def open_proposals(user: Any) -> QuerySet[FaultProposal]:
    return (for_user(FaultProposal.objects.all(), user, capability=Capability.ORDER_DISPATCH)
            .filter(status=ProposalStatus.OPEN).select_related("node", "unit").order_by("-last_call_at"))


def proposal_calls(proposal: FaultProposal) -> QuerySet[FaultCall]:
    return FaultCall.objects.filter(proposal=proposal).select_related("order", "node").order_by("at")


