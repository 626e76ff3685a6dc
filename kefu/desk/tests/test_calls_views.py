"""The call log, a call's page, the callback queue and the extensions page, used as people use them.

Calls come in the way production gets them: telephone events through ``cti_receive`` from the
telephone system's account.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kefu.core.models import AuditLog
from kefu.desk.choices import CallbackStatus, CallState
from kefu.desk.models import Call, Extension
from kefu.desk.services import CtiInput, call_link_order, cti_receive
from kefu.desk.views import calls as call_views
from kefu.org.models import Staff
from kefu.org.tests.factories import make_staff

if TYPE_CHECKING:
    from conftest import Station, World

pytestmark = pytest.mark.django_db

_ids = itertools.count(1)


@pytest.fixture(autouse=True)
def english(settings: Any) -> None:
    # The assertions read the English msgids; the Chinese catalogue must not change them.
    settings.LANGUAGE_CODE = "en"


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page(client: Client, name: str, *args: Any, **query: Any) -> str:
    response = client.get(reverse(name, args=args), query)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


@dataclass
class Line:
    """The telephone system's accounts and the extensions of two counties in different cities."""

    tele_a1: Staff
    tele_b1: Staff


@pytest.fixture
def line(world: World) -> Line:
    Extension.objects.create(number="8001", unit=world.county_a1, agent=world.agent_a1, signed_in_at=timezone.now())
    Extension.objects.create(number="8002", unit=world.county_a1)
    Extension.objects.create(number="9001", unit=world.county_b1, agent=world.outsider, signed_in_at=timezone.now())
    return Line(
        tele_a1=make_staff("cti_a1", unit=world.county_a1, roles=["telephony"]),
        tele_b1=make_staff("cti_b1", unit=world.county_b1, roles=["telephony"]),
    )


def ring(tele: Staff, *, caller: str, extension: str = "", answered: bool = True, duration: int | None = None,
         at: datetime | None = None, recording: str = "", ivr: str = "") -> Call:
    """One whole call: IVR choice, ringing at the extension, answered (or not), ended."""
    call_id = f"C{next(_ids):06d}"
    start = at or timezone.now() - timedelta(minutes=10)

    def send(event: str, offset: int, **kw: Any) -> Call:
        at_ = start + timedelta(seconds=offset)
        return cti_receive(actor=tele, event=CtiInput(event=event, call_id=call_id, at=at_, caller=caller,
                                                     called="95598", **kw)).call

    if ivr:
        send("ivr", 0, ivr_choice=ivr)
    send("ringing", 5, extension=extension)
    if answered:
        send("answered", 10, extension=extension)
    end = {"duration": duration} if duration is not None else {}
    return send("ended", 10 + (duration or 30), recording=recording, **end)


# ---- the call log ------------------------------------------------------------------------------


def test_log_lists_my_units_calls_and_not_another_countys(world: World, line: Line) -> None:
    mine = ring(line.tele_a1, caller="13800001111", extension="8001", duration=125, ivr="2-repair")
    ring(line.tele_b1, caller="13800003333", extension="9001")
    html = page(login(world.agent_a1), "desk:calls")
    assert "13800001111" in html and "王小明" in html  # an agent may see the number, the customer is known
    assert "02:05" in html and "2-repair" in html and "Completed" in html and "8001" in html
    assert reverse("desk:call-detail", args=[mine.pk]) in html
    assert "13800003333" not in html and "赵燃气" not in html
    # Full numbers on screen leave a trace for the auditors.
    assert AuditLog.objects.filter(actor=world.agent_a1, action=AuditLog.Action.VIEW_PERSONAL).exists()
    # A peer county sees neither; the city director's shift-leader role sees its counties' calls.
    html = page(login(world.agent_a2), "desk:calls")
    assert "13800001111" not in html and "No calls match." in html
    assert "13800001111" in page(login(world.supervisor), "desk:calls")


