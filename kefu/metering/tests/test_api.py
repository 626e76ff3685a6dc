"""Metering API as devices, the head-end system and analysts use it: one reading (valid, breaking a
rule, replayed, a second value, each bad field), a batch that is all or nothing, the scoped reading
list, the exceptions queue and its decisions, and one meter with its history — each only in one's
own area and for the roles that may."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import pytest
import time_machine
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from kefu.metering.choices import ReadingState, Resolution, Rule
from kefu.metering.models import ImportBatch, Meter, Reading, ReadingCorrection, ReadingException
from kefu.metering.tests.factories import NOW, install, make_meter, read
from kefu.org.models import Staff
from kefu.org.tests.apiclient import API, client_for, ids
from kefu.org.tests.factories import make_staff

if TYPE_CHECKING:
    from conftest import World

pytestmark = pytest.mark.django_db

READINGS = f"{API}/metering/readings/"
BATCH = f"{API}/metering/readings/batch/"
EXCEPTIONS = f"{API}/metering/exceptions/"


def resolve_url(pk: int | str) -> str:
    return f"{EXCEPTIONS}{pk}/resolve/"


def meter_url(pk: int | str) -> str:
    return f"{API}/metering/meters/{pk}/"


@pytest.fixture(autouse=True)
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def english(settings: Any) -> None:
    settings.LANGUAGE_CODE = "en"


@dataclass
class Metered:
    reader: Staff  # meter reader at county A1
    analyst: Staff  # data analyst at county A1
    meter: Meter  # on account_a1, installed 2025-12-01, read 100 in January
    outsider_analyst: Staff  # data analyst at county B1 (gas)
    outsider_meter: Meter  # gas meter on account_b1


@pytest.fixture
def metered(world: World) -> Metered:
    reader = make_staff("reader_a1", unit=world.county_a1, roles=["reader"])
    analyst = make_staff("analyst_a1", unit=world.county_a1, roles=["analyst"])
    meter = make_meter(unit=world.county_a1, serial="A1-0001")
    install(actor=world.manager_a1, meter=meter, to=world.account_a1, on=date(2025, 12, 1))
    assert read(actor=reader, meter=meter, month="2026-01", value="100").exceptions == []
    b1_manager = make_staff("manager_b1", unit=world.county_b1, roles=["manager_full"])
    outsider_meter = make_meter(unit=world.county_b1, utility="gas", serial="B1-0001")
    install(actor=b1_manager, meter=outsider_meter, to=world.account_b1, on=date(2025, 12, 1))
    return Metered(reader=reader, analyst=analyst, meter=meter,
                   outsider_analyst=make_staff("analyst_b1", unit=world.county_b1, roles=["analyst"]),
                   outsider_meter=outsider_meter)


def reading(**over: Any) -> dict[str, Any]:
    return {"meter": "A1-0001", "value": "130.5", "read_on": "2026-02-10", **over}


def errors(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 400, (response.status_code, response.content)
    found: dict[str, list[str]] = response.json()["errors"]
    return found


def below_previous(m: Metered) -> ReadingException:
    """February read as 50 after 100 in January: an open exception."""
    got = read(actor=m.reader, meter=m.meter, month="2026-02", value="50")
    assert [e.rule for e in got.exceptions] == [Rule.BELOW_PREVIOUS]
    return got.exceptions[0]


def token_client(user: Staff) -> APIClient:
    token, _created = Token.objects.get_or_create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


# ---------------------------------------------------------------- one reading


def test_a_valid_reading_is_recorded_and_a_replay_changes_nothing(metered: Metered) -> None:
    client = client_for(metered.reader)
    response = client.post(READINGS, reading(source="remote"), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["outcome"] == "recorded" and body["exceptions"] == []
    got = body["reading"]
    assert (got["meter"]["serial"], got["period"], got["value"], got["previous"], got["consumption"]) == (
        "A1-0001", "2026-02", "130.50", "100.00", "30.50")
    assert got["state"] == ReadingState.VALID and got["billable"] is True
    assert got["source"] == "remote" and got["reader"]["id"] == metered.reader.pk

    again = client.post(READINGS, reading(source="remote"), format="json")
    assert again.status_code == 200
    assert again.json()["outcome"] == "unchanged" and again.json()["reading"]["id"] == got["id"]
    assert Reading.objects.filter(meter=metered.meter, period=date(2026, 2, 1)).count() == 1


def test_a_reading_below_the_previous_waits_in_the_queue(metered: Metered) -> None:
    response = client_for(metered.reader).post(READINGS, reading(value=50), format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["reading"]["state"] == ReadingState.EXCEPTION and body["reading"]["billable"] is False
    assert [e["rule"] for e in body["exceptions"]] == [Rule.BELOW_PREVIOUS]
    assert body["exceptions"][0]["resolution"] == Resolution.OPEN


def test_a_second_value_for_the_month_keeps_the_first_and_tells_the_analyst(metered: Metered) -> None:
    client = client_for(metered.reader)
    assert client.post(READINGS, reading(), format="json").status_code == 201
    response = client.post(READINGS, reading(value="140"), format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["outcome"] == "duplicate" and body["reading"]["value"] == "130.50"
    assert [e["rule"] for e in body["exceptions"]] == [Rule.DUPLICATE]


@pytest.mark.parametrize(("over", "field", "words"), [
    ({"value": "12a4"}, "value", "number"),
    ({"value": "-5"}, "value", "negative"),
    ({"value": -5}, "value", "negative"),
    ({"value": "1.234"}, "value", "2 decimals"),
    ({"read_on": "2026-03-29"}, "read_on", "future"),
    ({"read_on": "29/03/2026"}, "read_on", "format"),
    ({"meter": "NO-SUCH"}, "meter", "Unknown meter number NO-SUCH"),
    ({"meter": "B1-0001"}, "meter", "Unknown meter number B1-0001"),  # another area's meter: not revealed
    ({"register": 2}, "register", "no register 2"),
    ({"register": 9}, "register", "valid choice"),
    ({"source": "guess"}, "source", "valid choice"),
    ({"multiplier": "abc"}, "multiplier", "number"),
    ({"colour": "red"}, "colour", "Unknown field"),
])
def test_bad_input_names_the_field_and_records_nothing(metered: Metered, over: dict[str, Any], field: str,
                                                      words: str) -> None:
    before = Reading.objects.count()
    found = errors(client_for(metered.reader).post(READINGS, reading(**over), format="json"))
    assert field in found and words in found[field][0], found
    assert Reading.objects.count() == before


def test_a_missing_field_and_a_meter_not_installed_are_refused(metered: Metered, world: World) -> None:
    client = client_for(metered.reader)
    assert set(errors(client.post(READINGS, {"meter": "A1-0001"}, format="json"))) == {"value", "read_on"}
    make_meter(unit=world.county_a1, serial="A1-STOCK")
    assert "not installed" in errors(client.post(READINGS, reading(meter="A1-STOCK"), format="json"))["meter"][0]


def test_only_reading_roles_may_post_readings(metered: Metered, world: World) -> None:
    assert client_for(world.agent_a1).post(READINGS, reading(), format="json").status_code == 403
    assert client_for(metered.analyst).post(READINGS, reading(), format="json").status_code == 201
    assert APIClient().post(READINGS, reading(), format="json").status_code in (401, 403)


# ---------------------------------------------------------------- batch


def test_a_clean_batch_is_recorded_and_sent_again_changes_nothing(metered: Metered, world: World) -> None:
    second = make_meter(unit=world.county_a1, serial="A1-0002", registers=3, kind="tou")
    install(actor=world.manager_a1, meter=second, to=world.account_a1.premise.service_points.create(
        utility="power", code="SP-A1-X"), on=date(2026, 1, 5))
    head_end = token_client(metered.reader)
    items = [reading(source="remote")] + [
        reading(meter="A1-0002", value=value, register=register, source="remote")
        for register, value in ((0, "30"), (1, "20"), (2, "7"))]
    response = head_end.post(BATCH, {"readings": items}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["items"], body["created"], body["unchanged"], body["duplicates"]) == (4, 4, 0, 0)
    assert body["exceptions"] == 0 and body["flagged"] == []
    assert Reading.objects.filter(batch_id=body["batch"]).count() == 4
    assert ImportBatch.objects.get(pk=body["batch"]).applied == 4

    again = head_end.post(BATCH, {"readings": items}, format="json").json()
    assert (again["created"], again["unchanged"]) == (0, 4)
    assert Reading.objects.filter(meter__serial__in=["A1-0001", "A1-0002"]).count() == 5


def test_a_batch_reports_its_exceptions(metered: Metered) -> None:
    response = token_client(metered.reader).post(BATCH, {"readings": [reading(value="40")]}, format="json")
    body = response.json()
    assert (body["created"], body["exceptions"]) == (1, 1)
    assert body["flagged"] == [{"index": 0, "meter": "A1-0001", "reading": body["flagged"][0]["reading"],
                                "rules": [Rule.BELOW_PREVIOUS]}]


def test_a_batch_with_bad_items_lists_every_one_and_records_nothing(metered: Metered) -> None:
    items: list[Any] = [
        reading(),  # good
        reading(value="-1", read_on="2026-04-01"),  # two problems
        reading(meter="B1-0001"),  # another area's meter
        "not an object",
        reading(colour="red"),
        reading(),  # the same meter and month again
    ]
    found = errors(token_client(metered.reader).post(BATCH, {"readings": items}, format="json"))
    assert set(found) == {"readings.1.value", "readings.1.read_on", "readings.2.meter", "readings.3",
                          "readings.4.colour", "readings.5.meter"}
    assert "first at index 0" in found["readings.5.meter"][0]
    response = token_client(metered.reader).post(BATCH, {"readings": items}, format="json").json()
    assert response["detail"].startswith("5 of the readings are wrong; nothing was recorded.")
    assert {"index": 1, "field": "value", "message": "A reading cannot be negative."} in response["extra"]["items"]
    assert Reading.objects.filter(period=date(2026, 2, 1)).count() == 0
    assert ImportBatch.objects.count() == 0


def test_a_batch_rolls_back_when_a_reading_is_refused_while_applying(metered: Metered, world: World) -> None:
    # An A1 meter hung on a service point of county A2: the reader finds the meter, but the service refuses
    # the service point outside A1 while applying — the first reading, already written, is rolled back.
    stray = make_meter(unit=world.county_a1, serial="A1-STRAY")
    install(actor=world.admin, meter=stray, to=world.account_a2, on=date(2025, 12, 1))
    items = [reading(), reading(meter="A1-STRAY", value="5")]
    found = errors(token_client(metered.reader).post(BATCH, {"readings": items}, format="json"))
    assert list(found) == ["readings.1.meter"]
    assert Reading.objects.filter(period=date(2026, 2, 1)).count() == 0
    assert ImportBatch.objects.count() == 0


def test_batch_size_shape_auth_and_role(metered: Metered, world: World) -> None:
    head_end = token_client(metered.reader)
    assert "readings" in errors(head_end.post(BATCH, {"readings": []}, format="json"))
    assert "readings" in errors(head_end.post(BATCH, {"readings": [reading()] * 1001}, format="json"))
    assert "non_field_errors" in errors(head_end.post(BATCH, [reading()], format="json"))
    assert "readings" in errors(head_end.post(BATCH, {"readings": "x"}, format="json"))
    assert token_client(world.agent_a1).post(BATCH, {"readings": [reading()]}, format="json").status_code == 403
    assert APIClient().post(BATCH, {"readings": [reading()]}, format="json").status_code == 401
    # The head-end system authenticates with its token; a browser session is not enough.
    session = APIClient()
    session.force_login(metered.reader)
    assert session.post(BATCH, {"readings": [reading()]}, format="json").status_code == 401
    assert Reading.objects.filter(period=date(2026, 2, 1)).count() == 0


def test_a_full_batch_of_1000_is_recorded(metered: Metered, world: World) -> None:
    meters = [make_meter(unit=world.county_a1, serial=f"BULK{i:04d}") for i in range(100)]
    for i, meter in enumerate(meters):
        point = world.account_a1.premise.service_points.create(utility="power", code=f"SP-BULK-{i}")
        install(actor=world.manager_a1, meter=meter, to=point, on=date(2024, 12, 1))
    items = [{"meter": m.serial, "value": str(10 * (month + 1)), "read_on": f"2025-{month + 1:02d}-10"}
             for m in meters for month in range(10)]
    response = token_client(metered.reader).post(BATCH, {"readings": items}, format="json")
    assert response.status_code == 200, response.content[:500]
    assert response.json()["created"] == 1000
    assert Reading.objects.filter(meter__serial__startswith="BULK").count() == 1000


# ---------------------------------------------------------------- reading list


def test_the_reading_list_is_scoped_and_filtered(metered: Metered, world: World) -> None:
    below_previous(metered)
    client = client_for(metered.reader)
    both = client.get(READINGS, {"meter": "A1-0001"}).json()["results"]
    assert [r["period"] for r in both] == ["2026-02", "2026-01"]
    feb = client.get(READINGS, {"meter": "A1-0001", "period": "2026-02"}).json()["results"]
    assert [(r["value"], r["state"]) for r in feb] == [("50.00", ReadingState.EXCEPTION)]
    assert ids(client.get(READINGS, {"state": "valid"})) == {both[1]["id"]}
    read(actor=make_staff(unit=world.county_b1, roles=["reader"]), meter=metered.outsider_meter, month="2026-01",
         value="7")
    assert "B1-0001" not in {r["meter"]["serial"] for r in client.get(READINGS).json()["results"]}
    assert ids(client_for(world.outsider).get(READINGS, {"meter": "A1-0001"})) == set()
    assert ids(client_for(world.agent_a2).get(READINGS)) == set()
    assert len(ids(client_for(world.supervisor).get(READINGS))) == 2
    assert "period" in errors(client.get(READINGS, {"period": "2026-13"}))
    assert "state" in errors(client.get(READINGS, {"state": "lost"}))


# ---------------------------------------------------------------- exceptions


def test_the_queue_shows_open_exceptions_of_ones_area_by_rule(metered: Metered, world: World) -> None:
    exc = below_previous(metered)
    client = client_for(metered.analyst)
    rows = client.get(EXCEPTIONS).json()["results"]
    assert [(r["id"], r["meter"]["serial"], r["rule"], r["period"]) for r in rows] == [
        (exc.pk, "A1-0001", Rule.BELOW_PREVIOUS, "2026-02")]
    assert rows[0]["reading"]["value"] == "50.00" and rows[0]["reading"]["previous"] == "100.00"
    assert ids(client.get(EXCEPTIONS, {"rule": Rule.BELOW_PREVIOUS})) == {exc.pk}
    assert ids(client.get(EXCEPTIONS, {"rule": Rule.ZERO})) == set()
    assert "rule" in errors(client.get(EXCEPTIONS, {"rule": "bogus"}))
    assert ids(client_for(metered.outsider_analyst).get(EXCEPTIONS)) == set()
    assert client_for(metered.reader).get(EXCEPTIONS).status_code == 403


def test_accepting_an_exception_releases_the_reading_and_a_second_decision_is_409(metered: Metered) -> None:
    exc = below_previous(metered)
    client = client_for(metered.analyst)
    response = client.post(resolve_url(exc.pk), {"resolution": "accepted"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["resolution"] == Resolution.ACCEPTED and body["resolved_by"]["id"] == metered.analyst.pk
    assert body["reading"]["state"] == ReadingState.ACCEPTED
    again = client.post(resolve_url(exc.pk), {"resolution": "reread", "note": "再抄"}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    assert ids(client.get(EXCEPTIONS)) == set()


def test_a_correction_keeps_the_original_and_needs_its_reason(metered: Metered) -> None:
    exc = below_previous(metered)
    client = client_for(metered.analyst)
    assert "note" in errors(client.post(resolve_url(exc.pk), {"resolution": "corrected", "value": "150"},
                                        format="json"))
    assert "value" in errors(client.post(resolve_url(exc.pk), {"resolution": "corrected", "value": "x",
                                                               "note": "看错"}, format="json"))
    assert "resolution" in errors(client.post(resolve_url(exc.pk), {"resolution": "open"}, format="json"))
    assert "resolution" in errors(client.post(resolve_url(exc.pk), {}, format="json"))
    response = client.post(resolve_url(exc.pk), {"resolution": "corrected", "value": "150", "note": "抄表员看错一位"},
                           format="json")
    assert response.status_code == 200
    assert response.json()["reading"]["value"] == "150.00"
    assert response.json()["reading"]["state"] == ReadingState.CORRECTED
    kept = ReadingCorrection.objects.get(reading=exc.reading)
    assert (kept.old_value, kept.new_value, kept.reason) == (50, 150, "抄表员看错一位")


def test_a_reread_sets_the_reading_aside_and_the_new_value_takes_its_place(metered: Metered) -> None:
    exc = below_previous(metered)
    response = client_for(metered.analyst).post(resolve_url(exc.pk), {"resolution": "reread", "note": "请复抄"},
                                                format="json")
    assert response.json()["reading"]["state"] == ReadingState.SUPERSEDED
    again = client_for(metered.reader).post(READINGS, reading(value="120"), format="json")
    assert again.status_code == 201 and again.json()["outcome"] == "reread"
    assert again.json()["reading"]["value"] == "120.00" and again.json()["reading"]["state"] == ReadingState.VALID
    replay = client_for(metered.reader).post(READINGS, reading(value="120"), format="json")
    assert replay.status_code == 200 and replay.json()["outcome"] == "unchanged"


def test_resolve_is_404_outside_ones_area_and_403_without_the_review_role(metered: Metered, world: World) -> None:
    exc = below_previous(metered)
    assert client_for(metered.outsider_analyst).post(resolve_url(exc.pk), {"resolution": "accepted"},
                                                     format="json").status_code == 404
    assert client_for(metered.reader).post(resolve_url(exc.pk), {"resolution": "accepted"},
                                           format="json").status_code == 403
    assert client_for(world.supervisor).post(resolve_url(exc.pk), {"resolution": "accepted"},
                                             format="json").status_code == 403
    assert client_for(metered.analyst).post(resolve_url(99999999), {"resolution": "accepted"},
                                            format="json").status_code == 404
    assert client_for(metered.analyst).post(resolve_url("9" * 18), {"resolution": "accepted"},
                                            format="json").status_code == 404
    exc.refresh_from_db()
    assert exc.resolution == Resolution.OPEN


# ---------------------------------------------------------------- meters


def test_a_meter_with_its_history_and_latest_readings(metered: Metered, world: World) -> None:
    below_previous(metered)
    client = client_for(world.agent_a1)
    response = client.get(meter_url(metered.meter.pk))
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["serial"], body["state"], body["registers"], body["multiplier"]) == ("A1-0001", "installed", 1,
                                                                                     "1.00")
    assert body["accounts"] == [world.account_a1.number]
    assert [(e["kind"], e["installed_on"], e["removed_on"]) for e in body["installations"]] == [
        ("install", "2025-12-01", None)]
    assert [r["period"] for r in body["readings"]] == ["2026-02", "2026-01"]
    assert [e["rule"] for e in body["open_exceptions"]] == [Rule.BELOW_PREVIOUS]


def test_a_meter_keeps_only_its_last_12_readings(metered: Metered) -> None:
    with time_machine.travel(date(2027, 3, 1), tick=False):
        for month in range(2, 14):
            year, mon = 2026 + (month - 1) // 12, (month - 1) % 12 + 1
            read(actor=metered.reader, meter=metered.meter, month=f"{year}-{mon:02d}", value=str(100 + month),
                 now=NOW.replace(year=2027, month=3, day=1))
        body = client_for(metered.reader).get(meter_url(metered.meter.pk)).json()
    assert len(body["readings"]) == 12
    assert body["readings"][0]["period"] == "2027-01" and body["readings"][-1]["period"] == "2026-02"


def test_a_meter_of_another_area_is_404(metered: Metered, world: World) -> None:
    assert client_for(world.outsider).get(meter_url(metered.meter.pk)).status_code == 404
    assert client_for(world.agent_a2).get(meter_url(metered.meter.pk)).status_code == 404
    assert client_for(world.outsider).get(meter_url(metered.outsider_meter.pk)).status_code == 200
    assert client_for(world.admin).get(meter_url(metered.meter.pk)).status_code == 200
    assert client_for(world.agent_a1).get(f"{API}/metering/meters/abc/").status_code == 404
