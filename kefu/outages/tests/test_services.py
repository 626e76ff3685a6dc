"""The outage workflow through the services: draft → reviewed → published → extended → restored with
a timeline entry per step, refusals of illegal moves and stale versions, cancellation and moved starts
(reminders follow), bad input naming its field, and who is counted as affected."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest

from kefu.core.errors import Conflict, IllegalTransition, InvalidInput, NotFoundError, PermissionDeniedError
from kefu.core.models import OutboxMessage
from kefu.customers.services import account_change_status
from kefu.customers.tests.factories import make_account
from kefu.grid.services import attach
from kefu.grid.tests.factories import make_node
from kefu.org.tests.factories import make_staff
from kefu.outages import services as svc
from kefu.outages.choices import Action, Status
from kefu.outages.models import AffectedAccount, Outage, OutageEvent, OutageListedAccount, OutageNode
from kefu.outages.selectors import affected_accounts, outage_events
from kefu.outages.tests.factories import START, Grid, outage_data
from kefu.workorders.services import workorder_intake

if TYPE_CHECKING:
    from conftest import World

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("in_english")]

SHANGHAI = ZoneInfo("Asia/Shanghai")
EARLY = START - timedelta(days=8)  # in time for every notice rule


def fresh(outage: Outage) -> Outage:
    return Outage.objects.get(pk=outage.pk)


def create(world: World, data: dict[str, Any] | None = None) -> Outage:
    return svc.outage_create(actor=world.supervisor, data=data or outage_data(), now=EARLY)


def published(world: World, data: dict[str, Any] | None = None) -> Outage:
    outage = create(world, data)
    svc.outage_review(actor=world.supervisor, outage=outage, now=EARLY)
    return svc.outage_publish(actor=world.supervisor, outage=outage, now=EARLY)


def sms(outage: Outage, prefix: str = "") -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(source_model="outages.outage", source_id=outage.pk,
                                             dedup_key__startswith=f"outage:{outage.pk}:{prefix}")
                 .order_by("recipient"))


def timeline(outage: Outage) -> list[tuple[str, str, str]]:
    return [(e.kind, e.from_status, e.to_status) for e in outage_events(outage)]


def phone_of(account: Any) -> str:
    return str(account.customer.contacts.get().phone)


# Workflow -----------------------------------------------------------------------------------------

def test_draft_review_publish_extend_restore_leaves_a_timeline(world: World, grid: Grid) -> None:
    outage = create(world)
    assert outage.status == Status.DRAFT and outage.number.startswith("TD261130")
    assert outage.unit == world.county_a1 and outage.created_by == world.supervisor
    svc.outage_review(actor=world.supervisor, outage=outage, note="范围已核对", expected_version=1, now=EARLY)
    svc.outage_publish(actor=world.supervisor, outage=outage, expected_version=2, now=EARLY)
    end = START + timedelta(hours=8)
    svc.outage_extend(actor=world.supervisor, outage=outage, planned_end="2026-12-08 18:00", reason="发现新缺陷",
                      expected_version=3, now=end - timedelta(hours=2))
    svc.outage_restore(actor=world.supervisor, outage=outage, actual_start="2026-12-08 08:05",
                       actual_end="2026-12-08 17:40", note="已送电", expected_version=4,
                       now=datetime(2026, 12, 8, 17, 45, tzinfo=SHANGHAI))
    again = fresh(outage)
    assert again.status == Status.RESTORED and again.version == 5
    assert again.actual_start == datetime(2026, 12, 8, 8, 5, tzinfo=SHANGHAI)
    assert again.actual_end == datetime(2026, 12, 8, 17, 40, tzinfo=SHANGHAI)
    assert again.planned_end == again.announced_end == datetime(2026, 12, 8, 18, 0, tzinfo=SHANGHAI)
    assert again.reviewed_by == world.supervisor and again.published_at == EARLY
    assert again.channels == ["sms", "list", "desk", "ivr"]
    assert timeline(outage) == [
        (Action.CREATE, "", ""),
        (Action.REVIEW, Status.DRAFT, Status.REVIEWED),
        (Action.PUBLISH, Status.REVIEWED, Status.PUBLISHED),
        (Action.EXTEND, Status.PUBLISHED, Status.EXTENDED),
        (Action.RESTORE, Status.EXTENDED, Status.RESTORED),
    ]
    events = list(outage_events(outage))
    assert events[0].data == {"affected": 3, "important": 1, "dedicated": 0}
    assert events[1].text == "范围已核对" and events[3].text == "发现新缺陷" and events[4].text == "已送电"
    assert all(e.actor == world.supervisor for e in events)
    # Customers heard three times: the notice, the extension, the restoration; one message per phone each.
    assert len(sms(outage, "published:")) == len(sms(outage, "v4:")) == len(sms(outage, "restored:")) == 3
    assert "12月08日 18:00" in sms(outage, "v4:")[0].body and "原因：发现新缺陷" in sms(outage, "v4:")[0].body
    assert "已于12月08日 17:40恢复供电" in sms(outage, "restored:")[0].body


def test_return_to_draft_needs_a_reason_and_allows_editing_again(world: World, grid: Grid) -> None:
    outage = create(world)
    svc.outage_review(actor=world.supervisor, outage=outage, now=EARLY)
    with pytest.raises(InvalidInput) as caught:
        svc.outage_return(actor=world.supervisor, outage=outage, reason="  ", now=EARLY)
    assert "reason" in caught.value.errors
    svc.outage_return(actor=world.supervisor, outage=outage, reason="范围缺少2号台区", now=EARLY)
    edited = svc.outage_update(actor=world.supervisor, outage=outage, data=outage_data(nodes=("TA1", "TA2")),
                               now=EARLY)
    assert edited.status == Status.DRAFT and edited.affected_count == 5
    assert [k for k, _f, _t in timeline(outage)] == [Action.CREATE, Action.REVIEW, Action.RETURN, Action.EDIT]
    assert list(OutageEvent.objects.filter(outage=outage, kind=Action.RETURN).values_list("text", flat=True)) == [
        "范围缺少2号台区"]


def test_edit_records_what_changed(world: World, grid: Grid) -> None:
    outage = create(world)
    svc.outage_update(actor=world.supervisor, outage=outage, expected_version=1, now=EARLY,
                      data=outage_data(nodes=("F1",), hours=10, reason="更换变压器"))
    again = fresh(outage)
    assert again.version == 2 and again.reason == "更换变压器" and again.affected_count == 5
    event = OutageEvent.objects.get(outage=outage, kind=Action.EDIT)
    assert set(event.data["changed"]) == {"reason", "planned_end"}
    assert event.data["changed"]["reason"] == ["线路检修", "更换变压器"]
    assert event.data["changed"]["planned_end"] == ["2026-12-08T16:00:00+08:00", "2026-12-08T18:00:00+08:00"]
    assert list(OutageNode.objects.filter(outage=outage).values_list("node__code", flat=True)) == ["F1"]


@pytest.mark.parametrize("status", [Status.REVIEWED, Status.PUBLISHED])
def test_edit_only_in_draft(world: World, grid: Grid, status: str) -> None:
    outage = create(world)
    svc.outage_review(actor=world.supervisor, outage=outage, now=EARLY)
    if status == Status.PUBLISHED:
        svc.outage_publish(actor=world.supervisor, outage=outage, now=EARLY)
    version = fresh(outage).version
    with pytest.raises(IllegalTransition):
        svc.outage_update(actor=world.supervisor, outage=outage, data=outage_data(nodes=("F1",)), now=EARLY)
    again = fresh(outage)
    assert again.version == version and again.affected_count == 3 and again.status == status


def test_illegal_moves_are_refused(world: World, grid: Grid) -> None:
    draft = create(world)
    with pytest.raises(IllegalTransition) as caught:
        svc.outage_publish(actor=world.supervisor, outage=draft, now=EARLY)
    assert str(caught.value.message) == "A Draft outage cannot be changed this way (Publish)."
    with pytest.raises(IllegalTransition):
        svc.outage_extend(actor=world.supervisor, outage=draft, planned_end=START + timedelta(hours=10),
                          reason="延长", now=EARLY)
    with pytest.raises(IllegalTransition):
        svc.outage_restore(actor=world.supervisor, outage=draft, now=START + timedelta(hours=9))
    cancelled = svc.outage_cancel(actor=world.supervisor, outage=draft, reason="计划调整", now=EARLY)
    assert cancelled.status == Status.CANCELLED
    with pytest.raises(IllegalTransition):
        svc.outage_restore(actor=world.supervisor, outage=draft, now=START + timedelta(hours=9))
    with pytest.raises(IllegalTransition):
        svc.outage_cancel(actor=world.supervisor, outage=draft, reason="again", now=EARLY)
    with pytest.raises(IllegalTransition):
        svc.outage_review(actor=world.supervisor, outage=draft, now=EARLY)
    assert fresh(draft).status == Status.CANCELLED
    assert [k for k, _f, _t in timeline(draft)] == [Action.CREATE, Action.CANCEL]
    assert sms(draft) == []  # a draft was never announced: nothing to cancel towards customers


def test_a_stale_version_is_a_conflict(world: World, grid: Grid) -> None:
    outage = create(world)
    svc.outage_update(actor=world.supervisor, outage=outage, data=outage_data(reason="更换刀闸"), now=EARLY,
                      expected_version=1)
    with pytest.raises(Conflict) as caught:
        svc.outage_review(actor=world.supervisor, outage=outage, expected_version=1, now=EARLY)
    assert outage.number in str(caught.value.message)
    assert fresh(outage).status == Status.DRAFT
    svc.outage_review(actor=world.supervisor, outage=outage, expected_version=2, now=EARLY)
    with pytest.raises(Conflict):
        svc.outage_publish(actor=world.supervisor, outage=outage, expected_version=2, now=EARLY)
    assert fresh(outage).status == Status.REVIEWED and sms(outage) == []


def test_roles_and_scope(world: World, grid: Grid) -> None:
    with pytest.raises(PermissionDeniedError):
        svc.outage_create(actor=world.agent_a1, data=outage_data(), now=EARLY)
    handler = make_staff("handler_a1", unit=world.county_a1, roles=["handler"])
    outage = svc.outage_create(actor=handler, data=outage_data(), now=EARLY)  # the handling unit drafts
    with pytest.raises(PermissionDeniedError) as caught:
        svc.outage_review(actor=handler, outage=outage, now=EARLY)
    assert caught.value.status_code == 403
    leader_b1 = make_staff("leader_b1", unit=world.county_b1, roles=["shift_leader"])
    with pytest.raises(NotFoundError):
        svc.outage_review(actor=leader_b1, outage=outage, now=EARLY)
    with pytest.raises(NotFoundError):
        svc.outage_cancel(actor=leader_b1, outage=outage, reason="x", now=EARLY)
    with pytest.raises(InvalidInput) as refused:  # nodes of another county are unknown to them
        svc.outage_create(actor=leader_b1, data=outage_data(), now=EARLY)
    assert "nodes" in refused.value.errors
    assert fresh(outage).status == Status.DRAFT


# Cancel and change: the customers and the reminder follow -------------------------------------------

def test_cancel_of_a_published_outage_tells_the_customers_and_withdraws_the_reminder(world: World,
                                                                                   grid: Grid) -> None:
    outage = published(world, outage_data(outage_class="temporary"))
    assert len(sms(outage, "reminder:")) == 1
    svc.outage_cancel(actor=world.supervisor, outage=outage, reason="天气原因取消", now=EARLY + timedelta(days=1))
    again = fresh(outage)
    assert again.status == Status.CANCELLED and again.cancelled_at == EARLY + timedelta(days=1)
    assert sms(outage, "reminder:") == []
    cancelled = sms(outage, "cancelled:")
    assert sorted(m.recipient for m in cancelled) == sorted(phone_of(a) for a in grid.accounts["TA1"])
    assert cancelled[0].body == "【停电取消】原定12月08日 08:00起文三路1号至3号的停电已取消，给您带来不便敬请谅解。"
    event = OutageEvent.objects.get(outage=outage, kind=Action.CANCEL)
    assert (event.from_status, event.to_status, event.text) == (Status.PUBLISHED, Status.CANCELLED, "天气原因取消")
    assert event.data == {"sms": 3, "withdrawn": 1}


def test_a_reminder_already_sent_is_not_withdrawn(world: World, grid: Grid) -> None:
    outage = published(world, outage_data(outage_class="temporary"))
    OutboxMessage.objects.filter(dedup_key__startswith=f"outage:{outage.pk}:reminder:").update(
        state=OutboxMessage.State.SENT)
    svc.outage_cancel(actor=world.supervisor, outage=outage, reason="取消", now=START - timedelta(minutes=10))
    assert [m.state for m in sms(outage, "reminder:")] == [OutboxMessage.State.SENT]


def test_a_moved_start_moves_the_reminder(world: World, grid: Grid) -> None:
    outage = published(world, outage_data(outage_class="temporary"))
    [first] = sms(outage, "reminder:")
    assert first.next_attempt_at == START - timedelta(minutes=30)
    later = START + timedelta(hours=2)
    svc.outage_change(actor=world.supervisor, outage=outage, planned_start=later,
                      planned_end=later + timedelta(hours=8), reason="配合市政施工推迟", now=EARLY + timedelta(days=2))
    [moved] = sms(outage, "reminder:")
    assert moved.pk != first.pk and moved.next_attempt_at == later - timedelta(minutes=30)
    assert "12月08日 10:00" in moved.body
    changed = sms(outage, "v4:")
    assert len(changed) == 3
    assert "停电时间调整为12月08日 10:00至12月08日 18:00，原因：配合市政施工推迟" in changed[0].body
    event = OutageEvent.objects.get(outage=outage, kind=Action.CHANGE)
    assert (event.data["sms"], event.data["reminders"]) == (3, 1)


def test_a_new_end_only_keeps_the_reminder(world: World, grid: Grid) -> None:
    outage = published(world, outage_data(outage_class="temporary"))
    [first] = sms(outage, "reminder:")
    svc.outage_extend(actor=world.supervisor, outage=outage, planned_end=START + timedelta(hours=12),
                      reason="工作量增加", now=EARLY + timedelta(days=1))
    assert [m.pk for m in sms(outage, "reminder:")] == [first.pk]


def test_extend_and_change_refuse_bad_times(world: World, grid: Grid) -> None:
    outage = published(world)
    later = EARLY + timedelta(days=1)
    with pytest.raises(InvalidInput) as caught:
        svc.outage_extend(actor=world.supervisor, outage=outage, planned_end=START + timedelta(hours=7),
                          reason="x", now=later)
    assert "planned_end" in caught.value.errors and "12月08日 16:00" in caught.value.errors["planned_end"][0]
    with pytest.raises(InvalidInput) as caught:
        svc.outage_extend(actor=world.supervisor, outage=outage, planned_end="tomorrow", reason="x", now=later)
    assert "planned_end" in caught.value.errors
    with pytest.raises(InvalidInput) as caught:
        svc.outage_extend(actor=world.supervisor, outage=outage, planned_end=START + timedelta(hours=9), reason=" ",
                          now=later)
    assert "reason" in caught.value.errors
    with pytest.raises(InvalidInput) as caught:
        svc.outage_change(actor=world.supervisor, outage=outage, planned_start=START + timedelta(hours=2),
                          planned_end=START + timedelta(hours=1), reason="调整", now=later)
    assert "planned_end" in caught.value.errors
    with pytest.raises(InvalidInput) as caught:
        svc.outage_change(actor=world.supervisor, outage=outage, planned_start="", planned_end="",
                          reason="原" * 201, now=later)
    assert set(caught.value.errors) == {"reason"}
    assert fresh(outage).status == Status.PUBLISHED and fresh(outage).version == 3


def test_restore_refuses_a_future_or_backwards_time(world: World, grid: Grid) -> None:
    outage = published(world)
    now = START + timedelta(hours=3)
    with pytest.raises(InvalidInput) as caught:
        svc.outage_restore(actor=world.supervisor, outage=outage, actual_end=now + timedelta(hours=1), now=now)
    assert "future" in caught.value.errors["actual_end"][0]
    with pytest.raises(InvalidInput) as caught:
        svc.outage_restore(actor=world.supervisor, outage=outage, actual_start=now, actual_end=now - timedelta(hours=1),
                           now=now)
    assert "after the actual start" in caught.value.errors["actual_end"][0]
    assert fresh(outage).status == Status.PUBLISHED and sms(outage, "restored:") == []
    svc.outage_restore(actor=world.supervisor, outage=outage, now=now)
    again = fresh(outage)
    assert (again.actual_start, again.actual_end) == (START, now)  # defaults: the planned start, now


# Bad input ----------------------------------------------------------------------------------------

def gas_node(world: World) -> None:
    station = make_node(actor=world.supervisor, unit=world.county_a1, code="GS", kind="gas_station", utility="gas")
    make_node(actor=world.supervisor, unit=world.county_a1, parent=station, code="PZ1", kind="pressure_zone")


BAD_INPUT: list[tuple[str, dict[str, Any], str, str]] = [
    ("end before start", {"planned_end": START - timedelta(hours=1)}, "planned_end",
     "The expected restoration must be after the start."),
    ("end equals start", {"planned_end": START}, "planned_end", "The expected restoration must be after the start."),
    ("start not a date", {"planned_start": "next monday"}, "planned_start", "Enter the start as a date and time"),
    ("unknown node", {"nodes": ["TA1", "TA9"]}, "nodes", "Unknown topology node(s) in your area: TA9"),
    ("gas node in a power outage", {"nodes": ["PZ1"]}, "nodes", "These nodes are not part of the power network: PZ1"),
    ("node with no customers", {"nodes": ["EMPTY"]}, "nodes", "No customers are supplied through the chosen scope"),
    ("no scope at all", {"nodes": []}, "nodes", "Choose the topology nodes or list the accounts"),
    ("gas class on power", {"outage_class": "gas_planned"}, "outage_class", "is not a power outage"),
    ("unknown class", {"outage_class": "meteor"}, "outage_class", "Choose the outage class."),
    ("unknown utility", {"utility": "water"}, "utility", "Choose power or gas."),
    ("arrears without account", {"outage_class": "arrears", "nodes": []}, "account",
     "A disconnection outage needs the account it disconnects."),
    ("area too long", {"area": "文" * 301}, "area", "Area is too long (at most 300 characters)."),
    ("reason too long", {"reason": "因" * 301}, "reason", "Reason is too long (at most 300 characters)."),
    ("area missing", {"area": "  "}, "area", "Area is required."),
    ("unknown listed account", {"accounts": ["1234567890"]}, "accounts", "Unknown account(s) in your area"),
    ("unknown order", {"order": "26000000000000"}, "order", "No such work order in your area."),
]


@pytest.mark.parametrize(("case", "change", "field", "words"), BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
def test_bad_input_names_the_field_and_leaves_nothing_behind(world: World, grid: Grid, case: str,
                                                             change: dict[str, Any], field: str, words: str) -> None:
    gas_node(world)
    make_node(actor=world.supervisor, unit=world.county_a1, parent=grid.f1, code="EMPTY", kind="ta")
    before = (Outage.objects.count(), OutageNode.objects.count(), AffectedAccount.objects.count(),
              OutageEvent.objects.count())
    with pytest.raises(InvalidInput) as caught:
        svc.outage_create(actor=world.supervisor, data={**outage_data(), **change}, now=EARLY)
    assert field in caught.value.errors, caught.value.errors
    assert any(words in m for m in caught.value.errors[field]), caught.value.errors
    after = (Outage.objects.count(), OutageNode.objects.count(), AffectedAccount.objects.count(),
             OutageEvent.objects.count())
    assert after == before


def test_marketing_outage_follows_its_account_and_order(world: World, grid: Grid) -> None:
    debtor, other = grid.accounts["TA2"]
    order = workorder_intake(actor=world.agent_a1, order_type="repair", channel="phone", account=other,
                             content="咨询停电").order
    data = outage_data(outage_class="arrears", nodes=(), account=debtor.number, order=order.number)
    with pytest.raises(InvalidInput) as caught:
        svc.outage_create(actor=world.supervisor, data=data, now=EARLY)
    assert caught.value.errors == {"order": [f"Work order {order.number} is for another account."]}
    assert not Outage.objects.exists()
    own = workorder_intake(actor=world.agent_a1, order_type="repair", channel="phone", account=debtor,
                           content="欠费停电").order
    outage = svc.outage_create(actor=world.supervisor, data={**data, "order": own.number}, now=EARLY)
    assert (outage.account, outage.order, outage.affected_count) == (debtor, own, 1)
    assert list(OutageListedAccount.objects.filter(outage=outage).values_list("account_id", flat=True)) == [debtor.pk]


def test_a_gas_account_in_a_power_outage_is_refused(world: World, grid: Grid) -> None:
    gas = make_account(unit=world.county_a1, utility="gas")
    with pytest.raises(InvalidInput) as caught:
        svc.outage_create(actor=world.supervisor, data=outage_data(accounts=[gas.number]), now=EARLY)
    assert caught.value.errors["accounts"] == [f"These are not power accounts: {gas.number}"]


def test_texts_are_trimmed_and_lists_may_be_typed(world: World, grid: Grid) -> None:
    data = outage_data(nodes=(), area="  文三路  ", planned_start="2026/12/08 08:00", planned_end="2026-12-08 16:00")
    data["nodes"] = "TA1，TA2\nTA3"
    outage = svc.outage_create(actor=world.supervisor, data=data, now=EARLY)
    assert outage.area == "文三路" and outage.planned_start == START
    assert outage.planned_end == START + timedelta(hours=8) and outage.affected_count == 6


# Affected accounts --------------------------------------------------------------------------------

def test_counts_of_affected_important_and_dedicated_accounts(world: World, grid: Grid) -> None:
    f1 = create(world, outage_data(nodes=("F1",)))
    assert (f1.affected_count, f1.important_count, f1.dedicated_count) == (5, 1, 0)
    assert {a.account_id for a in affected_accounts(f1)} == {a.pk for a in grid.under("TA1", "TA2")}
    assert next(a.account_id for a in affected_accounts(f1)) == grid.accounts["TA1"][2].pk  # important first
    f2 = create(world, outage_data(nodes=("F2",)))
    ta3 = create(world, outage_data(nodes=("TA3",)))
    assert (f2.affected_count, f2.important_count, f2.dedicated_count) == (1, 0, 1)
    assert (ta3.affected_count, ta3.dedicated_count) == (1, 1)
    sub = create(world, outage_data(nodes=("SUB",)))
    assert (sub.affected_count, sub.important_count, sub.dedicated_count) == (6, 1, 1)


def test_listed_accounts_are_added_and_counted_once(world: World, grid: Grid) -> None:
    extra = make_account(unit=world.county_a1)  # on no node: named by the dispatcher
    ta1_account = grid.accounts["TA1"][0]
    outage = create(world, outage_data(nodes=("TA1",), accounts=[extra.number, ta1_account.number,
                                                                  str(ta1_account.pk)]))
    assert outage.affected_count == 4
    assert AffectedAccount.objects.filter(outage=outage, account=ta1_account).count() == 1
    assert OutageListedAccount.objects.filter(outage=outage).count() == 2
    both = create(world, outage_data(nodes=("TA1", "F1")))  # a node and its parent
    assert both.affected_count == 5


def test_closed_accounts_are_not_counted(world: World, grid: Grid) -> None:
    leaving = grid.accounts["TA2"][0]
    account_change_status(account=leaving, to_status="closed", actor=world.manager_a1, reason="销户")
    outage = create(world, outage_data(nodes=("F1",), accounts=[leaving.number]))
    assert outage.affected_count == 4
    assert not AffectedAccount.objects.filter(outage=outage, account=leaving).exists()


def test_affected_accounts_are_recomputed_after_an_attachment_moved(world: World, grid: Grid) -> None:
    outage = create(world, outage_data(nodes=("TA1",)))
    assert outage.affected_count == 3
    moved = grid.accounts["TA2"][0]
    attach(actor=world.supervisor, service_point=moved.service_point_id or 0, node=grid.ta1)
    svc.outage_review(actor=world.supervisor, outage=outage, now=EARLY)
    assert fresh(outage).affected_count == 4
    assert AffectedAccount.objects.filter(outage=outage, account=moved).exists()
    # Published, the list is a snapshot: a later move does not take customers out of the notice.
    svc.outage_publish(actor=world.supervisor, outage=outage, now=EARLY)
    attach(actor=world.supervisor, service_point=moved.service_point_id or 0, node=grid.ta2)
    svc.outage_extend(actor=world.supervisor, outage=outage, planned_end=START + timedelta(hours=9), reason="延时",
                      now=EARLY + timedelta(days=1))
    assert fresh(outage).affected_count == 4 and len(sms(outage, "v4:")) == 4


def test_a_scope_emptied_before_review_is_refused_at_review(world: World, grid: Grid) -> None:
    outage = create(world, outage_data(nodes=("TA2",)))
    for account in grid.accounts["TA2"]:
        attach(actor=world.supervisor, service_point=account.service_point_id or 0, node=grid.ta1)
    with pytest.raises(InvalidInput) as caught:
        svc.outage_review(actor=world.supervisor, outage=outage, now=EARLY)
    assert "nodes" in caught.value.errors
    again = fresh(outage)
    assert again.status == Status.DRAFT and again.affected_count == 2  # rolled back, still the old figures
    assert AffectedAccount.objects.filter(outage=outage).count() == 2
