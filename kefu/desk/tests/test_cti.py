"""Telephone events: one call per call id whatever the order, retries and races; unanswered calls
join the callback queue; the caller's number finds the customer in any spelling; bad input is a 400
that names the field and stores nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from kefu.customers.tests.factories import make_account
from kefu.desk.choices import CallbackStatus, CallState
from kefu.desk.models import Call, CtiEvent
from kefu.desk.selectors import callback_queue, desk_call, desk_card
from kefu.desk.services import callback_claim
from kefu.desk.tests.factories import (
    CTI_URL,
    Center,
    abandon,
    agent_token,
    call_of,
    cti,
    make_center,
    miss,
    new_call_id,
    token_client,
)
from kefu.workorders.tests.factories import reseed, run_together, shared_database


@pytest.fixture
def center(world: Any) -> Center:
    return make_center(world)


def errors(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 400, (response.status_code, response.content)
    body = response.json()
    assert body["code"] == "invalid" and body["detail"]
    return dict(body["errors"])


def stored() -> tuple[int, int]:
    return Call.objects.count(), CtiEvent.objects.count()


T0 = timezone.now().replace(microsecond=0) - timedelta(hours=1)

EVENTS: dict[str, dict[str, Any]] = {
    "ringing": {"at": T0, "caller": "+86 138 0013 8000", "called": "95598", "extension": "8001"},
    "answered": {"at": T0 + timedelta(seconds=7), "extension": "8001"},
    "ended": {"at": T0 + timedelta(seconds=218), "duration": 211, "recording": "rec/2026/000417.wav",
              "reason": "normal"},
}


def body(event: str, call_id: str) -> dict[str, Any]:
    fields = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in EVENTS[event].items()}
    return {"event": event, "call_id": call_id, **fields}


def final(call_id: str) -> tuple[Any, ...]:
    """What the call log and the desk show of a call."""
    c = call_of(call_id)
    return (c.state, c.started_at, c.rang_at, c.answered_at, c.ended_at, c.duration_seconds, c.recording_ref,
            c.extension, c.agent_id, c.unit_id, c.caller, c.caller_e164, c.customer_id, c.callback_status)


# ------------------------------------------------------------------ a whole call


def test_full_call_through_the_api(world: Any, center: Center) -> None:
    client = token_client(center.token)
    call_id = "pbx-20260312-000417"
    ringing = client.post(CTI_URL, body("ringing", call_id), format="json")
    assert ringing.status_code == 201, ringing.content
    assert ringing.json()["duplicate"] is False
    assert ringing.json()["call"]["state"] == "ringing"
    # The agent signed in at 8001 sees it ring on the desk.
    assert desk_call(world.agent_a1).call_id == call_id  # type: ignore[union-attr]

    answered = client.post(CTI_URL, body("answered", call_id), format="json")
    assert answered.status_code == 201 and answered.json()["call"]["state"] == "talking"
    ended = client.post(CTI_URL, body("ended", call_id), format="json")
    assert ended.status_code == 201, ended.content
    row = ended.json()["call"]
    assert row["state"] == "completed" and row["duration_seconds"] == 211
    assert row["recording_ref"] == "rec/2026/000417.wav"
    assert row["agent"]["id"] == world.agent_a1.pk and row["extension"] == "8001"
    # The telephone system may not see personal data: the number it sent comes back masked.
    assert row["caller_masked"] is True and "0013" not in row["caller"]

    assert Call.objects.count() == 1
    call = call_of(call_id)
    assert (call.state, call.duration_seconds, call.recording_ref) == (CallState.COMPLETED, 211,
                                                                      "rec/2026/000417.wav")
    assert (call.rang_at, call.answered_at, call.ended_at) == (T0, T0 + timedelta(seconds=7),
                                                               T0 + timedelta(seconds=218))
    assert call.caller_e164 == "+8613800138000" and call.unit == world.county_a1
    assert call.callback_status == CallbackStatus.NONE
    assert CtiEvent.objects.filter(call=call).count() == 3


@pytest.mark.parametrize("again", ["ringing", "answered", "ended"])
def test_a_replayed_event_is_a_duplicate_and_changes_nothing(world: Any, center: Center, again: str) -> None:
    client = token_client(center.token)
    call_id = new_call_id()
    for event in ("ringing", "answered", "ended"):
        assert client.post(CTI_URL, body(event, call_id), format="json").status_code == 201
    before, version, counts = final(call_id), call_of(call_id).version, stored()

    # A retry, even one with different details, is recognised by call id and event kind.
    retry = {**body(again, call_id), "duration": 5, "recording": "other.wav", "extension": "8101"}
    for _ in range(2):
        response = client.post(CTI_URL, retry, format="json")
        assert response.status_code == 200, response.content
        assert response.json()["duplicate"] is True
        assert response.json()["call"]["state"] == "completed"
    assert final(call_id) == before
    assert call_of(call_id).version == version
    assert stored() == counts


@pytest.mark.parametrize("order", [
    ("ended", "ringing", "answered"),
    ("answered", "ringing", "ended"),
    ("ended", "answered", "ringing"),
    ("answered", "ended", "ringing"),
])
def test_events_out_of_order_give_the_same_call(world: Any, center: Center, order: tuple[str, ...]) -> None:
    in_order, shuffled = new_call_id(), new_call_id()
    for event in ("ringing", "answered", "ended"):
        cti(center, event, in_order, **EVENTS[event])
    for event in order:
        cti(center, event, shuffled, **EVENTS[event])
    assert final(shuffled) == final(in_order)
    assert call_of(shuffled).state == CallState.COMPLETED
    assert call_of(shuffled).callback_status == CallbackStatus.NONE
    assert Call.objects.count() == 2


def test_duration_is_worked_out_when_the_switch_does_not_send_it(world: Any, center: Center) -> None:
    call_id = new_call_id()
    cti(center, "ended", call_id, at=T0 + timedelta(seconds=100))
    cti(center, "answered", call_id, at=T0 + timedelta(seconds=10), extension="8001")
    cti(center, "ringing", call_id, at=T0, caller="13800138000", extension="8001")
    call = call_of(call_id)
    assert (call.state, call.duration_seconds, call.started_at) == (CallState.COMPLETED, 90, T0)


# ------------------------------------------------------------------ unanswered calls


def test_rang_but_not_answered_is_missed_and_waits_for_a_callback(world: Any, center: Center) -> None:
    call = miss(center, caller="13800138000")
    assert (call.state, call.callback_status) == (CallState.MISSED, CallbackStatus.PENDING)
    assert call.agent == world.agent_a1 and call.duration_seconds == 0
    queue = callback_queue(world.agent_a1)
    assert [item.call.pk for item in queue] == [call.pk]


def test_hung_up_in_the_queue_is_abandoned_and_waits_at_the_center(world: Any, center: Center) -> None:
    call = abandon(center, caller="13800138000")
    assert (call.state, call.callback_status) == (CallState.ABANDONED, CallbackStatus.PENDING)
    assert call.extension == "" and call.agent is None and call.unit == center.unit
    assert [item.call.pk for item in callback_queue(center.agent)] == [call.pk]
    assert callback_queue(world.agent_a1) == []  # a county agent does not see the center's queue


def test_served_by_the_ivr_needs_no_callback(world: Any, center: Center) -> None:
    call_id = new_call_id()
    cti(center, "ivr", call_id, caller="13800138000", ivr_choice="3-1")
    cti(center, "ended", call_id, reason="self_service")
    call = call_of(call_id)
    assert (call.state, call.callback_status, call.ivr_result) == (CallState.SELF_SERVED, CallbackStatus.NONE,
                                                                   "3-1")
    assert callback_queue(center.agent) == []


def test_withheld_number_cannot_be_called_back(world: Any, center: Center) -> None:
    call = abandon(center, caller="anonymous")
    assert (call.state, call.caller_e164, call.callback_status) == (CallState.ABANDONED, "", CallbackStatus.NONE)


def test_a_late_answered_event_takes_the_call_out_of_the_callback_queue(world: Any, center: Center) -> None:
    call = miss(center, caller="13800138000")
    assert [item.call.pk for item in callback_queue(world.agent_a1)] == [call.pk]
    assert call.rang_at is not None
    cti(center, "answered", call.call_id, at=call.rang_at + timedelta(seconds=5), extension="8001")
    call = call_of(call.call_id)
    assert (call.state, call.callback_status) == (CallState.COMPLETED, CallbackStatus.NONE)
    assert callback_queue(world.agent_a1) == []


def test_a_late_answered_event_also_settles_a_callback_already_taken(world: Any, center: Center) -> None:
    call = miss(center, caller="13800138000")
    callback_claim(actor=world.agent_a1, call_pk=call.pk)
    assert call.rang_at is not None
    cti(center, "answered", call.call_id, at=call.rang_at + timedelta(seconds=5), extension="8001")
    call = call_of(call.call_id)
    assert (call.callback_status, call.callback_by_id) == (CallbackStatus.NONE, None)
    assert callback_queue(world.agent_a1) == []


# ------------------------------------------------------------------ who is calling


@pytest.mark.parametrize("caller", ["+86 138 0013 8000", "008613800138000", "13800138000", "138-0013-8000"])
def test_a_mobile_number_in_any_spelling_finds_the_customer(world: Any, center: Center, caller: str) -> None:
    account = make_account(unit=world.county_a1, name="陈来电", phone="13800138000")
    call_id = new_call_id()
    cti(center, "ringing", call_id, caller=caller, extension="8001")
    call = call_of(call_id)
    assert call.caller_e164 == "+8613800138000"
    assert call.candidates == [account.customer_id]
    assert call.customer_id == account.customer_id
    card = desk_card(world.agent_a1, call)
    assert [c.customer.name for c in card.candidates] == ["陈来电"]


@pytest.mark.parametrize(("stored_as", "caller"), [
    ("057187654321", "0571-87654321 转 8001"),
    ("0571-87654321 转 8001", "057187654321"),
    ("0571 8765 4321", "+86 571 8765 4321"),
])
def test_a_landline_in_any_spelling_finds_the_customer(world: Any, center: Center, stored_as: str,
                                                       caller: str) -> None:
    account = make_account(unit=world.county_a1, name="杭州商铺", phone=stored_as)
    call_id = new_call_id()
    cti(center, "ringing", call_id, caller=caller, extension="8001")
    call = call_of(call_id)
    assert call.caller_e164 == "+8657187654321"
    assert call.customer_id == account.customer_id


def test_an_unknown_number_has_no_candidates(world: Any, center: Center) -> None:
    call_id = new_call_id()
    cti(center, "ringing", call_id, caller="13999990000", extension="8001")
    call = call_of(call_id)
    assert call.caller_e164 == "+8613999990000"
    assert (call.candidates, call.customer_id) == ([], None)
    assert desk_card(world.agent_a1, call).unknown


def test_a_shared_number_gives_two_candidates_and_no_automatic_choice(world: Any, center: Center) -> None:
    first = make_account(unit=world.county_a1, name="张父", phone="13700137000")
    second = make_account(unit=world.county_a1, name="张子", phone="137 0013 7000")
    call_id = new_call_id()
    cti(center, "ringing", call_id, caller="13700137000", extension="8001")
    call = call_of(call_id)
    assert sorted(call.candidates) == sorted([first.customer_id, second.customer_id])
    assert call.customer_id is None
    assert {c.customer.name for c in desk_card(world.agent_a1, call).candidates} == {"张父", "张子"}


def test_an_account_number_keyed_in_at_the_ivr_identifies_the_customer(world: Any, center: Center) -> None:
    call_id = new_call_id()
    # Calling from a number nobody registered, but keying in world.account_a1's number.
    cti(center, "ivr", call_id, caller="13999990001", ivr_choice="1-2", account_number=world.account_a1.number)
    cti(center, "ringing", call_id, extension="8001")
    call = call_of(call_id)
    assert call.customer_id == world.account_a1.customer_id
    assert call.account_id == world.account_a1.pk
    assert call.state == CallState.RINGING and call.ivr_result == "1-2"


# ------------------------------------------------------------------ refused input


def test_an_unknown_extension_is_refused_and_nothing_is_stored(world: Any, center: Center) -> None:
    client = token_client(center.token)
    response = client.post(CTI_URL, {"event": "ringing", "call_id": "pbx-x1", "caller": "13800138000",
                                     "extension": "8099"}, format="json")
    assert "8099" in errors(response)["extension"][0]
    assert stored() == (0, 0)


@pytest.mark.parametrize(("payload", "field"), [
    ({"event": "ringing"}, "call_id"),
    ({"event": "hangup", "call_id": "pbx-1"}, "event"),
    ({"call_id": "pbx-1"}, "event"),
    ({"event": "ended", "call_id": "pbx-1", "duration": "abc"}, "duration"),
    ({"event": "ended", "call_id": "pbx-1", "duration": -3}, "duration"),
    ({"event": "ended", "call_id": "pbx-1", "duration": 1.5}, "duration"),
    ({"event": "ringing", "call_id": "x" * 200}, "call_id"),
    ({"event": "ringing", "call_id": "pbx 1 2"}, "call_id"),
    ({"event": "ringing", "call_id": ["pbx-1"]}, "call_id"),
    ({"event": "ringing", "call_id": "pbx-1", "at": "yesterday"}, "at"),
    ({"event": "ringing", "call_id": "pbx-1", "at": "2999-01-01T00:00:00+08:00"}, "at"),
    ({"event": "ringing", "call_id": "pbx-1", "caller": {"number": "13800138000"}}, "caller"),
    ({"event": "ringing", "call_id": "pbx-1", "extension": "8" * 17}, "extension"),
    ({"event": "ended", "call_id": "pbx-1", "reason": "fire"}, "reason"),
])
def test_malformed_events_are_refused_with_the_field(world: Any, center: Center, payload: dict[str, Any],
                                                     field: str) -> None:
    response = token_client(center.token).post(CTI_URL, payload, format="json")
    assert field in errors(response)
    assert stored() == (0, 0)


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", '["ringing", "pbx-1"]', '"ringing"', "null"])
def test_a_body_that_is_not_a_json_object_is_refused(world: Any, center: Center, raw: str) -> None:
    response = token_client(center.token).generic("POST", CTI_URL, raw, content_type="application/json")
    assert "body" in errors(response)
    assert stored() == (0, 0)


def test_an_agent_may_not_send_telephone_events(world: Any, center: Center) -> None:
    client = token_client(agent_token(world.agent_a1))
    response = client.post(CTI_URL, body("ringing", "pbx-by-agent"), format="json")
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    # Even a malformed body from the wrong account is refused for the account first.
    assert client.generic("POST", CTI_URL, "{oops", content_type="application/json").status_code == 403
    assert token_client("no-such-token").post(CTI_URL, body("ringing", "pbx-x"), format="json").status_code == 401
    assert stored() == (0, 0)


# ------------------------------------------------------------------ races


@pytest.fixture
def race_world(transactional_db: None, request: pytest.FixtureRequest) -> Any:
    # A transaction=True test before this one may have emptied the seeded catalogue the world needs.
    reseed()
    return request.getfixturevalue("world")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("pair", [("ringing", "ended"), ("ringing", "answered"), ("ivr", "ringing"),
                                  ("ringing", "ringing")])
def test_two_events_of_a_new_call_at_once_make_one_call(race_world: Any, pair: tuple[str, str]) -> None:
    center = make_center(race_world)
    call_id = "pbx-race-1"
    fields: dict[str, dict[str, Any]] = {
        "ringing": {"caller": "13800138000", "extension": "8001"}, "ended": {"duration": 0},
        "answered": {"extension": "8001"}, "ivr": {"caller": "13800138000", "ivr_choice": "1"},
    }
    with shared_database():
        outcome = run_together(*(
            (lambda kind=kind: cti(center, kind, call_id, **fields[kind])) for kind in pair
        ))
        assert outcome.errors == []
        assert Call.objects.filter(call_id=call_id).count() == 1
        call = Call.objects.get(call_id=call_id)
        assert CtiEvent.objects.filter(call=call).count() == len(set(pair))
        assert sorted(r.duplicate for r in outcome.results) == ([False, True] if pair[0] == pair[1]
                                                                else [False, False])
        assert call.caller_e164 == "+8613800138000"
