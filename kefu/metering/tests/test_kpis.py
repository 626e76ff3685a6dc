"""Reading KPIs for a month (guide §2.3, §5): two routes with their readers, planned through
``plan_create``; some meters read inside the window, one late, one never, one corrected later, one
with a duplicate reading. Rates are worked out by hand; the page shows them to the people of the
area only, marks targets missed, and refuses a bad month by name."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from kefu.customers.tests.factories import make_account
from kefu.metering.choices import Rule
from kefu.metering.kpis import ACCURACY_TARGET, READING_RATE_TARGET, Figures, below, percent, reading_kpis
from kefu.metering.models import Meter, Route
from kefu.metering.plans import plan_create, route_join
from kefu.metering.services import reading_correct
from kefu.metering.tests.factories import NOW, install, make_meter, read, sp_of
from kefu.org.models import Staff
from kefu.org.tests.factories import make_staff

if TYPE_CHECKING:
    from conftest import World

pytestmark = pytest.mark.django_db

MARCH = date(2026, 3, 1)  # window 6–26 March; "now" is 28 March


@pytest.fixture(autouse=True)
def english(settings: Any) -> Any:
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@dataclass
class Month:
    reader_a1: Staff
    reader_a2: Staff
    analyst: Staff  # at city A: joins, plans and corrects
    route_a1: Route
    route_a2: Route
    meters: dict[str, Meter]


def route_with(world: World, *, code: str, unit: Any, reader: Staff, analyst: Staff, keys: list[str],
               meters: dict[str, Meter]) -> Route:
    route = Route.objects.create(code=code, name=f"{code} 抄表册", utility="power", unit=unit, reader=reader)
    for key in keys:
        account = make_account(unit=unit)
        route_join(actor=analyst, route=route, service_point=sp_of(account), on=date(2026, 2, 1))
        meter = make_meter(unit=unit, serial=f"K-{key}")
        install(actor=world.admin, meter=meter, to=account, on=date(2026, 1, 1))
        meters[key] = meter
    return route


@pytest.fixture
def month(world: World) -> Month:
    analyst = make_staff("kpi_analyst", unit=world.city_a, roles=["analyst"])
    reader_a1 = make_staff("kpi_reader_a1", unit=world.county_a1, roles=["reader"], full_name="王抄表")
    reader_a2 = make_staff("kpi_reader_a2", unit=world.county_a2, roles=["reader"], full_name="李抄表")
    meters: dict[str, Meter] = {}
    route_a1 = route_with(world, code="A1-01", unit=world.county_a1, reader=reader_a1, analyst=analyst,
                          keys=["on_time", "late", "never", "corrected"], meters=meters)
    route_a2 = route_with(world, code="A2-01", unit=world.county_a2, reader=reader_a2, analyst=analyst,
                          keys=["early_days", "duplicate"], meters=meters)
    for route in (route_a1, route_a2):
        assert plan_create(actor=analyst, route=route, period=MARCH).planned == len(route.stops.all())

    read(actor=reader_a1, meter=meters["on_time"], month="2026-03", value="120", day=10)
    read(actor=reader_a1, meter=meters["late"], month="2026-03", value="130", day=27)  # after window_end
    got = read(actor=reader_a1, meter=meters["corrected"], month="2026-03", value="140", day=12)
    reading_correct(actor=analyst, reading=got.reading, value="104", reason="Digit misread", now=NOW)
    read(actor=reader_a2, meter=meters["early_days"], month="2026-03", value="150", day=6)  # first day counts
    read(actor=reader_a2, meter=meters["duplicate"], month="2026-03", value="160", day=26)  # last day counts
    dup = read(actor=reader_a2, meter=meters["duplicate"], month="2026-03", value="161", day=26)
    assert [e.rule for e in dup.exceptions] == [Rule.DUPLICATE]
    return Month(reader_a1, reader_a2, analyst, route_a1, route_a2, meters)


def figures(rows: list[Figures], code: str) -> tuple[int, int, int, int]:
    row = next(r for r in rows if r.code == code)
    return row.planned, row.read, row.on_time, row.corrected


def test_counts_and_rates_by_unit_route_and_reader(world: World, month: Month) -> None:
    report = reading_kpis(user=world.admin, unit=world.city_a, period=MARCH)

    t = report.total
    # 6 planned; 5 read (one never); 4 inside 6–26 March (one on the 27th); 1 corrected later.
    assert (t.planned, t.read, t.on_time, t.corrected) == (6, 5, 4, 1)
    assert t.reading_rate == Decimal("83.3")  # 5/6 = 83.33…
    assert t.on_time_rate == Decimal("66.7")  # 4/6 = 66.66…
    assert t.accuracy == Decimal("80.0")  # 4/5
    assert t.reading_rate_missed and t.accuracy_missed
    assert dict(t.exceptions) == {Rule.DUPLICATE: 1}
    assert [(r.rule, r.raised, r.open) for r in report.rules] == [(Rule.DUPLICATE, 1, 1)]

    assert figures(report.routes, "A1-01") == (4, 3, 2, 1)
    assert figures(report.routes, "A2-01") == (2, 2, 2, 0)
    a1 = next(r for r in report.routes if r.code == "A1-01")
    a2 = next(r for r in report.routes if r.code == "A2-01")
    assert (a1.reading_rate, a1.on_time_rate, a1.accuracy) == (Decimal("75.0"), Decimal("50.0"), Decimal("66.7"))
    assert (a2.reading_rate, a2.on_time_rate, a2.accuracy) == (Decimal("100.0"),) * 3
    assert not a2.reading_rate_missed and not a2.accuracy_missed
    assert dict(a1.exceptions) == {} and dict(a2.exceptions) == {Rule.DUPLICATE: 1}

    assert [u.code for u in report.units] == ["A1", "A2"]
    assert figures(report.units, "A1") == (4, 3, 2, 1)
    assert [(r.label, r.planned, r.read, r.corrected) for r in report.readers] == [
        ("李抄表", 2, 2, 0), ("王抄表", 4, 3, 1)]


def test_a_unit_counts_its_own_routes_and_the_user_only_what_is_in_scope(world: World, month: Month) -> None:
    a1 = reading_kpis(user=world.admin, unit=world.county_a1, period=MARCH)
    assert [r.code for r in a1.routes] == ["A1-01"]
    assert (a1.total.planned, a1.total.read) == (4, 3)

    # Asked for the whole city, A1's reader still sees only A1.
    own = reading_kpis(user=month.reader_a1, unit=world.city_a, period=MARCH)
    assert [r.code for r in own.routes] == ["A1-01"]

    april = reading_kpis(user=world.admin, unit=world.city_a, period=date(2026, 4, 1))
    assert (april.total.planned, april.routes, april.total.reading_rate) == (0, [], None)


def test_percentages_round_half_up_and_targets_use_the_exact_ratio() -> None:
    assert percent(1, 16) == Decimal("6.3")  # 6.25: half up, not to even
    assert percent(2, 3) == Decimal("66.7")
    assert percent(0, 0) is None
    assert percent(9999, 10000) == Decimal("100.0") and below(9999, 10000, READING_RATE_TARGET)
    assert not below(98, 100, ACCURACY_TARGET) and below(97, 100, ACCURACY_TARGET)
    assert not below(0, 0, READING_RATE_TARGET)


# The page ----------------------------------------------------------------------------------------

def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def cell(html: str, row: str, col: str) -> str:
    match = re.search(rf'data-row="{re.escape(row)}".*?data-col="{col}"[^>]*>(.*?)</td>', html, re.S)
    assert match is not None, (row, col)
    return re.sub(r"<[^>]+>", "", match[1]).strip()


def test_page_shows_the_rates_and_marks_missed_targets(world: World, month: Month) -> None:
    url = reverse("metering:kpis")
    response = login(month.analyst).get(url, {"month": "2026-03", "unit": str(world.city_a.pk)})

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-kpi="reading_rate" data-missed>83.3%' in html
    assert 'data-kpi="accuracy" data-missed>80.0%' in html
    assert 'data-kpi="on_time_rate">66.7%' in html
    assert cell(html, "A1-01", "reading_rate").startswith("75.0%")
    assert "below target" in cell(html, "A1-01", "reading_rate")
    assert cell(html, "A1-01", "on_time_rate") == "50.0%"
    assert cell(html, "A1-01", "accuracy").startswith("66.7%")
    assert cell(html, "A2-01", "reading_rate") == "100.0%"
    assert cell(html, "A2-01", "accuracy") == "100.0%"
    assert "Duplicate reading" in cell(html, "A2-01", "exceptions")
    assert cell(html, "kpi_reader_a1", "planned") == "4"
    assert 'id="by-rule"' in html


def test_page_is_scoped_to_the_users_units(world: World, month: Month) -> None:
    url = reverse("metering:kpis")
    reader = login(month.reader_a1)

    own = reader.get(url, {"month": "2026-03"})  # opens on the reader's unit
    assert own.status_code == 200
    html = own.content.decode()
    assert "A1-01" in html and "A2-01" not in html

    assert reader.get(url, {"month": "2026-03", "unit": str(world.county_a2.pk)}).status_code == 404
    assert reader.get(url, {"month": "2026-03", "unit": str(world.city_a.pk)}).status_code == 404
    outsider = make_staff(unit=world.county_b1, roles=["reader"])
    assert login(outsider).get(url, {"month": "2026-03", "unit": str(world.county_a1.pk)}).status_code == 404
    empty = login(outsider).get(url, {"month": "2026-03"})
    assert empty.status_code == 200 and "A1-01" not in empty.content.decode()
    assert 'id="kpi-empty"' in empty.content.decode()

    assert login(world.agent_a1).get(url).status_code == 403  # no reading capability


def test_page_names_the_field_at_fault(world: World, month: Month) -> None:
    client = login(month.analyst)
    url = reverse("metering:kpis")

    bad_month = client.get(url, {"month": "2026-13"})
    assert bad_month.status_code == 400
    assert 'data-field="month"' in bad_month.content.decode()
    bad_unit = client.get(url, {"month": "2026-03", "unit": "abc"})
    assert bad_unit.status_code == 400
    assert 'data-field="unit"' in bad_unit.content.decode()
