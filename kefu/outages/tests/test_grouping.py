"""Fault-call grouping (guide §4): repair calls from one area are grouped into a proposal at the device
they point to; a dispatcher confirms it into a published fault outage; later calls are linked to it
and not dispatched again; restoration resolves them all and tells every caller once."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from kefu.core.errors import Conflict, IllegalTransition, InvalidInput, NotFoundError
from kefu.core.models import OutboxMessage
from kefu.customers.services import account_open
from kefu.customers.tests.factories import make_account
from kefu.grid.services import attach
from kefu.grid.tests.factories import make_node
from kefu.outages import services as svc
from kefu.outages.choices import Action, MessageKind, OutageClass, ProposalStatus, Status
from kefu.outages.grouping import proposal_confirm, proposal_dismiss, proposal_qs
from kefu.outages.models import FaultCall, FaultProposal, MessageTemplate, Outage, OutageEvent, OutageNode
from kefu.outages.selectors import linked_calls, open_proposals
from kefu.outages.tests.factories import Grid
from kefu.workorders.models import OrderEvent, WorkOrder
from kefu.workorders.services import workorder_dispatch, workorder_intake

if TYPE_CHECKING:
    from conftest import World

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("in_english")]

SHANGHAI = ZoneInfo("Asia/Shanghai")
T = datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI)


def call(world: World, account: Any, minutes: float, *, kind: str = "repair", **kw: Any) -> WorkOrder:
    """A repair call taken by the A1 agent ``minutes`` after T."""
    return workorder_intake(actor=world.agent_a1, order_type=kind, channel="phone", account=account,
                            content="家里停电了", now=T + timedelta(minutes=minutes), **kw).order


def proposals(status: str = ProposalStatus.OPEN) -> list[FaultProposal]:
    return list(FaultProposal.objects.filter(status=status).select_related("node").order_by("id"))


def fresh(obj: Any) -> Any:
    return type(obj).objects.get(pk=obj.pk)


def burst(world: World, grid: Grid) -> list[WorkOrder]:
    """Three calls under TA1 and one under TA2 within 20 minutes: a fault on F1."""
    ta1, ta2 = grid.accounts["TA1"], grid.accounts["TA2"]
    return [call(world, ta1[0], 0), call(world, ta1[1], 5), call(world, ta1[2], 8), call(world, ta2[0], 20)]


# Grouping ----------------------------------------------------------------------------------------

def test_three_calls_under_one_transformer_area_make_one_proposal(world: World, grid: Grid) -> None:
    ta1 = grid.accounts["TA1"]
    call(world, ta1[0], 0)
    call(world, ta1[1], 10)
    assert proposals() == []
    call(world, ta1[2], 29)
    [proposal] = proposals()
    assert proposal.node == grid.ta1 and proposal.utility == "power" and proposal.unit == world.county_a1
    assert proposal.call_count == 3
    assert (proposal.first_call_at, proposal.last_call_at) == (T, T + timedelta(minutes=29))
    call(world, ta1[0], 40)  # a fourth call joins the open proposal
    [proposal] = proposals()
    assert proposal.call_count == 4 and proposal.last_call_at == T + timedelta(minutes=40)
    assert FaultCall.objects.filter(proposal=proposal).count() == 4
    assert [p.pk for p in open_proposals(world.supervisor)] == [proposal.pk]


def test_calls_from_two_transformer_areas_point_to_the_feeder(world: World, grid: Grid) -> None:
    ta1, ta2 = grid.accounts["TA1"], grid.accounts["TA2"]
    call(world, ta1[0], 0)
    call(world, ta1[1], 5)
    assert proposals() == []
    call(world, ta2[0], 12)
    [proposal] = proposals()
    assert proposal.node == grid.f1 and proposal.call_count == 3 and proposal.first_call_at == T


def test_an_area_proposal_is_widened_to_the_feeder_not_duplicated(world: World, grid: Grid) -> None:
    ta1, ta2 = grid.accounts["TA1"], grid.accounts["TA2"]
    for minutes, account in enumerate(ta1):
        call(world, account, minutes)
    [at_area] = proposals()
    assert at_area.node == grid.ta1
    call(world, ta2[0], 15)
    [widened] = proposals()
    assert widened.pk == at_area.pk and widened.node == grid.f1 and widened.call_count == 4
    assert FaultProposal.objects.count() == 1
    assert widened.version > at_area.version


def test_calls_spread_over_more_than_the_window_make_no_proposal(world: World, grid: Grid) -> None:
    ta1 = grid.accounts["TA1"]
    with time_machine.travel(T, tick=False) as clock:
        for account in ta1:
            workorder_intake(actor=world.agent_a1, order_type="repair", channel="phone", account=account,
                             content="家里停电了")
            clock.shift(timedelta(minutes=20))  # 0, 20, 40: never three within 30 minutes
    assert proposals() == []
    assert FaultCall.objects.filter(area=grid.ta1, proposal__isnull=True).count() == 3
    assert list(FaultCall.objects.order_by("at").values_list("at", flat=True)) == [
        T, T + timedelta(minutes=20), T + timedelta(minutes=40)]


def gas_building(world: World) -> Any:
    actor, unit = world.supervisor, world.county_a1
    station = make_node(actor=actor, unit=unit, code="GS", kind="gas_station", utility="gas")
    zone = make_node(actor=actor, unit=unit, parent=station, code="PZ1", kind="pressure_zone")
    return make_node(actor=actor, unit=unit, parent=zone, code="BLD1", kind="building")


def test_gas_repair_calls_do_not_mix_with_power(world: World, grid: Grid) -> None:
    building = gas_building(world)
    gas_accounts = []
    for power in grid.accounts["TA1"]:  # the same homes take gas too
        gas = account_open(customer=power.customer, premise=power.premise, utility="gas",
                           customer_class="g_residential", actor=None, unit=world.county_a1)
        attach(actor=world.supervisor, service_point=gas.service_point_id or 0, node=building)
        gas_accounts.append(gas)
    call(world, grid.accounts["TA1"][0], 0)
    call(world, grid.accounts["TA1"][1], 2)
    call(world, gas_accounts[0], 4, kind="gas_repair")
    assert proposals() == []  # two power calls and one gas call are not three calls
    call(world, gas_accounts[1], 6, kind="gas_repair")
    call(world, gas_accounts[2], 8, kind="gas_repair")
    [gas_proposal] = proposals()
    assert gas_proposal.node == building and gas_proposal.utility == "gas" and gas_proposal.call_count == 3
    call(world, grid.accounts["TA1"][2], 10)
    power_proposal = next(p for p in proposals() if p.utility == "power")
    assert power_proposal.node == grid.ta1 and power_proposal.call_count == 3
    assert fresh(gas_proposal).call_count == 3


def test_other_order_types_are_ignored(world: World, grid: Grid) -> None:
    for minutes, account in enumerate(grid.accounts["TA1"]):
        call(world, account, minutes, kind="complaint_outage")
        call(world, account, minutes, kind="enquiry")
    assert not FaultCall.objects.exists() and proposals() == []


def test_an_order_whose_premise_is_not_attached_is_ignored(world: World, grid: Grid) -> None:
    loose = [make_account(unit=world.county_a1) for _i in range(3)]
    for minutes, account in enumerate(loose):
        call(world, account, minutes)
    call(world, None, 4, caller_phone="13600001111")  # no account, no premise
    assert not FaultCall.objects.exists() and proposals() == []


# Confirm, link, dispatch, restore ----------------------------------------------------------------

def test_confirm_links_later_calls_refuses_their_dispatch_and_restore_resolves_them(world: World,
                                                                                  grid: Grid) -> None:
    orders = burst(world, grid)
    [proposal] = proposals()
    confirmed_at = T + timedelta(minutes=25)
    outage = proposal_confirm(actor=world.supervisor, proposal=proposal, now=confirmed_at)

    # A published fault outage at the proposal's node, customers told at once.
    outage = fresh(outage)
    assert outage.status == Status.PUBLISHED and outage.outage_class == OutageClass.FAULT
    assert list(OutageNode.objects.filter(outage=outage).values_list("node", flat=True)) == [grid.f1.pk]
    assert outage.area == grid.f1.name and outage.affected_count == 5 and outage.important_count == 1
    assert outage.planned_start == outage.actual_start == T
    assert outage.planned_end == confirmed_at + timedelta(hours=4) and outage.published_at == confirmed_at
    assert OutboxMessage.objects.filter(dedup_key__startswith=f"outage:{outage.pk}:published:").count() == 5
    publish = OutageEvent.objects.get(outage=outage, kind=Action.PUBLISH)
    assert publish.data["proposal"] == proposal.pk and publish.data["lead_order"] == orders[0].pk
    proposal = fresh(proposal)
    assert proposal.status == ProposalStatus.CONFIRMED and proposal.outage == outage
    assert proposal.decided_by == world.supervisor and proposal.decided_at == confirmed_at

    # The calls wait on the outage; the earliest is the lead that goes to the crew.
    calls = list(linked_calls(outage))
    assert [c.order_id for c in calls] == [o.pk for o in orders]
    assert [c.lead for c in calls] == [True, False, False, False]
    for order in orders[1:]:
        note = OrderEvent.objects.get(order=order, kind="note")
        assert outage.number in note.text and "not dispatched again" in note.text
        assert note.data == {"outage": outage.pk}
    assert not OrderEvent.objects.filter(order=orders[0], kind="note").exists()

    # A new repair call under F1 is linked to the known outage at once.
    latecomer = call(world, grid.accounts["TA2"][1], 40)
    late = FaultCall.objects.get(order=latecomer)
    assert late.outage == outage and late.proposal is None and not late.lead
    note = OrderEvent.objects.get(order=latecomer, kind="note")
    assert f"Inside the known outage {outage.number}, expected restoration 12月01日 13:25" in note.text
    assert OutageEvent.objects.filter(outage=outage, kind=Action.LINK, data__order=latecomer.pk).exists()
    assert proposals() == []  # no new proposal for calls already explained

    # Only the lead order is dispatched.
    for waiting in (latecomer, orders[2]):
        with pytest.raises(IllegalTransition) as caught:
            workorder_dispatch(actor=world.supervisor, order=waiting, unit=world.county_a1,
                               now=T + timedelta(minutes=41))
        assert outage.number in str(caught.value.message)
        assert fresh(waiting).status == "accepted"
    lead = workorder_dispatch(actor=world.supervisor, order=orders[0], unit=world.county_a1,
                              now=T + timedelta(minutes=41))
    assert lead.status == "dispatched"

    # Restoration resolves every linked order and tells each caller once.
    restored_at = T + timedelta(hours=2, minutes=30)
    svc.outage_restore(actor=world.supervisor, outage=outage, actual_end=restored_at,
                       now=restored_at + timedelta(minutes=5))
    all_orders = [*orders, latecomer]
    for order in all_orders:
        order = fresh(order)
        assert order.status == "replied"
        assert order.result == f"Supply restored at 12月01日 11:30 (outage {outage.number})."
        assert "the customer was told by SMS" in order.reply
    restored = OutboxMessage.objects.filter(dedup_key__startswith=f"outage:{outage.pk}:restored:")
    per_phone = Counter(restored.values_list("recipient", flat=True))
    callers = {fresh(o).caller_phone for o in all_orders}
    affected_phones = {str(a.customer.contacts.get().phone) for a in grid.under("TA1", "TA2")}
    assert set(per_phone) == affected_phones | callers and set(per_phone.values()) == {1}
    assert "已于12月01日 11:30恢复供电" in restored.first().body  # type: ignore[union-attr]
    event = OutageEvent.objects.get(outage=outage, kind=Action.RESTORE)
    assert event.data["resolved_orders"] == 5 and event.data["sms"] == 5


def test_a_caller_on_another_phone_hears_of_the_restoration_too(world: World, grid: Grid) -> None:
    ta1 = grid.accounts["TA1"]
    call(world, ta1[0], 0)
    call(world, ta1[1], 1, caller_phone="136 0000 2222")  # a neighbour calls for the family
    call(world, ta1[2], 2)
    outage = proposal_confirm(actor=world.supervisor, proposal=proposals()[0], now=T + timedelta(minutes=5))
    svc.outage_restore(actor=world.supervisor, outage=outage, now=T + timedelta(hours=1))
    recipients = Counter(OutboxMessage.objects.filter(dedup_key__startswith=f"outage:{outage.pk}:restored:")
                         .values_list("recipient", flat=True))
    assert recipients["+8613600002222"] == 1 and len(recipients) == 4 and set(recipients.values()) == {1}


def test_a_call_inside_a_live_planned_outage_is_linked_not_counted(world: World, grid: Grid) -> None:
    start = T - timedelta(hours=1)
    outage = svc.outage_create(actor=world.supervisor, now=start - timedelta(days=8), data={
        "utility": "power", "outage_class": "planned", "area": "文三路2号台区", "reason": "检修",
        "planned_start": start, "planned_end": start + timedelta(hours=6), "nodes": ["TA2"]})
    svc.outage_review(actor=world.supervisor, outage=outage, now=start - timedelta(days=8))
    svc.outage_publish(actor=world.supervisor, outage=outage, now=start - timedelta(days=8))
    order = call(world, grid.accounts["TA2"][0], 0)
    assert FaultCall.objects.get(order=order).outage == fresh(outage)
    with pytest.raises(IllegalTransition):
        workorder_dispatch(actor=world.supervisor, order=order, unit=world.county_a1, now=T + timedelta(minutes=1))
    # Before its start a planned outage explains nothing: the call is counted as usual.
    early = call(world, grid.accounts["TA2"][1], -120)
    assert FaultCall.objects.get(order=early).outage is None


def test_an_unplaced_call_can_be_linked_by_hand(world: World, grid: Grid) -> None:
    burst(world, grid)
    outage = proposal_confirm(actor=world.supervisor, proposal=proposals()[0], now=T + timedelta(minutes=25))
    svc.outage_link_order(actor=world.supervisor, outage=outage, order=world.order_a1, now=T + timedelta(minutes=30))
    assert FaultCall.objects.get(order=world.order_a1).outage == outage
    assert OrderEvent.objects.filter(order=world.order_a1, kind="note", data__outage=outage.pk).exists()
    with pytest.raises(IllegalTransition):
        workorder_dispatch(actor=world.supervisor, order=world.order_a1, unit=world.county_a1)
    with pytest.raises(InvalidInput) as caught:  # another city's order
        svc.outage_link_order(actor=world.supervisor, outage=outage, order=world.order_b1)
    assert "order" in caught.value.errors
    svc.outage_restore(actor=world.supervisor, outage=outage, now=T + timedelta(hours=1))
    assert fresh(world.order_a1).status == "replied"
    with pytest.raises(IllegalTransition):  # a restored outage takes no more calls
        svc.outage_link_order(actor=world.supervisor, outage=outage, order=world.order_a2)


# Decisions: dismiss, twice, stale, outsiders ------------------------------------------------------

def test_dismiss_needs_a_reason(world: World, grid: Grid) -> None:
    burst(world, grid)
    [proposal] = proposals()
    with pytest.raises(InvalidInput) as caught:
        proposal_dismiss(actor=world.supervisor, proposal=proposal, reason="  ", now=T + timedelta(minutes=30))
    assert "reason" in caught.value.errors and fresh(proposal).status == ProposalStatus.OPEN
    proposal_dismiss(actor=world.supervisor, proposal=proposal, reason="各户表后故障，非线路问题",
                     now=T + timedelta(minutes=30))
    dismissed = fresh(proposal)
    assert dismissed.status == ProposalStatus.DISMISSED and dismissed.decided_by == world.supervisor
    assert not Outage.objects.exists()
    with pytest.raises(IllegalTransition):
        proposal_confirm(actor=world.supervisor, proposal=proposal, now=T + timedelta(minutes=31))


def test_calls_of_a_dismissed_proposal_do_not_propose_again(world: World, grid: Grid) -> None:
    ta1 = grid.accounts["TA1"]
    for minute, account in enumerate(ta1):
        call(world, account, minute)
    [proposal] = proposals()
    proposal_dismiss(actor=world.supervisor, proposal=proposal, reason="各户表后故障", now=T + timedelta(minutes=5))
    call(world, ta1[0], 6)  # one more call: the dismissed three are not counted with it
    assert proposals() == []
    call(world, ta1[1], 7)
    call(world, ta1[2], 8)  # three new calls in the window make a new proposal of their own
    [again] = proposals()
    assert again.pk != proposal.pk and again.call_count == 3


def test_a_proposal_confirmed_twice_is_refused(world: World, grid: Grid) -> None:
    burst(world, grid)
    [proposal] = proposals()
    proposal_confirm(actor=world.supervisor, proposal=proposal, now=T + timedelta(minutes=25))
    with pytest.raises(IllegalTransition) as caught:
        proposal_confirm(actor=world.supervisor, proposal=proposal, now=T + timedelta(minutes=26))
    assert "already Confirmed" in str(caught.value.message)
    assert Outage.objects.count() == 1


def test_a_stale_proposal_version_is_a_conflict(world: World, grid: Grid) -> None:
    burst(world, grid)
    [seen] = proposals()
    call(world, grid.accounts["TA2"][1], 22)  # one more call while the dispatcher looked
    with pytest.raises(Conflict):
        proposal_confirm(actor=world.supervisor, proposal=seen, expected_version=seen.version,
                         now=T + timedelta(minutes=25))
    assert fresh(seen).status == ProposalStatus.OPEN and not Outage.objects.exists()
    outage = proposal_confirm(actor=world.supervisor, proposal=seen, expected_version=fresh(seen).version,
                              now=T + timedelta(minutes=25))
    assert FaultCall.objects.filter(outage=outage).count() == 5


def test_expected_hours_must_be_sensible(world: World, grid: Grid) -> None:
    burst(world, grid)
    [proposal] = proposals()
    with pytest.raises(InvalidInput) as caught:
        proposal_confirm(actor=world.supervisor, proposal=proposal, expected_hours=100, now=T + timedelta(minutes=25))
    assert caught.value.errors == {"expected_hours": ["Expected restoration must be 1 to 72 hours away."]}
    assert fresh(proposal).status == ProposalStatus.OPEN
    outage = proposal_confirm(actor=world.supervisor, proposal=proposal, expected_hours=2,
                              now=T + timedelta(minutes=25))
    assert outage.planned_end == T + timedelta(hours=2, minutes=25)


def test_an_outsider_cannot_see_or_decide(world: World, grid: Grid) -> None:
    burst(world, grid)
    [proposal] = proposals()
    for stranger in (world.outsider, world.agent_a2):
        assert not proposal_qs(stranger).exists() and not open_proposals(stranger).exists()
        with pytest.raises(NotFoundError) as caught:
            proposal_confirm(actor=stranger, proposal=proposal, now=T + timedelta(minutes=25))
        assert caught.value.status_code == 404
        with pytest.raises(NotFoundError):
            proposal_dismiss(actor=stranger, proposal=proposal, reason="不是", now=T + timedelta(minutes=25))
    assert fresh(proposal).status == ProposalStatus.OPEN
    assert proposal_qs(world.agent_a1).filter(pk=proposal.pk).exists()  # the county's own agents see it


def test_restore_leaves_orders_past_their_result_alone(world: World, grid: Grid) -> None:
    orders = burst(world, grid)
    outage = proposal_confirm(actor=world.supervisor, proposal=proposals()[0], now=T + timedelta(minutes=25))
    WorkOrder.objects.filter(pk=orders[3].pk).update(status="cancelled")
    svc.outage_restore(actor=world.supervisor, outage=outage, now=T + timedelta(hours=1))
    assert fresh(orders[3]).status == "cancelled"
    assert [fresh(o).status for o in orders[:3]] == ["replied"] * 3
    assert OutageEvent.objects.get(outage=outage, kind=Action.RESTORE).data["resolved_orders"] == 3


def test_a_caller_on_a_landline_gets_no_sms(world: World, grid: Grid) -> None:
    ta1 = grid.accounts["TA1"]
    call(world, ta1[0], 0, caller_phone="0571-8888 6666")  # from the office phone
    call(world, ta1[1], 1)
    call(world, ta1[2], 2)
    outage = proposal_confirm(actor=world.supervisor, proposal=proposals()[0], now=T + timedelta(minutes=5))
    svc.outage_restore(actor=world.supervisor, outage=outage, now=T + timedelta(hours=1))
    recipients = set(OutboxMessage.objects.filter(dedup_key__startswith=f"outage:{outage.pk}:restored:")
                     .values_list("recipient", flat=True))
    assert recipients == {str(a.customer.contacts.get().phone) for a in ta1}


def test_a_broken_notice_template_refuses_the_confirm_and_keeps_the_proposal(world: World, grid: Grid) -> None:
    orders = burst(world, grid)
    [proposal] = proposals()
    MessageTemplate.objects.filter(kind=MessageKind.PUBLISHED).update(text="{area}停电了")
    with pytest.raises(InvalidInput) as caught:
        proposal_confirm(actor=world.supervisor, proposal=proposal, now=T + timedelta(minutes=25))
    assert list(caught.value.errors) == ["template"]
    assert fresh(proposal).status == ProposalStatus.OPEN and not Outage.objects.exists()
    assert not FaultCall.objects.filter(outage__isnull=False).exists()
    assert not OrderEvent.objects.filter(order__in=orders, kind="note").exists()
    assert not OutboxMessage.objects.filter(source_model="outages.outage").exists()
