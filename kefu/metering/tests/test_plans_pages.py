"""Routes and plans as readers and analysts use them, on pages and through the API: the month's progress
per route, one plan's meters (read, unread), the handheld file down and the results file up with its
row-level report, and the reading confirmation sheet signed on a route day (inside the window, not in
the future, never recorded twice). Another county's plan is not there (404)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import translation
from rest_framework.authtoken.models import Token

from kefu.core.errors import InvalidInput
from kefu.core.models import AuditLog
from kefu.metering.fieldwork import reading_report
from kefu.metering.models import ConfirmationSheet, Reading, ReadingPlan
from kefu.metering.plans import plan_create, sheet_record
from kefu.metering.tests.factories import NOW, read_series
from kefu.metering.tests.test_plans import GasRoute, gas_route
from kefu.org.models import Staff
from kefu.org.tests.factories import make_staff
from kefu.workorders.models import WorkOrder

MARCH = date(2026, 3, 1)


@pytest.fixture(autouse=True)
def _english(settings: Any) -> Iterator[None]:
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@dataclass
class Setup:
    gas: GasRoute
    plan: ReadingPlan
    stranger: Staff  # a meter reader of county A1: B1's routes are not theirs


@pytest.fixture
def setup(world: Any, clock: time_machine.Traveller) -> Setup:
    gas = gas_route(world)
    read_series(actor=gas.reader, meter=gas.meters["on"], values=[("2026-01", 100), ("2026-02", 130)])
    plan = plan_create(actor=gas.analyst, route=gas.route, period=MARCH)
    reading_report(actor=gas.reader, meter=gas.meters["on"], value="150", read_on=date(2026, 3, 12))
    stranger = make_staff("reader_a1", unit=world.county_a1, roles=["reader"])
    return Setup(gas, plan, stranger)


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api(user: Any) -> Client:
    token, _ = Token.objects.get_or_create(user=user)
    return Client(HTTP_AUTHORIZATION=f"Token {token.key}")


# --------------------------------------------------------------------------- confirmation sheets


def test_a_sheet_is_recorded_once_for_a_route_day(setup: Setup) -> None:
    first = sheet_record(actor=setup.gas.reader, plan=setup.plan, day=date(2026, 3, 12), signed_by=" 张经理 ",
                         signer_role="property_manager", note="3号楼全部抄见")
    again = sheet_record(actor=setup.gas.reader, plan=setup.plan, day=date(2026, 3, 12), signed_by="张经理",
                         signer_role="property_manager", note="3号楼全部抄见")

    assert first.created and not again.created and again.sheet.pk == first.sheet.pk
    sheet = ConfirmationSheet.objects.get()
    assert (sheet.day, sheet.signed_by, sheet.signer_role, sheet.actor) == (
        date(2026, 3, 12), "张经理", "property_manager", setup.gas.reader)


@pytest.mark.parametrize("day, expect", [
    (date(2026, 3, 5), "inside the reading window, 2026-03-06 to 2026-03-26"),
    (date(2026, 3, 27), "inside the reading window, 2026-03-06 to 2026-03-26"),
    (date(2026, 3, 29), "cannot be in the future"),
])
def test_a_sheet_dated_outside_the_window_or_in_the_future_is_refused(setup: Setup, day: date, expect: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        sheet_record(actor=setup.gas.reader, plan=setup.plan, day=day, signed_by="王阿姨", signer_role="customer")

    assert expect in refused.value.errors["day"][0]
    assert not ConfirmationSheet.objects.exists()


def test_a_sheet_for_a_day_still_to_come_in_the_window_is_in_the_future(setup: Setup,
                                                                         clock: time_machine.Traveller) -> None:
    clock.move_to("2026-03-15 18:00+08:00")
    with pytest.raises(InvalidInput) as refused:
        sheet_record(actor=setup.gas.reader, plan=setup.plan, day=date(2026, 3, 16), signed_by="王阿姨",
                     signer_role="customer")

    assert "future" in refused.value.errors["day"][0]


def test_a_sheet_needs_a_signer_and_a_known_role(setup: Setup) -> None:
    with pytest.raises(InvalidInput) as refused:
        sheet_record(actor=setup.gas.reader, plan=setup.plan, day=date(2026, 3, 12), signed_by=" ",
                     signer_role="neighbour")

    assert set(refused.value.errors) == {"signed_by", "signer_role"}


def test_the_sheet_form_on_the_plan_page(setup: Setup) -> None:
    client = login(setup.gas.reader)
    url = reverse("metering:plan-sheet", kwargs={"pk": setup.plan.pk})

    bad = client.post(url, {"day": "2026-04-01", "signed_by": "王阿姨", "signer_role": "customer"})
    good = client.post(url, {"day": "2026-03-12", "signed_by": "王阿姨", "signer_role": "customer"}, follow=True)

    assert bad.status_code == 400
    assert 'data-field="day"' in bad.content.decode() and "cannot be in the future" in bad.content.decode()
    assert good.status_code == 200
    page = good.content.decode()
    assert "Confirmation sheet of 2026-03-12 signed by 王阿姨 recorded." in page
    assert 'id="sheet-table"' in page and "Customer" in page
    assert ConfirmationSheet.objects.count() == 1


def test_the_sheet_api_records_once_and_lists(setup: Setup) -> None:
    client = api(setup.gas.reader)
    url = reverse("api-metering-plan-sheets", kwargs={"pk": setup.plan.pk})
    body = {"day": "2026-03-12", "signed_by": "张经理", "signer_role": "property_manager"}

    first = client.post(url, body, content_type="application/json")
    again = client.post(url, body, content_type="application/json")
    outside = client.post(url, {**body, "day": "2026-03-02"}, content_type="application/json")
    listed = client.get(url)

    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert first.json()["signer_role_label"] == "Property manager"
    assert outside.status_code == 400 and "reading window" in outside.json()["errors"]["day"][0]
    assert [s["signed_by"] for s in listed.json()] == ["张经理"]


# --------------------------------------------------------------------------- scope


def test_another_countys_plan_is_not_there(setup: Setup) -> None:
    pages, token = login(setup.stranger), api(setup.stranger)
    pk = {"pk": setup.plan.pk}

    for name in ("metering:plan", "metering:plan-export"):
        assert pages.get(reverse(name, kwargs=pk)).status_code == 404, name
    for name in ("metering:plan-sheet", "metering:plan-import"):
        assert pages.post(reverse(name, kwargs=pk), {}).status_code == 404, name
    assert token.get(reverse("api-metering-plan-detail", kwargs=pk)).status_code == 404
    assert token.post(reverse("api-metering-plan-sheets", kwargs=pk), {"day": "2026-03-12", "signed_by": "x",
                      "signer_role": "customer"}, content_type="application/json").status_code == 404
    assert token.get(reverse("api-metering-plan-list")).json()["results"] == []
    assert token.get(reverse("api-metering-route-list")).json()["results"] == []
    assert "B1-01" not in pages.get(reverse("metering:routes")).content.decode()
    assert not ConfirmationSheet.objects.exists()


def test_an_agent_without_reading_rights_is_turned_away(setup: Setup, world: Any) -> None:
    response = login(world.outsider).get(reverse("metering:plan", kwargs={"pk": setup.plan.pk}))

    assert response.status_code == 403


# --------------------------------------------------------------------------- routes and plan pages


def test_the_routes_page_shows_the_months_progress(setup: Setup) -> None:
    response = login(setup.gas.reader).get(reverse("metering:routes"))

    assert response.status_code == 200
    page = response.content.decode()
    assert f'data-plan="{setup.plan.pk}"' in page
    row = page[page.index('data-route="B1-01"'):]
    assert '<td class="text-end kefu-num" data-col="planned">3</td>' in row
    assert '<td class="text-end kefu-num" data-col="read">1</td>' in row


def test_an_analyst_makes_next_months_plan_from_the_routes_page(setup: Setup) -> None:
    url = reverse("metering:plan-create", kwargs={"pk": setup.gas.route.pk})

    refused = login(setup.gas.reader).post(url, {"month": "2026-04"})
    made = login(setup.gas.analyst).post(url, {"month": "2026-04"})

    assert refused.status_code == 403
    april = ReadingPlan.objects.get(period=date(2026, 4, 1))
    assert made.status_code == 302 and made["Location"] == reverse("metering:plan", kwargs={"pk": april.pk})


def test_the_plan_page_lists_read_and_unread_meters(setup: Setup) -> None:
    client = login(setup.gas.reader)
    url = reverse("metering:plan", kwargs={"pk": setup.plan.pk})

    everything = client.get(url).content.decode()
    unread = client.get(url, {"show": "unread"}).content.decode()

    assert 'data-kpi="planned">3<' in everything and 'data-kpi="read">1<' in everything
    assert 'data-meter="G-on" data-read="1"' in everything
    assert 'data-meter="G-on"' not in unread
    assert 'data-meter="G-reconnected" data-read="0"' in unread and 'data-meter="G-on2" data-read="0"' in unread


def test_the_handheld_file_is_downloaded_and_audited(setup: Setup) -> None:
    response = login(setup.gas.reader).get(reverse("metering:plan-export", kwargs={"pk": setup.plan.pk}),
                                           {"format": "csv"})

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="route-B1-01-202603.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][-1] == "窃电窃气嫌疑(theft)" and [r[4] for r in rows[1:]] == ["G-on", "G-reconnected", "G-on2"]
    assert AuditLog.objects.filter(action=AuditLog.Action.EXPORT, actor=setup.gas.reader).count() == 1


def upload(setup: Setup, text: str, **extra: str) -> Any:
    file = SimpleUploadedFile("route.csv", text.encode("utf-8-sig"), content_type="text/csv")
    return login(setup.gas.reader).post(reverse("metering:plan-import", kwargs={"pk": setup.plan.pk}),
                                        {"file": file, **extra})


def test_uploading_the_results_shows_the_readings_and_the_orders(setup: Setup) -> None:
    response = upload(setup, "表号,本次示数,抄表日期,隐患\nG-reconnected,230,2026-03-13,\n"
                             "G-on2,50,2026-03-13,户内胶管老化\n")

    assert response.status_code == 200
    page = response.content.decode()
    order = WorkOrder.objects.get(order_type__code="meter_round_gas_hazard")
    assert f'data-order="{order.number}" data-created="1"' in page
    assert "2 rows: 2 readings recorded" in page
    assert 'data-kpi="read">3<' in page


def test_uploading_a_file_with_a_bad_row_applies_nothing_and_says_where(setup: Setup) -> None:
    response = upload(setup, "表号,本次示数,抄表日期,窃电窃气嫌疑\nG-reconnected,230,2026-03-13,也许\n"
                             "G-on2,50,2026-03-13,否\n")

    assert response.status_code == 400
    page = response.content.decode()
    assert '<tr data-row="2" data-field="theft">' in page and "nothing was applied" in page
    assert not Reading.objects.filter(period=MARCH, meter__serial__in=["G-reconnected", "G-on2"]).exists()


def test_uploading_a_file_with_wrong_columns_is_refused_on_the_file(setup: Setup) -> None:
    response = upload(setup, "colour\nred\n")

    assert response.status_code == 400
    assert 'data-field="file"' in response.content.decode()


# --------------------------------------------------------------------------- plans through the API


def test_the_plan_api_gives_progress_items_and_sheets(setup: Setup) -> None:
    sheet_record(actor=setup.gas.reader, plan=setup.plan, day=date(2026, 3, 12), signed_by="张经理",
                 signer_role="property_manager")
    client = api(setup.gas.reader)

    listed = client.get(reverse("api-metering-plan-list"), {"period": "2026-03"}).json()["results"]
    detail = client.get(reverse("api-metering-plan-detail", kwargs={"pk": setup.plan.pk})).json()
    routes = client.get(reverse("api-metering-route-list")).json()["results"]

    assert [(p["id"], p["planned"], p["read"], p["missing_open"]) for p in listed] == [(setup.plan.pk, 3, 1, 0)]
    assert [r["code"] for r in routes] == ["B1-01"]
    assert [i["meter"]["serial"] for i in detail["items"]] == ["G-on", "G-reconnected", "G-on2"]
    assert detail["items"][0]["reading"]["value"] == "150.00" and detail["items"][1]["reading"] is None
    assert [s["signed_by"] for s in detail["sheets"]] == ["张经理"]
    assert client.get(reverse("api-metering-plan-list"), {"period": "2026-3"}).status_code == 400
