"""Fault-call grouping (guide §4): many repair calls from one area point to one faulted device.

Each new repair order is placed on the topology through its premise's service point. Inside a live
outage it is linked to that outage (and not dispatched again). Otherwise it is counted: enough calls
under one transformer area, or calls from enough transformer areas under one feeder, within the
window of the utility's ``GroupingRule``, make a proposal at the calls' common ancestor; a dispatcher
confirms it with one click and it becomes a published fault outage."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Min
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.core.errors import Conflict, IllegalTransition, InvalidInput, NotFoundError
from kefu.core.services import sequence_next
from kefu.grid.choices import NodeKind
from kefu.grid.models import Attachment, GridNode
from kefu.org.choices import Capability
from kefu.org.scope import for_user, require
from kefu.workorders.models import WorkOrder
from kefu.workorders.services import workorder_annotate

from . import fanout, notices
from .choices import FAULT_CLASS, LIVE, Action, MessageKind, ProposalStatus, Status
from .events import outage_event
from .models import AffectedAccount, FaultCall, FaultProposal, GroupingRule, Outage, OutageNode

REPAIR_TYPES = frozenset({"repair", "gas_repair"})
AREA_KINDS = frozenset({NodeKind.TRANSFORMER_AREA, NodeKind.BUILDING, NodeKind.RISER})
FEEDER_KINDS = frozenset({NodeKind.FEEDER, NodeKind.PRESSURE_ZONE})


def _chain(node: GridNode) -> list[GridNode]:
    """The node and its ancestors, nearest first (one query)."""
    ids = node.ancestor_ids()
    found = GridNode.objects.in_bulk(ids)
    return [found[i] for i in reversed(ids) if i in found]


def _common_path(paths: list[str]) -> str:
    """Longest common prefix of materialised paths, cut at a whole step."""
    first, last = min(paths), max(paths)
    size = 0
    for a, b in zip(first, last, strict=False):
        if a != b:
            break
        size += 1
    prefix = first[:size]
    return prefix[: prefix.rfind(".") + 1]


def live_outage_for(*, account_id: int | None, chain_ids: list[int], now: datetime) -> Outage | None:
    """A live outage in force now that covers the account or one of the nodes above the premise."""
    if account_id is not None:
        hit = (AffectedAccount.objects.filter(account_id=account_id, outage__status__in=LIVE,
                                              outage__planned_start__lte=now)
               .select_related("outage").order_by("-outage__planned_start").first())
        if hit is not None:
            return hit.outage
    scope = (OutageNode.objects.filter(node_id__in=chain_ids, outage__status__in=LIVE, outage__planned_start__lte=now)
             .select_related("outage").order_by("-outage__planned_start").first())
    return scope.outage if scope is not None else None


def link_call(order: WorkOrder, outage: Outage, actor: Any, now: datetime, *, node: GridNode | None = None) -> None:
    """Mark the order as waiting on the outage, on both timelines."""
    FaultCall.objects.update_or_create(order=order, defaults={"outage": outage, "utility": order.utility,
                                                               "at": now, **({"node": node} if node else {})})
    _note_link(order, outage, actor, now)


def _note_link(order: WorkOrder, outage: Outage, actor: Any, now: datetime) -> None:
    outage_event(outage, Action.LINK, actor, now, text=order.number, data={"order": order.pk})
    workorder_annotate(order=order, actor=actor, now=now, data={"outage": outage.pk}, text=_(
        "Inside the known outage %(number)s, expected restoration %(end)s: linked to it, not dispatched again; "
        "it is resolved when supply is restored.") % {"number": outage.number,
                                                       "end": notices.local_text(outage.planned_end)})


def fault_call_received(order: WorkOrder, actor: Any, now: datetime) -> FaultCall | None:
    """Place a new repair order; link, group or just count it. Runs inside the intake transaction."""
    if order.order_type.code not in REPAIR_TYPES or order.premise_id is None:
        return None
    attachment = (Attachment.objects.filter(service_point__premise_id=order.premise_id,
                                            service_point__utility=order.utility)
                  .select_related("node").order_by("service_point_id").first())
    if attachment is None:
        return None
    chain = _chain(attachment.node)
    area = next((n for n in chain if n.kind in AREA_KINDS), None)
    feeder = next((n for n in chain if n.kind in FEEDER_KINDS), None)
    outage = live_outage_for(account_id=order.account_id, chain_ids=[n.pk for n in chain], now=now)
    if outage is not None:
        call = FaultCall.objects.create(order=order, utility=order.utility, node=attachment.node, area=area,
                                        feeder=feeder, at=now, outage=outage)
        _note_link(order, outage, actor, now)
        return call
    call = FaultCall.objects.create(order=order, utility=order.utility, node=attachment.node, area=area,
                                    feeder=feeder, at=now)
    _group(call, chain, now)
    return call


def _group(call: FaultCall, chain: list[GridNode], now: datetime) -> None:
    covering = FaultProposal.objects.filter(status=ProposalStatus.OPEN, node_id__in=[n.pk for n in chain]).first()
    if covering is not None:
        FaultCall.objects.filter(pk=call.pk).update(proposal=covering)
        FaultProposal.objects.filter(pk=covering.pk).update(call_count=F("call_count") + 1, last_call_at=now,
                                                            version=F("version") + 1)
        return
    rule = GroupingRule.objects.filter(utility=call.utility).first()
    if rule is None:
        return
    since = now - timedelta(minutes=rule.window_minutes)
    # Calls a dispatcher already judged "not one fault" (a dismissed proposal) do not count again.
    waiting = (FaultCall.objects.filter(at__gte=since, at__lte=now, outage__isnull=True, utility=call.utility)
               .exclude(proposal__status=ProposalStatus.DISMISSED))
    target: GridNode | None = None
    if call.feeder_id is not None:
        areas = list(waiting.filter(feeder_id=call.feeder_id, area__isnull=False)
                     .values_list("area_id", flat=True).distinct())
        if len(areas) >= rule.feeder_areas:
            paths = list(GridNode.objects.filter(pk__in=areas).values_list("path", flat=True))
            target = GridNode.objects.filter(path=_common_path(paths)).first()
    if (target is None and call.area_id is not None
            and waiting.filter(area_id=call.area_id).count() >= rule.area_calls):
        target = next(n for n in chain if n.pk == call.area_id)
    if target is not None:
        _propose(target, call, since, now)


def _propose(target: GridNode, call: FaultCall, since: datetime, now: datetime) -> None:
    """Open (or widen) the proposal at ``target`` and gather the window's calls under it."""
    below = list(FaultProposal.objects.filter(status=ProposalStatus.OPEN, node__path__startswith=target.path)
                 .order_by("first_call_at", "id"))
    try:
        with transaction.atomic():
            if below:
                proposal = below[0]
                proposal.node = target
                proposal.unit_id = target.unit_id
                proposal.save(update_fields=["node", "unit"])
                others = [p.pk for p in below[1:]]
                FaultCall.objects.filter(proposal_id__in=others).update(proposal=proposal)
                FaultProposal.objects.filter(pk__in=others).update(status=ProposalStatus.DISMISSED, decided_at=now)
            else:
                proposal = FaultProposal.objects.create(node=target, utility=call.utility, unit_id=target.unit_id,
                                                        first_call_at=now, last_call_at=now)
    except IntegrityError:
        # Another call opened the same proposal a moment ago: join it.
        proposal = FaultProposal.objects.get(status=ProposalStatus.OPEN, node=target)
    (FaultCall.objects.filter(at__gte=since, outage__isnull=True, proposal__isnull=True, utility=call.utility,
                              node__path__startswith=target.path).update(proposal=proposal))
    stats = FaultCall.objects.filter(proposal=proposal).aggregate(n=Count("pk"), first=Min("at"))
    FaultProposal.objects.filter(pk=proposal.pk).update(call_count=stats["n"], first_call_at=stats["first"] or now,
                                                        last_call_at=now, version=F("version") + 1)