def test_log_shows_linked_orders_with_a_link_to_the_order(world: World, line: Line) -> None:
    call = ring(line.tele_a1, caller="13800001111", extension="8001")
    call_link_order(actor=world.agent_a1, call_pk=call.pk, order_id=world.order_a1.pk, note="再次来电")
    html = page(login(world.agent_a1), "desk:calls")
    assert world.order_a1.number in html
    assert reverse("workorders:detail", args=[world.order_a1.pk]) in html


def test_filters_by_state_phone_agent_and_dates(world: World, line: Line) -> None:
    answered = ring(line.tele_a1, caller="13800001111", extension="8001")
    missed = ring(line.tele_a1, caller="13912345678", extension="8002", answered=False)
    old = ring(line.tele_a1, caller="13700000000", extension="8001", at=timezone.now() - timedelta(days=5))
    client = login(world.agent_a1)

    def shown(**query: Any) -> set[int]:
        html = page(client, "desk:calls", **query)
        return {c.pk for c in (answered, missed, old) if reverse("desk:call-detail", args=[c.pk]) in html}

    assert shown() == {answered.pk, missed.pk, old.pk}
    assert shown(state="missed") == {missed.pk}
    assert shown(phone="139 1234 5678") == {missed.pk}
    assert shown(phone="5678") == {missed.pk}  # part of a number
    assert shown(agent=world.agent_a1.pk) == {answered.pk, old.pk}
    today = timezone.localdate()
    assert shown(since=(today - timedelta(days=1)).isoformat()) == {answered.pk, missed.pk}
    until = (today - timedelta(days=4)).isoformat()
    assert shown(since=(today - timedelta(days=6)).isoformat(), until=until) == {old.pk}


@pytest.mark.parametrize(("query", "message"), [
    ({"since": "2024-13-45"}, "From: Enter a valid date."),
    ({"until": "yesterday"}, "To: Enter a valid date."),
    ({"since": "2025-03-02", "until": "2025-03-01"}, "To: The end date is before the start date."),
    ({"phone": "abc"}, "Caller number: Enter at least three digits of the caller&#x27;s number."),
    ({"state": "exploded"}, "State: Select a valid choice."),
    ({"agent": "99999999"}, "Agent: Select a valid choice."),
    ({"agent": "x'); drop"}, "Agent: Select a valid choice."),
])
def test_bad_filter_input_names_the_field(world: World, line: Line, query: dict[str, str], message: str) -> None:
    ring(line.tele_a1, caller="13800001111", extension="8001")
    response = login(world.agent_a1).get(reverse("desk:calls"), query)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html and "13800001111" not in html


def test_an_agent_of_another_unit_is_no_filter_choice(world: World, line: Line) -> None:
    ring(line.tele_b1, caller="13800003333", extension="9001")
    response = login(world.agent_a1).get(reverse("desk:calls"), {"agent": world.outsider.pk})
    assert response.status_code == 400 and "Agent: Select a valid choice." in response.content.decode()


def test_next_page_walks_on_without_repeating_calls(world: World, line: Line, monkeypatch: Any) -> None:
    monkeypatch.setattr(call_views, "PAGE_SIZE", 2)
    start = timezone.now() - timedelta(hours=1)
    made = [ring(line.tele_a1, caller=f"1380000{n:04d}", extension="8001", at=start + timedelta(minutes=n))
            for n in range(5)]
    client = login(world.agent_a1)
    seen: list[str] = []
    query: dict[str, Any] = {"state": "completed"}
    for _page in range(3):
        html = page(client, "desk:calls", **query)
        seen += sorted((c.caller for c in made if c.caller in html), key=html.index)
        if 'rel="next"' not in html:
            break
        link = html.split('rel="next" href="', 1)[1].split('"', 1)[0]
        query["after"] = link.split("after=", 1)[1].split("&", 1)[0]
    # Newest first, each call once, the filter kept on every page.
    assert seen == [c.caller for c in reversed(made)]
    assert "First page" in html
    # A cursor that is not a number starts again from the top.
    assert made[-1].caller in page(client, "desk:calls", after="abc")


