"""IC-card prepaid gas as the counter and the analyst meet it: prices worked out by hand at the tier
limits (廊坊: 500 / 1200 m³ a year from 1 November, 2.93 / 3.52 / 4.40 yuan), buying by amount, the
new cycle on 1 November, heating and low-income households, gap-free purchase numbers and a retry
that sells nothing twice, the meter status the card brings back and what the reconciliation finds in
it, the messages for bad input, and who may do what where."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest
import time_machine

from kefu.core.errors import Conflict, IllegalTransition, InvalidInput, NotFoundError, PermissionDeniedError
from kefu.customers.models import Account
from kefu.customers.tests.factories import make_account
from kefu.metering.models import CardPurchase, MeterWriteBack, PrepaidCard, PrepaidEvent, PrepaidTariff
from kefu.metering.prepaid import (
    Schedule,
    card_issue,
    card_purchase,
    card_replace,
    card_report_lost,
    card_set_household,
    card_write_back,
    cycle_start,
    price_volume,
    purchase_quote,
    tariff_for,
    volume_for_amount,
)
from kefu.metering.prepaid_choices import CardState, Finding, PrepaidEventKind
from kefu.metering.prepaid_report import card_reconciliation, reconciliation
from kefu.metering.prepaid_seed import ratio_prices
from kefu.metering.tests.factories import install, make_meter
from kefu.org.models import OrgUnit, Staff
from kefu.org.tests.factories import make_staff

if TYPE_CHECKING:
    from conftest import World

pytestmark = pytest.mark.django_db

CN = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 28, 10, 0, tzinfo=CN)
D = Decimal
LANGFANG = Schedule(limits=(D("500"), D("1200")), prices=(D("2.93"), D("3.52"), D("4.40")))


@pytest.fixture(autouse=True)
def english(settings: Any) -> None:
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@dataclass
class Counter:
    clerk: Staff  # counter clerk at county A1
    analyst: Staff  # data analyst at county A1
    account: Account  # a gas household of county A1 with an IC-card meter
    card: PrepaidCard


def prepaid_household(world: World, *, unit: OrgUnit | None = None, number: str = "IC0001",
                      customer_class: str | None = None, clerk: Staff | None = None,
                      **issue: Any) -> tuple[Account, PrepaidCard]:
    """A gas account with an installed IC-card meter and its card (the scoping suite can use it)."""
    unit = unit or world.county_a1
    account = make_account(unit=unit, utility="gas", customer_class=customer_class)
    fitter = make_staff(unit=unit, roles=["manager_full"])
    meter = make_meter(unit=unit, utility="gas", kind="ic_card")
    install(actor=fitter, meter=meter, to=account, on=date(2025, 10, 1))
    clerk = clerk or make_staff(unit=unit, roles=["clerk"])
    return account, card_issue(actor=clerk, meter=meter, number=number, **issue)


@pytest.fixture
def counter(world: World, clock: time_machine.Traveller) -> Counter:
    clerk = make_staff("clerk_a1", unit=world.county_a1, roles=["clerk"])
    analyst = make_staff("analyst_a1", unit=world.county_a1, roles=["analyst"])
    account, card = prepaid_household(world, clerk=clerk)
    return Counter(clerk=clerk, analyst=analyst, account=account, card=card)


def buy(c: Counter, quantity: str, *, mode: str = "volume", card: PrepaidCard | None = None, **kw: Any) -> Any:
    return card_purchase(actor=c.clerk, card=card or c.card, mode=mode, quantity=quantity, **kw)


def status(sequence: int, bought: str, used: str, remaining: str | None = None, **kw: Any) -> dict[str, Any]:
    left = remaining if remaining is not None else str(max(D(bought) - D(used), D(0)))
    return {"sequence": sequence, "total_bought": bought, "total_used": used, "remaining": left,
            "valve": kw.pop("valve", "open"), **kw}


def lines(purchase: CardPurchase) -> list[tuple[int, str, str, str]]:
    return [(t["tier"], t["volume"], t["price"], t["amount"]) for t in purchase.tiers]


# Pricing, by hand ------------------------------------------------------------------------------

def test_the_seeded_langfang_tariff_is_the_policy_with_its_source() -> None:
    tariff = PrepaidTariff.objects.get(code="LANGFANG-RES")
    assert (tariff.tier1_limit, tariff.tier2_limit) == (D("500"), D("1200"))
    assert (tariff.heating_tier1_limit, tariff.heating_tier2_limit) == (D("1200"), D("3000"))
    # 2.93 × 1.2 = 3.516 and × 1.5 = 4.395, each half-up to the fen.
    assert (tariff.tier1_price, tariff.tier2_price, tariff.tier3_price) == (D("2.93"), D("3.52"), D("4.40"))
    assert ratio_prices(D("2.84")) == (D("2.84"), D("3.41"), D("4.26"))  # the 辽源 notice's own prices
    assert (tariff.cycle_month, tariff.cycle_day) == (11, 1) and tariff.low_income_tier1
    assert "Langfang" in tariff.source
    liaoyuan = PrepaidTariff.objects.get(code="LIAOYUAN-RES")
    assert (liaoyuan.tier1_limit, liaoyuan.tier2_limit, liaoyuan.tier3_price) == (D("240"), D("360"), D("4.26"))
    assert not liaoyuan.active and "Liaoyuan" in liaoyuan.source


def test_a_purchase_across_a_tier_limit_is_split_and_each_line_rounded_half_up() -> None:
    # 499 → 502 m³: 1 m³ at 2.93 and 2 m³ at 3.52.
    split = price_volume(LANGFANG, before=D("499"), volume=D("3"))
    assert [(x.tier, x.volume, x.amount) for x in split] == [(1, D("1"), D("2.93")), (2, D("2"), D("7.04"))]
    # 1199.5 → 1200.5 m³: 0.5 × 3.52 = 1.76 and 0.5 × 4.40 = 2.20.
    split = price_volume(LANGFANG, before=D("1199.5"), volume=D("1"))
    assert [(x.tier, x.amount) for x in split] == [(2, D("1.76")), (3, D("2.20"))]
    # 0.5 × 2.93 = 1.465: half-up gives 1.47 (half-to-even would give 1.46).
    assert price_volume(LANGFANG, before=D("0"), volume=D("0.5"))[0].amount == D("1.47")
    # All three tiers in one purchase: 500 × 2.93 + 700 × 3.52 + 10 × 4.40.
    split = price_volume(LANGFANG, before=D("0"), volume=D("1210"))
    assert [x.amount for x in split] == [D("1465.00"), D("2464.00"), D("44.00")]


def test_an_amount_buys_the_most_gas_it_pays_for() -> None:
    # 10 yuan at 499 m³: 1 m³ for 2.93, then 7.07 buys 2.00 m³ at 3.52 (7.04); 2.01 would cost 7.08.
    assert volume_for_amount(LANGFANG, before=D("499"), amount=D("10")) == D("3.00")
    # 1.47 yuan: 0.50 m³ costs 1.465 → 1.47; 0.51 would cost 1.49.
    assert volume_for_amount(LANGFANG, before=D("0"), amount=D("1.47")) == D("0.50")
    assert volume_for_amount(LANGFANG, before=D("0"), amount=D("0.02")) == D("0")
    low = Schedule(limits=LANGFANG.limits, prices=LANGFANG.prices, flat=True)
    assert volume_for_amount(low, before=D("1500"), amount=D("29.30")) == D("10.00")


def test_the_cycle_starts_on_1_november() -> None:
    assert cycle_start(date(2026, 10, 31), month=11, day=1) == date(2025, 11, 1)
    assert cycle_start(date(2026, 11, 1), month=11, day=1) == date(2026, 11, 1)
    assert cycle_start(date(2027, 3, 1), month=11, day=1) == date(2026, 11, 1)


# Selling ---------------------------------------------------------------------------------------

def test_crossing_500_m3_charges_the_second_tier_for_the_part_above(counter: Counter) -> None:
    first = buy(counter, "499").purchase
    assert (first.sequence, first.amount) == (1, D("1462.07"))  # 499 × 2.93
    second = buy(counter, "3").purchase
    assert second.sequence == 2 and second.cycle_before == D("499") and second.amount == D("9.97")
    assert lines(second) == [(1, "1.00", "2.93", "2.93"), (2, "2.00", "3.52", "7.04")]
    assert second.cycle_start == date(2025, 11, 1) and second.tariff.code == "LANGFANG-RES"
    counter.card.refresh_from_db()
    assert counter.card.last_sequence == 2
    kinds = list(PrepaidEvent.objects.filter(card=counter.card).values_list("kind", flat=True))
    assert kinds == [PrepaidEventKind.ISSUED, PrepaidEventKind.PURCHASE, PrepaidEventKind.PURCHASE]


def test_buying_by_amount_gives_the_volume_and_keeps_the_change_with_the_customer(counter: Counter) -> None:
    buy(counter, "499")
    quote = purchase_quote(card=counter.card, mode="amount", quantity="10.00", on=NOW.date())
    assert (quote.volume, quote.amount, quote.change) == (D("3.00"), D("9.97"), D("0.03"))
    sale = buy(counter, "10.00", mode="amount").purchase
    assert (sale.mode, sale.requested, sale.volume, sale.amount) == ("amount", D("10.00"), D("3.00"), D("9.97"))


def test_a_new_cycle_on_1_november_starts_again_at_tier_1(counter: Counter,
                                                          clock: time_machine.Traveller) -> None:
    clock.move_to(datetime(2026, 10, 31, 23, 50, tzinfo=CN))
    buy(counter, "499")
    late = buy(counter, "3").purchase  # still 31 October in China
    assert late.amount == D("9.97") and late.cycle_start == date(2025, 11, 1)
    clock.move_to(datetime(2026, 11, 1, 0, 5, tzinfo=CN))  # 31 October 16:05 UTC
    fresh = buy(counter, "3").purchase
    assert fresh.cycle_start == date(2026, 11, 1) and fresh.cycle_before == D("0")
    assert fresh.amount == D("8.79") and lines(fresh) == [(1, "3.00", "2.93", "8.79")]


def test_a_low_income_household_pays_tier_1_for_every_m3(counter: Counter) -> None:
    with pytest.raises(InvalidInput) as refused:
        card_set_household(actor=counter.clerk, card=counter.card, household="low_income")
    assert "household_note" in refused.value.errors
    card_set_household(actor=counter.clerk, card=counter.card, household="low_income", note="低保证 A123 民政局")
    buy(counter, "499")
    sale = buy(counter, "3").purchase
    assert sale.amount == D("8.79") and sale.household == "low_income"
    assert lines(sale) == [(1, "3.00", "2.93", "8.79")]
    event = PrepaidEvent.objects.get(card=counter.card, kind=PrepaidEventKind.HOUSEHOLD)
    assert event.data["before"] == "standard" and event.data["after"] == "low_income"


def test_a_heating_household_gets_the_larger_tiers(world: World, clock: time_machine.Traveller) -> None:
    clerk = make_staff(unit=world.county_a1, roles=["clerk"])
    _account, card = prepaid_household(world, number="IC-HEAT", customer_class="g_heating", clerk=clerk)
    assert card.household == "heating"
    card_purchase(actor=clerk, card=card, mode="volume", quantity="700")
    card_purchase(actor=clerk, card=card, mode="volume", quantity="499")
    sale = card_purchase(actor=clerk, card=card, mode="volume", quantity="3").purchase
    # Heating limits 1200 / 3000: 1 m³ at 2.93, 2 m³ at 3.52.
    assert sale.amount == D("9.97") and [t["tier"] for t in sale.tiers] == [1, 2]


def test_a_unit_tariff_wins_over_the_company_default(world: World) -> None:
    liaoyuan = PrepaidTariff.objects.get(code="LIAOYUAN-RES")
    liaoyuan.unit, liaoyuan.active = world.city_a, True
    liaoyuan.save()
    assert tariff_for(world.county_a1, date(2026, 3, 1)).code == "LIAOYUAN-RES"
    assert tariff_for(world.county_b1, date(2026, 3, 1)).code == "LANGFANG-RES"


def test_purchase_numbers_are_gap_free_and_a_retry_sells_nothing_twice(counter: Counter) -> None:
    first = buy(counter, "20", key="till-7-0001")
    again = buy(counter, "20", key="till-7-0001")
    assert first.created and not again.created and again.purchase.pk == first.purchase.pk
    assert buy(counter, "15", key="till-7-0002").purchase.sequence == 2
    assert buy(counter, "5").purchase.sequence == 3
    assert list(CardPurchase.objects.filter(card=counter.card).values_list("sequence", flat=True)) == [1, 2, 3]
    with pytest.raises(Conflict, match="already used for purchase #1"):
        buy(counter, "25", key="till-7-0001")
    assert PrepaidEvent.objects.filter(card=counter.card, kind=PrepaidEventKind.PURCHASE).count() == 3


def test_a_price_changed_since_it_was_shown_is_not_charged(counter: Counter) -> None:
    buy(counter, "499")
    with pytest.raises(Conflict, match=r"changed to 9\.97"):
        buy(counter, "3", expect_amount=D("8.79"))
    assert CardPurchase.objects.filter(card=counter.card).count() == 1


# Refusals --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("mode", "quantity", "message"), [
    ("volume", "abc", "Enter the volume in m³"),
    ("volume", "0", "more than zero"),
    ("volume", "-5", "more than zero"),
    ("volume", "1.234", "At most two decimals (0.01 m³)"),
    ("volume", "1000.01", "At most 1000.00 m³ in one purchase"),
    ("volume", "NaN", "Enter the volume in m³"),
    ("volume", True, "Enter the volume in m³"),
    ("amount", "5000.01", "At most 5000.00 yuan in one purchase"),
    ("amount", "0.02", "does not buy 0.01 m³ at 2.93"),
    ("amount", "1e3000", "At most 5000.00 yuan"),
])
def test_bad_quantities_are_refused_with_a_message(counter: Counter, mode: str, quantity: Any,
                                                   message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        buy(counter, quantity, mode=mode)
    assert message in refused.value.errors["quantity"][0]
    assert not CardPurchase.objects.exists()


def test_an_unknown_mode_is_refused(counter: Counter) -> None:
    with pytest.raises(InvalidInput) as refused:
        buy(counter, "10", mode="kwh")
    assert "mode" in refused.value.errors


def test_a_lost_card_is_refused_and_its_replacement_carries_on(counter: Counter) -> None:
    buy(counter, "499")
    card_report_lost(actor=counter.clerk, card=counter.card, reason="丢失")
    with pytest.raises(IllegalTransition, match="Reported lost"):
        buy(counter, "3")
    new = card_replace(actor=counter.clerk, card=counter.card, number="ic0002")
    assert new.number == "IC0002" and new.opening_sequence == 1 and new.opening_bought == D("499")
    sale = buy(counter, "3", card=new).purchase
    # The numbering and the household's cycle go on: #2, and 499 m³ already bought this cycle.
    assert sale.sequence == 2 and sale.amount == D("9.97")
    counter.card.refresh_from_db()
    assert counter.card.state == CardState.REPLACED
    with pytest.raises(IllegalTransition):
        card_replace(actor=counter.clerk, card=counter.card, number="IC0003")


def test_cards_only_for_installed_ic_card_meters_one_per_meter(world: World, counter: Counter) -> None:
    plain = make_meter(unit=world.county_a1, utility="gas")  # a diaphragm meter
    install(actor=world.manager_a1, meter=plain, to=make_account(unit=world.county_a1, utility="gas"),
            on=date(2025, 10, 1))
    with pytest.raises(InvalidInput, match="not an IC-card prepaid meter"):
        card_issue(actor=counter.clerk, meter=plain, number="IC0100")
    in_stock = make_meter(unit=world.county_a1, utility="gas", kind="ic_card")
    with pytest.raises(InvalidInput, match="not installed anywhere"):
        card_issue(actor=counter.clerk, meter=in_stock, number="IC0101")
    with pytest.raises(IllegalTransition, match="already has card IC0001"):
        card_issue(actor=counter.clerk, meter=counter.card.meter, number="IC0102")
    with pytest.raises(InvalidInput, match="4 to 32 letters"):
        card_issue(actor=counter.clerk, meter=in_stock, number="卡1")


def test_no_gas_for_a_sealed_account(counter: Counter) -> None:
    Account.objects.filter(pk=counter.account.pk).update(status="sealed")
    with pytest.raises(IllegalTransition, match="Sealed"):
        buy(counter, "10")


# Write-backs and the reconciliation ------------------------------------------------------------

def test_a_status_that_agrees_with_the_sales_finds_nothing(counter: Counter) -> None:
    buy(counter, "100")
    sale = buy(counter, "50", write_back=status(1, "100", "40.5"))
    wb = sale.write_back
    assert wb is not None and wb.purchase_id == sale.purchase.pk and wb.findings == []
    assert (wb.sequence, wb.last_sold, wb.expected_bought) == (1, 1, D("100"))
    row = card_reconciliation(counter.card)
    assert row.findings == [] and row.last_loaded == 1 and row.awaiting == 1  # #2 waits for the meter


def test_a_status_naming_a_purchase_never_sold_is_refused(counter: Counter) -> None:
    buy(counter, "100")
    with pytest.raises(InvalidInput) as refused:
        buy(counter, "50", write_back=status(2, "150", "0"))
    assert "last one sold on card IC0001 is #1" in refused.value.errors["write_back.sequence"][0]
    assert CardPurchase.objects.count() == 1 and not MeterWriteBack.objects.exists()


def test_bad_status_fields_are_each_named(counter: Counter) -> None:
    buy(counter, "100")
    bad = {"sequence": "x", "total_bought": "-1", "total_used": "abc", "remaining": "1.001", "valve": "ajar",
           "tamper_flags": ["magnetic", "goblins"], "read_at": "2030-01-01T00:00"}
    with pytest.raises(InvalidInput) as refused:
        card_write_back(actor=counter.clerk, card=counter.card, status=bad)
    assert set(refused.value.errors) == {"sequence", "total_bought", "total_used", "remaining", "valve",
                                         "tamper_flags", "read_at"}
    assert "goblins" in refused.value.errors["tamper_flags"][0]


def test_the_reconciliation_finds_what_does_not_add_up(counter: Counter, clock: time_machine.Traveller) -> None:
    buy(counter, "100")                                        # #1
    buy(counter, "50", write_back=status(1, "100", "40"))      # #2; the meter loaded #1
    clock.shift(3600)
    # The meter still shows #1 (so #2 never went in), 90 m³ bought instead of 100, used fell to 30,
    # the valve closed with gas left, and a magnetic attack.
    buy(counter, "20", write_back=status(1, "90", "30", "60", valve="closed", tamper_flags=["magnetic"]))  # #3
    row = card_reconciliation(counter.card)
    assert set(row.codes) == {Finding.NOT_LOADED, Finding.BOUGHT_MISMATCH, Finding.USED_BACKWARDS,
                              Finding.VALVE_CLOSED_WITH_CREDIT, Finding.TAMPER}
    text = " ".join(row.texts())
    assert "Sold but not loaded by the meter: #2 (it is at #1)" in text
    assert "90.00 m³ bought; the purchases it loaded add up to 100.00 m³" in text
    assert "Total used fell from 40.00 to 30.00 m³" in text and "Magnetic attack" in text
    # A write-back later that agrees clears the current findings; the history ones stay.
    clock.shift(3600)
    card_write_back(actor=counter.clerk, card=counter.card, status=status(3, "170", "45"))
    row = card_reconciliation(counter.card)
    assert set(row.codes) == {Finding.USED_BACKWARDS, Finding.TAMPER}


def test_missing_numbers_and_backwards_numbers_are_found(counter: Counter,
                                                         clock: time_machine.Traveller) -> None:
    for volume in ("10", "10", "10"):
        buy(counter, volume)
    card_write_back(actor=counter.clerk, card=counter.card, status=status(3, "30", "5"))
    clock.shift(60)
    card_write_back(actor=counter.clerk, card=counter.card, status=status(2, "20", "6"))
    CardPurchase.objects.filter(card=counter.card, sequence=2).delete()  # a sale lost from the records
    row = card_reconciliation(counter.card)
    assert Finding.SOLD_GAP in row.codes and Finding.SEQUENCE_BACKWARDS in row.codes
    assert "Never sold on this card: #2." in " ".join(row.texts())


def test_the_same_write_back_again_is_stored_once(counter: Counter) -> None:
    buy(counter, "10")
    read = {**status(1, "10", "2"), "read_at": "2026-03-28T09:00:00+08:00"}
    first = card_write_back(actor=counter.clerk, card=counter.card, status=read)
    again = card_write_back(actor=counter.clerk, card=counter.card, status=read)
    assert first.created and not again.created and MeterWriteBack.objects.count() == 1
    keyed = card_write_back(actor=counter.clerk, card=counter.card, status=status(1, "10", "3"), key="wb-1")
    assert card_write_back(actor=counter.clerk, card=counter.card, status=status(1, "10", "3"),
                           key="wb-1").write_back.pk == keyed.write_back.pk
    assert MeterWriteBack.objects.count() == 2


def test_the_unit_report_counts_cards_with_findings(world: World, counter: Counter) -> None:
    buy(counter, "100")
    buy(counter, "10", write_back=status(1, "99", "10"))
    other_clerk = make_staff(unit=world.county_a1, roles=["clerk"])
    _acct, fine = prepaid_household(world, number="IC0009", clerk=other_clerk)
    card_purchase(actor=other_clerk, card=fine, mode="volume", quantity="10")
    report = reconciliation(counter.analyst, unit=world.county_a1)
    assert report.cards == 2 and report.flagged == 1
    assert [r.number for r in report.rows] == ["IC0001"] and report.counts[Finding.BOUGHT_MISMATCH] == 1
    city = reconciliation(world.admin, unit=world.city_a)
    assert city.cards == 2


# Who may ---------------------------------------------------------------------------------------

def test_only_counter_roles_sell_and_only_in_their_area(world: World, counter: Counter) -> None:
    with pytest.raises(PermissionDeniedError):
        card_purchase(actor=world.agent_a1, card=counter.card, mode="volume", quantity="10")
    collector = make_staff(unit=world.county_a1, roles=["collector"])
    assert card_purchase(actor=collector, card=counter.card, mode="volume", quantity="10").created
    peer = make_staff(unit=world.county_a2, roles=["clerk"])
    with pytest.raises(NotFoundError):
        card_purchase(actor=peer, card=counter.card, mode="volume", quantity="10")
    with pytest.raises(NotFoundError):
        card_write_back(actor=peer, card=counter.card, status=status(1, "10", "0"))
    with pytest.raises(NotFoundError):
        card_report_lost(actor=peer, card=counter.card)
    assert CardPurchase.objects.count() == 1


def test_the_reconciliation_is_for_analysts_of_the_unit(world: World, counter: Counter) -> None:
    with pytest.raises(PermissionDeniedError):
        reconciliation(counter.clerk, unit=world.county_a1)
    outsider = make_staff(unit=world.county_b1, roles=["analyst"])
    with pytest.raises(NotFoundError):
        reconciliation(outsider, unit=world.county_a1)
    assert reconciliation(outsider, unit=world.county_b1).cards == 0
