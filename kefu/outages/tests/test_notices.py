"""Notice rules at their boundaries (guide §4): planned 7 days, temporary 24 h to important customers
and a reminder 30 minutes before, gas planned stop 24 h, the 60-minute change rule, fault outages at
once; the supervisor's override with a reason."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest

from kefu.core.errors import InvalidInput, PermissionDeniedError
from kefu.core.models import OutboxMessage
from kefu.customers.services import account_change_status
from kefu.customers.tests.factories import make_account
from kefu.grid.services import attach
from kefu.grid.tests.factories import make_node
from kefu.org.tests.factories import make_staff
from kefu.outages import services as svc
from kefu.outages.choices import Action, OutageClass, RuleKind, Status
from kefu.outages.models import NoticeRule, Outage, OutageEvent
from kefu.outages.notices import NoticeRuleBreach, span
from kefu.outages.tests.factories import START, Grid, outage_data

if TYPE_CHECKING:
    from conftest import Station, World

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("in_english")]

SHANGHAI = ZoneInfo("Asia/Shanghai")


def reviewed(world: World, data: dict[str, Any], now: datetime) -> Outage:
    outage = svc.outage_create(actor=world.supervisor, data=data, now=now)
    return svc.outage_review(actor=world.supervisor, outage=outage, now=now)


def fresh(outage: Outage) -> Outage:
    return Outage.objects.get(pk=outage.pk)


def sms(outage: Outage, prefix: str = "") -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(source_model="outages.outage", source_id=outage.pk,
                                             dedup_key__startswith=f"outage:{outage.pk}:{prefix}")
                 .order_by("recipient"))


def rule(outage_class: str) -> NoticeRule:
    return NoticeRule.objects.get(kind=RuleKind.NOTICE, outage_class=outage_class)


def assert_untouched(outage: Outage, version: int) -> None:
    """A refused publish leaves the outage reviewed, unannounced and without a single message queued."""
    again = fresh(outage)
    assert again.status == Status.REVIEWED and again.version == version
    assert again.published_at is None and again.announced_start is None and again.override_reason == ""
    assert not OutboxMessage.objects.filter(source_model="outages.outage").exists()
    assert not OutageEvent.objects.filter(outage=outage, kind=Action.PUBLISH).exists()


# Planned outages: 7 days ----------------------------------------------------------------------------

def test_planned_outage_published_exactly_7_days_ahead_is_accepted(world: World, grid: Grid) -> None:
    now = START - timedelta(days=7)
    outage = reviewed(world, outage_data(), now)
    published = svc.outage_publish(actor=world.supervisor, outage=outage, now=now)
    again = fresh(published)
    assert again.status == Status.PUBLISHED and again.published_at == now
    assert (again.announced_start, again.announced_end) == (START, START + timedelta(hours=8))
    assert again.override_reason == "" and again.override_by is None
    assert len(sms(outage, "published:")) == 3  # TA1: three accounts, three phones


def test_planned_outage_6_days_23_hours_ahead_is_refused_naming_the_rule(world: World, grid: Grid) -> None:
    now = START - timedelta(days=6, hours=23)
    outage = reviewed(world, outage_data(), now)
    version = fresh(outage).version
    with pytest.raises(NoticeRuleBreach) as caught:
        svc.outage_publish(actor=world.supervisor, outage=outage, now=now)
    planned = rule("planned")
    assert [r["rule"] for r in caught.value.extra["rules"]] == [planned.pk]
    assert caught.value.extra["rules"][0]["source"] == planned.source
    assert caught.value.field == "planned_start"
    message = str(caught.value.message)
    assert "at least 7 days before it starts" in message and "it starts in 6 days 23 hours" in message
    assert "A supervisor may publish anyway with a reason." in message
    assert caught.value.as_dict()["code"] == "notice_rule"
    assert_untouched(outage, version)


def test_supervisor_overrides_a_breach_with_a_reason(world: World, grid: Grid) -> None:
    now = START - timedelta(days=3)
    outage = reviewed(world, outage_data(), now)
    svc.outage_publish(actor=world.supervisor, outage=outage, override_reason="  抢修配合，已逐户电话通知  ", now=now)
    again = fresh(outage)
    assert again.status == Status.PUBLISHED
    assert again.override_reason == "抢修配合，已逐户电话通知" and again.override_by == world.supervisor
    event = OutageEvent.objects.get(outage=outage, kind=Action.PUBLISH)
    assert (event.from_status, event.to_status) == (Status.REVIEWED, Status.PUBLISHED)
    assert event.text == "抢修配合，已逐户电话通知" and event.data["override"] == "抢修配合，已逐户电话通知"
    assert [b["rule"] for b in event.data["breaches"]] == [rule("planned").pk]
    assert "it starts in 3 days" in event.data["breaches"][0]["message"]
    assert len(sms(outage, "published:")) == 3


@pytest.mark.parametrize("who", ["agent", "shift_leader", "handler"])
def test_only_a_director_may_override(world: World, grid: Grid, station: Station, who: str) -> None:
    now = START - timedelta(days=3)
    outage = reviewed(world, outage_data(), now)
    version = fresh(outage).version
    actor = {"agent": world.agent_a1, "shift_leader": station.leader,
             "handler": make_staff("handler_a1", unit=world.county_a1, roles=["handler"])}[who]
    with pytest.raises(PermissionDeniedError) as caught:
        svc.outage_publish(actor=actor, outage=outage, override_reason="赶工期", now=now)
    assert caught.value.status_code == 403  # a refusal of the role, not a "not found"
    assert not svc.can_override(actor) and svc.can_override(world.supervisor)
    assert_untouched(outage, version)


def test_a_shift_leader_publishes_in_time_without_override(world: World, grid: Grid, station: Station) -> None:
    now = START - timedelta(days=8)
    outage = reviewed(world, outage_data(), now)
    svc.outage_publish(actor=station.leader, outage=outage, now=now)
    assert fresh(outage).status == Status.PUBLISHED


@pytest.mark.parametrize("reason", ["", "   ", "\n"])
def test_a_blank_override_reason_is_still_refused(world: World, grid: Grid, reason: str) -> None:
    now = START - timedelta(days=3)
    outage = reviewed(world, outage_data(), now)
    version = fresh(outage).version
    with pytest.raises(NoticeRuleBreach):
        svc.outage_publish(actor=world.supervisor, outage=outage, override_reason=reason, now=now)
    assert_untouched(outage, version)


def test_a_too_long_override_reason_is_refused(world: World, grid: Grid) -> None:
    now = START - timedelta(days=3)
    outage = reviewed(world, outage_data(), now)
    version = fresh(outage).version
    with pytest.raises(InvalidInput) as caught:
        svc.outage_publish(actor=world.supervisor, outage=outage, override_reason="因" * 301, now=now)
    assert "override_reason" in caught.value.errors
    assert_untouched(outage, version)


# Temporary outages: 24 h to important customers, reminder 30 min before ---------------------------

def test_temporary_outage_23_hours_ahead_passes_without_important_customers(world: World, grid: Grid) -> None:
    now = START - timedelta(hours=23)
    outage = reviewed(world, outage_data(nodes=("TA2",), outage_class="temporary"), now)
    assert fresh(outage).important_count == 0
    svc.outage_publish(actor=world.supervisor, outage=outage, now=now)
    assert fresh(outage).status == Status.PUBLISHED
    assert len(sms(outage, "published:")) == 2
    assert sms(outage, "reminder:") == []  # nobody important to remind


def test_temporary_outage_23_hours_ahead_is_refused_with_an_important_customer(world: World, grid: Grid) -> None:
    now = START - timedelta(hours=23)
    outage = reviewed(world, outage_data(nodes=("TA1",), outage_class="temporary"), now)
    assert fresh(outage).important_count == 1
    version = fresh(outage).version
    with pytest.raises(NoticeRuleBreach) as caught:
        svc.outage_publish(actor=world.supervisor, outage=outage, now=now)
    assert [r["rule"] for r in caught.value.extra["rules"]] == [rule("temporary").pk]
    assert "to important customers at least 1 day before it starts; it starts in 23 hours" in str(caught.value.message)
    assert_untouched(outage, version)


def test_temporary_outage_exactly_24_hours_ahead_queues_the_reminder_for_important_customers(
        world: World, grid: Grid) -> None:
    now = START - timedelta(hours=24)
    important = grid.accounts["TA1"][2]
    outage = reviewed(world, outage_data(nodes=("F1",), outage_class="temporary"), now)
    svc.outage_publish(actor=world.supervisor, outage=outage, now=now)
    assert len(sms(outage, "published:")) == 5  # everybody under F1 hears of it
    reminders = sms(outage, "reminder:")
    assert [m.recipient for m in reminders] == [important.customer.contacts.get().phone]
    assert reminders[0].next_attempt_at == START - timedelta(minutes=30)
    assert reminders[0].state == OutboxMessage.State.PENDING
    assert "【停电提醒】文三路1号至3号将于12月08日 08:00停电" in reminders[0].body
    event = OutageEvent.objects.get(outage=outage, kind=Action.PUBLISH)
    assert event.data["reminders"] == 1 and event.data["sms"] == 5


def test_no_reminder_when_the_start_is_less_than_30_minutes_away(world: World, grid: Grid) -> None:
    now = START - timedelta(minutes=20)
    outage = reviewed(world, outage_data(nodes=("TA1",), outage_class="temporary"), now)
    svc.outage_publish(actor=world.supervisor, outage=outage, override_reason="设备紧急缺陷", now=now)
    assert sms(outage, "reminder:") == []
    assert len(sms(outage, "published:")) == 3


def test_planned_outages_get_no_reminder(world: World, grid: Grid) -> None:
    now = START - timedelta(days=8)
    outage = reviewed(world, outage_data(nodes=("TA1",)), now)
    svc.outage_publish(actor=world.supervisor, outage=outage, now=now)
    assert sms(outage, "reminder:") == []


# Gas: planned stop 24 h ----------------------------------------------------------------------------

def gas_network(world: World) -> list[str]:
    actor, unit = world.supervisor, world.county_a1
    station = make_node(actor=actor, unit=unit, code="GS", name="城东门站", kind="gas_station", utility="gas")
    zone = make_node(actor=actor, unit=unit, parent=station, code="PZ1", name="中压一区", kind="pressure_zone")
    building = make_node(actor=actor, unit=unit, parent=zone, code="BLD1", name="学院小区3幢", kind="building")
    for _i in range(2):
        account = make_account(unit=unit, utility="gas")
        for status in ("awaiting_ignition", "gas_on"):  # a registered account draws no gas yet
            account = account_change_status(account=account, to_status=status, actor=world.manager_a1)
        attach(actor=actor, service_point=account.service_point_id or 0, node=building)
    return ["BLD1"]


@pytest.mark.parametrize(("lead", "passes"), [(timedelta(hours=24), True), (timedelta(hours=23, minutes=59), False)])
def test_gas_planned_stop_needs_24_hours(world: World, lead: timedelta, passes: bool) -> None:
    nodes = gas_network(world)
    now = START - lead
    outage = reviewed(world, outage_data(nodes=tuple(nodes), outage_class="gas_planned", utility="gas"), now)
    assert fresh(outage).affected_count == 2
    if passes:
        svc.outage_publish(actor=world.supervisor, outage=outage, now=now)
        assert fresh(outage).status == Status.PUBLISHED
        assert len(sms(outage, "published:")) == 2
        return
    version = fresh(outage).version
    with pytest.raises(NoticeRuleBreach) as caught:
        svc.outage_publish(actor=world.supervisor, outage=outage, now=now)
    assert [r["rule"] for r in caught.value.extra["rules"]] == [rule("gas_planned").pk]
    assert "Planned gas stop must be announced to customers at least 1 day before it starts; " \
           "it starts in 23 hours 59 minutes" in str(caught.value.message)
    assert_untouched(outage, version)


# Fault outages: lead 0 -----------------------------------------------------------------------------

def test_a_fault_outage_is_published_at_once_even_after_its_start(world: World, grid: Grid) -> None:
    now = START + timedelta(minutes=10)
    outage = reviewed(world, outage_data(nodes=("F2",), outage_class="fault", hours=3), now)
    svc.outage_publish(actor=world.supervisor, outage=outage, now=now)
    again = fresh(outage)
    assert again.status == Status.PUBLISHED and again.override_reason == ""
    assert OutageEvent.objects.get(outage=outage, kind=Action.PUBLISH).data.get("breaches") is None


def test_an_inactive_rule_is_not_applied(world: World, grid: Grid) -> None:
    NoticeRule.objects.filter(kind=RuleKind.NOTICE, outage_class=OutageClass.PLANNED).update(is_active=False)
    now = START - timedelta(hours=2)
    outage = reviewed(world, outage_data(), now)
    svc.outage_publish(actor=world.supervisor, outage=outage, now=now)
    assert fresh(outage).status == Status.PUBLISHED


# The change rule: an earlier start or later restoration reported 60 minutes ahead -------------------

def published(world: World, data: dict[str, Any]) -> Outage:
    now = data["planned_start"] - timedelta(days=8)
    outage = reviewed(world, data, now)
    return svc.outage_publish(actor=world.supervisor, outage=outage, now=now)


def test_extension_reported_61_minutes_before_the_announced_restoration_passes(world: World, grid: Grid) -> None:
    outage = published(world, outage_data())
    end = START + timedelta(hours=8)
    svc.outage_extend(actor=world.supervisor, outage=outage, planned_end=end + timedelta(hours=2), reason="发现新缺陷",
                      now=end - timedelta(minutes=61))
    again = fresh(outage)
    assert again.status == Status.EXTENDED and again.announced_end == end + timedelta(hours=2)
    assert again.planned_end == end + timedelta(hours=2)


def test_extension_reported_59_minutes_before_the_announced_restoration_is_refused(world: World,
                                                                                  grid: Grid) -> None:
    outage = published(world, outage_data())
    end = START + timedelta(hours=8)
    version = fresh(outage).version
    with pytest.raises(NoticeRuleBreach) as caught:
        svc.outage_extend(actor=world.supervisor, outage=outage, planned_end=end + timedelta(hours=2),
                          reason="发现新缺陷", now=end - timedelta(minutes=59))
    change = NoticeRule.objects.get(kind=RuleKind.CHANGE)
    assert [r["rule"] for r in caught.value.extra["rules"]] == [change.pk]
    assert "A later restoration must be reported at least 1 hour before the announced restoration at " \
           "12月08日 16:00" in str(caught.value.message)
    again = fresh(outage)
    assert again.status == Status.PUBLISHED and again.version == version and again.planned_end == end
    assert not OutageEvent.objects.filter(outage=outage, kind=Action.EXTEND).exists()
    assert len(sms(outage)) == 3  # only the first notice


def test_a_late_extension_may_be_overridden_by_the_director(world: World, grid: Grid) -> None:
    outage = published(world, outage_data())
    end = START + timedelta(hours=8)
    svc.outage_extend(actor=world.supervisor, outage=outage, planned_end=end + timedelta(hours=2), reason="发现新缺陷",
                      override_reason="抢修中发现电缆中间头故障", now=end - timedelta(minutes=20))
    event = OutageEvent.objects.get(outage=outage, kind=Action.EXTEND)
    assert event.data["override"] == "抢修中发现电缆中间头故障" and len(event.data["breaches"]) == 1


@pytest.mark.parametrize(("ahead", "passes"), [(70, True), (59, False)])
def test_an_earlier_start_must_be_reported_an_hour_before_the_new_start(world: World, grid: Grid, ahead: int,
                                                                        passes: bool) -> None:
    outage = published(world, outage_data())
    now = START - timedelta(hours=3)
    new_start = now + timedelta(minutes=ahead)

    def change() -> Outage:
        return svc.outage_change(actor=world.supervisor, outage=outage, planned_start=new_start,
                                 planned_end=START + timedelta(hours=8), reason="配合上级检修", now=now)

    if passes:
        change()
        assert fresh(outage).status == Status.CHANGED and fresh(outage).announced_start == new_start
        return
    with pytest.raises(NoticeRuleBreach) as caught:
        change()
    assert "An earlier start must be reported at least 1 hour before the new start; it is 59 minutes away." \
           in str(caught.value.message)
    assert fresh(outage).status == Status.PUBLISHED and fresh(outage).planned_start == START


def test_a_later_start_or_an_earlier_end_is_not_subject_to_the_change_rule(world: World, grid: Grid) -> None:
    outage = published(world, outage_data())
    now = START - timedelta(minutes=5)
    svc.outage_change(actor=world.supervisor, outage=outage, planned_start=START + timedelta(hours=1),
                      planned_end=START + timedelta(hours=6), reason="天气原因推迟", now=now)
    again = fresh(outage)
    assert again.status == Status.CHANGED
    assert (again.announced_start, again.announced_end) == (START + timedelta(hours=1), START + timedelta(hours=6))
    event = OutageEvent.objects.get(outage=outage, kind=Action.CHANGE)
    assert "breaches" not in event.data and datetime.fromisoformat(event.data["before"]["start"]) == START


def test_span_reads_like_a_person_would_say_it() -> None:
    assert span(7 * 24 * 60) == "7 days"
    assert span(6 * 24 * 60 + 23 * 60) == "6 days 23 hours"
    assert span(61) == "1 hour 1 minute"
    assert span(0) == "0 minutes"
    assert span(-5) == "0 minutes"
