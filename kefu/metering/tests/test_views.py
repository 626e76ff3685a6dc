"""The metering pages as analysts and readers use them: the exceptions queue of one's own area with its
rule filter, each decision from the row's form (accept, correct, estimate, re-read) and the field
messages of a bad one, a reader's single reading entry (valid, or the rule it breaks, or the field at
fault), and one meter with its installation history and corrected readings."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kefu.metering.choices import ReadingState, Resolution, Rule, Source
from kefu.metering.models import Meter, Reading, ReadingCorrection, ReadingException
from kefu.metering.tests.factories import NOW, install, make_meter, read
from kefu.org.models import Staff
from kefu.org.tests.factories import make_staff

if TYPE_CHECKING:
    from conftest import World

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(settings: Any) -> None:
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@dataclass
class Metered:
    analyst: Staff  # data analyst at county A1
    reader: Staff  # meter reader at county A1
    meter: Meter  # on account_a1: 100 in January, then 50 in February (below the previous)
    exception: ReadingException
    other_meter: Meter  # county A2's meter with its own open exception
    other_analyst: Staff


def below_previous(world: World, unit: Any, account: Any, manager: Staff, reader: Staff) -> tuple[Meter,
                                                                                                  ReadingException]:
    meter = make_meter(unit=unit)
    install(actor=manager, meter=meter, to=account, on=date(2025, 12, 1))
    assert read(actor=reader, meter=meter, month="2026-01", value="100").exceptions == []
    got = read(actor=reader, meter=meter, month="2026-02", value="50")
    assert [e.rule for e in got.exceptions] == [Rule.BELOW_PREVIOUS]
    return meter, got.exceptions[0]


@pytest.fixture
def metered(world: World, clock: time_machine.Traveller) -> Metered:
    analyst = make_staff("analyst_a1", unit=world.county_a1, roles=["analyst"])
    reader = make_staff("reader_a1", unit=world.county_a1, roles=["reader"])
    meter, exc = below_previous(world, world.county_a1, world.account_a1, world.manager_a1, reader)
    other_analyst = make_staff("analyst_a2", unit=world.county_a2, roles=["analyst"])
    other_manager = make_staff("manager_a2", unit=world.county_a2, roles=["manager_full"])
    other_meter, _exc = below_previous(world, world.county_a2, world.account_a2, other_manager, other_analyst)
    return Metered(analyst=analyst, reader=reader, meter=meter, exception=exc, other_meter=other_meter,
                   other_analyst=other_analyst)


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def resolve(client: Client, exc: ReadingException, **data: str) -> Any:
    return client.post(reverse("metering:exception-resolve", args=[exc.pk]), data)


def text(response: Any) -> str:
    return response.content.decode()


# The queue ------------------------------------------------------------------------------------------

def test_analyst_sees_the_queue_of_their_area_only(metered: Metered) -> None:
    response = login(metered.analyst).get(reverse("metering:exceptions"))
    assert response.status_code == 200
    html = text(response)
    row = html[html.index(f'data-meter="{metered.meter.serial}"'):]
    row = row[: row.index("</tr>")]
    assert metered.exception.detail in row
    assert "Reading below the previous one" in row
    assert "2026-02" in row
    assert 'data-col="value">50.00' in row
    assert 'data-col="previous">100.00' in row
    assert 'data-col="consumption">-50.00' in row
    assert metered.meter.service_point is not None and metered.meter.service_point.code in row
    assert metered.other_meter.serial not in html
    assert "1 open exception" in html

    other = text(login(metered.other_analyst).get(reverse("metering:exceptions")))
    assert metered.other_meter.serial in other and metered.meter.serial not in other


def test_the_rule_filter_narrows_the_queue(metered: Metered) -> None:
    client = login(metered.analyst)
    url = reverse("metering:exceptions")
    assert metered.meter.serial in text(client.get(url, {"rule": Rule.BELOW_PREVIOUS}))
    zero = client.get(url, {"rule": Rule.ZERO})
    assert metered.meter.serial not in text(zero) and "No open reading exception in your area." in text(zero)
    # The filter asks through htmx: only the rows come back.
    partial = client.get(url, {"rule": Rule.BELOW_PREVIOUS}, HTTP_HX_REQUEST="true")
    assert partial.status_code == 200
    assert metered.meter.serial in text(partial) and "<html" not in text(partial)
    # An unknown rule is no filter rather than an error.
    assert metered.meter.serial in text(client.get(url, {"rule": "nonsense"}))


def test_accept_keeps_the_reading_and_empties_the_queue(metered: Metered) -> None:
    client = login(metered.analyst)
    response = resolve(client, metered.exception, decision="accepted")
    assert response.status_code == 302 and response["Location"] == reverse("metering:exceptions")
    page = text(client.get(response["Location"]))
    assert "Accepted as read" in page and metered.meter.serial in page  # the message names the meter
    assert 'id="queue-empty"' in page
    reading = metered.exception.reading
    assert reading is not None
    reading.refresh_from_db()
    assert (reading.value, reading.state) == (Decimal("50.00"), ReadingState.ACCEPTED)
    metered.exception.refresh_from_db()
    assert (metered.exception.resolution, metered.exception.resolved_by) == (Resolution.ACCEPTED, metered.analyst)


def test_correct_keeps_the_original_and_the_reason(metered: Metered) -> None:
    client = login(metered.analyst)
    response = resolve(client, metered.exception, decision="corrected", value="150", reason="抄表员看错一位")
    assert response.status_code == 302
    reading = Reading.objects.get(pk=metered.exception.reading_id or 0)
    assert (reading.value, reading.consumption, reading.state) == (Decimal("150.00"), Decimal("50.00"),
                                                                     ReadingState.CORRECTED)
    correction = ReadingCorrection.objects.get(reading=reading)
    assert (correction.old_value, correction.new_value, correction.reason) == (Decimal("50.00"),
                                                                               Decimal("150.00"), "抄表员看错一位")
    assert 'id="queue-empty"' in text(client.get(reverse("metering:exceptions")))


def test_estimate_replaces_the_value_and_marks_it_estimated(metered: Metered) -> None:
    response = resolve(login(metered.analyst), metered.exception, decision="estimated", value="130",
                       reason="表盘看不清, 按上月用量估")
    assert response.status_code == 302
    reading = Reading.objects.get(pk=metered.exception.reading_id or 0)
    assert (reading.value, reading.source) == (Decimal("130.00"), Source.ESTIMATED)
    assert ReadingCorrection.objects.get(reading=reading).old_value == Decimal("50.00")


def test_reread_sets_the_reading_aside(metered: Metered) -> None:
    response = resolve(login(metered.analyst), metered.exception, decision="reread", reason="请抄表员复抄")
    assert response.status_code == 302
    assert Reading.objects.get(pk=metered.exception.reading_id or 0).state == ReadingState.SUPERSEDED
    metered.exception.refresh_from_db()
    assert (metered.exception.resolution, metered.exception.note) == (Resolution.REREAD, "请抄表员复抄")


@pytest.mark.parametrize(("data", "field", "message"), [
    ({}, "decision", "Choose accept, correct, estimate or re-read."),
    ({"decision": "delete"}, "decision", "Choose accept, correct, estimate or re-read."),
    ({"decision": "corrected", "value": "150"}, "reason", "Give the reason for this decision."),
    ({"decision": "reread", "reason": "  "}, "reason", "Give the reason for this decision."),
    ({"decision": "corrected", "value": "abc", "reason": "看错"}, "value", "Enter the reading as a number"),
    ({"decision": "estimated", "value": "-3", "reason": "估"}, "value", "A reading cannot be negative."),
    ({"decision": "corrected", "value": "", "reason": "看错"}, "value", "Enter the reading as a number"),
])
def test_bad_decisions_are_refused_beside_the_field(metered: Metered, data: dict[str, str], field: str,
                                                    message: str) -> None:
    response = resolve(login(metered.analyst), metered.exception, **data)
    assert response.status_code == 400
    html = text(response)
    start = html.index(f'id="exc-{metered.exception.pk}"')
    row = html[start: html.index("</tr>", start)]
    assert f'data-field="{field}">{message}' in row
    metered.exception.refresh_from_db()
    assert metered.exception.resolution == Resolution.OPEN
    assert not ReadingCorrection.objects.exists()


def test_a_second_decision_is_a_conflict(metered: Metered) -> None:
    client = login(metered.analyst)
    assert resolve(client, metered.exception, decision="accepted").status_code == 302
    again = resolve(client, metered.exception, decision="reread", reason="复抄")
    assert again.status_code == 409
    assert "This exception was already decided." in text(again)


def test_another_countys_exception_is_not_found(metered: Metered) -> None:
    response = resolve(login(metered.other_analyst), metered.exception, decision="accepted")
    assert response.status_code == 404
    metered.exception.refresh_from_db()
    assert metered.exception.resolution == Resolution.OPEN


# The reader -----------------------------------------------------------------------------------------

def test_reader_enters_a_valid_reading(metered: Metered) -> None:
    client = login(metered.reader)
    url = reverse("metering:reading-entry")
    assert client.get(url).status_code == 200
    response = client.post(url, {"meter": metered.meter.serial, "value": "130.5", "read_on": "2026-03-10",
                                 "source": Source.ACTUAL})
    assert response.status_code == 302
    page = client.get(response["Location"])
    html = text(page)
    assert "recorded: valid" in html
    assert 'data-state="valid"' in html
    reading = Reading.objects.get(meter=metered.meter, period=date(2026, 3, 1))
    assert (reading.value, reading.reader) == (Decimal("130.50"), metered.reader)


def test_reader_sees_the_rule_a_reading_breaks(metered: Metered) -> None:
    client = login(metered.reader)
    # February's 50 waits in the queue; March is measured from January's 100, so 90 is below it.
    response = client.post(reverse("metering:reading-entry"), {"meter": metered.meter.serial, "value": "90",
                                                               "read_on": "2026-03-10", "source": Source.ACTUAL})
    html = text(client.get(response["Location"]))
    assert 'data-state="exception"' in html
    assert 'data-rule="below_previous"' in html
    assert "It waits in the exceptions queue" in html


def test_reader_cannot_open_or_resolve_the_queue(metered: Metered) -> None:
    client = login(metered.reader)
    assert client.get(reverse("metering:exceptions")).status_code == 403
    assert resolve(client, metered.exception, decision="accepted").status_code == 403
    metered.exception.refresh_from_db()
    assert metered.exception.resolution == Resolution.OPEN


def test_an_agent_cannot_enter_readings(world: World) -> None:
    assert login(world.agent_a1).get(reverse("metering:reading-entry")).status_code == 403


@pytest.mark.parametrize(("over", "field", "message"), [
    ({"value": "-5"}, "value", "A reading cannot be negative."),
    ({"value": "12a"}, "value", "Enter the reading as a number"),
    ({"value": "1.234"}, "value", "A reading has at most 12 digits and 2 decimals."),
    ({"value": ""}, "value", "This field is required."),
    ({"meter": "NO-SUCH-METER"}, "meter", "No meter numbered NO-SUCH-METER in your area."),
    ({"read_on": "2026-02-30"}, "read_on", "Enter a valid date."),
    ({"source": "guess"}, "source", "Select a valid choice."),
])
def test_bad_entries_name_the_field(metered: Metered, over: dict[str, str], field: str, message: str) -> None:
    data = {"meter": metered.meter.serial, "value": "130", "read_on": "2026-03-10", "source": Source.ACTUAL, **over}
    response = login(metered.reader).post(reverse("metering:reading-entry"), data)
    assert response.status_code == 400
    assert f'data-field="{field}">{message}' in text(response)
    assert not Reading.objects.filter(meter=metered.meter, period=date(2026, 3, 1)).exists()


def test_a_reading_dated_in_the_future_is_refused(metered: Metered) -> None:
    tomorrow = timezone.localdate() + timedelta(days=1)
    response = login(metered.reader).post(reverse("metering:reading-entry"), {
        "meter": metered.meter.serial, "value": "130", "read_on": tomorrow.isoformat(), "source": Source.ACTUAL})
    assert response.status_code == 400
    assert 'data-field="read_on">A reading cannot be dated in the future.' in text(response)


def test_another_countys_meter_is_unknown_to_the_reader(metered: Metered) -> None:
    response = login(metered.reader).post(reverse("metering:reading-entry"), {
        "meter": metered.other_meter.serial, "value": "130", "read_on": "2026-03-10", "source": Source.ACTUAL})
    assert response.status_code == 400
    assert f"No meter numbered {metered.other_meter.serial} in your area." in text(response)


# One meter ------------------------------------------------------------------------------------------

def test_meter_page_shows_history_and_corrections(metered: Metered, world: World) -> None:
    resolve(login(metered.analyst), metered.exception, decision="corrected", value="150", reason="看错一位")
    response = login(world.agent_a1).get(reverse("metering:meter", args=[metered.meter.pk]))
    assert response.status_code == 200
    html = text(response)
    assert 'data-event="install"' in html and "2025-12-01" in html
    assert 'data-period="2026-02"' in html and 'data-period="2026-01"' in html
    assert "Corrected from 50.00 to 150.00" in html and "看错一位" in html
    assert login(world.agent_a2).get(reverse("metering:meter", args=[metered.meter.pk])).status_code == 404


def test_menu_shows_metering_to_analysts_and_readers_only(metered: Metered, world: World) -> None:
    home = reverse("metering:reading-entry")
    assert 'id="menu-metering"' in text(login(metered.analyst).get(home))
    assert 'id="menu-metering"' in text(login(metered.reader).get(home))
    assert 'id="menu-metering"' not in text(login(world.agent_a1).get(reverse("home"), follow=True))
