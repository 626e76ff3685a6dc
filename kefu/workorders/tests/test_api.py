"""Work-order API: intake with idempotency keys, the lifecycle through every action, queues, scope,
masking, and clean 400/403/404/409 answers for everything a client can get wrong."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from kefu.core.models import AuditLog
from kefu.org.choices import ROLE_CAPABILITIES, Capability
from kefu.org.tests.apiclient import API, client_for, ids
from kefu.org.tests.factories import make_staff, make_unit
from kefu.workorders.api.serializers import WorkOrderOutput, workorder_rows
from kefu.workorders.choices import Action, Status
from kefu.workorders.models import HandoverItem, OrderEvent, ShiftHandover, WorkOrder
from kefu.workorders.services import workorder_dispatch, workorder_intake
from tests import test_scoping as scoping

ORDERS = f"{API}/workorders"


def intake_body(world: Any, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"order_type": "repair", "channel": "phone", "content": "楼道没电 / no power in the hall",
                            "account": world.account_a1.pk, "caller_phone": "138 0000 1111"}
    body.update(over)
    return {k: v for k, v in body.items() if v is not None}


def act(client: APIClient, order: WorkOrder, action: str, **body: Any) -> Any:
    return client.post(f"{ORDERS}/{order.pk}/actions/{action}/", body, format="json")


def fresh(order: WorkOrder) -> WorkOrder:
    return WorkOrder.objects.get(pk=order.pk)


def errors(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 400, (response.status_code, response.content)
    body = response.json()
    assert body["code"] == "invalid"
    return dict(body["errors"])


# ------------------------------------------------------------------ intake


def test_intake_then_replay_with_the_same_key(world: Any) -> None:
    client = client_for(world.agent_a1)
    before = WorkOrder.objects.count()
    first = client.post(f"{ORDERS}/", intake_body(world), format="json", HTTP_IDEMPOTENCY_KEY="call-42")
    assert first.status_code == 201, first.content
    row = first.json()
    assert row["number"] and row["status"] == "accepted" and row["order_type"]["code"] == "repair"
    assert row["unit"]["id"] == world.county_a1.pk and row["handling_unit"] is None
    assert row["account"] == world.account_a1.pk and row["time_state"] == "normal" and row["due_at"]
    assert "Idempotent-Replayed" not in first

    again = client.post(f"{ORDERS}/", intake_body(world), format="json", HTTP_IDEMPOTENCY_KEY="call-42")
    assert again.status_code == 200, again.content
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == row["id"] and again.json()["number"] == row["number"]
    assert WorkOrder.objects.count() == before + 1
    # The key in the body works the same way.
    body_key = client.post(f"{ORDERS}/", intake_body(world, intake_key="call-42"), format="json")
    assert body_key.status_code == 200 and body_key.json()["id"] == row["id"]
    assert WorkOrder.objects.count() == before + 1


def test_intake_two_keys_two_orders(world: Any) -> None:
    client = client_for(world.agent_a1)
    before = WorkOrder.objects.count()
    a = client.post(f"{ORDERS}/", intake_body(world), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    b = client.post(f"{ORDERS}/", intake_body(world), format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert (a.status_code, b.status_code) == (201, 201)
    assert a.json()["id"] != b.json()["id"]
    assert WorkOrder.objects.count() == before + 2


def test_intake_key_header_and_body_must_agree(world: Any) -> None:
    client = client_for(world.agent_a1)
    before = WorkOrder.objects.count()
    response = client.post(f"{ORDERS}/", intake_body(world, intake_key="one"), format="json",
                           HTTP_IDEMPOTENCY_KEY="two")
    assert "intake_key" in errors(response)
    response = client.post(f"{ORDERS}/", intake_body(world), format="json", HTTP_IDEMPOTENCY_KEY="x" * 65)
    assert "Idempotency-Key" in errors(response)
    assert WorkOrder.objects.count() == before


def test_intake_without_account_by_type_code_or_id(world: Any) -> None:
    client = client_for(world.agent_a1)
    response = client.post(f"{ORDERS}/", intake_body(world, account=None, order_type="enquiry", utility="power",
                                                     caller_name="路人", address="文三路 1 号"), format="json")
    assert response.status_code == 201, response.content
    order = WorkOrder.objects.get(pk=response.json()["id"])
    assert (order.unit, order.account_id, order.caller_phone) == (world.county_a1, None, "+8613800001111")
    kind_id = order.order_type_id
    response = client.post(f"{ORDERS}/", intake_body(world, order_type=kind_id), format="json")
    assert response.status_code == 201 and response.json()["order_type"]["id"] == kind_id
    assert WorkOrder.objects.get(pk=response.json()["id"]).order_type_id == kind_id


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"order_type": "no_such_type"}, "order_type"),
        ({"order_type": "service"}, "order_type"),  # a parent type with sub-types
        ({"order_type": "gas_repair"}, "order_type"),  # gas business on a power account
        ({"order_type": "x y"}, "order_type"),
        ({"order_type": "١٢"}, "order_type"),  # non-ASCII digits
        ({"order_type": 10**30}, "order_type"),
        ({"order_type": ["repair"]}, "order_type"),
        ({"content": None}, "content"),
        ({"content": "   "}, "content"),
        ({"content": "长" * 2001}, "content"),
        ({"channel": "pigeon"}, "channel"),
        ({"account": None, "caller_phone": "12345"}, "caller_phone"),
        ({"caller_phone": "not a phone"}, "caller_phone"),
        ({"account": "abc"}, "account"),
        ({"account": "²"}, "account"),
        ({"account": 10**30}, "account"),
        ({"account": 1.5}, "account"),
        ({"account": True}, "account"),
        ({"account": 99_999_999}, "account"),
        ({"utility": "water"}, "utility"),
        ({"utility": "gas"}, "utility"),  # a power account
        ({"caller_name": "名" * 61}, "caller_name"),
        ({"colour": "red"}, "colour"),  # unknown field
    ],
)
def test_intake_rejects_bad_input(world: Any, override: dict[str, Any], field: str) -> None:
    before = WorkOrder.objects.count()
    response = client_for(world.agent_a1).post(f"{ORDERS}/", intake_body(world, **override), format="json")
    assert field in errors(response), response.json()
    assert WorkOrder.objects.count() == before


def test_intake_account_out_of_scope(world: Any) -> None:
    before = WorkOrder.objects.count()
    response = client_for(world.agent_a1).post(f"{ORDERS}/", intake_body(world, account=world.account_b1.pk),
                                               format="json")
    assert "account" in errors(response)
    assert WorkOrder.objects.count() == before


@pytest.mark.parametrize("body", ["[]", '"text"', "{", "null"])
def test_intake_garbage_body(world: Any, body: str) -> None:
    response = client_for(world.agent_a1).generic("POST", f"{ORDERS}/", body, content_type="application/json")
    assert response.status_code == 400


def test_intake_needs_the_intake_capability(world: Any) -> None:
    response = client_for(world.crew_a1).post(f"{ORDERS}/", intake_body(world), format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


def test_intake_answer_adds_no_queries(world: Any) -> None:
    """The answer is built from the order the service returned: the endpoint costs what the service costs."""
    client = client_for(world.agent_a1)
    client.post(f"{ORDERS}/", intake_body(world), format="json")  # warm the policy cache and the sequence row
    with CaptureQueriesContext(connection) as direct:
        workorder_intake(actor=world.agent_a1, order_type="repair", channel="phone", account=world.account_a1.pk,
                         content="x", caller_phone="13800001111", intake_key="direct")
    with CaptureQueriesContext(connection) as api:
        response = client.post(f"{ORDERS}/", intake_body(world), format="json", HTTP_IDEMPOTENCY_KEY="q-1")
    assert response.status_code == 201
    assert len(api.captured_queries) <= len(direct.captured_queries)
    with CaptureQueriesContext(connection) as replay:
        response = client.post(f"{ORDERS}/", intake_body(world), format="json", HTTP_IDEMPOTENCY_KEY="q-1")
    assert response.status_code == 200
    assert len(replay.captured_queries) <= 2


def test_rows_by_hand_equal_the_documented_output(world: Any, station: Any) -> None:
    order = workorder_intake(actor=world.agent_a1, order_type="repair", channel="phone", account=world.account_a1,
                             caller_phone="13800001111", content="x").order
    workorder_dispatch(actor=world.agent_a1, order=order, unit=station.unit)
    order = WorkOrder.objects.select_related("order_type", "unit", "handling_unit").get(pk=order.pk)
    for personal in (True, False):
        documented = WorkOrderOutput(order, context={"personal": personal}).data
        assert workorder_rows([order], personal=personal)[0] == documented


# ------------------------------------------------------------------ lists and queues


def test_list_scope_and_newest_first(world: Any) -> None:
    assert ids(client_for(world.agent_a1).get(f"{ORDERS}/")) == {world.order_a1.pk}
    assert ids(client_for(world.supervisor).get(f"{ORDERS}/")) == {world.order_a1.pk, world.order_a2.pk}
    assert ids(client_for(world.outsider).get(f"{ORDERS}/")) == {world.order_b1.pk}
    rows = client_for(world.admin).get(f"{ORDERS}/").json()["results"]
    assert [r["id"] for r in rows] == sorted((r["id"] for r in rows), reverse=True)


def test_queues_show_only_in_scope_orders(world: Any, station: Any) -> None:
    agent, supervisor = client_for(world.agent_a1), client_for(world.supervisor)
    assert ids(agent.get(f"{ORDERS}/", {"queue": "mine"})) == {world.order_a1.pk}
    assert ids(client_for(world.agent_a2).get(f"{ORDERS}/", {"queue": "mine"})) == {world.order_a2.pk}
    assert ids(supervisor.get(f"{ORDERS}/", {"queue": "mine"})) == set()
    assert ids(supervisor.get(f"{ORDERS}/", {"queue": "dispatch"})) == {world.order_a1.pk, world.order_a2.pk}
    assert ids(supervisor.get(f"{ORDERS}/", {"queue": "supervised"})) == set()
    assert ids(supervisor.get(f"{ORDERS}/", {"queue": "warnings"})) == set()
    handler = client_for(station.handler)
    assert ids(handler.get(f"{ORDERS}/", {"queue": "unit"})) == set()
    workorder_dispatch(actor=world.agent_a1, order=world.order_a1, unit=station.unit)
    assert ids(handler.get(f"{ORDERS}/", {"queue": "unit"})) == {world.order_a1.pk}
    assert ids(handler.get(f"{ORDERS}/", {"queue": "all"})) == {world.order_a1.pk}
    assert ids(supervisor.get(f"{ORDERS}/", {"queue": "dispatch"})) == {world.order_a2.pk}
    # The outsider's queues never show A's orders, whatever the queue.
    for queue in ("mine", "unit", "dispatch", "warnings", "supervised", "all"):
        assert ids(client_for(world.outsider).get(f"{ORDERS}/", {"queue": queue})) <= {world.order_b1.pk}


def test_list_filters(world: Any) -> None:
    client = client_for(world.admin)
    assert ids(client.get(f"{ORDERS}/", {"utility": "gas"})) == {world.order_b1.pk}
    assert ids(client.get(f"{ORDERS}/", {"number": world.order_a2.number})) == {world.order_a2.pk}
    assert ids(client.get(f"{ORDERS}/", {"unit": world.city_a.pk})) == {world.order_a1.pk, world.order_a2.pk}
    assert ids(client.get(f"{ORDERS}/", {"status": ["accepted"], "channel": "phone"})) == {
        world.order_a1.pk, world.order_a2.pk, world.order_b1.pk}
    today = timezone.localdate().isoformat()
    assert len(ids(client.get(f"{ORDERS}/", {"accepted_from": today, "accepted_to": today}))) == 3
    assert ids(client.get(f"{ORDERS}/", {"order_type": world.order_b1.order_type_id})) == {world.order_b1.pk}


@pytest.mark.parametrize(
    "params",
    [{"queue": "everything"}, {"status": "lost"}, {"unit": "abc"}, {"unit": str(10**30)}, {"accepted_from": "x"},
     {"cursor": "garbage"}, {"time_state": "late"}, {"order_type": "-1"}],
)
def test_list_bad_params_are_400(world: Any, params: dict[str, str]) -> None:
    assert client_for(world.agent_a1).get(f"{ORDERS}/", params).status_code == 400


def test_list_unit_outside_scope_is_400(world: Any) -> None:
    assert client_for(world.agent_a1).get(f"{ORDERS}/", {"unit": world.county_b1.pk}).status_code == 400


def test_list_paging(world: Any) -> None:
    client = client_for(world.admin)
    first = client.get(f"{ORDERS}/", {"page_size": 2}).json()
    assert len(first["results"]) == 2 and first["next"]
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 1
    assert {r["id"] for r in first["results"] + second["results"]} == {
        world.order_a1.pk, world.order_a2.pk, world.order_b1.pk}


def test_list_query_count_does_not_grow(world: Any, django_assert_max_num_queries: Any) -> None:
    for _ in range(5):
        workorder_intake(actor=world.agent_a1, order_type="repair", channel="phone", account=world.account_a1,
                         content="x")
    client = client_for(world.supervisor)
    with django_assert_max_num_queries(3):
        response = client.get(f"{ORDERS}/")
    assert len(response.json()["results"]) == 7


def test_phone_masked_without_personal_data(world: Any) -> None:
    order = workorder_intake(actor=world.agent_a1, order_type="repair", channel="phone", account=world.account_a1,
                             caller_phone="13800001111", content="x").order
    crew = client_for(world.crew_a1)  # crew may look but not see personal data
    row = next(r for r in crew.get(f"{ORDERS}/").json()["results"] if r["id"] == order.pk)
    assert row["caller_phone"] == "138****1111" and row["caller_phone_masked"] is True
    assert crew.get(f"{ORDERS}/{order.pk}/").json()["caller_phone"] == "138****1111"
    agent = client_for(world.agent_a1)
    row = next(r for r in agent.get(f"{ORDERS}/").json()["results"] if r["id"] == order.pk)
    assert row["caller_phone"] == "+8613800001111" and row["caller_phone_masked"] is False
    # An order without a phone (a letter, a fax) shows it blank, not a mask of nothing.
    WorkOrder.objects.filter(pk=world.order_a1.pk).update(caller_phone="")
    row = next(r for r in crew.get(f"{ORDERS}/").json()["results"] if r["id"] == world.order_a1.pk)
    assert row["caller_phone"] == "" and row["caller_phone_masked"] is False


def test_detail_with_full_phone_is_audited(world: Any) -> None:
    order = workorder_intake(actor=world.agent_a1, order_type="repair", channel="phone", account=world.account_a1,
                             caller_phone="13800001111", content="x").order
    response = client_for(world.agent_a1).get(f"{ORDERS}/{order.pk}/")
    assert response.status_code == 200
    assert AuditLog.objects.filter(action="view_personal", model="workorders.workorder", object_id=order.pk).exists()
    client_for(world.crew_a1).get(f"{ORDERS}/{order.pk}/")
    assert AuditLog.objects.filter(object_id=order.pk, model="workorders.workorder").count() == 1


# ------------------------------------------------------------------ detail and scope


def test_detail(world: Any, django_assert_max_num_queries: Any) -> None:
    client = client_for(world.agent_a1)
    # The scope's unit ids, the order, clocks, events and merged orders, and the audit row for the full phone.
    with django_assert_max_num_queries(6):
        response = client.get(f"{ORDERS}/{world.order_a1.pk}/")
    data = response.json()
    assert data["number"] == world.order_a1.number and data["status_label"]
    assert data["accepted_by"] == {"id": world.agent_a1.pk, "name": world.agent_a1.display_name()}
    assert data["merged_into"] is None and data["merged"] == [] and data["assignee"] is None
    assert {c["kind"] for c in data["clocks"]} >= {"arrival"}
    actions = {a["action"] for a in data["allowed_actions"]}
    assert {"dispatch", "cancel", "urge", "merge", "note"} <= actions
    assert not actions & {"acknowledge", "archive", "supervise"}


@pytest.mark.parametrize("persona", ["agent_a2", "outsider"])
def test_out_of_scope_is_404(world: Any, persona: str, station: Any) -> None:
    client = client_for(getattr(world, persona))
    order = world.order_a1
    before = (order.version, order.status)
    assert client.get(f"{ORDERS}/{order.pk}/").status_code == 404
    assert client.get(f"{ORDERS}/{order.pk}/events/").status_code == 404
    assert act(client, order, "dispatch", unit=station.unit.pk).status_code == 404
    assert act(client, order, "note", text="hello").status_code == 404
    assert client.post(f"{ORDERS}/{order.pk}/repeat-call/", {}, format="json").status_code == 404
    assert (fresh(order).version, fresh(order).status) == before


@pytest.mark.parametrize("path", ["abc", "0", "99999999", "1" * 30, "-1"])
def test_unknown_ids_are_404(world: Any, path: str) -> None:
    assert client_for(world.admin).get(f"{ORDERS}/{path}/").status_code == 404


def test_unknown_action_is_404(world: Any) -> None:
    response = act(client_for(world.admin), world.order_a1, "explode")
    assert response.status_code == 404


def test_anonymous_is_401(world: Any) -> None:
    assert APIClient().get(f"{ORDERS}/").status_code == 401
    assert APIClient().post(f"{ORDERS}/", intake_body(world), format="json").status_code == 401


# ------------------------------------------------------------------ the lifecycle


def test_full_lifecycle_through_the_api(world: Any, station: Any) -> None:
    agent, handler = client_for(world.agent_a1), client_for(station.handler)
    order = world.order_a1

    def step(client: APIClient, action: str, expected: str, **body: Any) -> dict[str, Any]:
        response = act(client, order, action, version=fresh(order).version, **body)
        assert response.status_code == 200, (action, response.content)
        data = response.json()
        assert data["status"] == expected, (action, data["status"])
        assert data["version"] == fresh(order).version
        return data

    data = step(agent, "dispatch", "dispatched", unit=station.unit.pk, note="请尽快")
    assert data["handling_unit"]["id"] == station.unit.pk and data["dispatched_at"]
    # The handler sees the order at their unit, with the actions they may take.
    detail = handler.get(f"{ORDERS}/{order.pk}/").json()
    assert {"acknowledge", "return"} <= {a["action"] for a in detail["allowed_actions"]}
    data = step(handler, "acknowledge", "acknowledged")
    assert data["assignee"]["id"] == station.handler.pk
    data = step(handler, "contact", "acknowledged", note="电话联系客户")
    assert data["contacted_at"]
    data = step(handler, "arrive", "on_site", note="到达现场")
    assert data["arrived_at"]
    assert {c["kind"]: c["state"] for c in data["clocks"]}["arrival"] == "met"
    data = step(handler, "handle", "handled", result="更换熔丝, 已恢复供电")
    assert data["result"] == "更换熔丝, 已恢复供电"
    data = step(agent, "reply", "replied", reply="已为您恢复供电")
    assert data["reply"] == "已为您恢复供电"
    data = step(agent, "callback", "called_back", satisfaction="satisfied", note="满意")
    assert data["satisfaction"] == "satisfied" and data["satisfaction_label"]
    data = step(agent, "archive", "archived")
    assert data["closed_at"] and {a["action"] for a in data["allowed_actions"]} <= {"note"}
    assert fresh(order).status == Status.ARCHIVED

    events = agent.get(f"{ORDERS}/{order.pk}/events/").json()["results"]
    assert [e["kind"] for e in events] == ["accepted", "dispatch", "acknowledge", "contact", "arrive", "handle",
                                           "reply", "callback", "archive"]
    assert events[1]["to_status"] == "dispatched" and events[1]["from_status"] == "accepted"
    assert events[2]["actor"]["id"] == station.handler.pk and events[2]["actor_unit"]["id"] == station.unit.pk
    assert events[5]["text"] == "更换熔丝, 已恢复供电"


def test_return_suspend_resume_transfer_urge(world: Any, station: Any) -> None:
    agent, handler = client_for(world.agent_a1), client_for(station.handler)
    leader = client_for(station.leader)
    order = world.order_a1
    other = make_unit("东门供电所", code="S2", parent=world.county_a1, level="station", region_class="urban")
    assert act(agent, order, "dispatch", unit=station.unit.pk).status_code == 200
    assert act(handler, order, "return", reason="不属本所").json()["status"] == "returned"
    assert act(agent, order, "dispatch", unit=station.unit.pk).status_code == 200
    assert act(handler, order, "acknowledge").status_code == 200
    assert act(handler, order, "suspend", reason="等待客户在家").json()["status"] == "suspended"
    assert act(handler, order, "resume", note="客户已在家").json()["status"] == "acknowledged"
    data = act(leader, order, "transfer", unit=other.pk, reason="跨所").json()
    assert data["handling_unit"]["id"] == other.pk and data["transfer_count"] == 1
    assert act(leader, order, "urge", reason="客户催促").json()["urge_count"] == 1
    # The old station no longer handles it: an action there is refused.
    assert act(handler, order, "acknowledge").status_code in (403, 404)
    kinds = [e["kind"] for e in agent.get(f"{ORDERS}/{order.pk}/events/").json()["results"]]
    assert kinds == ["accepted", "dispatch", "return", "dispatch", "acknowledge", "suspend", "resume", "transfer",
                     "urge"]


def test_enquiry_answered_on_the_call(world: Any) -> None:
    agent = client_for(world.agent_a1)
    response = agent.post(f"{ORDERS}/", intake_body(world, order_type="enquiry"), format="json")
    order = WorkOrder.objects.get(pk=response.json()["id"])
    data = act(agent, order, "handle", result="已解答电价问题").json()
    assert data["status"] == "handled"
    data = act(agent, order, "reply", reply="已解答").json()
    # An enquiry needs no callback: it may be archived once replied.
    assert "archive" in {a["action"] for a in data["allowed_actions"]}
    assert act(agent, order, "archive").json()["status"] == "archived"


def test_reopen_after_unsatisfied_callback(world: Any) -> None:
    agent = client_for(world.agent_a1)
    response = agent.post(f"{ORDERS}/", intake_body(world, order_type="enquiry"), format="json")
    order = WorkOrder.objects.get(pk=response.json()["id"])
    act(agent, order, "handle", result="已解答")
    act(agent, order, "reply", reply="已解答")
    assert "note" in errors(act(agent, order, "callback", satisfaction="unsatisfied"))
    assert act(agent, order, "callback", satisfaction="unsatisfied", note="没听懂").status_code == 200
    data = act(agent, order, "reopen", reason="客户不满意").json()
    # Never dispatched (answered on the call): it goes back to the agents, not to a handling unit.
    assert data["status"] == "accepted" and data["reopen_count"] == 1
    assert data["satisfaction"] == "" and data["handled_at"] is None


def test_reopen_sends_a_field_order_back_to_its_unit(world: Any, station: Any) -> None:
    agent, handler = client_for(world.agent_a1), client_for(station.handler)
    order = world.order_a1
    act(agent, order, "dispatch", unit=station.unit.pk)
    for action, body in [("acknowledge", {}), ("arrive", {}), ("handle", {"result": "已修复"})]:
        assert act(handler, order, action, **body).status_code == 200, action
    act(agent, order, "reply", reply="已修复")
    act(agent, order, "callback", satisfaction="unsatisfied", note="又停电了")
    data = act(agent, order, "reopen", reason="客户不满意").json()
    assert data["status"] == "dispatched" and data["handling_unit"]["id"] == station.unit.pk
    assert "acknowledge" in {a["action"] for a in handler.get(f"{ORDERS}/{order.pk}/").json()["allowed_actions"]}


def test_illegal_transition_is_409_and_changes_nothing(world: Any) -> None:
    agent = client_for(world.agent_a1)
    order = world.order_a1
    before = fresh(order)
    for action, body in [("archive", {}), ("reply", {"reply": "x"}), ("transfer", {"unit": world.county_a1.pk,
                                                                                  "reason": "x"})]:
        response = act(agent, order, action, **body)
        assert response.status_code == 409, (action, response.content)
        assert response.json()["code"] == "illegal_transition"
    after = fresh(order)
    assert (after.status, after.version) == (before.status, before.version)
    assert OrderEvent.objects.filter(order=order).count() == 1


def test_stale_version_is_409(world: Any, station: Any) -> None:
    agent = client_for(world.agent_a1)
    order = world.order_a1
    seen = fresh(order).version
    assert act(agent, order, "note", text="第一条", version=seen).status_code == 200
    response = act(agent, order, "dispatch", unit=station.unit.pk, version=seen)
    assert response.status_code == 409 and response.json()["code"] == "conflict"
    after = fresh(order)
    assert after.status == Status.ACCEPTED and after.version == seen + 1


def test_role_refusal_is_403(world: Any, station: Any) -> None:
    crew = client_for(world.crew_a1)
    response = act(crew, world.order_a1, "dispatch", unit=station.unit.pk)
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    # Even with an empty body the role is checked first.
    assert act(crew, world.order_a1, "cancel").status_code == 403
    assert act(client_for(world.agent_a1), world.order_a1, "supervise").status_code == 403
    # A handler outside the handling unit may not acknowledge.
    workorder_dispatch(actor=world.agent_a1, order=world.order_a1, unit=world.county_a1)
    assert act(client_for(station.handler), world.order_a1, "acknowledge").status_code in (403, 404)
    assert fresh(world.order_a1).status == Status.DISPATCHED


def test_supervise(world: Any, station: Any) -> None:
    leader = client_for(station.leader)
    order = world.order_a1
    past = (timezone.now() - timedelta(hours=1)).isoformat()
    assert "deadline" in errors(act(leader, order, "supervise", deadline=past, reason="重点"))
    assert "deadline" in errors(act(leader, order, "supervise", deadline="tomorrow", reason="重点"))
    assert not fresh(order).supervised
    future = (timezone.now() + timedelta(hours=4)).isoformat()
    data = act(leader, order, "supervise", deadline=future, reason="重点督办").json()
    assert data["supervised"] is True and data["supervise_due_at"]
    assert ids(leader.get(f"{ORDERS}/", {"queue": "supervised"})) == {order.pk}


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("dispatch", {}, "unit"),
        ("dispatch", {"unit": "abc"}, "unit"),
        ("dispatch", {"unit": 10**30}, "unit"),
        ("dispatch", {"unit": 99_999_999}, "unit"),
        ("dispatch", {"unit": "B1"}, "unit"),
        ("dispatch", {"unit": 1, "version": "new"}, "version"),
        ("dispatch", {"unit": 1, "version": 0}, "version"),
        ("dispatch", {"unit": 1, "when": "now"}, "when"),
        ("cancel", {"reason": "bored"}, "reason"),
        ("cancel", {}, "reason"),
        ("urge", {"reason": ""}, "reason"),
        ("note", {"text": "字" * 2001}, "text"),
        ("merge", {}, "into"),
        ("merge", {"into": "nope"}, "into"),
        ("merge", {"into": 99_999_999}, "into"),
        ("merge", {"into": [1]}, "into"),
    ],
)
def test_action_bad_input_is_400(world: Any, action: str, body: dict[str, Any], field: str) -> None:
    order = world.order_a1
    before = fresh(order).version
    assert field in errors(act(client_for(world.agent_a1), order, action, **body))
    assert fresh(order).version == before


GARBAGE: list[Any] = [
    [], "text", 7, None, {"version": "x"}, {"version": True}, {"unit": {"id": 1}}, {"unit": [1]}, {"reason": ["a"]},
    {"reason": {"a": 1}}, {"deadline": 12}, {"deadline": "2030-13-45T99:00"}, {"into": None}, {"into": 1.5},
    {"satisfaction": ["satisfied"]}, {"text": None}, {"result": 3.5}, {"note": {"n": 1}}, {"": 1},
]


@pytest.mark.parametrize("action", [a.value for a in Action])
def test_garbage_bodies_never_500(world: Any, action: str) -> None:
    client = client_for(world.admin)
    for body in GARBAGE:
        response = client.generic("POST", f"{ORDERS}/{world.order_a1.pk}/actions/{action}/", json.dumps(body),
                                  content_type="application/json")
        assert response.status_code in (400, 409), (action, body, response.status_code, response.content)
    response = client.generic("POST", f"{ORDERS}/{world.order_a1.pk}/actions/{action}/", "{not json",
                              content_type="application/json")
    assert response.status_code in (400, 409)


def test_dispatch_to_unit_outside_scope_is_400(world: Any) -> None:
    response = act(client_for(world.agent_a1), world.order_a1, "dispatch", unit=world.county_b1.pk)
    assert "unit" in errors(response)


def test_cancel(world: Any) -> None:
    data = act(client_for(world.agent_a1), world.order_a1, "cancel", reason="mistaken", note="误建").json()
    assert data["status"] == "cancelled" and data["cancel_reason"] == "mistaken" and data["closed_at"]


def test_merge_by_number_and_by_id(world: Any) -> None:
    agent = client_for(world.agent_a1)
    extra = workorder_intake(actor=world.agent_a1, order_type="repair", channel="phone", account=world.account_a1,
                             content="again").order
    data = act(agent, extra, "merge", into=world.order_a1.number).json()
    assert data["status"] == "merged" and data["merged_into"] == {"id": world.order_a1.pk,
                                                                  "number": world.order_a1.number}
    survivor = agent.get(f"{ORDERS}/{world.order_a1.pk}/").json()
    assert survivor["merged"] == [{"id": extra.pk, "number": extra.number}] and survivor["repeat_count"] == 1
    third = workorder_intake(actor=world.agent_a1, order_type="repair", channel="phone", account=world.account_a1,
                             content="third").order
    assert act(agent, third, "merge", into=world.order_a1.pk).json()["status"] == "merged"
    assert "into" in errors(act(agent, world.order_a1, "merge", into=world.order_a1.pk))
    # An order of another county is unknown here.
    fourth = workorder_intake(actor=world.agent_a1, order_type="repair", channel="phone", account=world.account_a1,
                              content="fourth").order
    assert "into" in errors(act(agent, fourth, "merge", into=world.order_b1.number))


# ------------------------------------------------------------------ repeat calls and duplicates


def test_repeat_call_with_idempotency_key(world: Any) -> None:
    agent = client_for(world.agent_a1)
    url = f"{ORDERS}/{world.order_a1.pk}/repeat-call/"
    first = agent.post(url, {"caller_phone": "13800001111", "note": "又打来了"}, format="json",
                       HTTP_IDEMPOTENCY_KEY="rc-1")
    assert first.status_code == 200, first.content
    assert first.json()["repeat_count"] == 1 and "Idempotent-Replayed" not in first
    again = agent.post(url, {"caller_phone": "13800001111", "note": "又打来了"}, format="json",
                       HTTP_IDEMPOTENCY_KEY="rc-1")
    assert again.status_code == 200 and again.json()["repeat_count"] == 1
    assert again["Idempotent-Replayed"] == "true"
    other = agent.post(f"{ORDERS}/repeat/", {"order": world.order_a1.number}, format="json",
                       HTTP_IDEMPOTENCY_KEY="rc-2")
    assert other.status_code == 200 and other.json()["repeat_count"] == 2
    by_id = agent.post(f"{ORDERS}/repeat/", {"order": world.order_a1.pk}, format="json")
    assert by_id.json()["repeat_count"] == 3
    events = agent.get(f"{ORDERS}/{world.order_a1.pk}/events/").json()["results"]
    assert [e["kind"] for e in events].count("repeat_call") == 3
    # The phone in the event data is masked for those without personal data.
    crew_events = client_for(world.crew_a1).get(f"{ORDERS}/{world.order_a1.pk}/events/").json()["results"]
    assert crew_events[1]["data"]["phone"] == "138****1111"
    assert events[1]["data"]["phone"] == "+8613800001111"


def test_repeat_call_bad_input(world: Any) -> None:
    agent = client_for(world.agent_a1)
    assert "order" in errors(agent.post(f"{ORDERS}/repeat/", {}, format="json"))
    assert "order" in errors(agent.post(f"{ORDERS}/repeat/", {"order": world.order_b1.pk}, format="json"))
    assert "caller_phone" in errors(agent.post(f"{ORDERS}/{world.order_a1.pk}/repeat-call/",
                                               {"caller_phone": "123"}, format="json"))
    assert client_for(world.crew_a1).post(f"{ORDERS}/{world.order_a1.pk}/repeat-call/", {},
                                          format="json").status_code == 403
    assert fresh(world.order_a1).repeat_count == 0


def test_repeat_call_on_closed_order_is_409(world: Any) -> None:
    agent = client_for(world.agent_a1)
    act(agent, world.order_a1, "cancel", reason="duplicate")
    response = agent.post(f"{ORDERS}/{world.order_a1.pk}/repeat-call/", {}, format="json")
    assert response.status_code == 409


def test_duplicates(world: Any) -> None:
    agent = client_for(world.agent_a1)
    url = f"{ORDERS}/duplicates/"
    rows = agent.get(url, {"account": world.account_a1.pk}).json()["results"]
    assert [r["id"] for r in rows] == [world.order_a1.pk]
    assert agent.get(url, {"account": world.account_a1.pk, "order_type": "enquiry"}).json()["results"] == []
    assert [r["id"] for r in agent.get(url, {"account": world.account_a1.pk, "order_type": "repair"}).json()[
        "results"]] == [world.order_a1.pk]
    phone_order = workorder_intake(actor=world.agent_a1, order_type="enquiry", channel="phone", utility="power",
                                   caller_phone="13912345678", content="x").order
    rows = agent.get(url, {"phone": "139-1234-5678"}).json()["results"]
    assert [r["id"] for r in rows] == [phone_order.pk]
    assert "account" in errors(agent.get(url))
    assert "account" in errors(agent.get(url, {"account": world.account_b1.pk}))
    assert "account" in errors(agent.get(url, {"account": "abc"}))
    assert "phone" in errors(agent.get(url, {"phone": "12"}))
    assert "order_type" in errors(agent.get(url, {"account": world.account_a1.pk, "order_type": "nope"}))


# ------------------------------------------------------------------ catalogue, policies, handovers


def test_type_tree(world: Any) -> None:
    client = client_for(world.crew_a1)
    roots = client.get(f"{API}/workorder-types/").json()["results"]
    by_code = {r["code"]: r for r in roots}
    service = by_code["service"]
    assert service["selectable"] is False and service["children"]
    assert all(c["selectable"] and c["parent"] == service["id"] for c in service["children"])
    assert by_code["repair"]["selectable"] is True and by_code["repair"]["children"] == []
    gas = {r["code"]: r for r in client.get(f"{API}/workorder-types/", {"utility": "gas"}).json()["results"]}
    assert "repair" not in gas and "gas_repair" in gas and "complaint" in gas
    assert "complaint_outage" not in {c["code"] for c in gas["complaint"]["children"]}
    assert "utility" in errors(client.get(f"{API}/workorder-types/", {"utility": "water"}))


def test_policies(world: Any) -> None:
    client = client_for(world.crew_a1)
    rows = client.get(f"{API}/sla-policies/", {"page_size": 200}).json()["results"]
    assert rows and {"clock", "clock_label", "amount", "unit", "order_type"} <= set(rows[0])
    repair = client.get(f"{API}/sla-policies/", {"order_type": "repair"}).json()["results"]
    assert repair and {r["order_type"]["code"] for r in repair} == {"repair"}
    assert "order_type" in errors(client.get(f"{API}/sla-policies/", {"order_type": "nope"}))


def test_handovers_in_scope(world: Any) -> None:
    now = timezone.now()

    def handover(unit: Any, by: Any, order: WorkOrder) -> ShiftHandover:
        h = ShiftHandover.objects.create(unit=unit, shift_start=now - timedelta(hours=8), shift_end=now,
                                         summary="交班", created_by=by, created_at=now)
        HandoverItem.objects.create(handover=h, order=order, status_at_handover=order.status, note="跟进")
        return h

    leader_b1 = make_staff("leader_b1", unit=world.county_b1, roles=["shift_leader"])
    a1 = handover(world.county_a1, world.agent_a1, world.order_a1)
    b1 = handover(world.county_b1, leader_b1, world.order_b1)
    assert ids(client_for(world.agent_a1).get(f"{API}/handovers/")) == {a1.pk}
    assert ids(client_for(world.outsider).get(f"{API}/handovers/")) == {b1.pk}
    assert ids(client_for(world.admin).get(f"{API}/handovers/")) == {a1.pk, b1.pk}
    row = client_for(world.agent_a1).get(f"{API}/handovers/").json()["results"][0]
    assert row["items"][0]["order"] == {"id": world.order_a1.pk, "number": world.order_a1.number}
    assert row["status"] == "pending" and row["created_by"]["id"] == world.agent_a1.pk


def test_scoping_suite_role_sets_follow_the_capabilities() -> None:
    """tests/test_scoping.py spells out who may take each action; keep it equal to the role table."""

    def holders(capability: str) -> set[str]:
        return {role for role, caps in ROLE_CAPABILITIES.items() if capability in caps}

    assert holders(Capability.ORDER_DISPATCH) == scoping.ORDER_DISPATCHERS
    assert holders(Capability.ORDER_HANDLE) == scoping.ORDER_HANDLERS
    assert holders(Capability.ORDER_REPLY) == scoping.ORDER_REPLIERS
    assert holders(Capability.ORDER_INTAKE) == scoping.ORDER_INTAKERS
    assert holders(Capability.ORDER_SUPERVISE) == scoping.ORDER_SUPERVISORS
