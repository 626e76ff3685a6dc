"""The prepaid API as a counter terminal and an analyst use it: issue a card, quote and sell with an
Idempotency-Key (a retry answers 200 with the first sale), the status the card brings back with the
sale or alone, loss and replacement, the card with its reconciliation, the unit's report, and the
answers for bad bodies, other roles and other areas."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import pytest
import time_machine

from kefu.customers.models import Account
from kefu.customers.tests.factories import make_account
from kefu.metering.models import CardPurchase, Meter, MeterWriteBack, PrepaidCard
from kefu.metering.tests.factories import install, make_meter
from kefu.metering.tests.test_prepaid import NOW, prepaid_household
from kefu.org.models import Staff
from kefu.org.tests.apiclient import API, client_for
from kefu.org.tests.factories import make_staff

if TYPE_CHECKING:
    from conftest import World

pytestmark = pytest.mark.django_db

CARDS = f"{API}/metering/cards/"
REPORT = f"{API}/metering/prepaid/reconciliation/"


def card_url(pk: int, action: str = "") -> str:
    return f"{CARDS}{pk}/" + (f"{action}/" if action else "")


@pytest.fixture(autouse=True)
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def english(settings: Any) -> None:
    settings.LANGUAGE_CODE = "en"


@dataclass
class Till:
    clerk: Staff
    analyst: Staff
    account: Account
    card: PrepaidCard


@pytest.fixture
def till(world: World) -> Till:
    clerk = make_staff("clerk_a1", unit=world.county_a1, roles=["clerk"])
    account, card = prepaid_household(world, clerk=clerk)
    return Till(clerk=clerk, analyst=make_staff("analyst_a1", unit=world.county_a1, roles=["analyst"]),
                account=account, card=card)


def post(user: Staff, url: str, body: dict[str, Any], **headers: str) -> Any:
    return client_for(user).post(url, body, format="json", headers=headers)


def test_a_card_is_issued_to_an_installed_ic_card_meter(world: World, till: Till) -> None:
    account = make_account(unit=world.county_a1, utility="gas")
    meter = make_meter(unit=world.county_a1, utility="gas", kind="ic_card", serial="ICM-0042")
    install(actor=world.manager_a1, meter=meter, to=account, on=date(2025, 10, 1))
    response = post(till.clerk, CARDS, {"meter": "ICM-0042", "number": "ic-0042"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["number"] == "IC-0042" and body["account"] == account.number and body["state"] == "active"
    again = post(till.clerk, CARDS, {"meter": "ICM-0042", "number": "IC-0043"})
    assert again.status_code == 409 and "already has card IC-0042" in again.json()["detail"]
    unknown = post(till.clerk, CARDS, {"meter": "NOPE", "number": "IC-0044", "colour": "red"})
    assert unknown.status_code == 400 and set(unknown.json()["errors"]) == {"colour"}
    unknown = post(till.clerk, CARDS, {"meter": "NOPE", "number": "IC-0044"})
    assert unknown.status_code == 400 and "Unknown meter number NOPE" in unknown.json()["errors"]["meter"][0]


def test_the_card_list_is_scoped_and_searchable(world: World, till: Till) -> None:
    b_clerk = make_staff(unit=world.county_b1, roles=["clerk"])
    prepaid_household(world, unit=world.county_b1, number="IC-B1", clerk=b_clerk)
    rows = client_for(till.clerk).get(CARDS).json()["results"]
    assert [r["number"] for r in rows] == ["IC0001"]
    found = client_for(world.admin).get(CARDS, {"q": "ic-b1"}).json()["results"]
    assert [r["number"] for r in found] == ["IC-B1"]
    assert client_for(world.agent_a1).get(CARDS).status_code == 403


def test_quote_then_sell_with_a_key_and_a_retry_sells_once(till: Till) -> None:
    post(till.clerk, card_url(till.card.pk, "purchases"), {"mode": "volume", "quantity": "499"})
    quote = post(till.clerk, card_url(till.card.pk, "quote"), {"mode": "amount", "quantity": "10"})
    assert quote.status_code == 200
    q = quote.json()
    assert (q["volume"], q["amount"], q["change"]) == ("3.00", "9.97", "0.03")
    assert [(t["tier"], t["volume"], t["amount"]) for t in q["tiers"]] == [(1, "1.00", "2.93"), (2, "2.00", "7.04")]
    assert CardPurchase.objects.count() == 1  # a quote sells nothing
    body = {"mode": "amount", "quantity": "10", "expect_amount": "9.97",
            "write_back": {"sequence": 1, "total_used": "12.5", "total_bought": "499", "remaining": "486.5",
                           "valve": "open"}}
    first = post(till.clerk, card_url(till.card.pk, "purchases"), body, **{"Idempotency-Key": "R-20260328-0002"})
    assert first.status_code == 201, first.content
    sale = first.json()
    assert sale["purchase"]["sequence"] == 2 and sale["purchase"]["amount"] == "9.97"
    assert sale["write_back"]["sequence"] == 1 and sale["write_back"]["findings"] == []
    retry = post(till.clerk, card_url(till.card.pk, "purchases"), body, **{"Idempotency-Key": "R-20260328-0002"})
    assert retry.status_code == 200 and retry["Idempotent-Replayed"] == "true"
    assert retry.json()["purchase"]["id"] == sale["purchase"]["id"]
    assert CardPurchase.objects.count() == 2 and MeterWriteBack.objects.count() == 1
    other = post(till.clerk, card_url(till.card.pk, "purchases"), {"mode": "volume", "quantity": "1"},
                 **{"Idempotency-Key": "R-20260328-0002"})
    assert other.status_code == 409


def test_bad_purchases_name_the_field(till: Till) -> None:
    url = card_url(till.card.pk, "purchases")
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"mode": "volume", "quantity": "-3"}, "quantity", "more than zero"),
        ({"mode": "volume", "quantity": "2000"}, "quantity", "At most 1000.00 m³"),
        ({"mode": "litre", "quantity": "3"}, "mode", ""),
        ({"mode": "volume", "quantity": "3", "write_back": {"sequence": 5, "total_used": "0", "total_bought": "0",
                                                          "remaining": "0", "valve": "open"}},
         "write_back.sequence", "the last one sold on card IC0001 is #0"),
        ({"mode": "volume", "quantity": "3", "write_back": {"sequence": 0, "total_used": "x", "total_bought": "0",
                                                          "remaining": "0", "valve": "shut"}},
         "write_back.valve", ""),
    ]
    for body, field, text in cases:
        response = post(till.clerk, url, body)
        assert response.status_code == 400, (body, response.content)
        errors = response.json()["errors"]
        assert field in errors and text in errors[field][0], errors
    long_key = post(till.clerk, url, {"mode": "volume", "quantity": "3"}, **{"Idempotency-Key": "k" * 65})
    assert long_key.status_code == 400 and "Idempotency-Key" in long_key.json()["errors"]
    assert not CardPurchase.objects.exists()


def test_a_write_back_alone_and_the_card_shows_what_does_not_reconcile(till: Till) -> None:
    post(till.clerk, card_url(till.card.pk, "purchases"), {"mode": "volume", "quantity": "100"})
    status = {"sequence": 1, "total_used": "30", "total_bought": "95", "remaining": "65", "valve": "closed",
              "tamper_flags": ["cover_opened"], "read_at": "2026-03-28T09:30:00+08:00"}
    first = post(till.clerk, card_url(till.card.pk, "write-backs"), status)
    assert first.status_code == 201, first.content
    codes = {f["code"] for f in first.json()["findings"]}
    assert codes == {"bought_mismatch", "valve_closed", "tamper"}
    again = post(till.clerk, card_url(till.card.pk, "write-backs"), status)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    detail = client_for(till.analyst).get(card_url(till.card.pk))
    assert detail.status_code == 200
    card = detail.json()
    assert card["last_sequence"] == 1 and len(card["purchases"]) == 1 and len(card["write_backs"]) == 1
    assert {f["code"] for f in card["reconciliation"]["findings"]} == codes
    assert any("95.00 m³ bought" in f["text"] for f in card["reconciliation"]["findings"])


def test_lost_and_replaced(till: Till) -> None:
    post(till.clerk, card_url(till.card.pk, "purchases"), {"mode": "volume", "quantity": "10"})
    lost = post(till.clerk, card_url(till.card.pk, "lost"), {"reason": "丢失"})
    assert lost.status_code == 200 and lost.json()["state"] == "lost"
    refused = post(till.clerk, card_url(till.card.pk, "purchases"), {"mode": "volume", "quantity": "10"})
    assert refused.status_code == 409
    new = post(till.clerk, card_url(till.card.pk, "replace"), {"number": "IC0002"})
    assert new.status_code == 201 and new.json()["opening_sequence"] == 1
    sale = post(till.clerk, card_url(new.json()["id"], "purchases"), {"mode": "volume", "quantity": "10"})
    assert sale.status_code == 201 and sale.json()["purchase"]["sequence"] == 2


def test_the_unit_report(world: World, till: Till) -> None:
    post(till.clerk, card_url(till.card.pk, "purchases"), {"mode": "volume", "quantity": "10"})
    post(till.clerk, card_url(till.card.pk, "purchases"), {
        "mode": "volume", "quantity": "10",
        "write_back": {"sequence": 0, "total_used": "0", "total_bought": "0", "remaining": "0", "valve": "open"}})
    report = client_for(till.analyst).get(REPORT)
    assert report.status_code == 200, report.content
    body = report.json()
    assert body["unit"]["code"] == "A1" and body["cards"] == 1 and body["flagged"] == 1
    assert body["counts"]["not_loaded"] == 1 and body["rows"][0]["number"] == "IC0001"
    assert client_for(till.clerk).get(REPORT).status_code == 403
    outsider = make_staff(unit=world.county_b1, roles=["analyst"])
    assert client_for(outsider).get(REPORT, {"unit": world.county_a1.pk}).status_code == 404
    assert client_for(till.analyst).get(REPORT, {"unit": "x"}).status_code == 400


@pytest.mark.parametrize("action", ["", "quote", "purchases", "write-backs", "lost", "replace"])
def test_other_areas_get_404_and_other_roles_403(world: World, till: Till, action: str) -> None:
    peer = make_staff(unit=world.county_a2, roles=["clerk", "analyst"])
    url = card_url(till.card.pk, action)
    call = (lambda u: client_for(u).get(url)) if not action else (lambda u: post(u, url, {}))
    assert call(peer).status_code == 404
    assert call(world.agent_a1).status_code == 403
    assert call(till.clerk).status_code in (200, 400)
    assert Meter.objects.count() == 1 and not CardPurchase.objects.exists()
