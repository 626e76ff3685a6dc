"""The prepaid pages as a counter clerk and an analyst use them: read a card, see the tier split and
the price before confirming, confirm once (a second click sells nothing), a price that changed
meanwhile shown again, field messages, the card page with its purchases and findings, and the
reconciliation report with its Excel file — each only in one's own area and role."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from kefu.core.models import AuditLog
from kefu.metering.models import CardPurchase, MeterWriteBack, PrepaidCard
from kefu.metering.prepaid import card_purchase
from kefu.metering.tests.test_prepaid import NOW, prepaid_household
from kefu.org.models import Staff
from kefu.org.tests.factories import make_staff

if TYPE_CHECKING:
    from conftest import World

pytestmark = pytest.mark.django_db

COUNTER = reverse("metering:prepaid-counter")
REPORT = reverse("metering:prepaid-reconciliation")


@pytest.fixture(autouse=True)
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def english(settings: Any) -> None:
    settings.LANGUAGE_CODE = "en"


@dataclass
class Desk:
    clerk: Staff
    analyst: Staff
    card: PrepaidCard


@pytest.fixture
def desk(world: World) -> Desk:
    clerk = make_staff("clerk_a1", unit=world.county_a1, roles=["clerk"])
    _account, card = prepaid_household(world, clerk=clerk)
    card_purchase(actor=clerk, card=card, mode="volume", quantity="499")
    return Desk(clerk=clerk, analyst=make_staff("analyst_a1", unit=world.county_a1, roles=["analyst"]), card=card)


def login(user: Staff) -> Client:
    client = Client()
    client.force_login(user)
    return client


def hidden_fields(html: str) -> dict[str, list[str]]:
    """The confirm form's hidden inputs, as the browser would send them."""
    form = html[html.index('id="confirm-form"'):]
    form = form[:form.index("</form>")]
    fields: dict[str, list[str]] = {}
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form):
        fields.setdefault(name, []).append(value)
    return fields


def preview(client: Client, card: PrepaidCard, **data: Any) -> Any:
    return client.post(COUNTER, {"card": card.number, "mode": "volume", "action": "preview", **data})


