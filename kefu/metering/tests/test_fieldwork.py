"""What readers note on their rounds becomes work orders for the right unit (guide §2.3), and meters
still unread when the window closes go to the analyst as missing readings (guide §5).

Hazards and suspected theft: from the handheld results file, the reading page and the API; one order
per meter, month and kind, dispatched to the unit of the meter's premise, never a second one on a
re-import. Missing readings: raised only after the window end and only for unread meters, once; a
late reading settles them; the analyst estimates or sends back, "accept" is refused."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import translation
from rest_framework.authtoken.models import Token

from kefu.core.models import FieldChange
from kefu.customers.models import Account, Premise, ServicePoint
from kefu.metering.choices import PlanStatus, ReadingState, Resolution, Rule, Source
from kefu.metering.fieldwork import reading_report
from kefu.metering.imports import read_table, reading_import
from kefu.metering.models import ReadingException, ReadingPlan, ValidationRule
from kefu.metering.plans import missing_raise, plan_create, with_progress
from kefu.metering.services import meter_replace
from kefu.metering.tests.factories import NOW, install, make_meter, read_series
from kefu.metering.tests.test_plans import GasRoute, gas_route
from kefu.org.models import OrgUnit
from kefu.org.tests.factories import make_staff, make_unit
from kefu.workorders.choices import Channel, EventKind, Status
from kefu.workorders.models import WorkOrder

TZ = ZoneInfo("Asia/Shanghai")
MARCH = date(2026, 3, 1)


@pytest.fixture(autouse=True)
def _english(settings: Any) -> Iterator[None]:
    settings.LANGUAGE_CODE = "en"  # the pages
    with translation.override("en"):  # the services
        yield


def at(day: str, hour: int = 10) -> Any:
    return time_machine.travel(datetime.fromisoformat(day).replace(hour=hour, tzinfo=TZ), tick=False)


@dataclass
class Round:
    gas: GasRoute
    plan: ReadingPlan
    station: OrgUnit  # a service centre below B1 owning the premise of meter G-on2


@pytest.fixture
def rnd(world: Any) -> Round:
    gas = gas_route(world)
    read_series(actor=gas.reader, meter=gas.meters["on"], values=[("2026-01", 100), ("2026-02", 130)])
    read_series(actor=gas.reader, meter=gas.meters["reconnected"], values=[("2026-01", 150), ("2026-02", 200)])
    station = make_unit("B1城东服务站", code="B1E", parent=world.county_b1, level="station", utility="gas")
    sp = gas.meters["on2"].service_point
    assert sp is not None
    Premise.objects.filter(pk=sp.premise_id).update(unit=station)
    Account.objects.filter(service_point=sp).update(unit=station)
    plan = plan_create(actor=gas.analyst, route=gas.route, period=MARCH)
    return Round(gas, plan, station)


def results_csv(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["表号", "本次示数", "抄表日期", "隐患", "窃电窃气嫌疑", "备注"])
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return out.getvalue().encode("utf-8-sig")


ROWS = [
    {"表号": "G-on", "本次示数": "150", "抄表日期": "2026-03-12", "隐患": "", "窃电窃气嫌疑": "是",
     "备注": "总阀前有旁通管"},
    {"表号": "G-reconnected", "本次示数": "230", "抄表日期": "2026-03-12", "隐患": "", "窃电窃气嫌疑": "否",
     "备注": ""},
    {"表号": "G-on2", "本次示数": "50", "抄表日期": "2026-03-13", "隐患": "表箱锈蚀漏气", "窃电窃气嫌疑": "",
     "备注": ""},
]


def do_import(r: Round, data: bytes, **kw: Any) -> Any:
    return reading_import(actor=r.gas.reader, plan=r.plan, rows=read_table(data, "route.csv"), name="route.csv",
                          now=NOW, **kw)


# --------------------------------------------------------------------------- hazards and theft


def test_a_hazard_and_a_theft_in_the_file_make_one_order_each_for_the_premise_unit(rnd: Round, world: Any) -> None:
    report = do_import(rnd, results_csv(ROWS))

    assert report.ok and report.applied == 3
    hazard = WorkOrder.objects.get(order_type__code="meter_round_gas_hazard")
    # The premise of G-on2 belongs to the station below B1: that is where the order goes.
    assert hazard.handling_unit == rnd.station and hazard.status == Status.DISPATCHED
    assert hazard.channel == Channel.FIELD and hazard.accepted_by == rnd.gas.reader
    assert hazard.account == Account.objects.get(service_point=rnd.gas.meters["on2"].service_point)
    assert "表箱锈蚀漏气" in hazard.content and "G-on2" in hazard.content
    theft = WorkOrder.objects.get(order_type__code="meter_round_gas_theft")
    assert theft.handling_unit == world.county_b1 and "总阀前有旁通管" in theft.content
    assert list(theft.events.values_list("kind", flat=True)) == [EventKind.ACCEPTED, EventKind.DISPATCH]
    assert {(o.row, o.meter, o.kind, o.created) for o in report.orders} == {
        (2, "G-on", "theft", True), (4, "G-on2", "hazard", True)}
    assert any(f"work order {hazard.number}" in line and rnd.station.name in line for line in report.lines())


def test_importing_the_same_file_again_makes_no_second_order(rnd: Round) -> None:
    do_import(rnd, results_csv(ROWS))
    first = set(WorkOrder.objects.filter(channel=Channel.FIELD).values_list("pk", flat=True))

    again = do_import(rnd, results_csv(ROWS))

    assert again.ok and again.applied == 0
    assert set(WorkOrder.objects.filter(channel=Channel.FIELD).values_list("pk", flat=True)) == first
    assert [o.created for o in again.orders] == [False, False]
    assert any("already has work order" in line for line in again.lines())


def test_another_reporter_of_the_same_hazard_finds_the_first_order(rnd: Round, world: Any) -> None:
    do_import(rnd, results_csv(ROWS[2:]))
    other = make_staff("reader_b1_2", unit=world.county_b1, roles=["reader"])

    got = reading_import(actor=other, plan=rnd.plan, rows=read_table(results_csv(ROWS[2:]), "r.csv"), now=NOW)

    assert got.ok and [o.created for o in got.orders] == [False]
    assert WorkOrder.objects.filter(order_type__code="meter_round_gas_hazard").count() == 1


def test_a_file_imported_from_the_command_line_reports_as_the_routes_reader(rnd: Round, tmp_path: Any) -> None:
    path = tmp_path / "route.csv"
    path.write_bytes(results_csv(ROWS[2:]))

    with at("2026-03-28"):
        call_command("reading_import", str(path), "--plan", str(rnd.plan.pk), stdout=io.StringIO())

    order = WorkOrder.objects.get(order_type__code="meter_round_gas_hazard")
    assert order.accepted_by == rnd.gas.reader and order.handling_unit == rnd.station


@pytest.mark.parametrize("value", ["maybe", "2", "是的"])
def test_a_bad_theft_value_is_a_row_error_and_nothing_is_applied(rnd: Round, value: str) -> None:
    rows = [dict(ROWS[0], 窃电窃气嫌疑=value), *ROWS[1:]]

    report = do_import(rnd, results_csv(rows))

    assert [(e.row, e.field) for e in report.errors] == [(2, "theft")]
    assert "是 or 否" in report.errors[0].message
    assert report.lines()[-1] == "1 errors; nothing was imported."
    assert not WorkOrder.objects.filter(channel=Channel.FIELD).exists()
    assert not rnd.plan.route.plans.get().items.filter(meter__readings__period=MARCH).exists()


@pytest.mark.parametrize("value", ["Y", "y", "1", "yes", "有"])
def test_theft_accepts_the_usual_ways_of_saying_yes(rnd: Round, value: str) -> None:
    report = do_import(rnd, results_csv([dict(ROWS[1], 窃电窃气嫌疑=value)]))

    assert report.ok and [o.kind for o in report.orders] == ["theft"]


@pytest.fixture
def power(world: Any) -> Any:
    """A meter on account_a1 (county A1) read in January and February, and A1's reader."""
    reader = make_staff("reader_a1", unit=world.county_a1, roles=["reader"])
    meter = make_meter(unit=world.county_a1, serial="P-HAZ")
    install(actor=world.manager_a1, meter=meter, to=world.account_a1, on=date(2025, 12, 1))
    read_series(actor=reader, meter=meter, values=[("2026-01", 100), ("2026-02", 130)])
    return reader, meter


