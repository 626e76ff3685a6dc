"""The agent desk screen as an agent uses it: the call pops, the agent identifies the caller, creates,
links or urges orders, and records the result; suggestions and the type picker's data."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import pytest
from django.test import Client
from django.urls import reverse

from kefu.customers.models import Account, Contact
from kefu.customers.tests.factories import make_account
from kefu.desk.choices import CallResult, CallState, OrderRelation
from kefu.desk.models import Call, CallOrder, Extension
from kefu.desk.services import CtiInput, cti_receive, extension_sign_in
from kefu.knowledge.services import article_approve, article_create, article_submit
from kefu.org.models import Staff
from kefu.org.tests.factories import make_staff
from kefu.workorders.models import OrderType, WorkOrder

if TYPE_CHECKING:
    from conftest import World

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def english(settings: Any) -> None:
    # The assertions read the English msgids; the Chinese catalogue must not change them.
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def telephony(world: World) -> Staff:
    return make_staff("cti_system", unit=world.city_a, roles=["telephony"])


@pytest.fixture
def desk(world: World) -> Client:
    """agent_a1 signed in at extension 8001 of county A1, with the desk open."""
    Extension.objects.create(number="8001", unit=world.county_a1)
    Extension.objects.create(number="8002", unit=world.county_a2)
    extension_sign_in(actor=world.agent_a1, number="8001")
    client = Client()
    client.force_login(world.agent_a1)
    return client


def ring(telephony: Staff, caller: str, extension: str = "8001", call_id: str = "c-1") -> Call:
    return cti_receive(actor=telephony, event=CtiInput(event="ringing", call_id=call_id, caller=caller,
                                                       called="95598", extension=extension)).call


def end(telephony: Staff, call_id: str = "c-1") -> Call:
    return cti_receive(actor=telephony, event=CtiInput(event="ended", call_id=call_id)).call


def poll(client: Client, stamp: str = "", form_key: str = "") -> Any:
    return client.get(reverse("desk:poll"), {"stamp": stamp, "form_key": form_key}, headers=HTMX)


def stamp_of(html: str) -> str:
    match = re.search(r'id="desk-stamp" name="stamp" value="([^"]*)"', html)
    assert match, "the panel carries its stamp"
    return match.group(1)


def post(client: Client, name: str, call: Call, **data: Any) -> Any:
    return client.post(reverse(name, args=[call.pk]), data, headers=HTMX)


# --- the page and the poll ----------------------------------------------------------------------


def test_screen_shows_my_extension_and_the_shortcuts(world: World, desk: Client) -> None:
    response = desk.get(reverse("desk:screen"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-number="8001"' in html and "Waiting for calls at extension 8001" in html
    assert "Alt+A" in html and "Ctrl+Enter" in html and "js/desk.js" in html
    assert 'hx-trigger="every 1s"' in html


def test_poll_is_204_until_a_call_rings_at_my_extension(world: World, desk: Client, telephony: Staff) -> None:
    html = desk.get(reverse("desk:screen")).content.decode()
    stamp = stamp_of(html)
    assert stamp == "none"
    assert poll(desk, stamp, "none").status_code == 204

    call = ring(telephony, "13800001111")
    response = poll(desk, stamp, "none")
    assert response.status_code == 200
    html = response.content.decode()
    assert "13800001111" in html and "王小明" in html and world.account_a1.number in html
    assert 'id="answer-button"' in html and "Ringing" in html
    # The new-order form comes along (out of band), pre-filled with the customer's account.
    assert 'hx-swap-oob="innerHTML"' in html and f'value="{world.account_a1.pk}"' in html
    assert world.account_a1.premise.address in html
    # The open repair order of the customer, with its link and urge buttons.
    assert world.order_a1.number in html and f'data-urge="{world.order_a1.number}"' in html

    # Nothing changed since: the panel stays as it is.
    new_stamp = stamp_of(html)
    assert new_stamp == f"{call.pk}.{call.version}"
    form_key = re.search(r'id="order-form-key" name="form_key" value="([^"]*)"', html)
    assert form_key is not None
    assert poll(desk, new_stamp, form_key.group(1)).status_code == 204


def test_a_call_at_another_agents_extension_is_not_on_my_desk(world: World, desk: Client,
                                                               telephony: Staff) -> None:
    extension_sign_in(actor=world.agent_a2, number="8002")
    ring(telephony, "13800002222", extension="8002")
    assert poll(desk, "none", "none").status_code == 204
    html = desk.get(reverse("desk:screen")).content.decode()
    assert "13800002222" not in html and "李大华" not in html
    other = Client()
    other.force_login(world.agent_a2)
    assert "李大华" in poll(other, "none").content.decode()


def test_a_user_without_the_desk_is_refused(world: World) -> None:
    client = Client()
    client.force_login(world.crew_a1)
    response = client.get(reverse("desk:screen"))
    assert response.status_code == 403
    assert poll(client, "none").status_code == 403
    assert client.get(reverse("desk:types")).status_code == 403
    anonymous = Client().get(reverse("desk:screen"))
    assert anonymous.status_code == 302 and reverse("login") in anonymous["Location"]


def test_sign_in_at_an_unknown_extension_names_the_field(world: World, desk: Client) -> None:
    response = desk.post(reverse("desk:sign-in"), {"number": "9999"}, headers=HTMX)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-field="number"' in html and "Extension 9999 is not registered." in html
    assert Extension.objects.get(number="8001").agent == world.agent_a1

    response = desk.post(reverse("desk:sign-in"), {"number": "8001"})
    assert response.status_code == 302
    response = desk.post(reverse("desk:sign-out"), {}, headers=HTMX)
    assert "Not signed in at an extension" in response.content.decode()
    assert not Extension.objects.filter(agent=world.agent_a1).exists()


# --- answer and identify ------------------------------------------------------------------------


def test_answer_then_identify_one_of_several_candidates(world: World, desk: Client, telephony: Staff) -> None:
    # Two customers share the number: a second one registered with the same phone.
    second = make_account(unit=world.county_a1, name="王二", phone="13800001111")
    call = ring(telephony, "13800001111")
    assert call.customer_id is None
    html = poll(desk).content.decode()
    assert "2 customers share this number" in html
    assert 'data-pick="1"' in html and 'data-pick="2"' in html and "王二" in html

    response = post(desk, "desk:answer", call, form_key="x")
    assert response.status_code == 200
    call.refresh_from_db()
    assert call.state == CallState.TALKING
    assert 'id="answer-button"' not in response.content.decode()

    response = post(desk, "desk:identify", call, customer=second.customer_id, account=second.pk,
                    form_key="x")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Caller identified: 王二." in html
    call.refresh_from_db()
    assert (call.customer_id, call.account_id) == (second.customer_id, second.pk)
    # The order column is redrawn for the identified customer's account.
    assert 'hx-swap-oob="innerHTML"' in html and second.number in html

    # Another customer's account does not fit: the message names it.
    response = post(desk, "desk:identify", call, customer=second.customer_id, account=world.account_a1.pk)
    assert response.status_code == 400
    assert "The account does not belong to this customer." in response.content.decode()


def test_unknown_caller_is_found_by_search_and_identified(world: World, desk: Client, telephony: Staff) -> None:
    call = ring(telephony, "13912345678")
    html = poll(desk).content.decode()
    assert "Unknown caller" in html and 'data-pick="1"' not in html
    assert 'id="find-q"' in html

    response = desk.get(reverse("desk:find-customer"), {"q": "王小明", "call": str(call.pk)}, headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "王小明" in html and world.account_a1.number in html
    assert reverse("desk:identify", args=[call.pk]) in html
    assert "No customer found." in desk.get(reverse("desk:find-customer"), {"q": "没有这个人"}).content.decode()
    too_long = desk.get(reverse("desk:find-customer"), {"q": "x" * 500})
    assert too_long.status_code == 200 and "too long" in too_long.content.decode()

    post(desk, "desk:answer", call)
    response = post(desk, "desk:identify", call, customer=world.account_a1.customer_id)
    assert response.status_code == 200
    call.refresh_from_db()
    assert call.customer_id == world.account_a1.customer_id


def test_unknown_caller_order_without_a_customer(world: World, desk: Client, telephony: Staff) -> None:
    call = ring(telephony, "13912345678")
    post(desk, "desk:answer", call)
    repair = OrderType.objects.get(code="repair")
    response = post(desk, "desk:create-order", call, order_type=repair.pk, content="路灯不亮", utility="power",
                    address="文三路口", intake_key="k-unknown")
    assert response.status_code == 200, response.content.decode()
    order = WorkOrder.objects.get(intake_key__endswith="k-unknown")
    assert order.customer_id is None and order.caller_phone == "+8613912345678"
    assert order.address == "文三路口"


# --- orders from the desk -----------------------------------------------------------------------


def test_create_order_once_on_double_submit(world: World, desk: Client, telephony: Staff) -> None:
    call = ring(telephony, "13800001111")
    post(desk, "desk:answer", call)
    repair = OrderType.objects.get(code="repair")
    form = {"order_type": repair.pk, "content": "整栋楼停电", "account": world.account_a1.pk,
            "address": world.account_a1.premise.address, "intake_key": "0f3c2a9b8d7e4f6a"}
    before = WorkOrder.objects.count()
    first = post(desk, "desk:create-order", call, **form)
    assert first.status_code == 200
    second = post(desk, "desk:create-order", call, **form)
    assert second.status_code == 200
    assert WorkOrder.objects.count() == before + 1
    order = WorkOrder.objects.latest("id")
    assert (order.order_type_id, order.account_id, order.channel) == (repair.pk, world.account_a1.pk, "phone")
    html = first.content.decode()
    assert 'id="order-created"' in html and order.number in html
    assert reverse("workorders:detail", args=[order.pk]) in html
    assert "already saved as order" in second.content.decode()
    # A fresh form (new key) is ready for the next request of the same call.
    assert 'value="0f3c2a9b8d7e4f6a"' not in html
    assert CallOrder.objects.filter(call=call, order=order, relation=OrderRelation.CREATED).count() == 1
    # The panel shows the order as one of this call's.
    assert order.number in poll(desk).content.decode()


def test_create_order_errors_come_back_in_the_form(world: World, desk: Client, telephony: Staff) -> None:
    call = ring(telephony, "13800001111")
    response = post(desk, "desk:create-order", call, content="", account=world.account_a1.pk)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-field="order_type"' in html and 'data-field="content"' in html
    gas = OrderType.objects.get(code="gas_repair")
    response = post(desk, "desk:create-order", call, order_type=gas.pk, content="有煤气味",
                    account=world.account_a1.pk)
    assert response.status_code == 400
    assert "is not a" in response.content.decode()  # a gas business on a power account
    response = post(desk, "desk:create-order", call, order_type="abc", content="x", account="1; drop")
    assert response.status_code == 400


def test_duplicates_for_the_chosen_type_before_submitting(world: World, desk: Client, telephony: Staff) -> None:
    call = ring(telephony, "13800001111")
    repair = OrderType.objects.get(code="repair")
    response = desk.get(reverse("desk:create-order", args=[call.pk]),
                        {"order_type": repair.pk, "account": world.account_a1.pk}, headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert world.order_a1.number in html and reverse("desk:link-order", args=[call.pk]) in html
    praise = OrderType.objects.get(code="praise")
    html = desk.get(reverse("desk:create-order", args=[call.pk]),
                    {"order_type": praise.pk, "account": world.account_a1.pk}).content.decode()
    assert world.order_a1.number not in html and "No open order" in html


def test_link_and_urge_an_open_order(world: World, desk: Client, telephony: Staff) -> None:
    call = ring(telephony, "13800001111")
    post(desk, "desk:answer", call)
    order = world.order_a1
    response = post(desk, "desk:link-order", call, order=order.pk)
    assert response.status_code == 200
    assert f"linked to order {order.number}" in response.content.decode()
    order.refresh_from_db()
    assert order.repeat_count == 1

    response = post(desk, "desk:urge-order", call, order=order.pk, reason="")
    assert response.status_code == 400
    assert "Say why the caller urges the order." in response.content.decode()
    response = post(desk, "desk:urge-order", call, order=order.pk, reason="等了两个小时还没人来")
    assert response.status_code == 200
    assert f"Order {order.number} urged" in response.content.decode()
    order.refresh_from_db()
    assert order.urge_count == 1
    relations = set(CallOrder.objects.filter(call=call).values_list("relation", flat=True))
    assert relations == {OrderRelation.LINKED, OrderRelation.URGED}

    # Another county's order is not in my scope.
    response = post(desk, "desk:link-order", call, order=world.order_b1.pk)
    assert response.status_code == 400 and "No such order in your scope." in response.content.decode()


def test_record_the_result_in_wrap_up(world: World, desk: Client, telephony: Staff) -> None:
    call = ring(telephony, "13800001111")
    post(desk, "desk:answer", call)
    post(desk, "desk:link-order", call, order=world.order_a1.pk)
    call = end(telephony)
    assert call.state == CallState.COMPLETED
    html = poll(desk).content.decode()
    assert "The call has ended: record its result" in html
    assert '<option value="order_linked" selected>' in html  # proposed from what was done

    stale = post(desk, "desk:result", call, result="answered", version=call.version - 1)
    assert stale.status_code == 409 and "changed while you were looking" in stale.content.decode()
    bad = post(desk, "desk:result", call, result="other", note="", version=call.version)
    assert bad.status_code == 400 and "Say what came of the call." in bad.content.decode()

    response = post(desk, "desk:result", call, result="order_linked", note="已告知进度", version=call.version)
    assert response.status_code == 200
    assert "Result recorded" in response.content.decode()
    call.refresh_from_db()
    assert (call.result, call.result_note) == (CallResult.ORDER_LINKED, "已告知进度")
    # The desk is free again, and the order column goes back to waiting.
    html = response.content.decode()
    assert 'id="no-call"' in html and 'id="order-idle"' in html


def test_answering_a_call_that_is_not_ringing_is_a_message(world: World, desk: Client, telephony: Staff) -> None:
    call = ring(telephony, "13800001111")
    end(telephony)
    response = post(desk, "desk:answer", call)
    assert response.status_code == 409
    html = response.content.decode()
    assert 'id="desk-error"' in html and "The call is no longer ringing." in html
    other = ring(telephony, "13800002222", extension="8002", call_id="c-2")
    assert post(desk, "desk:identify", other, customer=world.account_a2.customer_id).status_code == 404


# --- order types and suggestions ----------------------------------------------------------------


def types(client: Client, **query: str) -> list[dict[str, Any]]:
    response = client.get(reverse("desk:types"), query)
    assert response.status_code == 200
    result: list[dict[str, Any]] = json.loads(response.content)["types"]
    return result


def test_types_by_pinyin_initials_full_pinyin_and_chinese(world: World, desk: Client) -> None:
    for query in ("gzbx", "guzhang", "GuZhang BaoXiu", "故障", "报修"):
        found = types(desk, q=query, utility="power")
        assert found and found[0]["name"] == "故障报修", query
    entry = types(desk, q="gzbx")[0]
    assert (entry["py"], entry["initials"], entry["code"]) == ("guzhangbaoxiu", "gzbx", "repair")
    every = types(desk)
    assert {t["code"] for t in every} >= {"repair", "gas_repair", "service_reconnect"}
    assert "service" not in {t["code"] for t in every}  # a parent with sub-types is not a leaf
    assert "gas_repair" not in {t["code"] for t in types(desk, utility="power")}
    assert types(desk, q="没有这种类型") == []
    assert types(desk, q="%" * 5000) == []


def publish(world: World, title: str, body: str) -> int:
    director = world.supervisor
    article = article_create(actor=director, data={"title": title, "body": body, "category": "faq"})
    article_submit(actor=director, article_id=article.pk)
    article_approve(actor=director, article_id=article.pk)
    return article.pk


def test_suggestions_highlight_the_words_of_the_request(world: World, desk: Client) -> None:
    article_id = publish(world, "变压器冒烟怎么办", "发现变压器冒烟, 请远离并立即报修。")
    response = desk.post(reverse("desk:suggest"), {"content": "门口的变压器冒烟了", "account": world.account_a1.pk},
                         headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-article="{article_id}"' in html
    assert "<mark>变压器</mark>" in html and 'target="_blank"' in html
    assert html.count("<li ") <= 5


@pytest.mark.parametrize("text", ["。，！？……", "!!!???", "zq" * 5000, ""])
def test_suggestions_for_punctuation_or_huge_text_are_empty(world: World, desk: Client, text: str) -> None:
    response = desk.post(reverse("desk:suggest"), {"content": text}, headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="suggestion-list"' not in html
    assert ("No article matches" in html) or (not text and "Type the request" in html)


def test_the_single_candidate_is_identified_and_the_form_prefilled(world: World, desk: Client,
                                                                   telephony: Staff) -> None:
    Account.objects.filter(pk=world.account_a1.pk).update(arrears_amount="123.45")
    ring(telephony, "+86 138 0000 1111")
    html = desk.get(reverse("desk:screen")).content.decode()
    assert "Identified" in html and "In arrears" in html and "123.45" in html
    assert world.account_a1.premise.address in html
    assert Contact.objects.filter(phone="+8613800001111").count() == 1


def test_without_javascript_the_forms_come_back_to_the_desk(world: World, desk: Client, telephony: Staff) -> None:
    call = ring(telephony, "13800001111")
    response = desk.post(reverse("desk:identify", args=[call.pk]),
                         {"customer": world.account_a1.customer_id, "account": world.account_a1.pk})
    assert response.status_code == 302 and response["Location"] == reverse("desk:screen")
    html = desk.get(reverse("desk:screen")).content.decode()
    assert "Caller identified: 王小明." in html
    response = desk.post(reverse("desk:create-order", args=[call.pk]), {"content": "停电", "account": ""})
    assert response.status_code == 400
    assert 'data-field="order_type"' in response.content.decode() and "<html" in response.content.decode()


def test_an_expired_session_sends_the_poll_to_the_login_page(world: World) -> None:
    response = Client().get(reverse("desk:poll"), {"stamp": "none"}, headers=HTMX)
    assert response.status_code == 200 and response["HX-Redirect"] == reverse("login")
