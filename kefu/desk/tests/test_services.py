"""What agents do with a call and with the callback queue: identify the caller, create, link and urge
orders, record the result; take, record and release callbacks without two agents calling one customer."""

from __future__ import annotations

from typing import Any

import pytest

from kefu.core.errors import Conflict, IllegalTransition, InvalidInput, NotFoundError, PermissionDeniedError
from kefu.customers.tests.factories import make_account
from kefu.desk import services as svc
from kefu.desk.choices import ActivityKind, CallbackStatus, CallResult, OrderRelation
from kefu.desk.models import Call, CallActivity, CallOrder
from kefu.desk.selectors import callback_queue
from kefu.desk.tests.factories import Center, abandon, make_center, miss, talk
from kefu.org.tests.factories import make_staff
from kefu.workorders.models import WorkOrder


@pytest.fixture
def center(world: Any) -> Center:
    return make_center(world)


def fresh(call: Call) -> Call:
    return Call.objects.get(pk=call.pk)


def activities(call: Call, kind: str) -> int:
    return CallActivity.objects.filter(call=call, kind=kind).count()


# ------------------------------------------------------------------ during the call


def test_identify_one_of_two_candidates(world: Any, center: Center) -> None:
    father = make_account(unit=world.county_a1, name="张父", phone="13700137000")
    son = make_account(unit=world.county_a1, name="张子", phone="13700137000")
    call = talk(center, caller="13700137000")
    assert call.customer_id is None and len(call.candidates) == 2

    svc.call_identify(actor=world.agent_a1, call_pk=call.pk, customer_id=son.customer_id, account_id=son.pk)
    call = fresh(call)
    assert (call.customer_id, call.account_id) == (son.customer_id, son.pk)
    assert activities(call, ActivityKind.IDENTIFIED) == 1

    with pytest.raises(InvalidInput) as refused:
        svc.call_identify(actor=world.agent_a1, call_pk=call.pk, customer_id=father.customer_id, account_id=son.pk)
    assert "account" in refused.value.errors
    with pytest.raises(InvalidInput) as refused:  # a customer of another city is not in reach
        svc.call_identify(actor=world.agent_a1, call_pk=call.pk, customer_id=world.account_b1.customer_id)
    assert "customer" in refused.value.errors
    assert fresh(call).customer_id == son.customer_id


def test_a_call_of_another_county_is_not_found(world: Any, center: Center) -> None:
    call = talk(center, caller="13800001111")
    with pytest.raises(NotFoundError):
        svc.call_identify(actor=world.agent_a2, call_pk=call.pk, customer_id=world.account_a2.customer_id)


def test_create_an_order_from_the_call_and_retry_it(world: Any, center: Center) -> None:
    call = talk(center, caller="13999990000")  # nobody's number: the order names the account
    before = WorkOrder.objects.count()
    first = svc.call_create_order(actor=world.agent_a1, call_pk=call.pk, order_type="repair",
                                  content="整栋楼停电 / the whole building has no power",
                                  account=world.account_a1, intake_key="form-7")
    assert first.created
    order = first.order
    assert order.caller_phone == "+8613999990000" and order.channel == "phone"
    link = CallOrder.objects.get(call=call)
    assert (link.order_id, link.relation, link.actor) == (order.pk, OrderRelation.CREATED, world.agent_a1)
    # Naming the account identified the caller.
    assert (fresh(call).customer_id, fresh(call).account_id) == (world.account_a1.customer_id,
                                                                 world.account_a1.pk)

    again = svc.call_create_order(actor=world.agent_a1, call_pk=call.pk, order_type="repair",
                                  content="整栋楼停电 / the whole building has no power",
                                  account=world.account_a1, intake_key="form-7")
    assert not again.created and again.order.pk == order.pk
    assert WorkOrder.objects.count() == before + 1
    assert CallOrder.objects.filter(call=call).count() == 1
    assert activities(call, ActivityKind.ORDER) == 1