def test_the_reading_page_sends_a_meter_box_hazard_to_the_premise_unit(power: Any, world: Any) -> None:
    reader, _meter = power
    client = Client()
    client.force_login(reader)
    with at("2026-03-12"):
        response = client.post(reverse("metering:reading-entry"), {
            "meter": "P-HAZ", "value": "160", "read_on": "2026-03-12", "source": "actual",
            "hazard": "表箱门损坏, 接线裸露"}, follow=True)

    assert response.status_code == 200
    order = WorkOrder.objects.get(order_type__code="meter_round_power_hazard")
    assert order.handling_unit == world.county_a1 and order.account == world.account_a1
    assert f"work order {order.number}" in response.content.decode()


def test_a_reading_page_hazard_too_long_is_refused_beside_the_field(power: Any) -> None:
    reader, _meter = power
    client = Client()
    client.force_login(reader)
    with at("2026-03-12"):
        response = client.post(reverse("metering:reading-entry"), {
            "meter": "P-HAZ", "value": "160", "read_on": "2026-03-12", "source": "actual", "hazard": "x" * 501})

    assert response.status_code == 400
    assert 'data-field="hazard"' in response.content.decode()
    assert not WorkOrder.objects.filter(channel=Channel.FIELD).exists()


def test_the_api_takes_a_theft_flag_once(power: Any, world: Any) -> None:
    reader, _meter = power
    token, _ = Token.objects.get_or_create(user=reader)
    client = Client(HTTP_AUTHORIZATION=f"Token {token.key}")
    body = {"meter": "P-HAZ", "value": "160", "read_on": "2026-03-12", "theft": True,
            "theft_note": "封印被破坏"}
    with at("2026-03-12"):
        first = client.post(reverse("api-metering-reading-list"), body, content_type="application/json")
        again = client.post(reverse("api-metering-reading-list"), body, content_type="application/json")

    assert first.status_code == 201, first.content
    (order,) = first.json()["orders"]
    assert (order["note_kind"], order["order_type"], order["created"]) == ("theft", "meter_round_power_theft", True)
    assert order["handling_unit"]["id"] == world.county_a1.pk
    assert again.status_code == 200 and again.json()["outcome"] == "unchanged"
    assert [o["created"] for o in again.json()["orders"]] == [False]
    assert WorkOrder.objects.filter(order_type__code="meter_round_power_theft").count() == 1


