"""Desk API: the IVR's answer, the call log with its filters and pages, one call with its orders and
activities, the callback queue and its actions, and the published schema."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from kefu.core.models import AuditLog
from kefu.desk import services as svc
from kefu.desk.choices import CallbackStatus
from kefu.desk.models import Call
from kefu.desk.tests.factories import (
    IVR_URL,
    Center,
    abandon,
    agent_token,
    make_center,
    miss,
    talk,
    token_client,
)
from kefu.org.tests.apiclient import API, client_for, ids
from kefu.org.tests.factories import make_staff
from kefu.workorders.models import WorkOrder

CALLS = f"{API}/desk/calls"
CALLBACKS = f"{API}/desk/callbacks"


@pytest.fixture
def center(world: Any) -> Center:
    return make_center(world)


def errors(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 400, (response.status_code, response.content)
    return dict(response.json()["errors"])


def moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


# ------------------------------------------------------------------ IVR


def test_ivr_tells_a_caller_about_their_open_repair_order(world: Any, center: Center) -> None:
    order = WorkOrder.objects.get(pk=world.order_a1.pk)
    assert order.due_at is not None
    response = token_client(center.token).get(IVR_URL, {"caller": "+86 138-0000-1111"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["matched"] is True and body["has_open_order"] is True
    assert [o["number"] for o in body["open_orders"]] == [order.number]
    row = body["open_orders"][0]
    assert row["status"] == order.status and row["status_label"]
    assert moment(row["expected_by"]) == order.due_at
    assert moment(row["accepted_at"]) == order.accepted_at
    assert body["outages"] == []
    assert order.number in body["say"] and "expected to be done by" in body["say"]

    # The account number keyed in finds the same order.
    by_account = token_client(center.token).get(IVR_URL, {"account": world.account_a1.number})
    assert [o["number"] for o in by_account.json()["open_orders"]] == [order.number]


def test_ivr_answers_in_the_callers_language(world: Any, center: Center) -> None:
    client = token_client(center.token)
    english = client.get(IVR_URL, {"caller": "13999990000"}, HTTP_ACCEPT_LANGUAGE="en").json()["say"]
    chinese = client.get(IVR_URL, {"caller": "13999990000"}, HTTP_ACCEPT_LANGUAGE="zh-hans").json()["say"]
    assert english == "We could not find your records; please hold for an agent."
    assert chinese  # the catalogue's translation, or the English text until it is translated


def test_ivr_for_an_unknown_caller(world: Any, center: Center) -> None:
    response = token_client(center.token).get(IVR_URL, {"caller": "13999990000"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    body = response.json()
    assert (body["matched"], body["has_open_order"], body["open_orders"]) == (False, False, [])
    assert "could not find" in body["say"]
    # A withheld number is just unknown, not an error.
    withheld = token_client(center.token).get(IVR_URL, {"caller": "anonymous"})
    assert withheld.status_code == 200 and withheld.json()["matched"] is False


def test_ivr_for_a_known_caller_without_open_orders(world: Any, center: Center) -> None:
    WorkOrder.objects.filter(pk=world.order_a2.pk).update(status="archived")
    response = token_client(center.token).get(IVR_URL, {"caller": "13800002222"}, HTTP_ACCEPT_LANGUAGE="en")
    body = response.json()
    assert (body["matched"], body["has_open_order"]) == (True, False)
    assert "no open request" in body["say"]


def test_ivr_needs_a_number_and_the_telephony_role(world: Any, center: Center) -> None:
    client = token_client(center.token)
    assert "caller" in errors(client.get(IVR_URL))
    assert "caller" in errors(client.get(IVR_URL, {"caller": " ", "account": ""}))
    assert "caller" in errors(client.get(IVR_URL, {"caller": "1" * 41}))
    agent = token_client(agent_token(world.agent_a1)).get(IVR_URL, {"caller": "13800001111"})
    assert agent.status_code == 403


# ------------------------------------------------------------------ call log


def test_call_log_shows_the_units_calls_newest_first(world: Any, center: Center) -> None:
    now = timezone.now()
    older = talk(center, caller="13800001111", start=now - timedelta(hours=3))
    newer = miss(center, caller="13800002222", start=now - timedelta(hours=1))
    at_center = abandon(center, caller="13800001111")
    client = client_for(world.agent_a1)
    response = client.get(f"{CALLS}/")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [r["id"] for r in rows] == [newer.pk, older.pk]
    assert rows[1]["state"] == "completed" and rows[1]["caller"] == "13800001111"
    assert rows[1]["agent"]["id"] == world.agent_a1.pk and rows[1]["duration_seconds"] == 95
    assert rows[0]["callback_status"] == "pending" and rows[0]["callback_status_label"]
    # The center's own call is in the center's log, not the county's.
    assert ids(client_for(center.agent).get(f"{CALLS}/")) == {at_center.pk}
    assert ids(client_for(world.agent_a2).get(f"{CALLS}/")) == set()


def test_call_log_filters(world: Any, center: Center) -> None:
    now = timezone.now()
    older = talk(center, caller="13800001111", start=now - timedelta(hours=3))
    newer = miss(center, caller="13800002222", start=now - timedelta(hours=1))
    client = client_for(world.agent_a1)
    assert ids(client.get(f"{CALLS}/", {"state": "missed"})) == {newer.pk}
    assert ids(client.get(f"{CALLS}/", {"phone": "+86 138 0000 1111"})) == {older.pk}
    assert ids(client.get(f"{CALLS}/", {"agent": world.agent_a1.pk})) == {older.pk, newer.pk}
    assert ids(client.get(f"{CALLS}/", {"agent": world.agent_a2.pk})) == set()
    since = (now - timedelta(hours=2)).isoformat()
    assert ids(client.get(f"{CALLS}/", {"since": since})) == {newer.pk}
    assert ids(client.get(f"{CALLS}/", {"until": since})) == {older.pk}


@pytest.mark.parametrize(("query", "field"), [
    ({"state": "lost"}, "state"),
    ({"agent": "abc"}, "agent"),
    ({"agent": "9" * 30}, "agent"),
    ({"since": "last week"}, "since"),
    ({"since": "2026-03-02T00:00:00+08:00", "until": "2026-03-01T00:00:00+08:00"}, "until"),
    ({"cursor": "garbage"}, "cursor"),
])
def test_call_log_refuses_bad_filters(world: Any, center: Center, query: dict[str, str], field: str) -> None:
    assert field in errors(client_for(world.agent_a1).get(f"{CALLS}/", query))


def test_call_log_pages(world: Any, center: Center) -> None:
    made = [miss(center, caller=f"1380000{n:04d}") for n in range(5)]
    client = client_for(world.agent_a1)
    seen: list[int] = []
    url: str | None = f"{CALLS}/?page_size=2"
    while url:
        page = client.get(url).json()
        assert len(page["results"]) <= 2
        seen += [r["id"] for r in page["results"]]
        url = page["next"]
    assert seen == sorted((c.pk for c in made), reverse=True)


def test_only_the_desk_reads_the_call_log(world: Any, center: Center) -> None:
    talk(center)
    assert token_client(center.token).get(f"{CALLS}/").status_code == 403
    assert client_for(world.crew_a1).get(f"{CALLS}/").status_code == 403
    assert client_for(world.crew_a1).get(f"{CALLBACKS}/").status_code == 403


def test_one_call_with_its_orders_and_activities(world: Any, center: Center) -> None:
    call = talk(center, caller="13800001111")
    created = svc.call_create_order(actor=world.agent_a1, call_pk=call.pk, order_type="repair",
                                    content="电表箱冒烟 / smoke from the meter box", account=world.account_a1,
                                    intake_key="f1").order
    svc.call_urge_order(actor=world.agent_a1, call_pk=call.pk, order_id=world.order_a1.pk, reason="等了很久")
    svc.call_record_result(actor=world.agent_a1, call_pk=call.pk, result="order_created")

    response = client_for(world.agent_a1).get(f"{CALLS}/{call.pk}/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["result"] == "order_created" and body["customer"]["id"] == world.account_a1.customer_id
    assert [(o["order"]["number"], o["relation"]) for o in body["orders"]] == [
        (created.number, "created"), (world.order_a1.number, "urged")]
    assert body["orders"][0]["status"] == "accepted" and body["orders"][0]["actor"]["id"] == world.agent_a1.pk
    assert [a["kind"] for a in body["activities"]] == ["order", "order", "result"]
    assert body["activities"][-1]["data"] == {"result": "order_created"}
    # Seeing the full number is audited.
    assert AuditLog.objects.filter(action="view_personal", object_id=call.pk, actor=world.agent_a1).exists()

    assert client_for(world.agent_a2).get(f"{CALLS}/{call.pk}/").status_code == 404
    assert client_for(world.agent_a1).get(f"{CALLS}/999999/").status_code == 404
    assert client_for(world.agent_a1).get(f"{CALLS}/abc/").status_code == 404


# ------------------------------------------------------------------ callbacks


def test_callback_queue_and_actions(world: Any, center: Center) -> None:
    first = miss(center, caller="13800001111", start=timezone.now() - timedelta(hours=2))
    second = miss(center, caller="13800001111", start=timezone.now() - timedelta(hours=1))
    client = client_for(world.agent_a1)
    queue = client.get(f"{CALLBACKS}/")
    assert queue.status_code == 200
    rows = queue.json()["results"]
    assert [(r["call"]["id"], r["waiting"]) for r in rows] == [(second.pk, 2)]
    assert moment(rows[0]["first_at"]) == first.started_at

    claimed = client.post(f"{CALLBACKS}/{second.pk}/claim/", {}, format="json")
    assert claimed.status_code == 200, claimed.content
    assert claimed.json()["callback_status"] == "claimed"
    assert claimed.json()["callback_by"]["id"] == world.agent_a1.pk

    colleague = client_for(center.leader)  # out of A1's scope: not found
    assert colleague.post(f"{CALLBACKS}/{second.pk}/claim/", {}, format="json").status_code == 404

    released = client.post(f"{CALLBACKS}/{second.pk}/release/", {}, format="json")
    assert released.status_code == 200 and released.json()["callback_status"] == "pending"
    assert client.post(f"{CALLBACKS}/{second.pk}/release/", {}, format="json").status_code == 409

    recorded = client.post(f"{CALLBACKS}/{second.pk}/record/", {"outcome": "reached", "note": "已回电"},
                           format="json")
    assert recorded.status_code == 200, recorded.content
    assert recorded.json()["callback_status"] == "done" and recorded.json()["callback_attempts"] == 1
    assert Call.objects.get(pk=first.pk).callback_status == CallbackStatus.DONE
    assert client.get(f"{CALLBACKS}/").json()["results"] == []


def test_two_agents_cannot_take_the_same_callback(world: Any, center: Center) -> None:
    call = miss(center, caller="13800001111")
    crew = client_for(world.crew_a1)  # sees A1's data, but does not work the desk
    assert crew.post(f"{CALLBACKS}/{call.pk}/claim/", {}, format="json").status_code == 403
    colleague = make_staff("agent_a1c", unit=world.county_a1, roles=["agent"])
    assert client_for(world.agent_a1).post(f"{CALLBACKS}/{call.pk}/claim/", {}, format="json").status_code == 200
    taken = client_for(colleague).post(f"{CALLBACKS}/{call.pk}/claim/", {}, format="json")
    assert taken.status_code == 409 and taken.json()["code"] == "conflict"
    assert Call.objects.get(pk=call.pk).callback_by == world.agent_a1


@pytest.mark.parametrize(("body", "field"), [
    ({}, "outcome"),
    ({"outcome": "maybe"}, "outcome"),
    ({"outcome": "reached", "note": "x" * 2001}, "note"),
    ({"outcome": "reached", "mood": "happy"}, "mood"),
])
def test_callback_record_refuses_bad_input(world: Any, center: Center, body: dict[str, Any], field: str) -> None:
    call = miss(center, caller="13800001111")
    assert field in errors(client_for(world.agent_a1).post(f"{CALLBACKS}/{call.pk}/record/", body, format="json"))
    assert Call.objects.get(pk=call.pk).callback_attempts == 0


# ------------------------------------------------------------------ schema


def test_the_schema_documents_the_telephone_endpoints(world: Any) -> None:
    response = client_for(world.agent_a1).get(f"{API}/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    cti = paths["/api/v1/cti/events/"]["post"]
    assert set(cti["responses"]) >= {"200", "201", "400", "403"}
    body = cti["requestBody"]["content"]["application/json"]
    assert body["examples"]  # the telephone system's vendor sees what to send
    request_ref = body["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(schema["components"]["schemas"][request_ref]["required"]) == {"event", "call_id"}
    assert "get" in paths["/api/v1/ivr/lookup/"]
    for path in ("/api/v1/desk/calls/", "/api/v1/desk/calls/{id}/", "/api/v1/desk/callbacks/",
                 "/api/v1/desk/callbacks/{id}/claim/", "/api/v1/desk/callbacks/{id}/record/",
                 "/api/v1/desk/callbacks/{id}/release/"):
        assert path in paths, path
