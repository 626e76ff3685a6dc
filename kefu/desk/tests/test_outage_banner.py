"""The desk and the IVR know about outages: a call from a customer inside a live outage pops with a
banner (number, times, which of the caller's accounts it cuts off, a sentence to read out), and the
IVR tells the caller the expected restoration before their open requests.

The outage is a planned one on feeder F1 of ``make_grid`` (transformer areas TA1 and TA2), created,
reviewed and published eight days before its start so that no notice rule is broken."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kefu.customers.models import Account, Contact
from kefu.desk.models import Call
from kefu.desk.selectors import desk_card, outage_banners
from kefu.desk.tests.factories import IVR_URL, Center, call_of, cti, make_center, new_call_id, token_client
from kefu.outages.models import Outage
from kefu.outages.selectors import live_for_accounts
from kefu.outages.services import (
    outage_cancel,
    outage_change,
    outage_create,
    outage_extend,
    outage_publish,
    outage_restore,
    outage_review,
)
from kefu.outages.tests.factories import Grid, hang, make_grid
from kefu.workorders.services import workorder_intake

if TYPE_CHECKING:
    from conftest import World

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
LOCAL = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 12, 1, 8, 0, tzinfo=LOCAL)
END = datetime(2026, 12, 1, 18, 0, tzinfo=LOCAL)
IN_FORCE = START + timedelta(hours=1)
BANNER = re.compile(r'data-outage-banner="([^"]+)"')


@pytest.fixture(autouse=True)
def english(settings: Any) -> None:
    # The assertions read the English msgids; the Chinese catalogue must not change them.
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def grid(world: World) -> Grid:
    return make_grid(world)


@pytest.fixture
def center(world: World) -> Center:
    """The telephone system's account, and agent_a1 signed in at extension 8001 of county A1."""
    return make_center(world)


class Desk:
    """agent_a1's desk. Each request signs in afresh: the tests travel days ahead, past the session's age."""

    def __init__(self, user: Any) -> None:
        self.user = user

    def client(self) -> Client:
        client = Client()
        client.force_login(self.user)
        return client

    def panel(self) -> str:
        """The call panel as the desk's one-second poll brings it after a change."""
        response = self.client().get(reverse("desk:poll"), {"stamp": "", "form_key": ""}, headers=HTMX)
        assert response.status_code == 200 and not response.has_header("HX-Redirect"), response
        return response.content.decode()


@pytest.fixture
def desk(world: World, center: Center) -> Desk:
    return Desk(world.agent_a1)


@pytest.fixture
def at_start() -> Iterator[None]:
    with time_machine.travel(IN_FORCE, tick=False):
        yield


def publish_on_f1(world: World, *, start: datetime = START, end: datetime = END) -> Outage:
    now = start - timedelta(days=8)
    data = {"utility": "power", "outage_class": "planned", "area": "文三路1号、2号台区",
            "reason": "10kV城东线年度检修", "planned_start": start, "planned_end": end, "nodes": ["F1"]}
    outage = outage_create(actor=world.supervisor, data=data, now=now)
    outage = outage_review(actor=world.supervisor, outage=outage, now=now)
    return outage_publish(actor=world.supervisor, outage=outage, now=now)


def phone_of(account: Account) -> str:
    contact = Contact.objects.filter(customer_id=account.customer_id).order_by("pk").first()
    assert contact is not None
    return contact.phone


def ring(center: Center, caller: str) -> Call:
    call_id = new_call_id()
    cti(center, "ringing", call_id, caller=caller, called="95598", extension="8001")
    return call_of(call_id)


def hang_up(center: Center, call: Call) -> None:
    cti(center, "ended", call.call_id, reason="normal")


def banners(html: str) -> list[str]:
    return BANNER.findall(html)


# ------------------------------------------------------------------ the desk


