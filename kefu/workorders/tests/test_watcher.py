"""The time-limit watcher: each warning level raised once, told to the right people, safe to run as
several copies at the same time."""

from __future__ import annotations

import functools
from datetime import datetime
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.management import call_command

from kefu.core.models import OutboxMessage
from kefu.workorders import services as svc
from kefu.workorders.choices import EventKind, TimeState
from kefu.workorders.models import OrderEvent, WarningLevel, WorkOrder
from kefu.workorders.tests.factories import at, intake, reseed, run_together, shared_database
from kefu.workorders.watcher import workorder_watch

HANDLER_SMS = "+8613900001111"
LEADER_SMS = "+8613900002222"
TUE = (2026, 3, 10)
# A repair at an urban premise accepted Tue 10:00 must be reached in 45 minutes:
HALF = at(*TUE, 10, 22, 30)  # 50 %
FOUR_FIFTHS = at(*TUE, 10, 36)  # 80 %
DUE = at(*TUE, 10, 45)  # 100 %


def repair_at_station(world: Any, station: Any) -> WorkOrder:
    order = intake(world.agent_a1, world.account_a1, "repair", now=at(*TUE, 10))
    return svc.workorder_dispatch(actor=world.agent_a1, order=order, unit=station.unit, now=at(*TUE, 10, 1))


def timeline(order: WorkOrder) -> list[tuple[str, int]]:
    return list(OrderEvent.objects.filter(order=order, kind__in=[EventKind.WARNING, EventKind.OVERDUE])
                .order_by("id").values_list("kind", "data__level"))


def told(event: OrderEvent) -> set[str]:
    return set(OutboxMessage.objects.filter(source_model="workorders.orderevent", source_id=event.pk)
               .values_list("recipient", flat=True))


def level_event(order: WorkOrder, level: int) -> OrderEvent:
    return OrderEvent.objects.get(order=order, kind__in=[EventKind.WARNING, EventKind.OVERDUE], data__level=level)


@pytest.mark.django_db
def test_each_level_is_raised_once(world: Any, station: Any):
    order = repair_at_station(world, station)
    for moment, want in ((HALF, [(EventKind.WARNING, 1)]),
                         (FOUR_FIFTHS, [(EventKind.WARNING, 1), (EventKind.WARNING, 2)]),
                         (DUE, [(EventKind.WARNING, 1), (EventKind.WARNING, 2), (EventKind.OVERDUE, 3)])):
        first = workorder_watch(now=moment)
        assert first.warnings + first.overdue == 1
        again = workorder_watch(now=moment)  # a second pass at the same moment finds nothing new
        assert (again.orders, again.warnings, again.overdue) == (0, 0, 0)
        assert timeline(order) == want
    # Long after, still nothing new.
    assert workorder_watch(now=at(*TUE, 23)).orders == 0
    assert len(timeline(order)) == 3


@pytest.mark.django_db
def test_warnings_go_to_the_handling_unit_and_leaders_where_the_level_says(world: Any, station: Any):
    order = repair_at_station(world, station)
    workorder_watch(now=HALF)
    workorder_watch(now=FOUR_FIFTHS)
    workorder_watch(now=DUE)
    # 50 %: the level does not call the shift leader; the station hears of it.
    assert told(level_event(order, 1)) == {HANDLER_SMS}
    # 80 % and overdue: the station and A1's shift leader.
    assert told(level_event(order, 2)) == {HANDLER_SMS, LEADER_SMS}
    assert told(level_event(order, 3)) == {HANDLER_SMS, LEADER_SMS}
    assert level_event(order, 3).kind == EventKind.OVERDUE
    body = OutboxMessage.objects.filter(source_id=level_event(order, 3).pk).first()
    assert body is not None and order.number in body.body


@pytest.mark.django_db
def test_a_level_not_marked_for_leaders_spares_them_even_when_overdue(world: Any, station: Any):
    WarningLevel.objects.update(notify_shift_leader=False)
    order = repair_at_station(world, station)
    workorder_watch(now=HALF)
    workorder_watch(now=FOUR_FIFTHS)
    workorder_watch(now=DUE)
    for level in (1, 2, 3):
        assert told(level_event(order, level)) == {HANDLER_SMS}, level