def test_the_filter_table_alone_for_htmx(world: World, line: Line) -> None:
    ring(line.tele_a1, caller="13800001111", extension="8001")
    response = login(world.agent_a1).get(reverse("desk:calls"), {"state": "completed"},
                                          headers={"HX-Request": "true", "HX-Target": "call-table"})
    html = response.content.decode()
    assert response.status_code == 200 and "13800001111" in html and "<html" not in html


# ---- one call ----------------------------------------------------------------------------------


def test_detail_shows_events_activities_and_linked_order(world: World, line: Line) -> None:
    call = ring(line.tele_a1, caller="13800001111", extension="8001", duration=61, recording="rec/2025/C1.wav",
                ivr="1")
    call_link_order(actor=world.agent_a1, call_pk=call.pk, order_id=world.order_a1.pk, note="又打来了")
    html = page(login(world.agent_a1), "desk:call-detail", call.pk)
    for text in ("IVR result", "Ringing", "Answered", "Ended", "rec/2025/C1.wav", "01:01", "13800001111", "王小明"):
        assert text in html, text
    assert world.order_a1.number in html and "Linked (repeat call)" in html
    assert reverse("workorders:detail", args=[world.order_a1.pk]) in html
    assert "Order linked" in html and world.agent_a1.display_name() in html  # the activity and who did it


def test_detail_of_another_countys_call_is_not_found(world: World, line: Line) -> None:
    call = ring(line.tele_b1, caller="13800003333", extension="9001")
    assert login(world.agent_a1).get(reverse("desk:call-detail", args=[call.pk])).status_code == 404
    assert login(world.agent_a1).get(reverse("desk:call-detail", args=[999999])).status_code == 404
    assert login(world.outsider).get(reverse("desk:call-detail", args=[call.pk])).status_code == 200


def test_numbers_are_masked_for_roles_without_personal_data(world: World, line: Line) -> None:
    call = ring(line.tele_a1, caller="13800001111", extension="8001")
    assert call_views.caller_shown(call, personal=False) == "138****1111"
    assert call_views.caller_shown(call, personal=True) == "13800001111"
    odd = Call(caller="10086", caller_e164="")
    assert call_views.caller_shown(odd, personal=False) == "****0086"


# ---- the callback queue ------------------------------------------------------------------------


@pytest.fixture
def colleague(world: World) -> Staff:
    return make_staff("agent_a1b", unit=world.county_a1, roles=["agent"], full_name="张同事")


def test_callback_flow_with_two_agents(world: World, line: Line, colleague: Staff) -> None:
    first = ring(line.tele_a1, caller="13800001111", extension="8001", answered=False,
                 at=timezone.now() - timedelta(hours=2, minutes=5))
    second = ring(line.tele_a1, caller="13800001111", extension="8001", answered=False)
    other = ring(line.tele_a1, caller="13912345678", extension="8002", answered=False)
    me, them = login(world.agent_a1), login(colleague)

    html = page(me, "desk:callbacks")
    assert html.count('data-action="claim"') == 2  # one line per caller number
    assert "王小明" in html and f'id="callback-{second.pk}"' in html and "waiting 2 h" in html

    # Both agents see the line free; the first to claim gets it, the other is told.
    page(them, "desk:callbacks")
    response = me.post(reverse("desk:callback-claim", args=[second.pk]), follow=True)
    assert "You are calling back 13800001111." in response.content.decode()
    response = them.post(reverse("desk:callback-claim", args=[second.pk]), follow=True)
    html = response.content.decode()
    assert "Another agent is already calling this customer back." in html
    assert f"{world.agent_a1.display_name()} is calling back" in html

    # No answer: the line stays, waiting for another attempt.
    response = me.post(reverse("desk:callback-record", args=[second.pk]), {"outcome": "no_answer"}, follow=True)
    assert "no answer" in response.content.decode()
    second.refresh_from_db()
    assert second.callback_status == CallbackStatus.PENDING and second.callback_attempts == 1

    # Reached: every waiting call from that number leaves the queue; the other caller stays.
    me.post(reverse("desk:callback-claim", args=[second.pk]))
    response = me.post(reverse("desk:callback-record", args=[second.pk]), {"outcome": "reached", "note": "已解释"},
                       follow=True)
    html = response.content.decode()
    assert "the caller was reached" in html
    assert f'id="callback-{second.pk}"' not in html and f'id="callback-{other.pk}"' in html
    first.refresh_from_db()
    assert first.callback_status == CallbackStatus.DONE
    assert "已解释" in page(me, "desk:call-detail", second.pk)  # the attempt's note on the call's page