def test_reading_a_card_shows_the_household_and_its_place_in_the_cycle(desk: Desk) -> None:
    response = login(desk.clerk).get(COUNTER, {"card": "ic0001"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-card="IC0001"' in html and 'data-tier="1"' in html
    assert "499.00 m³ bought since 2025-11-01" in html and "1.00 m³ left in this tier" in html


def test_a_card_elsewhere_or_unknown_is_not_found(world: World, desk: Desk) -> None:
    peer = make_staff(unit=world.county_a2, roles=["clerk"])
    response = login(peer).get(COUNTER, {"card": "IC0001"})
    assert response.status_code == 404 and "No card numbered IC0001 in your area" in response.content.decode()
    assert login(peer).post(COUNTER, {"card": "IC0001", "mode": "volume", "quantity": "3"}).status_code == 404
    assert login(world.agent_a1).get(COUNTER).status_code == 403


def test_the_price_is_shown_split_by_tier_then_confirmed_once(desk: Desk) -> None:
    client = login(desk.clerk)
    shown = preview(client, desk.card, quantity="3")
    assert shown.status_code == 200
    html = shown.content.decode()
    assert 'data-amount="9.97"' in html and 'data-tier="1"' in html and 'data-tier="2"' in html
    assert "3.52" in html and "7.04" in html and "Confirm: take 9.97 yuan" in html
    assert CardPurchase.objects.count() == 1  # nothing sold by showing the price
    fields = hidden_fields(html)
    assert fields["expect_amount"] == ["9.97"] and len(fields["key"][0]) == 32
    done = client.post(COUNTER, {**fields, "action": "confirm"})
    assert done.status_code == 302 and done["Location"].startswith(reverse("metering:prepaid-card",
                                                                           args=[desk.card.pk]))
    sale = CardPurchase.objects.get(card=desk.card, sequence=2)
    assert sale.amount.to_eng_string() == "9.97"
    page = client.get(done["Location"]).content.decode()
    assert "Sold 3.00 m³ for 9.97 yuan to card IC0001 (purchase #2)" in page
    again = client.post(COUNTER, {**fields, "action": "confirm"}, follow=True)
    assert "Purchase #2 on card IC0001 was already made; nothing was sold again." in again.content.decode()
    assert CardPurchase.objects.count() == 2


def test_a_price_that_changed_is_shown_again_not_charged(desk: Desk) -> None:
    client = login(desk.clerk)
    fields = hidden_fields(preview(client, desk.card, quantity="1").content.decode())
    assert fields["expect_amount"] == ["2.93"]
    card_purchase(actor=desk.clerk, card=desk.card, mode="volume", quantity="1")  # another till meanwhile
    response = client.post(COUNTER, {**fields, "action": "confirm"})
    assert response.status_code == 409
    html = response.content.decode()
    assert "The price changed to 3.52 yuan" in html and 'data-amount="3.52"' in html
    assert CardPurchase.objects.count() == 2


def test_bad_input_is_shown_beside_the_field(desk: Desk) -> None:
    client = login(desk.clerk)
    response = preview(client, desk.card, quantity="-1")
    assert response.status_code == 400
    assert re.search(r'data-field="quantity">A purchase must be more than zero', response.content.decode())
    response = preview(client, desk.card, quantity="3", sequence="7", total_bought="499", total_used="1",
                       remaining="498", valve="open")
    assert response.status_code == 400
    html = response.content.decode()
    assert re.search(r'data-field="sequence">The meter reports purchase #7, but the last one sold', html)
    response = preview(client, desk.card, quantity="3", sequence="1", valve="open")
    assert response.status_code == 400 and 'data-field="total_bought"' in response.content.decode()
    assert CardPurchase.objects.count() == 1 and not MeterWriteBack.objects.exists()


def test_the_status_read_from_the_card_is_checked_before_and_stored_with_the_sale(desk: Desk) -> None:
    client = login(desk.clerk)
    shown = preview(client, desk.card, quantity="3", sequence="0", total_bought="0", total_used="0",
                    remaining="0", valve="closed", tamper_flags=["magnetic"])
    html = shown.content.decode()
    assert 'data-finding="not_loaded"' in html and 'data-finding="tamper"' in html
    fields = hidden_fields(html)
    assert fields["tamper_flags"] == ["magnetic"]
    client.post(COUNTER, {**fields, "action": "confirm"})
    wb = MeterWriteBack.objects.get()
    assert wb.purchase is not None and wb.purchase.sequence == 2 and wb.tamper_flags == ["magnetic"]
    page = client.get(reverse("metering:prepaid-card", args=[desk.card.pk])).content.decode()
    assert 'id="card-findings"' in page and "Sold but not loaded by the meter: #1 (it is at #0)" in page


def test_the_card_page_is_for_its_area_and_the_counter_and_analyst_roles(world: World, desk: Desk) -> None:
    url = reverse("metering:prepaid-card", args=[desk.card.pk])
    html = login(desk.analyst).get(url).content.decode()
    assert 'data-sequence="1"' in html and "T1: 499.00 m³ × 2.93 = 1462.07" in html
    assert 'id="sell-link"' not in html  # the analyst does not sell
    assert 'id="sell-link"' in login(desk.clerk).get(url).content.decode()
    assert login(make_staff(unit=world.county_b1, roles=["clerk"])).get(url).status_code == 404
    assert login(world.agent_a1).get(url).status_code == 403


def test_the_reconciliation_report_and_its_excel_file(world: World, desk: Desk) -> None:
    card_purchase(actor=desk.clerk, card=desk.card, mode="volume", quantity="10",
                  write_back={"sequence": 1, "total_bought": "490", "total_used": "5", "remaining": "485",
                              "valve": "open"})
    client = login(desk.analyst)
    html = client.get(REPORT).content.decode()
    assert 'data-card="IC0001"' in html and "1 of 1 card does not reconcile" in html
    assert 'data-finding="bought_mismatch" data-count="1"' in html
    download = client.get(REPORT, {"unit": str(world.county_a1.pk), "format": "xlsx"})
    assert download.status_code == 200 and "prepaid-reconciliation-A1" in download["Content-Disposition"]
    book = load_workbook(io.BytesIO(download.content))
    rows = list(book[book.sheetnames[1]].iter_rows(values_only=True))
    assert rows[1][0] == "IC0001" and "490.00" in (rows[1][9] or "") and "Total bought" in (rows[1][14] or "")
    assert AuditLog.objects.filter(action="export", detail__what="prepaid_reconciliation").count() == 1
    assert login(desk.clerk).get(REPORT).status_code == 403
    outsider = make_staff(unit=world.county_b1, roles=["analyst"])
    assert login(outsider).get(REPORT, {"unit": str(world.county_a1.pk)}).status_code == 404
    assert "Every card of this unit reconciles" in login(outsider).get(REPORT).content.decode()
