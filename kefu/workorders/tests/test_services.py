"""Work-order services: intake, first responsibility, refusals with clear field messages, urging,
supervision, merging, repeat calls, reopening and cancelling."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from kefu.core.errors import Conflict, IllegalTransition, InvalidInput, PermissionDeniedError
from kefu.core.models import OutboxMessage
from kefu.org.tests.factories import make_unit
from kefu.workorders import services as svc
from kefu.workorders.choices import ClockKind, ClockState, EventKind, Status, TimeState
from kefu.workorders.models import OrderClock, OrderEvent, WorkOrder
from kefu.workorders.tests.factories import at, intake, local, snapshot
from kefu.workorders.watcher import workorder_watch

pytestmark = pytest.mark.django_db

HANDLER_SMS = "+8613900001111"
LEADER_SMS = "+8613900002222"
TUE = (2026, 3, 10)


def fresh(order: WorkOrder) -> WorkOrder:
    return WorkOrder.objects.get(pk=order.pk)


def events(order: WorkOrder) -> list[str]:
    return list(OrderEvent.objects.filter(order=order).order_by("at", "id").values_list("kind", flat=True))


def sms_to(recipient: str) -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(channel="sms", recipient=recipient).order_by("id"))


def refused_with(exc: InvalidInput, field: str) -> str:
    assert field in exc.errors, exc.errors
    message = exc.errors[field][0]
    assert isinstance(message, str) and message.strip()
    return message


def dispatched(world: Any, station: Any, order: WorkOrder | None = None, **kw: Any) -> WorkOrder:
    return svc.workorder_dispatch(actor=world.agent_a1, order=order or world.order_a1, unit=station.unit, **kw)


def acknowledged(world: Any, station: Any, order: WorkOrder | None = None) -> WorkOrder:
    return svc.workorder_acknowledge(actor=station.handler, order=dispatched(world, station, order))


# ------------------------------------------------------------------------------------------ intake


def test_intake_with_the_same_key_twice_gives_one_order(world: Any):
    before = WorkOrder.objects.count()
    first = svc.workorder_intake(actor=world.agent_a1, order_type="repair", channel="phone",
                                 account=world.account_a1, content="整栋楼停电", intake_key="cti-call-0001")
    again = svc.workorder_intake(actor=world.agent_a1, order_type="repair", channel="phone",
                                 account=world.account_a1, content="整栋楼停电", intake_key="cti-call-0001")
    assert first.created is True
    assert again.created is False
    assert again.order.pk == first.order.pk
    assert WorkOrder.objects.count() == before + 1
    assert events(first.order) == [EventKind.ACCEPTED]
    # The key belongs to the agent who used it: another agent's call is another order.
    other = svc.workorder_intake(actor=world.supervisor, order_type="repair", channel="phone",
                                 account=world.account_a1, content="整栋楼停电", intake_key="cti-call-0001")
    assert other.created and other.order.pk != first.order.pk


def test_intake_records_who_where_and_what(world: Any):
    order = intake(world.agent_a1, world.account_a1, "complaint_service", now=at(*TUE, 9, 30),
                   content="营业厅工作人员态度差")
    assert order.status == Status.ACCEPTED
    assert order.accepted_by == world.agent_a1
    assert order.accepted_unit == world.county_a1
    assert order.unit == world.county_a1  # the account's area
    assert order.customer == world.account_a1.customer
    assert order.caller_name == "王小明"
    assert local(order.accepted_at) == at(*TUE, 9, 30)
    assert order.number.startswith("260310")
    assert order.utility == "power"


@pytest.mark.parametrize(("order_type", "account", "field"), [
    ("no_such_type", "a1", "order_type"),
    ("complaint", "a1", "order_type"),  # has sub-types: choose one
    ("service", "a1", "order_type"),
    ("gas_repair", "a1", "order_type"),  # a gas business for a power account
    ("repair", "b1", "account"),  # an account outside the agent's area
])
def test_intake_refuses_bad_input_and_creates_nothing(world: Any, order_type: str, account: str, field: str):
    before = WorkOrder.objects.count()
    acct = world.account_a1 if account == "a1" else world.account_b1
    with pytest.raises(InvalidInput) as caught:
        svc.workorder_intake(actor=world.agent_a1, order_type=order_type, channel="phone", account=acct,
                             content="停电")
    refused_with(caught.value, field)
    assert WorkOrder.objects.count() == before


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"content": "   "}, "content"),
    ({"channel": "pigeon"}, "channel"),
    ({"account": None, "caller_phone": ""}, "caller_phone"),
    ({"account": None, "caller_phone": "12345"}, "caller_phone"),
    ({"account": None, "caller_phone": "13812345678", "utility": ""}, "utility"),
    ({"utility": "gas"}, "utility"),  # the account is a power account
    ({"intake_key": "k" * 65}, "intake_key"),
])
def test_intake_field_messages(world: Any, kwargs: dict[str, Any], field: str):
    args: dict[str, Any] = {"actor": world.agent_a1, "order_type": "enquiry", "channel": "phone",
                            "account": world.account_a1, "content": "咨询电价"}
    args.update(kwargs)
    before = WorkOrder.objects.count()
    with pytest.raises(InvalidInput) as caught:
        svc.workorder_intake(**args)
    refused_with(caught.value, field)
    assert WorkOrder.objects.count() == before


def test_intake_needs_the_intake_role(world: Any, station: Any):
    before = WorkOrder.objects.count()
    with pytest.raises(PermissionDeniedError):
        svc.workorder_intake(actor=station.handler, order_type="repair", channel="phone", account=world.account_a1,
                             content="停电")
    assert WorkOrder.objects.count() == before


def test_intake_without_account_by_phone(world: Any):
    order = svc.workorder_intake(actor=world.agent_a1, order_type="gas_leak", channel="phone",
                                 caller_phone="138 0000 9999", caller_name="路人", address="文三路口",
                                 content="闻到燃气味").order
    assert order.caller_phone == "+8613800009999"
    assert order.utility == "gas"  # taken from the type
    assert order.unit == world.county_a1


# ------------------------------------------------------------------------------ first responsibility


def test_first_responsibility_survives_the_whole_journey(world: Any, station: Any):
    order = intake(world.agent_a1, world.account_a1, "complaint_service")
    owner = (world.agent_a1.pk, world.county_a1.pk)

    def still_owned(o: WorkOrder) -> None:
        row = fresh(o)
        assert (row.accepted_by_id, row.accepted_unit_id) == owner

    order = svc.workorder_dispatch(actor=world.supervisor, order=order, unit=station.unit)
    still_owned(order)
    order = svc.workorder_transfer(actor=world.supervisor, order=order, unit=world.county_a1, reason="需县公司处理")
    still_owned(order)
    order = svc.workorder_transfer(actor=world.agent_a1, order=order, unit=station.unit, reason="仍归供电所")
    still_owned(order)
    order = svc.workorder_return(actor=station.handler, order=order, reason="非本所辖区")
    still_owned(order)
    order = svc.workorder_dispatch(actor=station.leader, order=order, unit=station.unit)
    order = svc.workorder_acknowledge(actor=station.handler, order=order)
    order = svc.workorder_handle(actor=station.handler, order=order, result="已核实并整改")
    order = svc.workorder_reply(actor=station.leader, order=order, reply="已答复")
    order = svc.workorder_callback(actor=station.leader, order=order, satisfaction="unsatisfied", note="仍不满意")
    order = svc.workorder_reopen(actor=station.leader, order=order, reason="客户不满意, 重新处理")
    still_owned(order)
    assert (fresh(order).transfer_count, fresh(order).return_count, fresh(order).reopen_count) == (2, 1, 1)


# ----------------------------------------------------------------------------------- refusals


def test_a_move_not_allowed_now_is_refused_and_changes_nothing(world: Any, station: Any):
    order = world.order_a1
    before = snapshot(order)
    for attempt in (
        lambda: svc.workorder_acknowledge(actor=station.handler, order=order),
        lambda: svc.workorder_reply(actor=world.agent_a1, order=order, reply="好"),
        lambda: svc.workorder_archive(actor=world.agent_a1, order=order),
        lambda: svc.workorder_resume(actor=world.agent_a1, order=order),
    ):
        with pytest.raises((IllegalTransition, PermissionDeniedError)):
            attempt()
        assert snapshot(order) == before
    with pytest.raises(IllegalTransition) as caught:
        svc.workorder_reply(actor=world.agent_a1, order=order, reply="好")
    assert str(caught.value.message)


def test_a_move_not_allowed_for_the_role_is_refused(world: Any, station: Any):
    order = dispatched(world, station)
    before = snapshot(order)
    with pytest.raises(PermissionDeniedError) as caught:
        svc.workorder_acknowledge(actor=world.agent_a1, order=order)
    assert str(caught.value.message)
    with pytest.raises(PermissionDeniedError):
        svc.workorder_cancel(actor=station.handler, order=order, reason="mistaken")
    with pytest.raises(PermissionDeniedError):
        svc.workorder_supervise(actor=world.agent_a1, order=order, reason="督办",
                                deadline=order.accepted_at + timedelta(days=30))
    assert snapshot(order) == before


def test_a_result_and_a_reply_need_text(world: Any, station: Any):
    order = acknowledged(world, station)
    before = snapshot(order)
    with pytest.raises(InvalidInput) as caught:
        svc.workorder_handle(actor=station.handler, order=order, result="  ")
    refused_with(caught.value, "result")
    assert snapshot(order) == before
    order = svc.workorder_handle(actor=station.handler, order=order, result="已复电")
    before = snapshot(order)
    with pytest.raises(InvalidInput) as caught:
        svc.workorder_reply(actor=world.agent_a1, order=order, reply="")
    refused_with(caught.value, "reply")
    assert snapshot(order) == before


def test_missing_reasons_are_refused(world: Any, station: Any):
    order = acknowledged(world, station)
    leader = station.leader
    attempts = {
        "return": lambda: svc.workorder_return(actor=station.handler, order=order, reason=""),
        "transfer": lambda: svc.workorder_transfer(actor=world.agent_a1, order=order, unit=world.county_a1,
                                                   reason=" "),
        "suspend": lambda: svc.workorder_suspend(actor=station.handler, order=order, reason=""),
        "cancel": lambda: svc.workorder_cancel(actor=world.agent_a1, order=order, reason=""),
        "cancel-unknown": lambda: svc.workorder_cancel(actor=world.agent_a1, order=order, reason="bored"),
        "urge": lambda: svc.workorder_urge(actor=world.agent_a1, order=order, reason=""),
        "supervise": lambda: svc.workorder_supervise(actor=leader, order=order, reason="",
                                                     deadline=order.accepted_at + timedelta(days=30)),
    }
    before = snapshot(order)
    for name, attempt in attempts.items():
        with pytest.raises(InvalidInput) as caught:
            attempt()
        refused_with(caught.value, "reason")
        assert snapshot(order) == before, name


def test_reopen_needs_a_reason_and_callback_unsatisfied_needs_what_was_said(world: Any, station: Any):
    order = svc.workorder_handle(actor=station.handler, order=acknowledged(world, station), result="已复电")
    order = svc.workorder_reply(actor=world.agent_a1, order=order, reply="已复电")
    before = snapshot(order)
    with pytest.raises(InvalidInput) as caught:
        svc.workorder_callback(actor=world.agent_a1, order=order, satisfaction="unsatisfied", note="")
    refused_with(caught.value, "note")
    with pytest.raises(InvalidInput) as caught:
        svc.workorder_callback(actor=world.agent_a1, order=order, satisfaction="meh")
    refused_with(caught.value, "satisfaction")
    assert snapshot(order) == before
    order = svc.workorder_callback(actor=world.agent_a1, order=order, satisfaction="unsatisfied", note="还是停电")
    before = snapshot(order)
    with pytest.raises(InvalidInput) as caught:
        svc.workorder_reopen(actor=world.agent_a1, order=order, reason="")
    refused_with(caught.value, "reason")
    assert snapshot(order) == before


def test_supervision_deadline_must_be_in_the_future(world: Any):
    order = world.order_a1
    now = at(*TUE, 10)
    before = snapshot(order)
    for deadline in (now - timedelta(minutes=1), now, None):
        with pytest.raises(InvalidInput) as caught:
            svc.workorder_supervise(actor=world.supervisor, order=order, deadline=deadline, reason="重点督办", now=now)
        refused_with(caught.value, "deadline")
    assert snapshot(order) == before
    assert not fresh(order).supervised


def test_dispatch_and_transfer_targets_are_checked(world: Any, station: Any):
    order = world.order_a1
    before = snapshot(order)
    with pytest.raises(InvalidInput) as caught:
        svc.workorder_dispatch(actor=world.agent_a1, order=order, unit=world.county_b1)
    refused_with(caught.value, "unit")
    with pytest.raises(InvalidInput) as caught:
        svc.workorder_dispatch(actor=world.agent_a1, order=order, unit=None)
    refused_with(caught.value, "unit")
    assert snapshot(order) == before
    order = dispatched(world, station)
    before = snapshot(order)
    with pytest.raises(InvalidInput) as caught:
        svc.workorder_transfer(actor=world.agent_a1, order=order, unit=station.unit, reason="再派一次")
    refused_with(caught.value, "unit")
    assert snapshot(order) == before


def test_a_stale_version_is_a_conflict(world: Any, station: Any):
    order = world.order_a1
    seen = order.version
    svc.workorder_note(actor=world.agent_a1, order=order, text="客户补充: 电表箱冒烟", expected_version=seen)
    before = snapshot(order)
    with pytest.raises(Conflict):
        svc.workorder_dispatch(actor=world.agent_a1, order=order, unit=station.unit, expected_version=seen)
    assert snapshot(order) == before
    done = svc.workorder_dispatch(actor=world.agent_a1, order=order, unit=station.unit, expected_version=seen + 1)
    assert done.version == seen + 2


# -------------------------------------------------------------------------- urge and supervise


def test_urge_counts_records_and_texts_the_handling_unit(world: Any, station: Any):
    order = dispatched(world, station)
    assert sms_to(HANDLER_SMS)  # the dispatch itself was sent to the station
    sent_before = len(sms_to(HANDLER_SMS))
    order = svc.workorder_urge(actor=world.agent_a1, order=order, reason="客户第二次来电催促")
    row = fresh(order)
    assert row.urge_count == 1
    urge = OrderEvent.objects.get(order=order, kind=EventKind.URGE)
    assert urge.text == "客户第二次来电催促"
    assert urge.actor == world.agent_a1
    texts = sms_to(HANDLER_SMS)
    assert len(texts) == sent_before + 1
    assert order.number in texts[-1].body
    assert texts[-1].source_model == "workorders.orderevent" and texts[-1].source_id == urge.pk
    order = svc.workorder_urge(actor=world.agent_a1, order=order, reason="第三次催促")
    assert fresh(order).urge_count == 2
    assert len(sms_to(HANDLER_SMS)) == sent_before + 2


def test_supervise_sets_the_flag_and_a_supervision_clock(world: Any, station: Any):
    order = dispatched(world, station, now=at(*TUE, 10))
    deadline = at(*TUE, 11, 30)
    order = svc.workorder_supervise(actor=station.leader, order=order, deadline=deadline, reason="重要客户",
                                    now=at(*TUE, 10, 15))
    row = fresh(order)
    assert row.supervised
    assert local(row.supervise_due_at) == deadline
    assert row.supervised_by == station.leader
    supervision = OrderClock.objects.get(order=order, kind=ClockKind.SUPERVISION)
    assert supervision.state == ClockState.RUNNING
    assert local(supervision.due_at) == deadline
    assert OrderEvent.objects.filter(order=order, kind=EventKind.SUPERVISE).count() == 1
    assert len(sms_to(HANDLER_SMS)) == 2  # dispatch and supervision
    # A new deadline replaces the running one.
    order = svc.workorder_supervise(actor=station.leader, order=order, deadline=at(*TUE, 16), reason="延长",
                                    now=at(*TUE, 10, 30))
    states = sorted(OrderClock.objects.filter(order=order, kind=ClockKind.SUPERVISION).values_list("state", flat=True))
    assert states == sorted([ClockState.RUNNING, ClockState.STOPPED])
    # Handling the order meets the supervision.
    order = svc.workorder_acknowledge(actor=station.handler, order=order, now=at(*TUE, 10, 40))
    order = svc.workorder_handle(actor=station.handler, order=order, result="已复电", now=at(*TUE, 11))
    assert OrderClock.objects.get(order=order, kind=ClockKind.SUPERVISION, state__in=[
        ClockState.MET, ClockState.MISSED]).state == ClockState.MET


# ------------------------------------------------------------------------ merge and repeat calls


def test_merge_keeps_both_timelines_and_counts_the_calls(world: Any, station: Any):
    survivor = world.order_a1
    duplicate = intake(world.agent_a1, world.account_a1, "repair", content="楼道没电")
    svc.workorder_link_repeat(actor=world.agent_a1, order=duplicate, caller_phone="13800001111", intake_key="c-9")
    svc.workorder_note(actor=world.agent_a1, order=survivor, text="同一台区多户报修")
    survivor_events = events(survivor)
    duplicate_events = events(duplicate)
    merged = svc.workorder_merge(actor=world.agent_a1, order=duplicate, into=survivor, note="同一故障")
    row = fresh(merged)
    assert row.status == Status.MERGED
    assert row.merged_into_id == survivor.pk
    assert row.closed_at is not None
    assert row.due_at is None and row.next_warning_at is None
    assert set(OrderClock.objects.filter(order=duplicate).values_list("state", flat=True)) <= {
        ClockState.STOPPED, ClockState.MET, ClockState.MISSED}
    assert events(duplicate) == [*duplicate_events, EventKind.MERGE]
    assert events(survivor) == [*survivor_events, EventKind.MERGED_IN]
    merged_in = OrderEvent.objects.get(order=survivor, kind=EventKind.MERGED_IN)
    assert merged_in.data["from"] == duplicate.pk
    # The duplicate's own call and its repeat call.
    assert fresh(survivor).repeat_count == 2
    assert fresh(survivor).status == Status.ACCEPTED


def test_merge_refusals(world: Any, station: Any):
    survivor = world.order_a1
    duplicate = intake(world.agent_a1, world.account_a1, "repair")
    before = (snapshot(survivor), snapshot(duplicate))
    with pytest.raises(InvalidInput) as caught:
        svc.workorder_merge(actor=world.agent_a1, order=duplicate, into=duplicate)
    refused_with(caught.value, "into")
    with pytest.raises(InvalidInput) as caught:
        svc.workorder_merge(actor=world.agent_a1, order=duplicate, into=None)
    refused_with(caught.value, "into")
    closed = svc.workorder_cancel(actor=world.agent_a1, order=intake(world.agent_a1, world.account_a1, "repair"),
                                  reason="duplicate")
    with pytest.raises(IllegalTransition):
        svc.workorder_merge(actor=world.agent_a1, order=duplicate, into=closed)
    with pytest.raises(PermissionDeniedError):
        svc.workorder_merge(actor=world.agent_a1, order=duplicate, into=world.order_b1)  # not in the area
    assert (snapshot(survivor), snapshot(duplicate)) == before


def test_a_repeat_call_counts_once_per_intake_key(world: Any, station: Any):
    order = dispatched(world, station)
    texts = len(sms_to(HANDLER_SMS))
    for _ in range(2):
        svc.workorder_link_repeat(actor=world.agent_a1, order=order, caller_phone="13800001111",
                                  note="又打来了", intake_key="cti-77")
    assert fresh(order).repeat_count == 1
    assert OrderEvent.objects.filter(order=order, kind=EventKind.REPEAT_CALL).count() == 1
    assert len(sms_to(HANDLER_SMS)) == texts + 1  # the station hears about the repeat call
    svc.workorder_link_repeat(actor=world.agent_a1, order=order, intake_key="cti-78")
    assert fresh(order).repeat_count == 2
    with pytest.raises(InvalidInput) as caught:
        svc.workorder_link_repeat(actor=world.agent_a1, order=order, caller_phone="123")
    refused_with(caught.value, "caller_phone")
    assert fresh(order).repeat_count == 2


def test_a_repeat_call_on_a_closed_order_is_refused(world: Any):
    order = svc.workorder_cancel(actor=world.agent_a1, order=world.order_a1, reason="withdrawn")
    before = snapshot(order)
    with pytest.raises(IllegalTransition):
        svc.workorder_link_repeat(actor=world.agent_a1, order=order, intake_key="late")
    assert snapshot(order) == before


# ------------------------------------------------------------------------------- reopen and cancel


def test_reopen_after_an_unsatisfied_callback_goes_back_to_the_unit_with_fresh_clocks(world: Any, station: Any):
    order = intake(world.agent_a1, world.account_a1, "complaint_service", now=at(*TUE, 9))
    order = svc.workorder_dispatch(actor=world.agent_a1, order=order, unit=station.unit, now=at(*TUE, 9, 10))
    order = svc.workorder_acknowledge(actor=station.handler, order=order, now=at(*TUE, 9, 20))
    order = svc.workorder_contact(actor=station.handler, order=order, now=at(*TUE, 10))
    order = svc.workorder_handle(actor=station.handler, order=order, result="已解释", now=at(2026, 3, 11, 10))
    order = svc.workorder_reply(actor=world.agent_a1, order=order, reply="已解释", now=at(2026, 3, 11, 11))
    order = svc.workorder_callback(actor=world.agent_a1, order=order, satisfaction="unsatisfied",
                                   note="客户认为未解决", now=at(2026, 3, 12, 9))
    old_clocks = set(OrderClock.objects.filter(order=order).values_list("pk", flat=True))
    texts = len(sms_to(HANDLER_SMS))

    order = svc.workorder_reopen(actor=world.agent_a1, order=order, reason="客户不满意", now=at(2026, 3, 12, 10))
    row = fresh(order)
    assert row.status == Status.DISPATCHED
    assert row.handling_unit == station.unit
    assert row.reopen_count == 1
    assert row.satisfaction == ""
    assert row.handled_at is None and row.replied_at is None and row.called_back_at is None
    assert len(sms_to(HANDLER_SMS)) == texts + 1  # the station is told
    # The old clocks are finished; a new reply clock runs from the reopening: Fri 13, Mon 16, Tue 17,
    # Wed 18 → Wed 18 Mar 10:00.
    assert set(OrderClock.objects.filter(pk__in=old_clocks).values_list("state", flat=True)) <= {
        ClockState.STOPPED, ClockState.MET, ClockState.MISSED}
    reply = OrderClock.objects.get(order=order, kind=ClockKind.REPLY, state=ClockState.RUNNING)
    assert reply.pk not in old_clocks
    assert local(reply.started_at) == at(2026, 3, 12, 10)
    assert local(reply.due_at) == at(2026, 3, 18, 10)
    assert local(row.due_at) == at(2026, 3, 18, 10)
    # The unit takes it up again.
    order = svc.workorder_acknowledge(actor=station.handler, order=order, now=at(2026, 3, 12, 11))
    assert fresh(order).status == Status.ACKNOWLEDGED


def test_reopening_an_order_answered_on_the_call_returns_it_for_dispatch(world: Any, station: Any):
    order = intake(world.agent_a1, world.account_a1, "complaint_service")
    order = svc.workorder_handle(actor=world.agent_a1, order=order, result="当场解释")
    order = svc.workorder_reply(actor=world.agent_a1, order=order, reply="当场解释")
    order = svc.workorder_callback(actor=world.agent_a1, order=order, satisfaction="unsatisfied", note="不接受")
    order = svc.workorder_reopen(actor=world.agent_a1, order=order, reason="需供电所上门核实")
    row = fresh(order)
    # It never had a handling unit: it must be dispatched, not left "dispatched" to nobody.
    assert row.handling_unit is None
    assert row.status == Status.ACCEPTED
    order = svc.workorder_dispatch(actor=world.agent_a1, order=order, unit=station.unit)
    assert svc.workorder_acknowledge(actor=station.handler, order=order).status == Status.ACKNOWLEDGED


def test_cancel_with_a_reason_closes_the_clocks(world: Any):
    order = intake(world.agent_a1, world.account_a1, "repair", now=at(*TUE, 10))
    order = svc.workorder_cancel(actor=world.agent_a1, order=order, reason="withdrawn", note="客户自行恢复",
                                 now=at(*TUE, 10, 5))
    row = fresh(order)
    assert row.status == Status.CANCELLED
    assert row.cancel_reason == "withdrawn"
    assert local(row.closed_at) == at(*TUE, 10, 5)
    assert row.due_at is None and row.next_warning_at is None
    assert set(OrderClock.objects.filter(order=order).values_list("state", flat=True)) == {ClockState.STOPPED}
    # Long past the 45 minutes: the watcher has nothing to say about a cancelled order.
    workorder_watch(now=at(*TUE, 18))
    assert OrderEvent.objects.filter(order=order, kind__in=[EventKind.WARNING, EventKind.OVERDUE]).count() == 0
    assert fresh(order).time_state != TimeState.OVERDUE


def test_a_repair_order_through_the_closed_loop(world: Any, station: Any):
    order = intake(world.agent_a1, world.account_a1, "repair", now=at(*TUE, 10))
    order = svc.workorder_dispatch(actor=world.agent_a1, order=order, unit=station.unit, now=at(*TUE, 10, 2))
    order = svc.workorder_acknowledge(actor=station.handler, order=order, now=at(*TUE, 10, 5))
    order = svc.workorder_arrive(actor=station.handler, order=order, now=at(*TUE, 10, 35))
    order = svc.workorder_handle(actor=station.handler, order=order, result="更换熔断器", now=at(*TUE, 11, 20))
    order = svc.workorder_reply(actor=world.agent_a1, order=order, reply="已复电", now=at(*TUE, 11, 30))
    order = svc.workorder_callback(actor=world.agent_a1, order=order, satisfaction="satisfied", now=at(*TUE, 14))
    order = svc.workorder_archive(actor=world.agent_a1, order=order, now=at(*TUE, 14, 5))
    row = fresh(order)
    assert row.status == Status.ARCHIVED
    stamps = [row.dispatched_at, row.acknowledged_at, row.arrived_at, row.contacted_at, row.handled_at,
              row.replied_at, row.called_back_at, row.closed_at]
    assert [local(s) for s in stamps] == [
        at(*TUE, 10, 2), at(*TUE, 10, 5), at(*TUE, 10, 35), at(*TUE, 10, 35), at(*TUE, 11, 20), at(*TUE, 11, 30),
        at(*TUE, 14), at(*TUE, 14, 5)]
    assert row.assignee == station.handler
    assert events(order) == [EventKind.ACCEPTED, EventKind.DISPATCH, EventKind.ACKNOWLEDGE, EventKind.ARRIVE,
                             EventKind.HANDLE, EventKind.REPLY, EventKind.CALLBACK, EventKind.ARCHIVE]
    assert row.version == 8
    assert row.due_at is None


def test_return_and_transfer_tell_the_right_people(world: Any, station: Any):
    order = dispatched(world, station)
    leader_texts = len(sms_to(LEADER_SMS))
    order = svc.workorder_return(actor=station.handler, order=order, reason="地址不在本所辖区")
    row = fresh(order)
    assert row.status == Status.RETURNED and row.return_count == 1 and row.assignee is None
    assert len(sms_to(LEADER_SMS)) == leader_texts + 1  # the shift leader must re-dispatch
    other = make_unit("东郊供电所", code="S2", parent=world.county_a1, level="station", phone="13900003333")
    order = svc.workorder_dispatch(actor=world.agent_a1, order=order, unit=station.unit)
    order = svc.workorder_transfer(actor=world.agent_a1, order=order, unit=other, reason="改派东郊所")
    row = fresh(order)
    assert row.handling_unit == other and row.transfer_count == 1 and row.status == Status.DISPATCHED
    assert len(sms_to("+8613900003333")) == 1  # the new unit's duty phone
