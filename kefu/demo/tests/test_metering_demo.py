"""Demo metering: what the demo shows (meters of every kind on demo accounts, routes in walking order for
the demo readers, six months of readings, an exceptions queue of several rules for the analysts,
KPIs, this month's plans partly read, IC cards with one that does not reconcile), made once however
often the demo runs, and wiped cleanly so the demo units can go.

transaction=True: like the other demo steps, the load runs as a real run does (the customer loader
commits chunk by chunk)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from io import BytesIO, StringIO
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.db.models import Model

from kefu.core.models import NumberSequence
from kefu.customers.models import Account
from kefu.demo.loader import demo_load, demo_wipe
from kefu.demo.metering import CT_RATIO, METERING_MARKER_KEY, metering_demo_load, metering_demo_wipe
from kefu.demo.orgplan import GAS_ROOT_CODE, POWER_ROOT_CODE
from kefu.metering import kpis
from kefu.metering.choices import MeterEventKind, MeterKind, PlanStatus, ReadingState, Resolution, Rule
from kefu.metering.exports import plan_export
from kefu.metering.models import (
    CardPurchase,
    ConfirmationSheet,
    ImportBatch,
    Meter,
    MeterEvent,
    MeterWriteBack,
    PlanItem,
    PrepaidCard,
    PrepaidEvent,
    Reading,
    ReadingCorrection,
    ReadingException,
    ReadingPlan,
    Route,
    RouteStop,
)
from kefu.metering.plans import with_progress
from kefu.metering.prepaid_choices import Finding
from kefu.metering.prepaid_report import reconciliation
from kefu.metering.selectors import exception_queue, meter_at
from kefu.org.models import OrgUnit, Staff
from kefu.workorders.tests.factories import reseed

pytestmark = pytest.mark.django_db(transaction=True)
NOW = dt.datetime(2026, 11, 20, 6, 30, tzinfo=dt.UTC)  # 14:30 in Asia/Shanghai, inside the reading window
THIS_MONTH = dt.date(2026, 11, 1)
LAST_MONTH = dt.date(2026, 10, 1)
MONTHS = [dt.date(2026, m, 1) for m in range(5, 12)]
TABLES: tuple[type[Model], ...] = (
    Meter, MeterEvent, Route, RouteStop, ReadingPlan, PlanItem, ConfirmationSheet, ImportBatch, Reading,
    ReadingCorrection, ReadingException, PrepaidCard, CardPurchase, MeterWriteBack, PrepaidEvent)


@pytest.fixture(autouse=True)
def fast_hasher(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def counts() -> dict[str, int]:
    return {model.__name__: model._default_manager.count() for model in TABLES}


def staff(username: str) -> Staff:
    return Staff.objects.select_related("unit").get(username=username)


def test_demo_metering_shows_where_the_demo_looks_and_is_made_once() -> None:
    demo_load(customers=1000, seed=7, progress=False)
    with time_machine.travel(NOW):
        first = metering_demo_load(seed=7, now=NOW)
    assert first.loaded and 100 <= first.meters <= 220
    assert first.readers == ["reader1", "reader2", "reader3", "gas_reader1"]

    # Meters of every kind, each hung on a demo account's service point through an installation.
    meters = list(Meter.objects.all())
    kinds = Counter(m.kind for m in meters)
    assert set(kinds) == {MeterKind.SINGLE_PHASE, MeterKind.THREE_PHASE, MeterKind.TIME_OF_USE, MeterKind.DIAPHRAGM,
                          MeterKind.MASTER, MeterKind.IC_CARD}
    assert kinds[MeterKind.SINGLE_PHASE] > kinds[MeterKind.THREE_PHASE] > 0
    assert all(m.multiplier == CT_RATIO for m in meters if m.kind == MeterKind.THREE_PHASE)
    assert all(m.registers == 4 for m in meters if m.kind == MeterKind.TIME_OF_USE)
    installed = {e.meter_id: e for e in MeterEvent.objects.filter(kind=MeterEventKind.INSTALL)}
    for m in meters:
        assert m.service_point_id is not None and meter_at(m.service_point_id, THIS_MONTH) == m
        assert installed[m.pk].installed_on < MONTHS[0]
    assert Account.objects.filter(service_point__meters__isnull=False).count() == len(meters)

    # Routes for the demo readers, in walking order; IC-card meters are read by their cards, not on a route.
    routes = list(Route.objects.select_related("reader"))
    assert {r.reader.username for r in routes if r.reader} == set(first.readers)
    for route in routes:
        seqs = list(RouteStop.objects.filter(route=route).order_by("seq").values_list("seq", flat=True))
        assert seqs == list(range(1, len(seqs) + 1))
    card_points = {m.service_point_id for m in meters if m.kind == MeterKind.IC_CARD}
    assert not RouteStop.objects.filter(service_point_id__in=card_points).exists()
    assert RouteStop.objects.count() == len(meters) - len(card_points)

    # Six months read and closed by the daily job; this month's plans open and partly read.
    assert sorted(set(Reading.objects.values_list("period", flat=True))) == MONTHS
    assert set(ReadingPlan.objects.exclude(period=THIS_MONTH).values_list("status", flat=True)) == {PlanStatus.CLOSED}
    current = list(with_progress(ReadingPlan.objects.filter(period=THIS_MONTH)))
    assert len(current) == len(routes) and all(p.status == PlanStatus.OPEN for p in current)
    read, planned = sum(getattr(p, "read_count", 0) for p in current), sum(p.planned for p in current)
    assert 0 < read < planned and (first.read, first.planned) == (read, planned)
    assert not Reading.objects.filter(read_on__gt=NOW.date()).exists()

    # The analysts' queues: a dozen or so open exceptions of several rules; older ones decided.
    analyst, gas_analyst = staff("analyst1"), staff("gas_analyst1")
    queue = list(exception_queue(analyst)) + list(exception_queue(gas_analyst))
    rules = Counter(e.rule for e in queue)
    assert 10 <= len(queue) <= 20, rules
    assert {Rule.BELOW_PREVIOUS, Rule.HIGH_AVERAGE, Rule.ZERO, Rule.CONSECUTIVE_ESTIMATES, Rule.DUPLICATE} <= set(rules)
    assert {e.period for e in queue} == {LAST_MONTH, THIS_MONTH}
    assert first.open_by_rule == dict(rules) and exception_queue(staff("reader1")).count() < len(queue)
    decided = ReadingException.objects.exclude(resolution=Resolution.OPEN)
    assert decided.filter(resolution=Resolution.CORRECTED).exists() and decided.filter(resolution=Resolution.ACCEPTED)
    assert ReadingCorrection.objects.exists()
    assert not Reading.objects.filter(state=ReadingState.EXCEPTION, period__lt=LAST_MONTH).exists()

    # KPIs: this month under way; last month one meter unread; a corrected month below 100 % accuracy.
    root = OrgUnit.objects.get(code=POWER_ROOT_CODE)
    now_kpis = kpis.reading_kpis(user=analyst, unit=root, period=THIS_MONTH).total
    assert 0 < now_kpis.read < now_kpis.planned and now_kpis.exception_count > 0
    last = kpis.reading_kpis(user=analyst, unit=root, period=LAST_MONTH).total
    assert last.reading_rate_missed and last.read == last.planned - 1
    months = [kpis.reading_kpis(user=analyst, unit=root, period=m).total for m in MONTHS[:-2]]
    assert any(t.accuracy is not None and t.accuracy < 100 for t in months)
    assert any(t.on_time < t.read for t in months)  # a few meters read after the window closed

    # The handheld export has this month's route to hand out.
    plan = ReadingPlan.objects.filter(period=THIS_MONTH, route__reader__username="reader1").order_by("route__code")[0]
    assert plan_export(actor=staff("reader1"), plan=plan, out=BytesIO()) >= plan.planned > 0

    # IC cards for the IC-card meters, purchases with write-backs, one meter that does not reconcile.
    cards = PrepaidCard.objects.all()
    assert cards.count() == kinds[MeterKind.IC_CARD] == first.cards
    assert CardPurchase.objects.count() == first.purchases >= 3 * cards.count()
    report = reconciliation(gas_analyst, unit=OrgUnit.objects.get(code=GAS_ROOT_CODE))
    assert report.cards == cards.count() and report.flagged == first.findings == 1
    assert report.counts[Finding.BOUGHT_MISMATCH] == 1

    # A second run makes nothing.
    before = counts()
    with time_machine.travel(NOW + dt.timedelta(days=1)):
        again = metering_demo_load(seed=7)
    assert not again.loaded and again.meters == first.meters
    assert counts() == before

    # The wipe takes it all away, and then the demo units themselves can go.
    metering_demo_wipe()
    assert counts() == dict.fromkeys(before, 0)
    assert not NumberSequence.objects.filter(key=METERING_MARKER_KEY).exists()
    demo_wipe()
    assert not OrgUnit.objects.filter(code__in=[POWER_ROOT_CODE, GAS_ROOT_CODE]).exists()


def test_the_same_seed_makes_the_same_demo() -> None:
    demo_load(customers=600, seed=7, progress=False)

    def snapshot() -> list[tuple[Any, ...]]:
        return sorted(Reading.objects.values_list("meter__serial", "period", "register", "value", "state", "read_on"))

    with time_machine.travel(NOW):
        metering_demo_load(seed=7, now=NOW)
        first = snapshot()
        metering_demo_wipe()
        metering_demo_load(seed=7, now=NOW)
    assert snapshot() == first and first


def test_demo_command_loads_metering_once_and_reset_reloads_it() -> None:
    reseed()  # an earlier transaction=True test may have flushed the seed data away
    args = {"customers": 300, "orders": 50, "no_progress": True, "verbosity": 0}
    out = StringIO()
    call_command("demo", stdout=out, **args)
    assert "Made the metering demo" in out.getvalue()
    made = counts()
    assert made["Meter"] > 0 and made["ReadingException"] > 0
    out = StringIO()
    call_command("demo", stdout=out, **args)
    assert "The demo metering is already there" in out.getvalue()
    assert counts() == made
    # Meters and routes hold protected references to the demo units and accounts: --reset wipes them first.
    out = StringIO()
    call_command("demo", "--reset", stdout=out, **args)
    assert "Made the metering demo" in out.getvalue()
    assert counts()["Meter"] == made["Meter"]