def test_conflict_answers_in_place_for_htmx(world: World, line: Line, colleague: Staff) -> None:
    call = ring(line.tele_a1, caller="13800001111", extension="8001", answered=False)
    login(world.agent_a1).post(reverse("desk:callback-claim", args=[call.pk]))
    response = login(colleague).post(reverse("desk:callback-claim", args=[call.pk]),
                                     headers={"HX-Request": "true", "HX-Target": "callback-table"})
    html = response.content.decode()
    assert response.status_code == 409
    assert "Another agent is already calling this customer back." in html and "<html" not in html


def test_release_puts_the_line_back_for_everyone(world: World, line: Line, colleague: Staff) -> None:
    call = ring(line.tele_a1, caller="13800001111", extension="8001", answered=False)
    me = login(world.agent_a1)
    me.post(reverse("desk:callback-claim", args=[call.pk]))
    html = page(me, "desk:callbacks")
    assert 'data-action="record"' in html and 'data-action="release"' in html
    response = me.post(reverse("desk:callback-release", args=[call.pk]), follow=True)
    assert "Callback released" in response.content.decode()
    html = page(login(colleague), "desk:callbacks")
    assert 'data-action="claim"' in html and "is calling back" not in html
    # Releasing again is refused with a message, not an error page.
    response = me.post(reverse("desk:callback-release", args=[call.pk]), follow=True)
    assert "This callback is not taken." in response.content.decode()


def test_recording_without_an_outcome_says_so(world: World, line: Line) -> None:
    call = ring(line.tele_a1, caller="13800001111", extension="8001", answered=False)
    me = login(world.agent_a1)
    me.post(reverse("desk:callback-claim", args=[call.pk]))
    response = me.post(reverse("desk:callback-record", args=[call.pk]), {"outcome": "shouted"}, follow=True)
    assert "Choose the outcome of the callback." in response.content.decode()
    call.refresh_from_db()
    assert call.callback_status == CallbackStatus.CLAIMED and call.callback_attempts == 0


def test_callbacks_of_another_county_are_out_of_reach(world: World, line: Line) -> None:
    call = ring(line.tele_b1, caller="13800003333", extension="9001", answered=False)
    assert call.state == CallState.MISSED
    assert "13800003333" not in page(login(world.agent_a1), "desk:callbacks")
    response = login(world.agent_a1).post(reverse("desk:callback-claim", args=[call.pk]))
    assert response.status_code == 404
    call.refresh_from_db()
    assert call.callback_status == CallbackStatus.PENDING


# ---- extensions --------------------------------------------------------------------------------


def test_extensions_list_who_is_signed_in(world: World, line: Line) -> None:
    html = page(login(world.agent_a1), "desk:extensions")
    assert "8001" in html and "8002" in html and world.agent_a1.display_name() in html
    assert "9001" not in html  # another city's
    assert 'id="extension-form"' not in html and "Remove" not in html  # agents look, leaders manage


def test_shift_leader_adds_and_removes_extensions(world: World, line: Line, station: Station) -> None:
    leader = login(station.leader)
    response = leader.post(reverse("desk:extensions"), {"action": "add", "number": "8101",
                                                        "unit": world.county_a1.pk}, follow=True)
    html = response.content.decode()
    assert "Extension 8101 added" in html and 'id="extension-8101"' in html
    assert Extension.objects.get(number="8101").unit == world.county_a1

    response = leader.post(reverse("desk:extensions"), {"action": "delete", "number": "8101"}, follow=True)
    assert "Extension 8101 removed." in response.content.decode()
    assert not Extension.objects.filter(number="8101").exists()