@pytest.mark.django_db
def test_overdue_marks_the_order(world: Any, station: Any):
    order = repair_at_station(world, station)
    workorder_watch(now=HALF)
    assert WorkOrder.objects.get(pk=order.pk).time_state == TimeState.WARNING
    # The watcher was down for a while: at the next run the order is simply overdue, once.
    report = workorder_watch(now=at(*TUE, 11, 30))
    assert report.overdue == 1
    row = WorkOrder.objects.get(pk=order.pk)
    assert row.time_state == TimeState.OVERDUE
    assert row.next_warning_at is None
    assert OrderEvent.objects.filter(order=order, kind=EventKind.OVERDUE).count() == 1
    assert workorder_watch(now=at(*TUE, 12)).overdue == 0


@pytest.mark.django_db
def test_an_order_not_yet_dispatched_warns_its_accepting_unit(world: Any, station: Any):
    order = intake(world.agent_a1, world.account_a1, "repair", now=at(*TUE, 10))
    workorder_watch(now=HALF)
    assert told(level_event(order, 1)) == {LEADER_SMS}  # A1's shift leader; the station knows nothing yet


@pytest.mark.django_db
def test_a_returned_order_warns_the_dispatchers_not_the_unit_that_returned_it(world: Any, station: Any):
    order = repair_at_station(world, station)
    svc.workorder_return(actor=station.handler, order=order, reason="不属于本所", now=at(*TUE, 10, 10))
    workorder_watch(now=HALF)
    assert told(level_event(order, 1)) == {LEADER_SMS}


@pytest.mark.django_db
def test_the_management_command_uses_the_current_time(world: Any, station: Any):
    order = repair_at_station(world, station)
    out = StringIO()
    with time_machine.travel(FOUR_FIFTHS, tick=False):
        call_command("watch_orders", stdout=out)
    assert "warnings=1" in out.getvalue()
    assert timeline(order) == [(EventKind.WARNING, 2)]  # late start: the 80 % level, once


@pytest.fixture
def seeded(transactional_db: None) -> None:
    reseed()  # an earlier transaction=True test may have flushed the seed data away


@pytest.mark.django_db(transaction=True)
def test_two_watchers_at_once_raise_each_warning_once(seeded: None, world: Any, station: Any):
    orders = [repair_at_station(world, station) for _ in range(12)]
    levels: list[tuple[datetime, int]] = [(HALF, 1), (FOUR_FIFTHS, 2), (DUE, 3)]
    with shared_database():
        for moment, level in levels:
            outcome = run_together(*[functools.partial(workorder_watch, now=moment) for _copy in range(2)])
            assert outcome.errors == []
            assert sum(r.warnings + r.overdue for r in outcome.results) == len(orders), level
            for order in orders:
                assert OrderEvent.objects.filter(order=order, data__level=level).count() == 1, (order, level)
        for order in orders:
            assert [lvl for _kind, lvl in timeline(order)] == [1, 2, 3]
            assert WorkOrder.objects.get(pk=order.pk).time_state == TimeState.OVERDUE
            # Every message queued once: the station for each level, the leader for 80 % and overdue.
            assert told(level_event(order, 1)) == {HANDLER_SMS}
            assert told(level_event(order, 2)) == {HANDLER_SMS, LEADER_SMS}
            assert told(level_event(order, 3)) == {HANDLER_SMS, LEADER_SMS}
        warning_ids = OrderEvent.objects.filter(kind__in=[EventKind.WARNING, EventKind.OVERDUE]).values("id")
        queued = OutboxMessage.objects.filter(source_model="workorders.orderevent", source_id__in=warning_ids)
        assert queued.filter(recipient=HANDLER_SMS).count() == 3 * len(orders)
        assert queued.filter(recipient=LEADER_SMS).count() == 2 * len(orders)