def test_the_api_refuses_a_theft_note_without_theft(power: Any) -> None:
    reader, _meter = power
    token, _ = Token.objects.get_or_create(user=reader)
    client = Client(HTTP_AUTHORIZATION=f"Token {token.key}")
    with at("2026-03-12"):
        response = client.post(reverse("api-metering-reading-list"), {
            "meter": "P-HAZ", "value": "160", "read_on": "2026-03-12", "theft_note": "?"},
            content_type="application/json")

    assert response.status_code == 400 and "theft_note" in response.json()["errors"]


# --------------------------------------------------------------------------- missing readings


@pytest.fixture
def march_read(rnd: Round) -> Round:
    """G-on read in March; G-reconnected and G-on2 not."""
    with at("2026-03-12"):
        reading_report(actor=rnd.gas.reader, meter=rnd.gas.meters["on"], value="150", read_on=date(2026, 3, 12))
    return rnd


def missing() -> dict[str, str]:
    return dict(ReadingException.objects.filter(rule=Rule.MISSING).values_list("meter__serial", "resolution"))


def test_missing_readings_wait_for_the_window_to_close(march_read: Round) -> None:
    for day in ("2026-03-20", "2026-03-26"):
        with at(day, hour=23):
            report = missing_raise()
        assert (report.plans, report.raised) == (0, 0), day
    assert missing() == {}
    assert ReadingPlan.objects.get().status == PlanStatus.OPEN


def test_after_the_window_only_unread_meters_are_missing_once(march_read: Round) -> None:
    with at("2026-03-27", hour=1):
        call_command("reading_missing", stdout=io.StringIO())
        again = missing_raise()

    assert missing() == {"G-reconnected": Resolution.OPEN, "G-on2": Resolution.OPEN}
    exc = ReadingException.objects.get(meter__serial="G-on2", rule=Rule.MISSING)
    assert exc.reading is None and exc.period == MARCH and exc.unit == march_read.station
    assert "2026-03-26" in exc.detail and exc.data["route"] == "B1-01"
    plan = ReadingPlan.objects.get()
    assert plan.status == PlanStatus.CLOSED
    (change,) = FieldChange.objects.filter(model="metering.readingplan", object_id=plan.pk)
    assert (change.old_value, change.new_value) == ("open", "closed") and "2 missing" in change.reason
    assert (again.plans, again.raised) == (0, 0)
    assert ReadingException.objects.filter(rule=Rule.MISSING).count() == 2
    assert vars(with_progress(ReadingPlan.objects.all()).get())["missing_open"] == 2


def test_the_command_takes_a_day(march_read: Round) -> None:
    out = io.StringIO()
    with at("2026-03-28"):
        call_command("reading_missing", "--day", "2026-03-26", stdout=out)
        assert missing() == {}
        call_command("reading_missing", "--day", "2026-03-27", stdout=out)

    assert len(missing()) == 2 and "1 plans closed, 2 missing readings raised" in out.getvalue()


def test_a_switched_off_rule_closes_the_plan_without_exceptions(march_read: Round) -> None:
    ValidationRule.objects.filter(rule=Rule.MISSING).update(enabled=False)

    with at("2026-03-27"):
        report = missing_raise()

    assert (report.enabled, report.plans, report.raised) == (False, 1, 0)
    assert missing() == {} and ReadingPlan.objects.get().status == PlanStatus.CLOSED


