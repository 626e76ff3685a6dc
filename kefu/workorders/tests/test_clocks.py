"""Time limits: which policy an order gets, when each clock is due, what suspension does to it, and
how warnings move the order from normal to warning to overdue.

Every expected time is counted by hand (Beijing time) from guide §3 / policy-defaults.yaml and the
2026 statutory calendar; the counting is in the comments.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
import time_machine

from kefu.workorders import services as svc
from kefu.workorders.choices import Basis, ClockKind, ClockState, EventKind, TimeState
from kefu.workorders.clocks import policy_cache_clear
from kefu.workorders.models import OrderClock, OrderEvent, OrderType, SlaPolicy, WarningLevel, WorkOrder
from kefu.workorders.tests.factories import account_in, at, intake, local
from kefu.workorders.watcher import workorder_watch

pytestmark = pytest.mark.django_db

TUE = (2026, 3, 10)  # an ordinary week: Tue 10 March 2026, no holiday until 4 April


def clocks(order: WorkOrder, kind: str | None = None) -> list[OrderClock]:
    qs = OrderClock.objects.filter(order=order).order_by("id")
    return list(qs.filter(kind=kind) if kind else qs)


def clock(order: WorkOrder, kind: str, basis: str = Basis.PUBLIC) -> OrderClock:
    return OrderClock.objects.get(order=order, kind=kind, basis=basis, state__in=[
        ClockState.WAITING, ClockState.RUNNING, ClockState.PAUSED, ClockState.MET, ClockState.MISSED])


def fresh(order: WorkOrder) -> WorkOrder:
    return WorkOrder.objects.get(pk=order.pk)


def complaint(world: Any, *, channel: str = "phone", now: datetime | None,
              order_type: str = "complaint_service") -> WorkOrder:
    return intake(world.agent_a1, world.account_a1, order_type, channel=channel, now=now)


def to_station(world: Any, station: Any, order: WorkOrder, now: datetime) -> WorkOrder:
    order = svc.workorder_dispatch(actor=world.agent_a1, order=order, unit=station.unit, now=now)
    return svc.workorder_acknowledge(actor=station.handler, order=order, now=now)


# ------------------------------------------------------------------------------- policy matching


@pytest.mark.parametrize(("region", "due"), [
    ("urban", at(*TUE, 10, 45)),  # 45 min
    ("rural", at(*TUE, 11, 30)),  # 90 min
    ("remote", at(*TUE, 12, 0)),  # 2 h
])
def test_repair_arrival_limit_by_region(world: Any, region: str, due: datetime):
    account = account_in(world.county_a1, region_class=region)
    order = intake(world.agent_a1, account, "repair", now=at(*TUE, 10))
    arrival = clock(order, ClockKind.ARRIVAL)
    assert arrival.state == ClockState.RUNNING
    assert not arrival.working
    assert local(arrival.due_at) == due
    assert local(fresh(order).due_at) == due
    # Restoration waits for the crew to arrive.
    restoration = clock(order, ClockKind.RESTORATION)
    assert restoration.state == ClockState.WAITING
    assert restoration.due_at is None


@pytest.mark.parametrize(("region", "due"), [
    ("urban", at(*TUE, 13, 40)),  # arrived 10:40 + 3 h
    ("rural", at(*TUE, 14, 40)),  # arrived 10:40 + 4 h
])
def test_restoration_runs_from_arrival(world: Any, station: Any, region: str, due: datetime):
    account = account_in(world.county_a1, region_class=region)
    order = intake(world.agent_a1, account, "repair", now=at(*TUE, 10))
    order = to_station(world, station, order, at(*TUE, 10, 5))
    order = svc.workorder_arrive(actor=station.handler, order=order, now=at(*TUE, 10, 40))
    assert clock(order, ClockKind.ARRIVAL).state == ClockState.MET
    restoration = clock(order, ClockKind.RESTORATION)
    assert restoration.state == ClockState.RUNNING
    assert local(restoration.started_at) == at(*TUE, 10, 40)
    assert local(restoration.due_at) == due
    assert local(fresh(order).due_at) == due
    order = svc.workorder_handle(actor=station.handler, order=order, result="更换表箱熔丝, 已复电",
                                 now=at(*TUE, 12))
    assert clock(order, ClockKind.RESTORATION).state == ClockState.MET


def test_late_arrival_is_recorded_as_missed(world: Any, station: Any):
    order = intake(world.agent_a1, world.account_a1, "repair", now=at(*TUE, 10))  # urban premise: 45 min
    order = to_station(world, station, order, at(*TUE, 10, 5))
    order = svc.workorder_arrive(actor=station.handler, order=order, now=at(*TUE, 10, 50))
    assert clock(order, ClockKind.ARRIVAL).state == ClockState.MISSED


def test_complaint_first_contact_and_reply(world: Any):
    order = complaint(world, now=at(*TUE, 10))
    first = clock(order, ClockKind.FIRST_CONTACT)
    reply = clock(order, ClockKind.REPLY)
    # First contact: 24 h of wall clock.
    assert not first.working
    assert local(first.due_at) == at(2026, 3, 11, 10)
    # Reply: 4 working days. Wed 11 = 1, Thu 12 = 2, Fri 13 = 3, (weekend), Mon 16 = 4 → Mon 10:00.
    assert reply.working
    assert local(reply.due_at) == at(2026, 3, 16, 10)
    # The callback clock waits for the reply.
    assert clock(order, ClockKind.CALLBACK).state == ClockState.WAITING
    assert local(fresh(order).due_at) == at(2026, 3, 11, 10)  # the earliest running deadline


def test_12398_complaint_gets_ten_working_days(world: Any):
    order = complaint(world, channel="12398", now=at(*TUE, 10))
    # Wed 11, Thu 12, Fri 13, Mon 16, Tue 17, Wed 18, Thu 19, Fri 20, Mon 23, Tue 24 = 10 → Tue 24 10:00.
    assert local(clock(order, ClockKind.REPLY).due_at) == at(2026, 3, 24, 10)
    assert len(clocks(order, ClockKind.REPLY)) == 1


def test_12345_complaint_gets_seven_calendar_days(world: Any):
    order = complaint(world, channel="12345", now=at(*TUE, 10))
    reply = clock(order, ClockKind.REPLY)
    assert not reply.working
    assert local(reply.due_at) == at(2026, 3, 17, 10)
    # Calendar days run through holidays: Wed 30 Sep + 7 days = Wed 7 Oct, in the National Day week.
    order = complaint(world, channel="12345", now=at(2026, 9, 30, 10))
    assert local(clock(order, ClockKind.REPLY).due_at) == at(2026, 10, 7, 10)


def test_report_of_wrongdoing(world: Any):
    order = intake(world.agent_a1, world.account_a1, "report", now=at(*TUE, 10))
    assert local(clock(order, ClockKind.FIRST_CONTACT).due_at) == at(2026, 3, 11, 10)  # 24 h
    # 9 working days: Wed 11, Thu 12, Fri 13, Mon 16, Tue 17, Wed 18, Thu 19, Fri 20, Mon 23 → Mon 23 10:00.
    assert local(clock(order, ClockKind.REPLY).due_at) == at(2026, 3, 23, 10)


def test_meter_anomaly_has_an_internal_and_a_public_clock(world: Any):
    order = intake(world.agent_a1, world.account_a1, "service_meter", now=at(*TUE, 10))
    internal = clock(order, ClockKind.REPLY, Basis.INTERNAL)
    public = clock(order, ClockKind.REPLY, Basis.PUBLIC)
    assert (internal.amount, public.amount) == (4, 5)
    assert local(internal.due_at) == at(2026, 3, 16, 10)  # Wed, Thu, Fri, Mon
    assert local(public.due_at) == at(2026, 3, 17, 10)  # ... and Tue
    assert local(fresh(order).due_at) == at(2026, 3, 16, 10)  # the tighter one leads


def test_a_sub_type_policy_beats_its_parent(world: Any):
    business = OrderType.objects.get(code="complaint_business")
    SlaPolicy.objects.create(order_type=business, clock=ClockKind.REPLY, amount=2, unit="working_days",
                             starts_on="accepted", effective_from=date(2020, 1, 1), source="test: local rule")
    policy_cache_clear()
    own = complaint(world, order_type="complaint_business", now=at(*TUE, 10))
    assert local(clock(own, ClockKind.REPLY).due_at) == at(2026, 3, 12, 10)  # Wed 11, Thu 12
    sibling = complaint(world, order_type="complaint_service", now=at(*TUE, 10))
    assert local(clock(sibling, ClockKind.REPLY).due_at) == at(2026, 3, 16, 10)  # the parent's 4 days


def test_a_policy_not_yet_in_force_is_not_used(world: Any):
    parent = OrderType.objects.get(code="complaint")
    SlaPolicy.objects.create(order_type=parent, clock=ClockKind.REPLY, amount=1, unit="working_days",
                             starts_on="accepted", effective_from=date(2026, 4, 1), source="test: new rule")
    policy_cache_clear()
    before = complaint(world, now=at(*TUE, 10))
    assert clock(before, ClockKind.REPLY).amount == 4
    after = complaint(world, now=at(2026, 4, 2, 10))  # Thursday; the new rule is in force
    assert clock(after, ClockKind.REPLY).amount == 1
    assert local(clock(after, ClockKind.REPLY).due_at) == at(2026, 4, 3, 10)


def test_a_policy_edited_after_intake_does_not_move_open_orders(world: Any, station: Any):
    order = complaint(world, now=at(*TUE, 10))
    SlaPolicy.objects.filter(order_type__code="complaint", clock=ClockKind.REPLY, channel="").update(amount=2)
    policy_cache_clear()
    # Work on the order saves its clocks again; the copied limit stays.
    order = to_station(world, station, order, at(*TUE, 11))
    order = svc.workorder_contact(actor=station.handler, order=order, now=at(*TUE, 12))
    order = svc.workorder_suspend(actor=station.handler, order=order, reason="等待客户资料", now=at(*TUE, 13))
    order = svc.workorder_resume(actor=station.handler, order=order, now=at(*TUE, 13))
    reply = clock(order, ClockKind.REPLY)
    assert reply.amount == 4
    assert local(reply.due_at) == at(2026, 3, 16, 10)
    assert local(fresh(order).due_at) == at(2026, 3, 16, 10)
    # A new order gets the edited limit: Wed 11, Thu 12.
    newer = complaint(world, now=at(*TUE, 10))
    assert local(clock(newer, ClockKind.REPLY).due_at) == at(2026, 3, 12, 10)


# ----------------------------------------------------------------------------------- suspension


def test_suspension_stops_a_wall_clock_and_keeps_the_time(world: Any, station: Any):
    order = intake(world.agent_a1, world.account_a1, "repair", now=at(*TUE, 10))  # urban: due 10:45
    order = to_station(world, station, order, at(*TUE, 10, 5))
    order = svc.workorder_suspend(actor=station.handler, order=order, reason="道路封闭, 无法到达",
                                  now=at(*TUE, 10, 10))
    arrival = clock(order, ClockKind.ARRIVAL)
    assert arrival.state == ClockState.PAUSED
    row = fresh(order)
    assert row.due_at is None and row.next_warning_at is None
    # Two hours later nothing is raised for it.
    assert workorder_watch(now=at(*TUE, 12)).warnings == 0
    order = svc.workorder_resume(actor=station.handler, order=order, now=at(*TUE, 12, 10))
    arrival = clock(order, ClockKind.ARRIVAL)
    assert arrival.state == ClockState.RUNNING
    assert arrival.paused_seconds == 2 * 3600
    assert local(arrival.due_at) == at(*TUE, 12, 45)  # 10:45 moved by exactly the 2 h paused
    assert local(fresh(order).due_at) == at(*TUE, 12, 45)
    resumed = OrderEvent.objects.get(order=order, kind=EventKind.RESUME)
    assert resumed.data["paused_seconds"] == 2 * 3600


def test_suspension_over_a_weekend_costs_a_working_clock_only_working_time(world: Any, station: Any):
    # Thu 12 Mar 10:00; reply in 4 working days: Fri 13, Mon 16, Tue 17, Wed 18 → Wed 18 Mar 10:00.
    order = complaint(world, now=at(2026, 3, 12, 10))
    assert local(clock(order, ClockKind.REPLY).due_at) == at(2026, 3, 18, 10)
    order = to_station(world, station, order, at(2026, 3, 12, 10, 30))
    order = svc.workorder_contact(actor=station.handler, order=order, now=at(2026, 3, 12, 11))
    # Suspended Fri 16:00 to Mon 09:00: 65 h on the wall, but only Fri 16–24 (8 h) + Mon 0–9 (9 h) = 17 h
    # of working time.
    order = svc.workorder_suspend(actor=station.handler, order=order, reason="客户出差", now=at(2026, 3, 13, 16))
    order = svc.workorder_resume(actor=station.handler, order=order, now=at(2026, 3, 16, 9))
    reply = clock(order, ClockKind.REPLY)
    assert reply.paused_seconds == 17 * 3600
    # Wed 18 10:00 + 17 working hours: 14 h to midnight, 3 h into Thu → Thu 19 Mar 03:00.
    assert local(reply.due_at) == at(2026, 3, 19, 3)


# ------------------------------------------------------------------------------------- holidays


def test_complaint_on_the_friday_before_spring_festival(world: Any):
    with time_machine.travel(at(2026, 2, 13, 10), tick=False):
        order = complaint(world, now=None)
    # 24 h wall clock for first contact, holiday or not.
    assert local(clock(order, ClockKind.FIRST_CONTACT).due_at) == at(2026, 2, 14, 10)
    # 96 working hours: Fri 13 10–24 = 14 h, Sat 14 (worked) = 38 h, 15–23 Feb off, Tue 24 = 62 h,
    # Wed 25 = 86 h, Thu 26 10:00 = 96 h.
    assert local(clock(order, ClockKind.REPLY).due_at) == at(2026, 2, 26, 10)


def test_complaint_on_the_friday_before_national_day(world: Any):
    # Fri 25 Sep is Mid-autumn: the clock starts Mon 28 Sep 00:00. Mon, Tue, Wed = 72 h; 1–7 Oct off;
    # Thu 8 Oct = 96 h, ending at midnight.
    order = complaint(world, now=at(2026, 9, 25, 10))
    assert local(clock(order, ClockKind.REPLY).due_at) == at(2026, 10, 9, 0)
    # The last working day before the holiday, Wed 30 Sep 10:00: Wed 14 h, Thu 8 Oct 38 h, Fri 9 Oct
    # 62 h, Sat 10 Oct (worked) 86 h, Sun 11 off, Mon 12 Oct 10:00 = 96 h.
    order = complaint(world, now=at(2026, 9, 30, 10))
    assert local(clock(order, ClockKind.REPLY).due_at) == at(2026, 10, 12, 10)


# ------------------------------------------------------------------------------------- warnings


def test_seeded_warning_levels():
    assert list(WarningLevel.objects.order_by("fraction").values_list("fraction", "notify_shift_leader")) == [
        (Decimal("0.50"), False), (Decimal("0.80"), True), (Decimal("1.00"), True),
    ]


def test_warnings_at_half_four_fifths_and_due(world: Any):
    order = intake(world.agent_a1, world.account_a1, "repair", now=at(*TUE, 10))  # 45 min to arrive
    row = fresh(order)
    assert row.time_state == TimeState.NORMAL
    assert local(row.next_warning_at) == at(*TUE, 10, 22, 30)  # 50 % of 45 min

    assert workorder_watch(now=at(*TUE, 10, 22, 29)).orders == 0
    assert fresh(order).time_state == TimeState.NORMAL

    report = workorder_watch(now=at(*TUE, 10, 22, 30))
    assert (report.warnings, report.overdue) == (1, 0)
    row = fresh(order)
    assert row.time_state == TimeState.WARNING
    assert local(row.next_warning_at) == at(*TUE, 10, 36)  # 80 % of 45 min

    report = workorder_watch(now=at(*TUE, 10, 36))
    assert (report.warnings, report.overdue) == (1, 0)
    row = fresh(order)
    assert row.time_state == TimeState.WARNING
    assert local(row.next_warning_at) == at(*TUE, 10, 45)

    report = workorder_watch(now=at(*TUE, 10, 45))
    assert (report.warnings, report.overdue) == (0, 1)
    row = fresh(order)
    assert row.time_state == TimeState.OVERDUE
    assert row.next_warning_at is None

    events = list(OrderEvent.objects.filter(order=order, kind__in=[EventKind.WARNING, EventKind.OVERDUE])
                  .values_list("kind", "data__level"))
    assert events == [(EventKind.WARNING, 1), (EventKind.WARNING, 2), (EventKind.OVERDUE, 3)]


def test_working_day_warnings_count_working_time(world: Any):
    order = complaint(world, now=at(2026, 2, 13, 10))
    reply = clock(order, ClockKind.REPLY)
    # 50 % of 96 working hours = 48 h: Fri 13 14 h, Sat 14 (worked) 38 h, Tue 24 10:00 = 48 h.
    assert local(reply.next_warning_at) == at(2026, 2, 24, 10)


def test_an_overdue_order_stays_overdue_while_suspended(world: Any, station: Any):
    order = intake(world.agent_a1, world.account_a1, "repair", now=at(*TUE, 10))
    order = to_station(world, station, order, at(*TUE, 10, 5))
    workorder_watch(now=at(*TUE, 10, 45))
    assert fresh(order).time_state == TimeState.OVERDUE
    order = svc.workorder_suspend(actor=station.handler, order=order, reason="等待配件", now=at(*TUE, 10, 50))
    assert fresh(order).time_state == TimeState.OVERDUE  # suspending does not hide a missed limit
    order = svc.workorder_resume(actor=station.handler, order=order, now=at(*TUE, 11, 50))
    assert fresh(order).time_state == TimeState.OVERDUE


def test_handling_without_a_visit_stops_the_arrival_clock(world: Any, station: Any):
    """The station settles a repair call by phone (the fault was in the customer's own wiring): the
    arrival limit no longer applies, and no overdue warning follows later."""
    order = intake(world.agent_a1, world.account_a1, "repair", now=at(*TUE, 10))
    order = to_station(world, station, order, at(*TUE, 10, 5))
    order = svc.workorder_handle(actor=station.handler, order=order, result="户内线路故障, 已指导客户处理",
                                 now=at(*TUE, 10, 20))
    assert clock(order, ClockKind.ARRIVAL).state == ClockState.MET
    assert fresh(order).next_warning_at is None
    report = workorder_watch(now=at(*TUE, 12))
    assert (report.warnings, report.overdue) == (0, 0)
    assert fresh(order).time_state != TimeState.OVERDUE


def test_reply_stops_the_reply_clock_and_starts_the_callback_clock(world: Any, station: Any):
    order = complaint(world, now=at(*TUE, 10))
    order = to_station(world, station, order, at(*TUE, 10, 30))
    order = svc.workorder_handle(actor=station.handler, order=order, result="已向客户道歉并整改", now=at(*TUE, 15))
    order = svc.workorder_reply(actor=world.agent_a1, order=order, reply="已处理完毕", now=at(2026, 3, 12, 9))
    assert clock(order, ClockKind.REPLY).state == ClockState.MET
    callback = clock(order, ClockKind.CALLBACK)
    assert callback.state == ClockState.RUNNING
    # 2 working days from Thu 12 Mar 09:00: Fri 13, (weekend), Mon 16 09:00.
    assert local(callback.due_at) == at(2026, 3, 16, 9)
