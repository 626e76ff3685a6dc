"""Desk demo data: idempotent, realistic call states, a callback queue to work, and a simulator that
pops a call on the signed-in agent's desk."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from kefu.customers.models import Account
from kefu.demo.desk import CALL_ID_PREFIX, CTI_USERNAME, DEMO_CTI_TOKEN, desk_demo_load
from kefu.demo.loader import demo_load
from kefu.demo.orderload import demo_orders_load
from kefu.desk.choices import CallbackStatus, CallState, OrderRelation
from kefu.desk.models import Call, CallActivity, CallOrder, CtiEvent, Extension
from kefu.desk.selectors import callback_queue, desk_call, desk_card
from kefu.org.models import Staff

pytestmark = pytest.mark.django_db(transaction=True)
NOW = dt.datetime(2026, 11, 20, 6, 30, tzinfo=dt.UTC)  # 14:30 in Asia/Shanghai


@pytest.fixture(autouse=True)
def fast_hasher(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def counts() -> dict[str, int]:
    from rest_framework.authtoken.models import Token

    return {
        "calls": Call.objects.count(), "events": CtiEvent.objects.count(), "links": CallOrder.objects.count(),
        "activities": CallActivity.objects.count(), "extensions": Extension.objects.count(),
        "cti": Staff.objects.filter(username=CTI_USERNAME).count(), "tokens": Token.objects.count(),
        "arrears": Account.objects.filter(arrears_amount__gt=0).count(),
    }


def test_desk_demo_is_idempotent_and_fills_the_callback_queue() -> None:
    demo_load(customers=400, seed=7, progress=False)
    demo_orders_load(orders=1500, seed=7, progress=False, now=NOW, personas=False)
    first = desk_demo_load(seed=7, calls=250, now=NOW)
    assert first.loaded and first.calls == 250 and first.token == DEMO_CTI_TOKEN
    before = counts()
    again = desk_demo_load(seed=7, calls=250, now=NOW)
    assert not again.loaded and again.calls == 250
    assert counts() == before  # nothing doubles
    assert before["calls"] == 250 and before["cti"] == 1

    calls = list(Call.objects.all())
    states = Counter(c.state for c in calls)
    assert {CallState.COMPLETED, CallState.MISSED, CallState.ABANDONED, CallState.SELF_SERVED} <= set(states)
    assert states[CallState.COMPLETED] > len(calls) / 2
    assert all(c.started_at <= NOW and c.call_id.startswith(CALL_ID_PREFIX) for c in calls)
    assert all(c.result for c in calls if c.state == CallState.COMPLETED)
    assert all(c.agent_id and c.extension for c in calls if c.state in (CallState.COMPLETED, CallState.MISSED))
    # Calls that made an order link to a real demo order of that customer.
    created = CallOrder.objects.filter(relation=OrderRelation.CREATED).select_related("call", "order")
    assert created.exists()
    assert all(link.call.customer_id in (None, link.order.customer_id) for link in created)
    # Unanswered calls from known numbers wait for a callback; withheld numbers cannot.
    pending = [c for c in calls if c.callback_status == CallbackStatus.PENDING]
    assert pending and all(c.state in (CallState.MISSED, CallState.ABANDONED) and c.caller_e164 for c in pending)

    agent1 = Staff.objects.select_related("unit").get(username="agent1")
    queue = callback_queue(agent1)
    assert queue and sum(item.waiting for item in queue) >= len(queue)
    assert Extension.objects.get(number="8001").agent == agent1
    share = before["arrears"] / Account.objects.count()
    assert 0.01 <= share <= 0.08, share
    assert Account.objects.filter(arrears_amount__gt=0, arrears_since__isnull=True).count() == 0


def test_simulator_pops_the_call_on_the_signed_in_agents_desk() -> None:
    demo_load(customers=200, seed=7, progress=False)
    demo_orders_load(orders=300, seed=7, progress=False, personas=False)
    desk_demo_load(seed=7, calls=50)
    agent1 = Staff.objects.select_related("unit").get(username="agent1")
    account = Account.objects.filter(customer__contacts__isnull=False).select_related("customer").first()
    assert account is not None
    contact = account.customer.contacts.first()
    assert contact is not None
    phone = contact.phone.removeprefix("+86")

    out = StringIO()
    call_command("cti_simulate", "ring", extension="8001", caller=phone, stdout=out)
    call_id = out.getvalue().split()[0]
    call = Call.objects.get(call_id=call_id)
    assert call.state == CallState.RINGING and call.agent == agent1
    assert desk_call(agent1) == call
    card = desk_card(agent1, call)
    assert account.customer_id in [c.customer.pk for c in card.candidates]

    call_command("cti_simulate", "answer", extension="8001", call_id=call_id, stdout=StringIO())
    call_command("cti_simulate", "end", extension="8001", call_id=call_id, stdout=StringIO())
    call.refresh_from_db()
    assert call.state == CallState.COMPLETED and call.duration_seconds is not None
    with pytest.raises(CommandError, match="8999"):
        call_command("cti_simulate", "ring", extension="8999", caller=phone, stdout=StringIO())


def test_demo_reset_removes_the_calls_first() -> None:
    args = {"customers": 150, "orders": 200, "no_progress": True, "verbosity": 0}
    out = StringIO()
    call_command("demo", stdout=out, **args)
    assert "API token" in out.getvalue()
    made = Call.objects.count()
    assert made > 0
    call_command("demo", "--reset", stdout=StringIO(), **args)  # calls hold protected unit references
    assert Call.objects.count() == made
    call_command("demo", "--reset-orders", stdout=StringIO(), **args)
    assert Call.objects.filter(call_id__startswith=CALL_ID_PREFIX).count() == made


def test_generated_articles_are_published_searchable_and_load_once() -> None:
    from kefu.demo.knowledge import PREFIX, articles_load
    from kefu.knowledge.models import Article, SearchEntry
    from kefu.knowledge.selectors import knowledge_search

    demo_load(customers=50, seed=7, progress=False)
    assert articles_load(300, seed=7, log=lambda _m: None) is not None
    assert articles_load(300, seed=7, log=lambda _m: None) is None  # there already: nothing to do
    generated = Article.objects.filter(number__startswith=PREFIX)
    assert generated.count() == 300 and not generated.filter(published__isnull=True).exists()
    assert SearchEntry.objects.filter(article__number__startswith=PREFIX).count() == 300
    agent1 = Staff.objects.select_related("unit").get(username="agent1")
    page = knowledge_search(user=agent1, query="家里停电了怎么办")
    assert page.terms == ["停电"] and page.items
    assert all("停电" in (i.revision.title + i.revision.tags + i.revision.summary + i.revision.body)
               for i in page.items)