def test_a_late_reading_settles_the_missing_exception(march_read: Round) -> None:
    with at("2026-03-27"):
        missing_raise()
    with at("2026-03-28"):
        reported = reading_report(actor=march_read.gas.reader, meter=march_read.gas.meters["on2"], value="40",
                                  read_on=date(2026, 3, 28))

    exc = ReadingException.objects.get(meter__serial="G-on2", rule=Rule.MISSING)
    assert exc.resolution == Resolution.ACCEPTED and exc.reading == reported.recorded.reading
    assert exc.resolved_by == march_read.gas.reader and "after the reading window" in exc.note
    assert missing()["G-reconnected"] == Resolution.OPEN


@pytest.fixture
def analyst_api(march_read: Round) -> Client:
    with at("2026-03-27"):
        missing_raise()
    token, _ = Token.objects.get_or_create(user=march_read.gas.analyst)
    return Client(HTTP_AUTHORIZATION=f"Token {token.key}")


def resolve_url(serial: str) -> str:
    exc = ReadingException.objects.get(meter__serial=serial, rule=Rule.MISSING)
    return reverse("api-metering-exception-resolve", kwargs={"pk": exc.pk})


def test_a_missing_reading_cannot_be_accepted(analyst_api: Client) -> None:
    with at("2026-03-28"):
        response = analyst_api.post(resolve_url("G-on2"), {"resolution": "accepted"}, content_type="application/json")

    assert response.status_code == 409
    assert "nothing to accept" in response.json()["detail"]
    assert missing()["G-on2"] == Resolution.OPEN


def test_estimating_a_missing_reading_records_an_estimated_reading(analyst_api: Client) -> None:
    with at("2026-03-28"):
        response = analyst_api.post(resolve_url("G-reconnected"), {
            "resolution": "estimated", "value": "230", "note": "按近三月均量估抄"}, content_type="application/json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["resolution"] == "estimated" and body["reading"]["source"] == Source.ESTIMATED
    exc = ReadingException.objects.get(meter__serial="G-reconnected", rule=Rule.MISSING)
    assert exc.reading is not None and exc.reading.value == Decimal("230") and exc.reading.period == MARCH
    assert exc.reading.state == ReadingState.VALID


def test_an_estimate_without_a_value_is_refused_on_the_value(analyst_api: Client) -> None:
    with at("2026-03-28"):
        response = analyst_api.post(resolve_url("G-on2"), {"resolution": "estimated", "note": "估"},
                                    content_type="application/json")

    assert response.status_code == 400 and "value" in response.json()["errors"]


def test_sending_a_missing_reading_back_for_a_re_read(analyst_api: Client) -> None:
    with at("2026-03-28"):
        response = analyst_api.post(resolve_url("G-on2"), {"resolution": "reread", "note": "请补抄"},
                                    content_type="application/json")

    assert response.status_code == 200 and missing()["G-on2"] == Resolution.REREAD


def test_the_exceptions_page_shows_a_missing_reading_and_refuses_a_correction(analyst_api: Client,
                                                                               march_read: Round) -> None:
    client = Client()
    client.force_login(march_read.gas.analyst)
    exc = ReadingException.objects.get(meter__serial="G-on2", rule=Rule.MISSING)
    with at("2026-03-28"):
        page = client.get(reverse("metering:exceptions"), {"rule": "missing"})
        refused = client.post(reverse("metering:exception-resolve", kwargs={"pk": exc.pk}),
                              {"decision": "corrected", "value": "40", "reason": "补录"})
        accepted = client.post(reverse("metering:exception-resolve", kwargs={"pk": exc.pk}),
                               {"decision": "accepted"})

    assert page.status_code == 200 and 'data-meter="G-on2"' in page.content.decode()
    assert refused.status_code == 409 and accepted.status_code == 409
    assert "nothing to accept or correct" in refused.content.decode()
    exc.refresh_from_db()
    assert exc.resolution == Resolution.OPEN  # a missing reading is never accepted from the page


def gas_sp(meter: Any) -> ServicePoint:
    return ServicePoint.objects.get(pk=meter.service_point_id)


def test_a_meter_replaced_and_read_in_the_month_is_not_missing(march_read: Round, world: Any) -> None:
    """Reading counts by service point (as in the KPIs): the plan froze the old meter, the new one is read."""
    gas = march_read.gas
    new = make_meter(unit=world.county_b1, utility="gas", serial="G-new-on2")
    with at("2026-03-15"):
        meter_replace(actor=world.admin, service_point=gas_sp(gas.meters["on2"]), new_meter=new,
                      on=date(2026, 3, 15), final_reading=Decimal("20"))
    new.refresh_from_db()
    with at("2026-03-20"):
        reading_report(actor=gas.reader, meter=new, value="5", read_on=date(2026, 3, 20))
    with at("2026-03-27"):
        missing_raise()

    assert set(missing()) == {"G-reconnected"}
