"""The outage pages as dispatchers use them: a draft through the form (and the field messages of a bad
one), review and publish through the action forms, the late-notice refusal with the rule it breaks and
a supervisor's override, restoration, the affected accounts (no phone numbers), fault proposals
confirmed from the page, the reliability figures and their Excel export, and the SMS templates."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from kefu.core.models import AuditLog
from kefu.customers.models import Contact
from kefu.org.tests.factories import make_staff
from kefu.outages import services as svc
from kefu.outages.choices import Action, ProposalStatus, Status
from kefu.outages.models import FaultProposal, MessageTemplate, Outage, OutageEvent
from kefu.outages.tests.factories import Grid, make_grid
from kefu.outages.views import outages as outage_views
from kefu.workorders.services import workorder_intake

if TYPE_CHECKING:
    from conftest import World

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=SHANGHAI)
START = datetime(2026, 3, 10, 10, 0, tzinfo=SHANGHAI)  # 9 days ahead: in time for every notice rule


@pytest.fixture(autouse=True)
def english(settings: Any) -> None:
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def grid(world: World, clock: time_machine.Traveller) -> Grid:
    return make_grid(world)


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def local(moment: datetime) -> str:
    """As a datetime-local input sends it."""
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")


def form(**over: Any) -> dict[str, Any]:
    data = {"utility": "power", "outage_class": "planned", "area": "文三路1号至2号台区", "reason": "10kV城东线检修",
            "planned_start": local(START), "planned_end": local(START + timedelta(hours=8)), "nodes": "F1",
            "accounts": "", "account": "", "order": ""}
    return {**data, **over}


def draft(world: World, **over: Any) -> Outage:
    data = {**form(), "planned_start": START, "planned_end": START + timedelta(hours=8), **over}
    return svc.outage_create(actor=world.supervisor, data=data)


def reviewed(world: World, **over: Any) -> Outage:
    return svc.outage_review(actor=world.supervisor, outage=draft(world, **over))


def published(world: World, **over: Any) -> Outage:
    return svc.outage_publish(actor=world.supervisor, outage=reviewed(world, **over))


def act(client: Client, outage: Outage, action: str, **data: Any) -> Any:
    outage.refresh_from_db()
    return client.post(reverse("outages:action", args=[outage.pk, action]), {"version": outage.version, **data})


def page(client: Client, name: str, *args: Any, **query: Any) -> str:
    response = client.get(reverse(name, args=args), query)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def field_errors(html: str, field: str) -> str:
    """The text of the messages shown beside one field."""
    marker = f'data-field="{field}">'
    return " ".join(part.split("</div>")[0] for part in html.split(marker)[1:])


# The draft form -----------------------------------------------------------------------------------

def test_dispatcher_creates_a_draft_through_the_form(world: World, grid: Grid) -> None:
    client = login(world.supervisor)
    assert 'id="new-outage"' in page(client, "outages:list")
    assert "Topology nodes" in page(client, "outages:create")
    response = client.post(reverse("outages:create"), form())
    assert response.status_code == 302
    outage = Outage.objects.get()
    assert response["Location"] == reverse("outages:detail", args=[outage.pk])
    assert (outage.status, outage.planned_start, outage.planned_end) == (Status.DRAFT, START,
                                                                        START + timedelta(hours=8))
    assert (outage.affected_count, outage.important_count, outage.dedicated_count) == (5, 1, 0)
    html = page(client, "outages:detail", outage.pk)
    assert outage.number in html and 'data-status="draft"' in html
    assert 'data-count="affected">5<' in html and 'data-count="important">1<' in html
    assert 'data-node="F1"' in html and 'data-event="create"' in html
    # A draft is reviewed or cancelled; it is not published straight away.
    assert 'data-action="review"' in html and 'data-action="cancel"' in html and 'data-action="publish"' not in html


@pytest.mark.parametrize(("over", "field", "message"), [
    ({"planned_end": local(START - timedelta(hours=1))}, "planned_end",
     "The expected restoration must be after the start."),
    ({"nodes": "F1, NOPE9"}, "nodes", "Unknown topology node(s) in your area: NOPE9"),
    ({"nodes": ""}, "nodes", "Choose the topology nodes or list the accounts the outage cuts off."),
    ({"planned_start": "next tuesday"}, "planned_start", "Enter the start as a date and time"),
    ({"outage_class": "gas_planned"}, "outage_class", "is not a power outage"),
    ({"outage_class": "arrears"}, "account", "A disconnection outage needs the account it disconnects."),
    ({"area": ""}, "area", "This field is required."),
])
def test_a_bad_form_names_the_field_and_creates_nothing(world: World, grid: Grid, over: dict[str, Any], field: str,
                                                        message: str) -> None:
    response = login(world.supervisor).post(reverse("outages:create"), form(**over))
    assert response.status_code == 400
    html = response.content.decode()
    assert message in field_errors(html, field), field_errors(html, field)
    assert Outage.objects.count() == 0


def test_listed_accounts_and_a_disconnection_of_one_account(world: World, grid: Grid) -> None:
    debtor = grid.accounts["TA2"][0]
    client = login(world.supervisor)
    response = client.post(reverse("outages:create"), form(outage_class="arrears", nodes="", account=debtor.number,
                                                            reason="欠费停电"))
    assert response.status_code == 302
    outage = Outage.objects.get()
    assert (outage.account_id, outage.affected_count) == (debtor.pk, 1)
    listed = grid.accounts["TA3"][0].number + "\n" + grid.accounts["TA1"][0].number
    response = client.post(reverse("outages:create"), form(nodes="", accounts=listed))
    assert response.status_code == 302
    assert Outage.objects.order_by("-id").first().affected_count == 2  # type: ignore[union-attr]


def test_edit_a_draft_with_its_version(world: World, grid: Grid) -> None:
    outage = draft(world)
    client = login(world.supervisor)
    html = page(client, "outages:edit", outage.pk)
    assert 'value="F1"' in html and local(START) in html
    response = client.post(reverse("outages:edit", args=[outage.pk]), form(nodes="TA1", version=outage.version))
    assert response.status_code == 302
    outage.refresh_from_db()
    assert outage.affected_count == 3 and outage.version == 2
    stale = client.post(reverse("outages:edit", args=[outage.pk]), form(nodes="F1", version=1))
    assert stale.status_code == 409
    assert "was changed by someone else" in stale.content.decode() and 'id="conflict"' in stale.content.decode()
    assert Outage.objects.get(pk=outage.pk).affected_count == 3
    svc.outage_review(actor=world.supervisor, outage=outage)
    assert client.get(reverse("outages:edit", args=[outage.pk])).status_code == 409  # only drafts are edited


def test_roles_and_scope(world: World, grid: Grid) -> None:
    outage = draft(world)
    agent = login(world.agent_a1)
    assert outage.number in page(agent, "outages:list")
    assert 'id="new-outage"' not in page(agent, "outages:list")
    assert agent.get(reverse("outages:create")).status_code == 403
    assert act(agent, outage, "review").status_code == 403
    assert 'id="action-buttons"' in page(agent, "outages:detail", outage.pk)
    assert 'data-action="review"' not in page(agent, "outages:detail", outage.pk)
    for stranger in (world.agent_a2, world.outsider):
        client = login(stranger)
        assert client.get(reverse("outages:detail", args=[outage.pk])).status_code == 404
        assert client.get(reverse("outages:affected", args=[outage.pk])).status_code == 404
        assert outage.number not in page(client, "outages:list")


# Actions ------------------------------------------------------------------------------------------

def test_review_and_publish_through_the_action_forms(world: World, grid: Grid) -> None:
    outage = draft(world)
    client = login(world.supervisor)
    response = act(client, outage, "review", note="范围已核对")
    assert response.status_code == 302 and response["Location"] == reverse("outages:detail", args=[outage.pk])
    html = page(client, "outages:detail", outage.pk)
    assert 'data-status="reviewed"' in html and "范围已核对" in html
    assert 'data-action="publish"' in html and 'data-action="return"' in html
    assert 'id="publish-warnings"' not in html  # nine days ahead: no rule is broken
    response = act(client, outage, "publish")
    assert response.status_code == 302
    outage.refresh_from_db()
    assert outage.status == Status.PUBLISHED and not outage.override_reason
    html = page(client, "outages:detail", outage.pk)
    assert 'data-status="published"' in html
    assert "5 affected accounts (1 important, 0 dedicated)" in html and "SMS queued" in html
    assert [e.kind for e in OutageEvent.objects.filter(outage=outage)] == ["create", "review", "publish"]
    # Published: the live actions, and none of the earlier ones.
    for action in ("extend", "change", "cancel", "restore"):
        assert f'data-action="{action}"' in html
    assert 'data-action="review"' not in html
    listed = page(client, "outages:list", status="published")
    assert outage.number in listed and 'data-status="published"' in listed


def test_late_notice_is_refused_with_the_rule_and_a_supervisor_overrides(world: World, grid: Grid) -> None:
    leader = make_staff("leader_a1", unit=world.county_a1, roles=["shift_leader"])
    outage = reviewed(world, planned_start=NOW + timedelta(days=2), planned_end=NOW + timedelta(days=2, hours=6))
    leaders = login(leader)
    before = page(leaders, "outages:detail", outage.pk)
    assert 'id="publish-warnings"' in before and 'name="override_reason"' not in before
    response = act(leaders, outage, "publish")
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="broken-rules"' in html
    assert "A Planned outage must be announced to customers at least 7 days before it starts" in html
    assert "供电服务十项承诺" in html  # the rule's source
    assert "Only a supervisor may go ahead anyway" in html
    assert Outage.objects.get(pk=outage.pk).status == Status.REVIEWED

    supervisor = login(world.supervisor)
    assert 'name="override_reason"' in page(supervisor, "outages:detail", outage.pk)
    refused = act(supervisor, outage, "publish")
    assert refused.status_code == 400 and "give the override reason below" in refused.content.decode()
    response = act(supervisor, outage, "publish", override_reason="抢修配网设备缺陷, 已逐户电话告知")
    assert response.status_code == 302
    outage.refresh_from_db()
    assert outage.status == Status.PUBLISHED
    assert (outage.override_reason, outage.override_by_id) == ("抢修配网设备缺陷, 已逐户电话告知", world.supervisor.pk)
    event = OutageEvent.objects.get(outage=outage, kind=Action.PUBLISH)
    assert event.data["override"] == outage.override_reason and event.data["breaches"]
    html = page(supervisor, "outages:detail", outage.pk)
    assert 'id="override"' in html and "抢修配网设备缺陷" in html


def test_refusals_are_messages_on_the_page(world: World, grid: Grid) -> None:
    outage = reviewed(world)
    client = login(world.supervisor)
    stale = client.post(reverse("outages:action", args=[outage.pk, "publish"]), {"version": outage.version - 1})
    assert stale.status_code == 409
    assert "was changed by someone else" in stale.content.decode()
    missing = client.post(reverse("outages:action", args=[outage.pk, "publish"]), {})
    assert missing.status_code == 400 and "The page is out of date" in missing.content.decode()
    wrong_state = act(client, outage, "restore")
    assert wrong_state.status_code == 409
    assert "A Reviewed outage cannot be changed this way (Record restoration)." in wrong_state.content.decode()
    no_reason = act(client, outage, "return")
    assert no_reason.status_code == 400 and "This field is required." in no_reason.content.decode()
    assert client.post(reverse("outages:action", args=[outage.pk, "explode"]), {"version": 1}).status_code == 404
    assert Outage.objects.get(pk=outage.pk).status == Status.REVIEWED


def test_extend_change_and_cancel(world: World, grid: Grid) -> None:
    outage = published(world)
    client = login(world.supervisor)
    later = START + timedelta(hours=10)
    response = act(client, outage, "extend", planned_end=local(later), reason="工作量增加")
    assert response.status_code == 302
    outage.refresh_from_db()
    assert (outage.status, outage.planned_end) == (Status.EXTENDED, later)
    earlier = act(client, outage, "extend", planned_end=local(START + timedelta(hours=2)), reason="x")
    assert earlier.status_code == 400 and "An extension must move the restoration later" in earlier.content.decode()
    moved = START + timedelta(days=1)
    response = act(client, outage, "change", planned_start=local(moved), planned_end=local(moved + timedelta(hours=4)),
                   reason="配合市政施工")
    assert response.status_code == 302
    outage.refresh_from_db()
    assert (outage.status, outage.planned_start) == (Status.CHANGED, moved)
    response = act(client, outage, "cancel", reason="检修取消")
    assert response.status_code == 302
    html = page(client, "outages:detail", outage.pk)
    assert 'data-status="cancelled"' in html and "检修取消" in html
    assert "Nothing for you to do on this outage now." in html


def test_a_late_extension_breaks_the_change_rule_unless_overridden(world: World, grid: Grid,
                                                                  clock: time_machine.Traveller) -> None:
    outage = published(world)
    clock.move_to(START + timedelta(hours=7, minutes=30))  # half an hour before the announced restoration
    leader = login(make_staff("leader_a1", unit=world.county_a1, roles=["shift_leader"]))
    later = local(START + timedelta(hours=12))
    refused = act(leader, outage, "extend", planned_end=later, reason="故障点较多")
    assert refused.status_code == 400
    html = refused.content.decode()
    assert 'id="broken-rules"' in html and "A later restoration must be reported at least 1 hour before" in html
    assert 'name="override_reason"' not in html
    supervisor = login(world.supervisor)
    response = act(supervisor, outage, "extend", planned_end=later, reason="故障点较多", override_reason="现场突发")
    assert response.status_code == 302
    outage.refresh_from_db()
    assert outage.status == Status.EXTENDED
    assert "Notice rule overridden: 现场突发" in page(supervisor, "outages:detail", outage.pk)


def test_restore_records_the_actual_times(world: World, grid: Grid, clock: time_machine.Traveller) -> None:
    outage = published(world)
    clock.move_to(START + timedelta(hours=6))
    client = login(world.supervisor)
    future = act(client, outage, "restore", actual_end=local(START + timedelta(days=1)))
    assert future.status_code == 400 and "cannot be in the future" in future.content.decode()
    response = act(client, outage, "restore", actual_start=local(START + timedelta(minutes=5)), note="已送电")
    assert response.status_code == 302
    outage.refresh_from_db()
    assert outage.status == Status.RESTORED
    assert (outage.actual_start, outage.actual_end) == (START + timedelta(minutes=5), START + timedelta(hours=6))
    html = page(client, "outages:detail", outage.pk)
    assert 'data-status="restored"' in html and 'data-field="actual_end"' in html
    assert "Restored at 03月10日 16:00" in html


# Affected accounts --------------------------------------------------------------------------------

def test_affected_accounts_are_paged_flagged_and_never_show_phones(world: World, grid: Grid,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    outage = draft(world, nodes="F1, F2")
    client = login(world.supervisor)
    detail = page(client, "outages:detail", outage.pk)
    monkeypatch.setattr(outage_views, "AFFECTED_PAGE_SIZE", 4)
    first = client.get(reverse("outages:affected", args=[outage.pk]), HTTP_HX_REQUEST="true").content.decode()
    second = client.get(reverse("outages:affected", args=[outage.pk]), {"page": 2},
                        HTTP_HX_REQUEST="true").content.decode()
    assert first.lstrip().startswith('<div id="affected-accounts">') and "<html" not in first
    assert "Page 1 of 2" in first and "Page 2 of 2" in second
    important, dedicated = grid.accounts["TA1"][2], grid.accounts["TA3"][0]
    rows = first + second
    assert all(a.number in rows for a in grid.under("TA1", "TA2", "TA3"))
    # Important first, then dedicated: both on the first page, flagged.
    assert f'data-account="{important.number}" data-important' in first
    assert f'data-account="{dedicated.number}" data-dedicated' in first
    phones = Contact.objects.filter(customer__accounts__in=grid.under("TA1", "TA2", "TA3")).values_list("phone",
                                                                                                          flat=True)
    assert phones and not any(p in detail or p in rows for p in phones)
    full = page(client, "outages:affected", outage.pk)
    assert "<html" in full and important.number in full


# Fault proposals ----------------------------------------------------------------------------------

def repair_calls(world: World, grid: Grid, count: int = 3) -> list[Any]:
    return [workorder_intake(actor=world.agent_a1, order_type="repair", channel="phone", account=account,
                             content="家里停电了").order for account in grid.accounts["TA1"][:count]]


def test_confirm_a_fault_proposal_from_the_page(world: World, grid: Grid) -> None:
    orders = repair_calls(world, grid)
    proposal = FaultProposal.objects.get(status=ProposalStatus.OPEN)
    client = login(world.agent_a1)
    assert 'href="/outages/proposals/"' in page(client, "outages:list")
    html = page(client, "outages:proposals")
    assert f'data-proposal="{proposal.pk}"' in html and "TA1" in html and 'data-calls="3"' in html
    assert all(o.number in html for o in orders)
    response = client.post(reverse("outages:proposal-confirm", args=[proposal.pk]),
                           {"version": proposal.version, "expected_hours": 3})
    assert response.status_code == 302
    outage = Outage.objects.get()
    assert response["Location"] == reverse("outages:detail", args=[outage.pk])
    assert (outage.status, outage.outage_class, outage.planned_end) == (Status.PUBLISHED, "fault",
                                                                        NOW + timedelta(hours=3))
    detail = page(client, "outages:detail", outage.pk)
    assert all(f'data-order="{o.number}"' in detail for o in orders)
    assert detail.count("Order for the crew") == 1
    assert reverse("workorders:detail", args=[orders[0].pk]) in detail
    assert "No open fault proposal in your area." in page(client, "outages:proposals")
    proposal.refresh_from_db()
    again = client.post(reverse("outages:proposal-confirm", args=[proposal.pk]), {"version": proposal.version})
    assert again.status_code == 409 and "This proposal was already Confirmed." in again.content.decode()


def test_dismiss_a_proposal_needs_a_reason(world: World, grid: Grid) -> None:
    repair_calls(world, grid)
    proposal = FaultProposal.objects.get(status=ProposalStatus.OPEN)
    client = login(world.supervisor)
    url = reverse("outages:proposal-dismiss", args=[proposal.pk])
    refused = client.post(url, {"version": proposal.version, "reason": ""})
    assert refused.status_code == 400 and "This field is required." in refused.content.decode()
    stale = client.post(url, {"version": proposal.version + 5, "reason": "各户内部故障"})
    assert stale.status_code == 409 and "More calls arrived" in stale.content.decode()
    assert client.post(url, {"version": proposal.version, "reason": "各户内部故障"}).status_code == 302
    assert FaultProposal.objects.get(pk=proposal.pk).status == ProposalStatus.DISMISSED
    for stranger in (world.agent_a2, world.outsider):
        assert login(stranger).post(reverse("outages:proposal-confirm", args=[proposal.pk]), {}).status_code == 404
        assert proposal.node.code not in page(login(stranger), "outages:proposals")


# Reliability --------------------------------------------------------------------------------------

def restored_on_f1(world: World, clock: time_machine.Traveller) -> Outage:
    """Five accounts of county A1 without supply for two hours on 10 March 2026."""
    outage = published(world)
    clock.move_to(START + timedelta(hours=3))
    return svc.outage_restore(actor=world.supervisor, outage=outage, actual_start=START,
                              actual_end=START + timedelta(hours=2))


PERIOD: dict[str, str] = {"start": "2026-01-01", "end": "2026-03-31", "utility": "power"}


def test_reliability_page_shows_the_indices(world: World, grid: Grid, clock: time_machine.Traveller) -> None:
    restored_on_f1(world, clock)
    draft(world, outage_class="arrears", nodes="", account=grid.accounts["TA2"][0].number)  # never counted
    client = login(world.supervisor)
    html = page(client, "outages:reliability", unit=world.county_a1.pk, **PERIOD)
    # Seven supplied accounts in county A1 (the world's own and six on the feeders); five out for 2 hours.
    assert 'data-figure="served">7<' in html and 'data-figure="interruptions">5<' in html
    assert 'data-figure="hours">10.00<' in html and 'data-figure="outages">1<' in html
    assert 'data-index="saifi">0.7143<' in html and 'data-index="saidi">1.4286<' in html
    assert 'data-index="caidi">2.0000<' in html
    # RS-1 = 1 − (10 / 7) / (90 days × 24 h)
    assert 'data-index="rs1">99.9339%<' in html
    assert 'data-row="2026-03"' in html and "Month by month, 2026" in html
    # The formulas are explained.
    assert "Outages that overlap in time count once per customer" in html and "are not counted" in html
    city = page(client, "outages:reliability", unit=world.city_a.pk, **PERIOD)
    assert 'data-figure="served">8<' in city  # county A2's account is served too
    assert 'data-row="A1"' in city and 'data-row="A2"' in city
    default = page(client, "outages:reliability")
    assert "2026-01-01" in default and world.city_a.name in default


def test_reliability_refuses_a_bad_period_and_foreign_units(world: World, grid: Grid) -> None:
    client = login(world.agent_a1)
    response = client.get(reverse("outages:reliability"), {"start": "2026-03-01", "end": "2026-02-01"})
    assert response.status_code == 400
    assert "The period must end on or after its first day." in response.content.decode()
    foreign = client.get(reverse("outages:reliability"), {"unit": world.county_b1.pk})
    assert foreign.status_code == 400 and world.county_b1.name not in foreign.content.decode()


def test_reliability_export_opens_in_excel_with_the_figures(world: World, grid: Grid,
                                                            clock: time_machine.Traveller) -> None:
    restored_on_f1(world, clock)
    client = login(world.supervisor)
    response = client.get(reverse("outages:reliability-export"), {"unit": str(world.city_a.pk), **PERIOD})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="reliability-CA-20260101-20260331.xlsx"'
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["By unit", "By month", "About"]
    units = [list(r) for r in book["By unit"].iter_rows(values_only=True)]
    assert units[0][:3] == ["Unit", "Customers served", "Customer interruptions"]
    by_name = {r[0]: r for r in units[1:]}
    assert set(by_name) == {world.city_a.name, world.county_a1.name, world.county_a2.name}
    a1 = by_name[world.county_a1.name]
    assert a1[1:5] == [7, 5, 10, 1]
    assert [Decimal(str(v)) for v in a1[5:]] == [Decimal("0.7143"), Decimal("1.4286"), Decimal("2"),
                                                Decimal("99.9339")]
    assert by_name[world.county_a2.name][2] == 0
    months = [list(r) for r in book["By month"].iter_rows(values_only=True)]
    assert len(months) == 13 and months[3][0] == "2026-03" and months[3][2] == 5 and months[1][2] == 0
    audit = AuditLog.objects.get(action=AuditLog.Action.EXPORT)
    assert (audit.actor_id, audit.model, audit.object_id) == (world.supervisor.pk, "org.orgunit", world.city_a.pk)
    assert audit.detail["what"] == "outages.reliability" and audit.detail["end"] == "2026-03-31"

    chinese = client.get(reverse("outages:reliability-export"), {"unit": str(world.county_a1.pk), **PERIOD},
                         HTTP_ACCEPT_LANGUAGE="zh-hans")
    book = load_workbook(io.BytesIO(chinese.content))
    assert book.sheetnames == ["按单位", "按月", "说明"]
    head = next(book["按单位"].iter_rows(values_only=True))
    assert head[:2] == ("单位", "服务用户数")
    assert next(book["按月"].iter_rows(min_row=4, max_row=4, values_only=True))[0] == "2026年03月"


# SMS templates and rules --------------------------------------------------------------------------

def test_templates_page_refuses_an_unknown_field(world: World) -> None:
    admin = login(world.admin)
    before = MessageTemplate.objects.get(kind="published").text
    response = admin.post(reverse("outages:templates"), {"kind": "published", "text": "{area}{start}{end}{weather}",
                                                         "text_en": ""})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Unknown field {weather}." in field_errors(html, "text")
    assert MessageTemplate.objects.get(kind="published").text == before
    missing = admin.post(reverse("outages:templates"), {"kind": "restored", "text": "{area}已恢复供电"})
    assert missing.status_code == 400
    assert "The message must contain the field {restored_at}." in field_errors(missing.content.decode(), "text")
    saved = admin.post(reverse("outages:templates"), {"kind": "restored", "text": "{area}已于{restored_at}恢复供电",
                                                      "text_en": "{area}: restored at {restored_at}."})
    assert saved.status_code == 302
    assert MessageTemplate.objects.get(kind="restored").text == "{area}已于{restored_at}恢复供电"


def test_rules_are_read_only_for_others(world: World) -> None:
    client = login(world.supervisor)
    html = page(client, "outages:templates")
    assert 'id="notice-rules"' in html and "供电服务十项承诺" in html and "7 days" in html
    assert 'id="grouping-rules"' in html and 'name="text"' not in html
    assert "【停电通知】" in html
    response = client.post(reverse("outages:templates"), {"kind": "published", "text": "{area}{start}{end}"})
    assert response.status_code == 403


# The list -----------------------------------------------------------------------------------------

def test_list_filters(world: World, grid: Grid) -> None:
    live = published(world)
    waiting = draft(world, nodes="F2", area="华星科技专变", planned_start=START + timedelta(days=20),
                    planned_end=START + timedelta(days=20, hours=4))
    client = login(world.supervisor)
    everything = page(client, "outages:list")
    assert live.number in everything and waiting.number in everything and "2 outages" in everything
    assert f'data-outage="{live.number}"' in everything
    only_live = page(client, "outages:list", live="on")
    assert live.number in only_live and waiting.number not in only_live
    assert waiting.number in page(client, "outages:list", q="华星")
    assert live.number not in page(client, "outages:list", q="华星")
    by_date = page(client, "outages:list", start_from="2026-03-20")
    assert waiting.number in by_date and live.number not in by_date
    assert waiting.number in page(client, "outages:list", status="draft", utility="power", outage_class="planned")
    bad = client.get(reverse("outages:list"), {"start_from": "2026-04-01", "start_to": "2026-03-01"})
    assert bad.status_code == 400
    assert "The end of the range must not be before its beginning." in bad.content.decode()


def test_node_search_helper(world: World, grid: Grid) -> None:
    client = login(world.supervisor)
    html = client.get(reverse("outages:node-search"), {"q": "城东", "utility": "power"},
                      HTTP_HX_REQUEST="true").content.decode()
    assert 'data-add-node="F1"' in html and 'data-add-node="F2"' not in html
    assert 'data-add-node' not in page(login(world.outsider), "outages:node-search", q="F1")
