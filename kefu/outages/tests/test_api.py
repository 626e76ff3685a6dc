"""Outage API: drafts with idempotent create, bad bodies, the publishing steps and the notice rules,
scope, the public list, fault proposals and reliability indices."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from rest_framework.test import APIClient

from kefu.core.models import OutboxMessage
from kefu.grid.tests.factories import make_node
from kefu.org.tests.apiclient import API, client_for, ids
from kefu.org.tests.factories import make_staff
from kefu.outages.models import FaultProposal, NoticeRule, Outage, OutageEvent
from kefu.outages.tests.factories import Grid
from kefu.workorders.models import WorkOrder
from kefu.workorders.services import workorder_intake
from kefu.workorders.tests.factories import reseed, run_together, shared_database

if TYPE_CHECKING:
    from conftest import World

pytestmark = pytest.mark.django_db

OUTAGES = f"{API}/outages/"
PUBLIC = f"{API}/outages/public/"
PROPOSALS = f"{API}/outages/proposals/"
RELIABILITY = f"{API}/outages/reliability/"
CHINA = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=CHINA)  # a Monday morning


@pytest.fixture(autouse=True)
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def local(moment: datetime) -> str:
    """Naive ISO text: the API reads it as China time."""
    return moment.astimezone(CHINA).replace(tzinfo=None).isoformat(timespec="minutes")


def body(**over: Any) -> dict[str, Any]:
    start = NOW + timedelta(days=10)
    return {"utility": "power", "outage_class": "planned", "area": "文三路1号、2号台区", "reason": "10kV城东线检修",
            "planned_start": local(start), "planned_end": local(start + timedelta(hours=8)),
            "nodes": ["TA1", "TA2"], **over}


def errors(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 400, (response.status_code, response.content)
    found: dict[str, list[str]] = response.json()["errors"]
    return found


def create(client: APIClient, **over: Any) -> dict[str, Any]:
    response = client.post(OUTAGES, body(**over), format="json")
    assert response.status_code == 201, response.content
    data: dict[str, Any] = response.json()
    return data


def step(client: APIClient, outage: dict[str, Any] | int, name: str, **data: Any) -> Any:
    pk = outage if isinstance(outage, int) else outage["id"]
    return client.post(f"{OUTAGES}{pk}/{name}/", data, format="json")


def published(client: APIClient, **over: Any) -> dict[str, Any]:
    """A temporary outage in two days: reviewed and published without breaking a rule."""
    start = NOW + timedelta(days=2)
    draft = create(client, **{"outage_class": "temporary", "planned_start": local(start),
                              "planned_end": local(start + timedelta(hours=4)), **over})
    assert step(client, draft, "review").status_code == 200
    response = step(client, draft, "publish")
    assert response.status_code == 200, response.content
    data: dict[str, Any] = response.json()
    return data


def sms_count() -> int:
    return OutboxMessage.objects.filter(source_model="outages.outage").count()


# ---------------------------------------------------------------- create


def test_create_then_idempotent_replay(world: World, grid: Grid) -> None:
    client = client_for(world.supervisor)
    first = client.post(OUTAGES, body(), format="json", HTTP_IDEMPOTENCY_KEY="td-2026-1")
    assert first.status_code == 201, first.content
    data = first.json()
    assert data["number"].startswith("TD261102") and data["status"] == "draft"
    assert data["status_label"] and data["outage_class_label"] and data["utility"] == "power"
    assert [n["code"] for n in data["nodes"]] == ["TA1", "TA2"]
    assert data["nodes"][0]["name"] == "文三路1号台区"
    assert (data["affected_count"], data["important_count"], data["dedicated_count"]) == (5, 1, 0)
    # A time without an offset is China time.
    assert data["planned_start"] == "2026-11-12T09:00:00+08:00"
    assert data["unit"]["id"] == world.county_a1.pk and data["created_by"]["id"] == world.supervisor.pk
    assert [e["kind"] for e in data["events"]] == ["create"]
    assert first["ETag"] == f'"{data["version"]}"' and "Idempotent-Replayed" not in first

    again = client.post(OUTAGES, body(area="别的区域"), format="json", HTTP_IDEMPOTENCY_KEY="td-2026-1")
    assert again.status_code == 200, again.content
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == data["id"] and again.json()["area"] == "文三路1号、2号台区"
    assert Outage.objects.count() == 1
    assert Outage.objects.get().intake_key == "td-2026-1"
    assert OutageEvent.objects.get(outage_id=data["id"], kind="create").data["affected"] == 5

    # Another key, or another person with the same key, makes a new outage.
    assert client.post(OUTAGES, body(), format="json", HTTP_IDEMPOTENCY_KEY="td-2026-2").status_code == 201
    leader = make_staff(unit=world.county_a1, roles=["shift_leader"])
    other = client_for(leader).post(OUTAGES, body(), format="json", HTTP_IDEMPOTENCY_KEY="td-2026-1")
    assert other.status_code == 201 and other.json()["id"] != data["id"]
    assert client.post(OUTAGES, body(), format="json").status_code == 201
    assert Outage.objects.count() == 4
    too_long = client.post(OUTAGES, body(), format="json", HTTP_IDEMPOTENCY_KEY="k" * 65)
    assert "Idempotency-Key" in errors(too_long)
    assert Outage.objects.count() == 4


@pytest.fixture
def reseeded(transactional_db: None) -> None:
    # Before ``world``: a transaction=True test empties the seeded tables when it ends.
    reseed()


@pytest.mark.django_db(transaction=True)
def test_two_retries_at_once_make_one_outage(reseeded: None, world: World, grid: Grid) -> None:
    def submit() -> Any:
        client = client_for(world.supervisor)
        return client.post(OUTAGES, body(), format="json", HTTP_IDEMPOTENCY_KEY="race-1")

    with shared_database():
        outcome = run_together(submit, submit)
        assert not outcome.errors, outcome.errors
        assert sorted(r.status_code for r in outcome.results) == [200, 201]
        assert len({r.json()["id"] for r in outcome.results}) == 1
        assert Outage.objects.count() == 1


def test_create_by_node_ids_and_listed_accounts(world: World, grid: Grid) -> None:
    extra = grid.accounts["TA3"][0]
    data = create(client_for(world.supervisor), nodes=[grid.ta1.pk], accounts=[extra.number])
    assert [n["code"] for n in data["nodes"]] == ["TA1"]
    assert data["listed_accounts"] == [{"id": extra.pk, "number": extra.number}]
    assert (data["affected_count"], data["dedicated_count"]) == (4, 1)


@pytest.mark.parametrize(("over", "field"), [
    ({"planned_end": local(NOW + timedelta(days=9))}, "planned_end"),
    ({"planned_start": "next tuesday"}, "planned_start"),
    ({"planned_start": "0001-01-01T00:00:00+14:00"}, "planned_start"),
    ({"nodes": ["NOPE"]}, "nodes"),
    ({"nodes": [], "accounts": []}, "nodes"),
    ({"nodes": "TA1"}, "nodes"),
    ({"nodes": [{"id": 1}]}, "nodes.0"),
    ({"nodes": ["99999999999999999999999"]}, "nodes"),
    ({"accounts": ["abc"], "nodes": []}, "accounts"),
    ({"outage_class": "gas_planned"}, "outage_class"),
    ({"outage_class": "volcano"}, "outage_class"),
    ({"utility": "water"}, "utility"),
    ({"utility": ["power"]}, "utility"),
    ({"area": ""}, "area"),
    ({"reason": "原因" * 200}, "reason"),
    ({"order": "abc"}, "order"),
    ({"outage_class": "arrears", "account": "99999999999999999999"}, "account"),
    ({"outage_class": "arrears"}, "account"),
    ({"colour": "red"}, "colour"),
])
def test_bad_bodies_name_the_field_and_create_nothing(world: World, grid: Grid, over: dict[str, Any],
                                                      field: str) -> None:
    response = client_for(world.supervisor).post(OUTAGES, body(**over), format="json")
    assert field in errors(response), response.json()
    assert response.json()["code"] == "invalid" and response.json()["detail"]
    assert Outage.objects.count() == 0


def test_scope_without_customers_is_refused(world: World, grid: Grid) -> None:
    empty = make_node(actor=world.supervisor, unit=world.county_a1, parent=grid.f2, code="TA9", kind="ta")
    assert "nodes" in errors(client_for(world.supervisor).post(OUTAGES, body(nodes=[empty.code]), format="json"))
    assert Outage.objects.count() == 0


def test_non_json_and_list_bodies(world: World, grid: Grid) -> None:
    client = client_for(world.supervisor)
    broken = client.generic("POST", OUTAGES, "{not json", content_type="application/json")
    assert broken.status_code == 400 and broken.json()["code"] == "parse_error"
    form = client.post(OUTAGES, {"utility": "power"})  # multipart
    assert form.status_code == 415
    listed = client.generic("POST", OUTAGES, json.dumps([body()]), content_type="application/json")
    assert "non_field_errors" in errors(listed)
    assert Outage.objects.count() == 0


def test_only_editors_create(world: World, grid: Grid) -> None:
    response = client_for(world.agent_a1).post(OUTAGES, body(), format="json")
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    assert Outage.objects.count() == 0


# ---------------------------------------------------------------- read


def test_list_detail_and_affected_follow_the_scope(world: World, grid: Grid) -> None:
    data = create(client_for(world.supervisor))
    assert ids(client_for(world.supervisor).get(OUTAGES)) == {data["id"]}
    assert ids(client_for(world.agent_a1).get(OUTAGES)) == {data["id"]}
    assert ids(client_for(world.agent_a2).get(OUTAGES)) == set()
    assert ids(client_for(world.outsider).get(OUTAGES)) == set()
    assert ids(client_for(world.admin).get(OUTAGES)) == {data["id"]}
    detail = f"{OUTAGES}{data['id']}/"
    assert client_for(world.agent_a1).get(detail).status_code == 200
    for blind in (world.outsider, world.agent_a2):
        assert client_for(blind).get(detail).status_code == 404
        assert client_for(blind).get(f"{detail}affected/").status_code == 404
        assert step(client_for(blind), data, "cancel", reason="x").status_code in (403, 404)
    assert client_for(world.outsider).patch(detail, {"area": "x", "version": 1}, format="json").status_code == 404
    assert client_for(world.supervisor).get(f"{OUTAGES}abc/").status_code == 404
    assert client_for(world.supervisor).get(f"{OUTAGES}99999999999999999999/").status_code == 404


def test_list_filters(world: World, grid: Grid) -> None:
    client = client_for(world.supervisor)
    draft = create(client, area="草稿区域")
    live = published(client, area="临时检修区域")
    assert ids(client.get(OUTAGES, {"status": "draft"})) == {draft["id"]}
    assert ids(client.get(OUTAGES, {"live": "true"})) == {live["id"]}
    assert ids(client.get(OUTAGES, {"outage_class": "temporary"})) == {live["id"]}
    assert ids(client.get(OUTAGES, {"utility": "gas"})) == set()
    assert ids(client.get(OUTAGES, {"q": "草稿"})) == {draft["id"]}
    assert ids(client.get(OUTAGES, {"start_from": "2026-11-10"})) == {draft["id"]}
    assert ids(client.get(OUTAGES, {"start_to": "2026-11-05"})) == {live["id"]}
    assert "status" in errors(client.get(OUTAGES, {"status": "sleeping"}))
    assert "start_from" in errors(client.get(OUTAGES, {"start_from": "2026-02-30"}))
    assert "start_to" in errors(client.get(OUTAGES, {"start_from": "2026-11-10", "start_to": "2026-11-01"}))
    first = client.get(OUTAGES, {"page_size": 1}).json()
    assert len(first["results"]) == 1 and first["next"]


def test_affected_accounts_have_no_phones(world: World, grid: Grid) -> None:
    client = client_for(world.supervisor)
    data = create(client)
    response = client.get(f"{OUTAGES}{data['id']}/affected/")
    rows = response.json()["results"]
    assert {r["number"] for r in rows} == {a.number for a in grid.under("TA1", "TA2")}
    assert set(rows[0]) == {"account", "number", "customer_name", "address", "important", "dedicated"}
    assert all(r["customer_name"] and r["address"] for r in rows)
    phones = [c.phone for a in grid.under("TA1", "TA2") for c in a.customer.contacts.all()]
    assert phones and not any(p[-8:] in response.content.decode() for p in phones)
    important = client.get(f"{OUTAGES}{data['id']}/affected/", {"important": "true"}).json()["results"]
    assert [r["number"] for r in important] == [grid.accounts["TA1"][2].number]
    assert "important" in errors(client.get(f"{OUTAGES}{data['id']}/affected/", {"important": "maybe"}))


# ---------------------------------------------------------------- edit and steps


def test_patch_a_draft_with_version_or_if_match(world: World, grid: Grid) -> None:
    client = client_for(world.supervisor)
    data = create(client)
    url = f"{OUTAGES}{data['id']}/"
    assert "version" in errors(client.patch(url, {"area": "新区域"}, format="json"))
    changed = client.patch(url, {"area": "新区域", "version": data["version"]}, format="json")
    assert changed.status_code == 200, changed.content
    assert changed.json()["area"] == "新区域" and changed.json()["version"] == data["version"] + 1
    # What was not sent stays: the scope, the times.
    assert [n["code"] for n in changed.json()["nodes"]] == ["TA1", "TA2"]
    assert changed.json()["planned_start"] == data["planned_start"]
    stale = client.patch(url, {"area": "再改", "version": data["version"]}, format="json")
    assert stale.status_code == 409 and stale.json()["code"] == "conflict"
    etag = changed["ETag"]
    narrowed = client.patch(url, {"nodes": ["TA2"]}, format="json", HTTP_IF_MATCH=etag)
    assert narrowed.status_code == 200, narrowed.content
    assert narrowed.json()["affected_count"] == 2 and narrowed.json()["important_count"] == 0
    assert "If-Match" in errors(client.patch(url, {"area": "x"}, format="json", HTTP_IF_MATCH="soon"))
    assert "nodes" in errors(client.patch(url, {"nodes": ["NOPE"], "version": narrowed.json()["version"]},
                                          format="json"))
    assert Outage.objects.get(pk=data["id"]).area == "新区域"
    assert step(client, data, "review").status_code == 200
    reviewed = client.get(url).json()
    assert client.patch(url, {"area": "x", "version": reviewed["version"]}, format="json").status_code == 409


def test_publish_refused_late_then_supervisor_overrides(world: World, grid: Grid) -> None:
    start = NOW + timedelta(days=2)
    supervisor = client_for(world.supervisor)
    data = create(supervisor, planned_start=local(start), planned_end=local(start + timedelta(hours=6)))
    assert step(client_for(world.agent_a1), data, "review").status_code == 403
    reviewed = step(supervisor, data, "review", note="范围已核对")
    assert reviewed.status_code == 200 and reviewed.json()["status"] == "reviewed"

    # An agent may not publish.
    denied = step(client_for(world.agent_a1), data, "publish")
    assert denied.status_code == 403 and denied.json()["code"] == "forbidden"
    # Too late for the planned-outage rule: the rule is in the body, nothing is sent.
    late = step(supervisor, data, "publish", version=reviewed.json()["version"])
    assert late.status_code == 400, late.content
    refused = late.json()
    rule = NoticeRule.objects.get(kind="notice", outage_class="planned")
    assert refused["code"] == "notice_rule" and "7 天" in refused["detail"]  # Chinese by default
    assert refused["extra"]["rules"][0]["rule"] == rule.pk and refused["extra"]["rules"][0]["source"]
    assert "planned_start" in refused["errors"]
    assert Outage.objects.get(pk=data["id"]).status == "reviewed" and sms_count() == 0
    # A shift leader may publish but not override a rule.
    leader = client_for(make_staff(unit=world.county_a1, roles=["shift_leader"]))
    assert step(leader, data, "publish", override_reason="急需").status_code == 403
    # The director overrides with a reason: recorded on the outage and in the event.
    done = step(supervisor, data, "publish", override_reason="配合市政抢修，已电话告知重要客户")
    assert done.status_code == 200, done.content
    out = done.json()
    assert out["status"] == "published" and out["override_reason"] == "配合市政抢修，已电话告知重要客户"
    assert out["override_by"]["id"] == world.supervisor.pk and out["published_at"]
    assert out["channels"] == ["sms", "list", "desk", "ivr"]
    event = out["events"][-1]
    assert event["kind"] == "publish" and event["data"]["override"] == out["override_reason"]
    assert event["data"]["breaches"][0]["rule"] == rule.pk
    queued = sms_count()
    assert queued == 5  # one per affected customer's mobile phone
    # Publishing again is refused and sends nothing more.
    again = step(supervisor, data, "publish", override_reason="再发一次")
    assert again.status_code == 409 and again.json()["code"] == "illegal_transition"
    assert sms_count() == queued


def test_return_extend_change_cancel(world: World, grid: Grid) -> None:
    client = client_for(world.supervisor)
    draft = create(client)
    step(client, draft, "review")
    assert "reason" in errors(step(client, draft, "return"))
    back = step(client, draft, "return", reason="范围不对")
    assert back.status_code == 200 and back.json()["status"] == "draft"

    live = published(client)
    end = datetime.fromisoformat(live["planned_end"])
    assert "reason" in errors(step(client, live, "extend", planned_end=local(end + timedelta(hours=2))))
    assert "planned_end" in errors(step(client, live, "extend", planned_end=local(end), reason="延时"))
    assert "planned_end" in errors(step(client, live, "extend", planned_end="tomorrow", reason="延时"))
    extended = step(client, live, "extend", planned_end=local(end + timedelta(hours=2)), reason="设备更换延时")
    assert extended.status_code == 200, extended.content
    assert extended.json()["status"] == "extended"
    assert datetime.fromisoformat(extended.json()["planned_end"]) == end + timedelta(hours=2)
    start = datetime.fromisoformat(live["planned_start"]) + timedelta(hours=1)
    assert "planned_end" in errors(step(client, live, "change", planned_start=local(start),
                                        planned_end=local(start), reason="调整"))
    changed = step(client, live, "change", planned_start=local(start), planned_end=local(start + timedelta(hours=3)),
                   reason="调整作业时间", version=extended.json()["version"])
    assert changed.status_code == 200, changed.content
    assert changed.json()["status"] == "changed"
    assert step(client, live, "cancel", version=1, reason="x").status_code == 409
    assert "reason" in errors(step(client, live, "cancel"))
    cancelled = step(client, live, "cancel", reason="施工取消")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert step(client, live, "restore").status_code == 409


GARBAGE: list[Any] = [
    [], "text", 7, None, {"version": "x"}, {"version": True}, {"version": 0}, {"reason": ["a"]},
    {"reason": {"a": 1}}, {"planned_end": 12}, {"planned_end": "2030-13-45T99:00"}, {"planned_start": None},
    {"override_reason": ["x"]}, {"note": {"n": 1}}, {"actual_end": "9999-12-31T23:59:59-14:00"}, {"": 1},
]


@pytest.mark.parametrize("name", ["review", "return", "publish", "extend", "change", "cancel", "restore"])
def test_garbage_step_bodies_never_500(world: World, grid: Grid, name: str) -> None:
    client = client_for(world.admin)
    data = published(client_for(world.supervisor))
    for garbage in GARBAGE:
        response = client.generic("POST", f"{OUTAGES}{data['id']}/{name}/", json.dumps(garbage),
                                  content_type="application/json")
        assert response.status_code in (400, 409), (name, garbage, response.status_code, response.content)


# ---------------------------------------------------------------- public list


def test_public_list_shows_published_outages_without_personal_data(world: World, grid: Grid) -> None:
    client = client_for(world.supervisor)
    draft = create(client, area="草稿里的区域")
    live = published(client, area="文三路停电区域", reason="线路检修")
    # A disconnection is about one customer: never public.
    cut = grid.accounts["TA2"][0]
    start = NOW + timedelta(hours=2)
    arrears = create(client, outage_class="arrears", account=cut.number, nodes=[], area="欠费停电",
                     planned_start=local(start), planned_end=local(start + timedelta(hours=4)))
    step(client, arrears, "review")
    assert step(client, arrears, "publish").status_code == 200

    anonymous = APIClient()
    response = anonymous.get(PUBLIC)
    assert response.status_code == 200, response.content
    rows = response.json()["results"]
    assert [r["number"] for r in rows] == [live["number"]]
    assert set(rows[0]) == {"number", "utility", "utility_label", "outage_class", "class_label", "status",
                            "status_label", "area", "reason", "start", "expected_restoration"}
    assert rows[0]["area"] == "文三路停电区域" and rows[0]["expected_restoration"] == live["planned_end"]
    text = response.content.decode()
    for account in grid.under("TA1", "TA2"):
        assert account.number not in text and account.customer.name not in text
        assert all(c.phone[-8:] not in text for c in account.customer.contacts.all())
    assert draft["number"] not in text and world.county_a1.name not in text
    assert anonymous.get(PUBLIC, {"utility": "gas"}).json()["results"] == []
    assert "utility" in errors(anonymous.get(PUBLIC, {"utility": "water"}))


def test_public_list_window_is_seven_days(world: World, grid: Grid, clock: time_machine.Traveller) -> None:
    client = client_for(world.supervisor)
    start = NOW + timedelta(days=7, hours=6)
    data = create(client, planned_start=local(start), planned_end=local(start + timedelta(hours=8)))
    step(client, data, "review")
    assert step(client, data, "publish").status_code == 200
    assert APIClient().get(PUBLIC).json()["results"] == []
    clock.shift(timedelta(hours=7))
    assert [r["number"] for r in APIClient().get(PUBLIC).json()["results"]] == [data["number"]]


# ---------------------------------------------------------------- fault proposals


def repair_calls(world: World, grid: Grid) -> list[WorkOrder]:
    return [workorder_intake(actor=world.agent_a1, order_type="repair", channel="phone", account=account,
                             content="家里没电了").order for account in grid.accounts["TA1"]]


def test_three_repair_calls_make_a_proposal_confirmed_via_the_api(world: World, grid: Grid,
                                                                   clock: time_machine.Traveller) -> None:
    orders = repair_calls(world, grid)
    agent = client_for(world.agent_a1)
    rows = agent.get(PROPOSALS).json()["results"]
    assert len(rows) == 1, rows
    proposal = rows[0]
    assert proposal["node"]["code"] == "TA1" and proposal["call_count"] == 3 and proposal["status"] == "open"
    assert {c["order"]["number"] for c in proposal["calls"]} == {o.number for o in orders}
    assert client_for(world.outsider).get(PROPOSALS).json()["results"] == []
    confirm_url = f"{PROPOSALS}{proposal['id']}/confirm/"
    assert client_for(world.outsider).post(confirm_url, {}, format="json").status_code == 404
    assert "expected_hours" in errors(agent.post(confirm_url, {"expected_hours": 100}, format="json"))
    assert agent.post(confirm_url, {"version": proposal["version"] + 1}, format="json").status_code == 409

    response = agent.post(confirm_url, {"expected_hours": 3, "version": proposal["version"]}, format="json")
    assert response.status_code == 201, response.content
    outage = response.json()
    assert outage["status"] == "published" and outage["outage_class"] == "fault"
    assert [n["code"] for n in outage["nodes"]] == ["TA1"] and outage["affected_count"] == 3
    assert datetime.fromisoformat(outage["planned_end"]) == NOW + timedelta(hours=3)
    assert {c["order"]["id"] for c in outage["calls"]} == {o.pk for o in orders}
    assert sum(c["lead"] for c in outage["calls"]) == 1
    assert FaultProposal.objects.get(pk=proposal["id"]).status == "confirmed"
    assert agent.get(PROPOSALS).json()["results"] == []
    assert agent.post(confirm_url, {}, format="json").status_code == 409

    # Restored through the API: the waiting repair orders are resolved with it.
    clock.shift(timedelta(hours=2))
    restored = step(client_for(world.supervisor), outage, "restore", note="更换熔断器")
    assert restored.status_code == 200, restored.content
    assert restored.json()["status"] == "restored"
    assert datetime.fromisoformat(restored.json()["actual_end"]) == NOW + timedelta(hours=2)
    assert set(WorkOrder.objects.filter(pk__in=[o.pk for o in orders]).values_list("status", flat=True)) \
        == {"replied"}


def test_dismiss_a_proposal(world: World, grid: Grid) -> None:
    repair_calls(world, grid)
    agent = client_for(world.agent_a1)
    proposal = agent.get(PROPOSALS).json()["results"][0]
    url = f"{PROPOSALS}{proposal['id']}/dismiss/"
    assert "reason" in errors(agent.post(url, {}, format="json"))
    done = agent.post(url, {"reason": "各自家中跳闸"}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "dismissed"
    assert agent.get(PROPOSALS).json()["results"] == []
    assert client_for(world.agent_a1).post(f"{PROPOSALS}abc/dismiss/", {}, format="json").status_code == 404


# ---------------------------------------------------------------- reliability


def test_reliability_indices(world: World, grid: Grid, clock: time_machine.Traveller) -> None:
    repair_calls(world, grid)
    agent = client_for(world.agent_a1)
    proposal = agent.get(PROPOSALS).json()["results"][0]
    outage = agent.post(f"{PROPOSALS}{proposal['id']}/confirm/", {}, format="json").json()
    clock.shift(timedelta(hours=2))
    assert step(client_for(world.supervisor), outage, "restore").status_code == 200

    query: dict[str, Any] = {"unit": world.county_a1.pk, "start": "2026-11-02", "end": "2026-11-02",
                             "utility": "power"}
    response = client_for(world.supervisor).get(RELIABILITY, query)
    assert response.status_code == 200, response.content
    data = response.json()
    # County A1 serves 7 power accounts (A1's own and the six on the grid); 3 were out for 2 hours.
    assert data["unit"]["id"] == world.county_a1.pk and data["customers_served"] == 7
    assert (data["interruptions"], data["customer_hours"], data["outages"]) == (3, "6.0000", 1)
    assert (data["saifi"], data["saidi"], data["caidi"], data["rs1"]) == ("0.4286", "0.8571", "2.0000", "96.4286")
    # Default unit: the user's own; a day without outages.
    mine = agent.get(RELIABILITY, {"start": "2026-11-03", "end": "2026-11-03"}).json()
    assert mine["unit"]["id"] == world.county_a1.pk and mine["interruptions"] == 0 and mine["rs1"] == "100.0000"


def test_reliability_bad_queries(world: World, grid: Grid) -> None:
    client = client_for(world.supervisor)
    good = {"start": "2026-11-01", "end": "2026-11-30"}
    assert client.get(RELIABILITY, {**good, "unit": str(world.county_b1.pk)}).status_code == 404
    assert client_for(world.outsider).get(RELIABILITY, {**good, "unit": str(world.county_a1.pk)}).status_code == 404
    assert "start" in errors(client.get(RELIABILITY, {"end": "2026-11-30"}))
    assert "start" in errors(client.get(RELIABILITY, {**good, "start": "2026-13-01"}))
    assert "end" in errors(client.get(RELIABILITY, {**good, "end": "30/11/2026"}))
    assert "end" in errors(client.get(RELIABILITY, {**good, "end": "2026-10-01"}))
    assert "start" in errors(client.get(RELIABILITY, {**good, "start": "0001-01-01"}))
    assert "end" in errors(client.get(RELIABILITY, {"start": "2000-01-01", "end": "2099-12-31"}))
    assert "unit" in errors(client.get(RELIABILITY, {**good, "unit": "abc"}))
    assert "utility" in errors(client.get(RELIABILITY, {**good, "utility": "water"}))
    assert APIClient().get(RELIABILITY, good).status_code in (401, 403)


JUNK: list[Any] = [None, True, -1, 10**30, 1.5, "", "x" * 10_000, "\x00", {"a": 1}, [1, [2]], "１２３", "²", "9" * 5000,
                   "1e3"]


def test_junk_in_every_field_never_gives_a_500(world: World, grid: Grid) -> None:
    client = client_for(world.admin)
    for field in [*body(), "account", "order", "version"]:
        for junk in JUNK:
            response = client.post(OUTAGES, body(**{field: junk}), format="json")
            assert response.status_code in (201, 400), (field, junk, response.content[:300])
            if response.status_code == 400:
                assert response.json()["errors"], (field, junk)
    draft = create(client)
    for field in ["area", "nodes", "planned_start", "version"]:
        for junk in JUNK:
            response = client.patch(f"{OUTAGES}{draft['id']}/", {"version": 1, field: junk}, format="json")
            assert response.status_code in (200, 400, 409), (field, junk, response.content[:300])


@pytest.mark.parametrize("url", [OUTAGES, PUBLIC, PROPOSALS, RELIABILITY])
def test_junk_query_params_never_give_a_500(world: World, grid: Grid, url: str) -> None:
    client = client_for(world.admin)
    for param in ["status", "outage_class", "utility", "live", "q", "start_from", "start_to", "cursor", "page_size",
                  "unit", "start", "end"]:
        for junk in ["", "x" * 5000, "9" * 5000, "²", "\x00", "-1", str(10**30), "1.5", "１", "%00", "[]"]:
            response = client.get(url, {param: junk})
            assert response.status_code in (200, 400), (url, param, junk, response.status_code)