@pytest.mark.parametrize(("number", "message"), [
    ("8a1", "An extension is 2 to 16 digits."),
    ("1", "An extension is 2 to 16 digits."),
    ("", "This field is required."),
    ("9001", "Extension 9001 already exists."),  # taken, even by another city's unit
])
def test_bad_or_duplicate_extension_number(world: World, line: Line, station: Station, number: str,
                                           message: str) -> None:
    response = login(station.leader).post(reverse("desk:extensions"), {"action": "add", "number": number,
                                                                       "unit": world.county_a1.pk})
    assert response.status_code == 400
    html = response.content.decode()
    assert f'data-field="number">{message}' in html
    assert Extension.objects.count() == 3


def test_extension_unit_must_be_in_scope(world: World, line: Line, station: Station) -> None:
    response = login(station.leader).post(reverse("desk:extensions"), {"action": "add", "number": "8200",
                                                                       "unit": world.county_b1.pk})
    assert response.status_code == 400 and 'data-field="unit">Select a valid choice.' in response.content.decode()
    assert not Extension.objects.filter(number="8200").exists()


def test_extension_with_a_ringing_call_is_kept(world: World, line: Line, station: Station) -> None:
    cti_receive(actor=line.tele_a1, event=CtiInput(event="ringing", call_id="LIVE1", caller="13800001111",
                                                   extension="8001"))
    response = login(station.leader).post(reverse("desk:extensions"), {"action": "delete", "number": "8001"},
                                          follow=True)
    assert "A call is ringing or in progress at extension 8001" in response.content.decode()
    assert Extension.objects.filter(number="8001").exists()
    # Another city's extension cannot be removed from here.
    response = login(station.leader).post(reverse("desk:extensions"), {"action": "delete", "number": "9001"},
                                          follow=True)
    assert "No such extension in your area." in response.content.decode()
    assert Extension.objects.filter(number="9001").exists()


def test_agents_cannot_add_or_remove_extensions(world: World, line: Line) -> None:
    agent = login(world.agent_a1)
    assert agent.post(reverse("desk:extensions"), {"action": "add", "number": "8300",
                                                   "unit": world.county_a1.pk}).status_code == 403
    assert agent.post(reverse("desk:extensions"), {"action": "delete", "number": "8002"}).status_code == 403
    assert Extension.objects.filter(number="8002").exists() and not Extension.objects.filter(number="8300").exists()


# ---- who may come in ---------------------------------------------------------------------------


def test_staff_without_the_desk_are_refused(world: World, line: Line) -> None:
    call = ring(line.tele_a1, caller="13800001111", extension="8001", answered=False)
    crew = login(world.crew_a1)
    for name, args in (("desk:calls", []), ("desk:call-detail", [call.pk]), ("desk:callbacks", []),
                       ("desk:extensions", [])):
        response = crew.get(reverse(name, args=args))
        assert response.status_code == 403, name
        assert "Take calls at the agent desk" in response.content.decode()
    assert crew.post(reverse("desk:callback-claim", args=[call.pk])).status_code == 403
    call.refresh_from_db()
    assert call.callback_status == CallbackStatus.PENDING
    # Signed out: to the sign-in page.
    response = Client().get(reverse("desk:calls"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_log_page_costs_the_same_whatever_its_length(world: World, line: Line,
                                                     django_assert_max_num_queries: Any) -> None:
    for n in range(12):
        call = ring(line.tele_a1, caller=f"1391111{n:04d}", extension="8001")
        call_link_order(actor=world.agent_a1, call_pk=call.pk, order_id=world.order_a1.pk)
    client = login(world.agent_a1)
    client.get(reverse("desk:calls"))  # session and permissions warmed up
    with django_assert_max_num_queries(12):
        html = page(client, "desk:calls")
    assert html.count(world.order_a1.number) == 12
