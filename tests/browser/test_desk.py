"""The agent desk in a real browser: a call rings at the agent's extension, the customer pops, and the
agent takes the whole call with the keyboard: answer, pick the caller, choose the order type by its
pinyin initials, type the request, accept the order, and record the result after the caller hangs up.

The telephone system's events go through the real API when it is there (route ``api-cti-events``,
token auth); otherwise straight to the service it calls.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import pytest
from django.urls import NoReverseMatch, reverse
from rest_framework.authtoken.models import Token

from kefu.desk.choices import CallResult, CallState, OrderRelation
from kefu.desk.models import Call, CallOrder, Extension
from kefu.desk.services import CtiInput, cti_receive
from kefu.knowledge.services import article_approve, article_create, article_submit
from kefu.org.models import Staff
from kefu.org.tests.factories import make_staff
from kefu.workorders.models import OrderType, WorkOrder
from tests.browser.test_order_loop import _patient_expect, log_in  # noqa: F401  (autouse fixture)

pytestmark = pytest.mark.browser

CALL_ID = "desk-browser-0001"


class Telephone:
    """The telephone system: sends call events as its integration account."""

    def __init__(self, base_url: str, account: Staff) -> None:
        self.base_url = base_url
        self.account = account
        self.token = Token.objects.create(user=account).key
        try:
            self.url: str | None = base_url + reverse("api-cti-events")
        except NoReverseMatch:
            self.url = None

    def send(self, **event: Any) -> None:
        if self.url is None:
            cti_receive(actor=self.account, event=CtiInput(**event))
            return
        request = urllib.request.Request(  # noqa: S310 (the live test server)
            self.url, data=json.dumps(event).encode(), method="POST",
            headers={"Authorization": f"Token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            assert response.status in (200, 201, 202)


def test_agent_takes_a_repair_call_with_the_keyboard(page, live_server, world, artifacts_dir):
    from playwright.sync_api import expect

    base = live_server.url
    agent, account = world.agent_a1, world.account_a1
    repair = OrderType.objects.get(code="repair")
    Extension.objects.create(number="8001", unit=world.county_a1)
    phone = Telephone(base, make_staff("cti_system", unit=world.city_a, roles=["telephony"]))
    director = world.supervisor
    article = article_create(actor=director, data={"title": "整栋楼停电怎么办", "category": "faq",
                                                   "body": "整栋楼停电时先看邻居家是否有电, 再报修。"})
    article_submit(actor=director, article_id=article.pk)
    article_approve(actor=director, article_id=article.pk)

    # The agent opens the desk and sits at extension 8001.
    log_in(page, base, agent.username, world.password)
    page.goto(base + reverse("desk:screen"))
    expect(page.locator("#my-extension")).to_have_attribute("data-number", "")
    page.locator("#id_number").focus()
    page.keyboard.type("8001")
    page.keyboard.press("Enter")
    expect(page.locator("#my-extension")).to_have_attribute("data-number", "8001")
    expect(page.locator("#no-call")).to_contain_text("8001")

    # The phone rings: the caller's customer pops within a few seconds.
    phone.send(event="ringing", call_id=CALL_ID, caller="13800001111", called="95598", extension="8001")
    expect(page.locator("#caller")).to_have_text("13800001111")
    expect(page.locator("#call")).to_have_attribute("data-state", "ringing")
    candidate = page.locator(".desk-candidate").first
    expect(candidate.locator(".candidate-name")).to_have_text("王小明")
    expect(candidate).to_contain_text(account.number)
    expect(candidate).to_contain_text(world.order_a1.number)  # the open order, to link or urge
    page.screenshot(path=str(artifacts_dir / "desk-screen-pop.png"), full_page=True)

    # Answer, and confirm the caller (key 1).
    page.keyboard.press("Alt+A")
    expect(page.locator("#call")).to_have_attribute("data-state", "talking")
    page.keyboard.press("1")
    expect(page.locator("#desk-notice")).to_contain_text("王小明")
    expect(candidate.locator(".identified-badge")).to_be_visible()
    expect(page.locator("#id_account")).to_have_value(str(account.pk))

    # The order type by its pinyin initials, then the request, then Ctrl+Enter.
    page.keyboard.press("Alt+N")
    expect(page.locator("#type-picker")).to_be_focused()
    page.keyboard.type("gzbx")
    active = page.locator("#type-list [role=option].active")
    expect(active).to_contain_text("故障报修")
    page.keyboard.press("Enter")
    expect(page.locator("#id_order_type")).to_have_value(str(repair.pk))
    expect(page.locator("#type-picker")).to_have_value("故障报修")
    expect(page.locator("#duplicate-list")).to_contain_text(world.order_a1.number)
    page.keyboard.press("Tab")
    expect(page.locator("#id_content")).to_be_focused()
    page.keyboard.type("整栋楼停电, 邻居家也没电。")
    expect(page.locator("#suggestion-list")).to_contain_text("整栋楼停电怎么办")
    page.keyboard.press("Control+Enter")

    created = page.locator("#order-created")
    expect(created).to_be_visible()
    number = created.get_attribute("data-number")
    order = WorkOrder.objects.get(number=number)
    assert (order.order_type_id, order.account_id, order.channel) == (repair.pk, account.pk, "phone")
    assert order.content == "整栋楼停电, 邻居家也没电。"
    assert order.accepted_by_id == agent.pk
    expect(created.get_by_role("link", name=number)).to_have_attribute(
        "href", reverse("workorders:detail", args=[order.pk]))
    expect(page.locator("#linked-orders")).to_contain_text(number)
    page.screenshot(path=str(artifacts_dir / "desk-order-created.png"), full_page=True)

    # The caller hangs up: wrap-up. Alt+R goes to the result, proposed from what was done; Enter records it.
    phone.send(event="ended", call_id=CALL_ID)
    expect(page.locator("#wrap-up")).to_be_visible()
    expect(page.locator("#call")).to_have_attribute("data-state", "completed")
    page.keyboard.press("Alt+R")
    expect(page.locator("#id_result")).to_be_focused()
    expect(page.locator("#id_result")).to_have_value(CallResult.ORDER_CREATED)
    page.keyboard.press("Enter")
    expect(page.locator("#no-call")).to_be_visible()
    expect(page.locator("#desk-notice")).to_be_visible()

    call = Call.objects.get(call_id=CALL_ID)
    assert call.state == CallState.COMPLETED and call.result == CallResult.ORDER_CREATED
    assert (call.agent_id, call.customer_id, call.account_id) == (agent.pk, account.customer_id, account.pk)
    assert CallOrder.objects.filter(call=call, order=order, relation=OrderRelation.CREATED).count() == 1
    assert WorkOrder.objects.filter(account=account).count() == 2  # the county's first order and this one

    # The call log, when it is there, shows the call with its order.
    response = page.goto(base + reverse("desk:calls"))
    if response is not None and response.status == 200:
        expect(page.locator("main")).to_contain_text("13800001111")
        detail = page.goto(base + reverse("desk:call-detail", args=[call.pk]))
        if detail is not None and detail.status == 200:
            expect(page.locator("main")).to_contain_text(number)