def test_a_call_from_inside_the_outage_pops_with_the_banner(world: World, grid: Grid, center: Center,
                                                            desk: Desk) -> None:
    outage = publish_on_f1(world)
    affected = grid.accounts["TA1"][0]
    with time_machine.travel(IN_FORCE, tick=False):
        ring(center, phone_of(affected))
        html = desk.panel()
    assert banners(html) == [outage.number]
    # At the top of the call card, before the caller's number.
    assert html.index("data-outage-banner") < html.index('id="caller"')
    banner = html[html.index("data-outage-banner"):html.index('id="caller"')]
    assert "Planned outage" in banner and "Published" in banner and "In force now" in banner
    assert "文三路1号、2号台区" in banner and "10kV城东线年度检修" in banner
    assert "Dec 1 08:00" in banner and "Dec 1 18:00" in banner
    assert "Known outage: supply expected to be restored at Dec 1 18:00." in banner
    assert f'data-outage-account="{affected.number}"' in banner
    assert reverse("outages:detail", args=[outage.pk]) in banner


def test_the_banner_reads_chinese_dates_on_a_chinese_desk(world: World, grid: Grid, center: Center,
                                                          desk: Desk, settings: Any) -> None:
    settings.LANGUAGE_CODE = "zh-hans"
    outage = publish_on_f1(world)
    with time_machine.travel(IN_FORCE, tick=False):
        ring(center, phone_of(grid.accounts["TA2"][0]))
        html = desk.client().get(reverse("desk:screen")).content.decode()
    assert banners(html) == [outage.number]
    assert "12月1日 18:00" in html and "12月1日 08:00" in html


def test_an_outage_starting_within_a_day_is_announced_on_the_banner(world: World, grid: Grid, center: Center,
                                                                    desk: Desk) -> None:
    outage = publish_on_f1(world)
    with time_machine.travel(START - timedelta(hours=10), tick=False):
        ring(center, phone_of(grid.accounts["TA1"][2]))
        html = desk.panel()
    assert banners(html) == [outage.number]
    assert "Starts within 24 hours" in html
    assert "Announced outage from Dec 1 08:00: supply expected to be restored at Dec 1 18:00." in html


def test_an_outage_three_days_ahead_is_not_on_the_desk_yet(world: World, grid: Grid, center: Center,
                                                          desk: Desk) -> None:
    publish_on_f1(world)
    with time_machine.travel(START - timedelta(days=3), tick=False):
        ring(center, phone_of(grid.accounts["TA1"][0]))
        html = desk.panel()
    assert grid.accounts["TA1"][0].number in html  # the customer popped, without a banner
    assert banners(html) == []


def test_customers_outside_the_scope_see_no_banner(world: World, grid: Grid, center: Center, desk: Desk) -> None:
    publish_on_f1(world)
    with time_machine.travel(IN_FORCE, tick=False):
        call = ring(center, phone_of(grid.accounts["TA3"][0]))  # on feeder F2
        html = desk.panel()
        assert grid.accounts["TA3"][0].number in html and banners(html) == []
        hang_up(center, call)
        ring(center, "13800001111")  # 王小明 of county A1, not on the network at all
        html = desk.panel()
        assert "王小明" in html and banners(html) == []


def test_the_banner_names_only_the_candidate_accounts_inside_the_outage(world: World, grid: Grid, center: Center,
                                                                       desk: Desk) -> None:
    """Two customers share a number: the banner says which of their accounts is cut off."""
    outage = publish_on_f1(world)
    inside = grid.accounts["TA2"][1]
    outside = hang(world.supervisor, grid.ta3, 1, phone=phone_of(inside))[0]
    with time_machine.travel(IN_FORCE, tick=False):
        call = ring(center, phone_of(inside))
        assert len(call.candidates) == 2
        html = desk.panel()
    assert banners(html) == [outage.number]
    banner = html[html.index("data-outage-banner"):html.index('id="caller"')]
    assert f'data-outage-account="{inside.number}"' in banner
    assert outside.number not in banner
    assert f'data-account="{outside.number}"' in html  # still on the candidate's card