def test_link_a_repeat_call_to_an_open_order(world: Any, center: Center) -> None:
    call = talk(center, caller="13800001111")
    order = world.order_a1
    linked = svc.call_link_order(actor=world.agent_a1, call_pk=call.pk, order_id=order.pk, note="又来电催")
    assert linked.repeat_count == order.repeat_count + 1
    assert CallOrder.objects.get(call=call).relation == OrderRelation.LINKED
    # A retry (double click) counts the call once.
    svc.call_link_order(actor=world.agent_a1, call_pk=call.pk, order_id=order.pk, note="又来电催")
    assert WorkOrder.objects.get(pk=order.pk).repeat_count == order.repeat_count + 1
    assert CallOrder.objects.filter(call=call).count() == 1
    with pytest.raises(InvalidInput) as refused:  # another county's order is out of reach
        svc.call_link_order(actor=world.agent_a1, call_pk=call.pk, order_id=world.order_b1.pk)
    assert "order" in refused.value.errors


def test_urge_an_order_during_the_call(world: Any, center: Center) -> None:
    call = talk(center, caller="13800001111")
    order = world.order_a1
    urged = svc.call_urge_order(actor=world.agent_a1, call_pk=call.pk, order_id=order.pk,
                                reason="客户说等了两个小时 / waited two hours")
    assert urged.urge_count == order.urge_count + 1
    assert CallOrder.objects.get(call=call, order=order).relation == OrderRelation.URGED
    with pytest.raises(InvalidInput):
        svc.call_urge_order(actor=world.agent_a1, call_pk=call.pk, order_id=order.pk, reason="")
    assert WorkOrder.objects.get(pk=order.pk).urge_count == order.urge_count + 1


def test_record_the_result(world: Any, center: Center) -> None:
    call = talk(center, caller="13800001111")
    with pytest.raises(InvalidInput) as refused:
        svc.call_record_result(actor=world.agent_a1, call_pk=call.pk, result=CallResult.OTHER, note="  ")
    assert "note" in refused.value.errors
    with pytest.raises(InvalidInput) as refused:
        svc.call_record_result(actor=world.agent_a1, call_pk=call.pk, result="shrug")
    assert "result" in refused.value.errors
    assert fresh(call).result == ""

    done = svc.call_record_result(actor=world.agent_a1, call_pk=call.pk, result=CallResult.OTHER,
                                  note="客户咨询电价政策", seen_version=call.version)
    assert (done.result, done.result_note) == (CallResult.OTHER, "客户咨询电价政策")
    assert activities(call, ActivityKind.RESULT) == 1
    # Someone who read the call before this change gets a conflict, not a silent overwrite.
    with pytest.raises(Conflict):
        svc.call_record_result(actor=world.agent_a1, call_pk=call.pk, result=CallResult.ANSWERED,
                               seen_version=call.version)
    assert fresh(call).result == CallResult.OTHER


# ------------------------------------------------------------------ callbacks


@pytest.fixture
def colleague(world: Any) -> Any:
    return make_staff("agent_a1b", unit=world.county_a1, roles=["agent"])


def test_a_claimed_callback_blocks_a_colleague(world: Any, center: Center, colleague: Any) -> None:
    call = miss(center, caller="13800001111")
    claimed = svc.callback_claim(actor=world.agent_a1, call_pk=call.pk)
    assert (claimed.callback_status, claimed.callback_by) == (CallbackStatus.CLAIMED, world.agent_a1)
    with pytest.raises(Conflict):
        svc.callback_claim(actor=colleague, call_pk=call.pk)
    with pytest.raises(Conflict):
        svc.callback_record(actor=colleague, call_pk=call.pk, outcome="reached")
    assert fresh(call).callback_by == world.agent_a1
    # Taking it again is harmless for the one who holds it.
    assert svc.callback_claim(actor=world.agent_a1, call_pk=call.pk).callback_status == CallbackStatus.CLAIMED
    with pytest.raises(NotFoundError):
        svc.callback_claim(actor=world.outsider, call_pk=call.pk)


def test_only_waiting_calls_can_be_claimed(world: Any, center: Center) -> None:
    call = talk(center, caller="13800001111")
    with pytest.raises(IllegalTransition):
        svc.callback_claim(actor=world.agent_a1, call_pk=call.pk)