# Dispatcher decisions --------------------------------------------------------------------------

def proposal_qs(user: Any) -> Any:
    return for_user(FaultProposal.objects.all(), user, capability=Capability.ORDER_DISPATCH)


def _lock_proposal(actor: Any, proposal: FaultProposal | int, expected_version: int | None) -> FaultProposal:
    pk = proposal.pk if isinstance(proposal, FaultProposal) else proposal
    locked = proposal_qs(actor).select_for_update(of=("self",)).select_related("node").filter(pk=pk).first()
    if locked is None:
        raise NotFoundError(_("No such fault proposal in your area."))
    if expected_version is not None and locked.version != expected_version:
        raise Conflict(_("More calls arrived since you looked; reload the proposal and confirm again."))
    if locked.status != ProposalStatus.OPEN:
        raise IllegalTransition(_("This proposal was already %(status)s.") % {
            "status": ProposalStatus(locked.status).label})
    return locked


def proposal_confirm(*, actor: Any, proposal: FaultProposal | int, expected_hours: int | None = None,
                     expected_version: int | None = None, now: datetime | None = None) -> Outage:
    """One click: the proposal becomes a published fault outage at its node; the earliest call stays the
    repair order for the crew, the others wait on the outage; affected customers get an SMS."""
    require(actor, Capability.ORDER_DISPATCH)
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock_proposal(actor, proposal, expected_version)
        rule = GroupingRule.objects.filter(utility=locked.utility).first()
        hours = expected_hours or (rule.expected_hours if rule else 4)
        if not 1 <= hours <= 72:
            raise InvalidInput({"expected_hours": [_("Expected restoration must be 1 to 72 hours away.")]})
        node = locked.node
        seq = sequence_next(key="outage")
        outage = Outage.objects.create(
            number=f"TD{timezone.localtime(now):%y%m%d}{seq:06d}", utility=locked.utility,
            outage_class=FAULT_CLASS[locked.utility], status=Status.PUBLISHED, unit_id=node.unit_id,
            area=node.name, reason=_("Fault on %(node)s (%(n)d repair calls)") % {"node": node.name,
                                                                                 "n": locked.call_count},
            planned_start=locked.first_call_at, planned_end=now + timedelta(hours=hours),
            announced_start=locked.first_call_at, announced_end=now + timedelta(hours=hours),
            actual_start=locked.first_call_at, created_by=actor, created_at=now, published_at=now,
            channels=["sms", "list", "desk", "ivr"],
        )
        OutageNode.objects.create(outage=outage, node=node)
        fanout.affected_compute(outage)
        outage.save(update_fields=["affected_count", "important_count", "dedicated_count"])
        queued = fanout.sms_queue(outage, body=notices.render(MessageKind.PUBLISHED, outage),
                                  key=f"outage:{outage.pk}:published:")
        calls = list(FaultCall.objects.filter(proposal=locked).select_related("order").order_by("at", "order_id"))
        outage_event(outage, Action.PUBLISH, actor, now, from_status=Status.DRAFT, data={
            "proposal": locked.pk, "calls": len(calls), "lead_order": calls[0].order_id if calls else None,
            "affected": outage.affected_count, "sms": queued})
        FaultCall.objects.filter(proposal=locked).update(outage=outage)
        if calls:
            FaultCall.objects.filter(pk=calls[0].pk).update(lead=True)
        for call in calls[1:]:
            _note_link(call.order, outage, actor, now)
        locked.status, locked.outage, locked.decided_by, locked.decided_at = (
            ProposalStatus.CONFIRMED, outage, actor, now)
        locked.version += 1
        locked.save(update_fields=["status", "outage", "decided_by", "decided_at", "version"])
    return outage


def proposal_dismiss(*, actor: Any, proposal: FaultProposal | int, reason: str,
                     expected_version: int | None = None, now: datetime | None = None) -> FaultProposal:
    require(actor, Capability.ORDER_DISPATCH)
    text = (reason or "").strip()
    if not text:
        raise InvalidInput({"reason": [_("Say why these calls are not one fault.")]})
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock_proposal(actor, proposal, expected_version)
        locked.status, locked.decided_by, locked.decided_at = ProposalStatus.DISMISSED, actor, now
        locked.version += 1
        locked.save(update_fields=["status", "decided_by", "decided_at", "version"])
    return locked


def dispatch_refusal(order: WorkOrder) -> str | None:
    """A repair order waiting on a live outage is not dispatched again; the outage's lead order is."""
    call = (FaultCall.objects.filter(order_id=order.pk, outage__isnull=False, lead=False)
            .select_related("outage").first())
    if call is None or call.outage is None or call.outage.status not in LIVE:
        return None
    return _("This call waits on the outage %(number)s and is resolved with it; it is not dispatched again.") % {
        "number": call.outage.number}