def test_a_caller_identified_later_brings_the_banner(world: World, grid: Grid, center: Center,
                                                    desk: Desk) -> None:
    outage = publish_on_f1(world)
    customer = grid.accounts["TA1"][1]
    with time_machine.travel(IN_FORCE, tick=False):
        call = ring(center, "13999998888")  # an unknown number
        html = desk.panel()
        assert 'id="unknown-caller"' in html and banners(html) == []
        response = desk.client().post(reverse("desk:identify", args=[call.pk]),
                             {"customer": customer.customer_id, "account": customer.pk}, headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert banners(html) == [outage.number]
    assert f'data-outage-account="{customer.number}"' in html


def test_a_cancelled_or_restored_outage_leaves_the_desk(world: World, grid: Grid, center: Center,
                                                       desk: Desk) -> None:
    cancelled = publish_on_f1(world)
    outage_cancel(actor=world.supervisor, outage=cancelled, reason="检修计划调整", now=START - timedelta(days=2))
    with time_machine.travel(IN_FORCE, tick=False):
        ring(center, phone_of(grid.accounts["TA1"][0]))
        assert banners(desk.panel()) == []

    restored = publish_on_f1(world, start=START + timedelta(days=10), end=END + timedelta(days=10))
    during = START + timedelta(days=10, hours=2)
    with time_machine.travel(during, tick=False):
        ring(center, phone_of(grid.accounts["TA1"][0]))
        assert banners(desk.panel()) == [restored.number]
        outage_restore(actor=world.supervisor, outage=restored, now=during)
        ring(center, phone_of(grid.accounts["TA1"][0]))
        assert banners(desk.panel()) == []


def test_an_extended_outage_shows_its_status_and_new_restoration(world: World, grid: Grid, center: Center,
                                                                desk: Desk) -> None:
    outage = publish_on_f1(world)
    with time_machine.travel(IN_FORCE, tick=False):
        outage_extend(actor=world.supervisor, outage=outage, planned_end=END + timedelta(hours=2),
                      reason="抢修延长")
        ring(center, phone_of(grid.accounts["TA1"][0]))
        html = desk.panel()
    assert banners(html) == [outage.number] and 'data-outage-status="extended"' in html
    assert "Extended" in html and "expected to be restored at Dec 1 20:00" in html


def test_the_pop_reads_the_outages_in_one_query(world: World, grid: Grid, center: Center,
                                                django_assert_max_num_queries: Any) -> None:
    """The desk polls every second: the banner adds one query to the pop (seven before it), however
    many candidates, accounts and outages there are."""
    shared = phone_of(grid.accounts["TA1"][0])
    for node in (grid.ta2, grid.ta3):
        hang(world.supervisor, node, 2, phone=shared)
    on_f1 = publish_on_f1(world)
    now = START - timedelta(days=8)
    on_f2 = outage_create(actor=world.supervisor, now=now, data={
        "utility": "power", "outage_class": "planned", "area": "华星科技", "reason": "专变检修",
        "planned_start": START + timedelta(hours=2), "planned_end": END, "nodes": ["F2"]})
    outage_publish(actor=world.supervisor, outage=outage_review(actor=world.supervisor, outage=on_f2, now=now),
                   now=now)

    def pop(caller: str) -> tuple[Any, list[str]]:
        call = ring(center, caller)
        with django_assert_max_num_queries(8), CaptureQueriesContext(connection) as queries:
            card = desk_card(world.agent_a1, call)
        hang_up(center, call)
        return card, [q["sql"] for q in queries.captured_queries]

    with time_machine.travel(IN_FORCE, tick=False):
        alone, alone_sql = pop(phone_of(grid.accounts["TA2"][0]))
        shared_card, shared_sql = pop(shared)
    assert [b.outage.number for b in alone.outages] == [on_f1.number]
    assert len(shared_card.candidates) == 5
    assert [(b.outage.number, len(b.accounts)) for b in shared_card.outages] == [(on_f1.number, 3),
                                                                               (on_f2.number, 2)]
    assert len(shared_sql) == len(alone_sql)
    assert len([sql for sql in shared_sql if "outages_" in sql]) == 1


def test_the_banner_finds_the_same_outages_as_the_outage_module(world: World, grid: Grid) -> None:
    """The banner reads the affected accounts itself (to know which accounts are cut off): it must
    agree with ``live_for_accounts`` through the outage's life."""
    outage = publish_on_f1(world)
    accounts = list(Account.objects.filter(pk__in=[a.pk for a in grid.under("TA1", "TA2", "TA3")]))
    ids = [a.pk for a in accounts]

    def same(now: datetime) -> list[str]:
        shown = [b.outage.number for b in outage_banners(accounts, now=now)]
        assert shown == [o.number for o in live_for_accounts(ids, now=now)]
        return shown

    assert same(START - timedelta(days=3)) == []
    assert same(START - timedelta(hours=23)) == [outage.number]
    assert same(IN_FORCE) == [outage.number]
    outage_change(actor=world.supervisor, outage=outage, planned_start=START + timedelta(days=2),
                  planned_end=END + timedelta(days=2), reason="配合市政施工", now=START - timedelta(days=7))
    assert same(IN_FORCE) == []
    assert same(START + timedelta(days=2, hours=1)) == [outage.number]
    outage_restore(actor=world.supervisor, outage=outage, now=START + timedelta(days=2, hours=3))
    assert same(START + timedelta(days=2, hours=4)) == []


# ------------------------------------------------------------------ the IVR


def test_the_ivr_tells_the_caller_about_the_outage_before_their_order(world: World, grid: Grid,
                                                                      center: Center, at_start: None) -> None:
    outage = publish_on_f1(world)
    affected = grid.accounts["TA1"][0]
    order = workorder_intake(actor=world.agent_a1, order_type="repair", channel="phone", account=affected,
                             content="家里停电了").order
    client = token_client(center.token)
    body = client.get(IVR_URL, {"caller": phone_of(affected)}, HTTP_ACCEPT_LANGUAGE="en").json()
    assert body["matched"] is True
    assert [o["number"] for o in body["open_orders"]] == [order.number]
    assert body["outages"] == [{
        "number": outage.number, "outage_class": "planned", "outage_class_label": "Planned outage",
        "status": "published", "status_label": "Published", "area": "文三路1号、2号台区",
        "start": START.isoformat(), "expected_restoration": END.isoformat(), "in_force": True,
    }]
    known = "There is a known outage in your area; supply is expected to be restored at Dec 1 18:00."
    assert body["say"].startswith(known + " ")
    assert order.number in body["say"][len(known):]

    # The account keyed in: the same outage; the sentence without orders is the outage alone.
    other = grid.accounts["TA2"][0]
    by_account = client.get(IVR_URL, {"account": other.number}, HTTP_ACCEPT_LANGUAGE="en").json()
    assert [o["number"] for o in by_account["outages"]] == [outage.number]
    assert by_account["say"] == known
    # In Chinese the time reads 12月1日 18:00.
    chinese = client.get(IVR_URL, {"account": other.number}, HTTP_ACCEPT_LANGUAGE="zh-hans").json()
    assert "12月1日 18:00" in chinese["say"]


def test_the_ivr_knows_no_outage_outside_it_or_too_far_ahead(world: World, grid: Grid, center: Center) -> None:
    publish_on_f1(world)
    client = token_client(center.token)
    with time_machine.travel(IN_FORCE, tick=False):
        # The account keyed in is on feeder F2, even though the calling number is inside the outage.
        keyed = client.get(IVR_URL, {"caller": phone_of(grid.accounts["TA1"][0]),
                                     "account": grid.accounts["TA3"][0].number}, HTTP_ACCEPT_LANGUAGE="en").json()
        assert keyed["outages"] == [] and "no open request" in keyed["say"]
        outside = client.get(IVR_URL, {"caller": "13800001111"}, HTTP_ACCEPT_LANGUAGE="en").json()
        assert outside["outages"] == [] and "outage" not in outside["say"]
    with time_machine.travel(START - timedelta(days=3), tick=False):
        ahead = client.get(IVR_URL, {"caller": phone_of(grid.accounts["TA1"][0])}, HTTP_ACCEPT_LANGUAGE="en").json()
        assert ahead["outages"] == []
    with time_machine.travel(START - timedelta(hours=6), tick=False):
        soon = client.get(IVR_URL, {"caller": phone_of(grid.accounts["TA1"][0])}, HTTP_ACCEPT_LANGUAGE="en").json()
        assert soon["outages"][0]["in_force"] is False
        assert soon["say"] == ("An outage is announced in your area from Dec 1 08:00; supply is expected to be "
                               "restored at Dec 1 18:00.")