def test_reaching_the_caller_settles_every_waiting_call_from_the_number(world: Any, center: Center) -> None:
    first = miss(center, caller="13800001111")
    second = miss(center, caller="+86 138 0000 1111")
    other = miss(center, caller="13800002222")
    queue = callback_queue(world.agent_a1)
    assert [(item.call.caller_e164, item.waiting) for item in queue] == [("+8613800001111", 2),
                                                                         ("+8613800002222", 1)]

    svc.callback_claim(actor=world.agent_a1, call_pk=second.pk)
    svc.callback_record(actor=world.agent_a1, call_pk=second.pk, outcome="reached", note="已回电")
    assert {fresh(c).callback_status for c in (first, second)} == {CallbackStatus.DONE}
    assert fresh(first).callback_by == world.agent_a1
    assert fresh(other).callback_status == CallbackStatus.PENDING
    assert [item.call.pk for item in callback_queue(world.agent_a1)] == [other.pk]


def test_reaching_the_caller_settles_the_calls_waiting_at_the_center_too(world: Any, center: Center) -> None:
    # A leader over both the center and county A1 sees one line for the number.
    leader = make_staff("leader_p", unit=world.province, roles=["shift_leader"])
    in_queue = abandon(center, caller="13800001111")
    at_county = miss(center, caller="13800001111")
    assert [(item.waiting, item.call.pk) for item in callback_queue(leader)] == [(2, at_county.pk)]
    svc.callback_record(actor=leader, call_pk=at_county.pk, outcome="reached")
    assert fresh(in_queue).callback_status == CallbackStatus.DONE
    assert callback_queue(leader) == [] and callback_queue(center.agent) == []


def test_three_unanswered_callbacks_and_the_call_leaves_the_queue(world: Any, center: Center) -> None:
    call = miss(center, caller="13800001111")
    for attempt in (1, 2):
        after = svc.callback_record(actor=world.agent_a1, call_pk=call.pk, outcome="no_answer")
        assert (after.callback_status, after.callback_attempts) == (CallbackStatus.PENDING, attempt)
        assert [item.call.pk for item in callback_queue(world.agent_a1)] == [call.pk]
    last = svc.callback_record(actor=world.agent_a1, call_pk=call.pk, outcome="no_answer")
    assert (last.callback_status, last.callback_attempts) == (CallbackStatus.FAILED, 3)
    assert callback_queue(world.agent_a1) == []
    assert activities(call, ActivityKind.CALLBACK) == 3
    with pytest.raises(IllegalTransition):
        svc.callback_record(actor=world.agent_a1, call_pk=call.pk, outcome="no_answer")


def test_a_wrong_number_fails_at_once(world: Any, center: Center) -> None:
    call = miss(center, caller="13800001111")
    with pytest.raises(InvalidInput) as refused:
        svc.callback_record(actor=world.agent_a1, call_pk=call.pk, outcome="maybe")
    assert "outcome" in refused.value.errors
    after = svc.callback_record(actor=world.agent_a1, call_pk=call.pk, outcome="wrong_number")
    assert (after.callback_status, after.callback_attempts) == (CallbackStatus.FAILED, 1)


def test_release_a_callback(world: Any, center: Center, colleague: Any) -> None:
    call = miss(center, caller="13800001111")
    with pytest.raises(IllegalTransition):
        svc.callback_release(actor=world.agent_a1, call_pk=call.pk)
    svc.callback_claim(actor=world.agent_a1, call_pk=call.pk)
    released = svc.callback_release(actor=world.agent_a1, call_pk=call.pk)
    assert (released.callback_status, released.callback_by) == (CallbackStatus.PENDING, None)
    assert activities(call, ActivityKind.CALLBACK_RELEASED) == 1
    # Back in the queue: the colleague may take it now.
    assert svc.callback_claim(actor=colleague, call_pk=call.pk).callback_by == colleague


def test_the_telephone_system_cannot_work_the_desk(world: Any, center: Center) -> None:
    call = miss(center, caller="13800001111")
    with pytest.raises(PermissionDeniedError) as refused:
        svc.callback_claim(actor=center.telephony, call_pk=call.pk)
    assert refused.value.status_code == 403  # the role, not "not found"
    assert fresh(call).callback_status == CallbackStatus.PENDING

