"""Demo work orders: consistent with the lifecycle rules, realistic in shape, deterministic, idempotent."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from io import StringIO
from itertools import pairwise
from typing import Any

import pytest
from django.core.management import call_command
from django.db.models import Max

from kefu.core.models import NumberSequence
from kefu.demo.loader import demo_load
from kefu.demo.orderload import ORDER_SEQUENCE_KEY, ORDERS_MARKER_KEY, demo_orders_load
from kefu.demo.orders import ORDER_FIELDS, Timeline
from kefu.org.models import Staff
from kefu.workorders import clocks as clockwork
from kefu.workorders.choices import CLOSED_STATUSES, OPEN_STATUSES, TRANSITIONS, EventKind, Status
from kefu.workorders.models import OrderClock, OrderEvent, WorkOrder
from kefu.workorders.selectors import Queue, queue_qs
from kefu.workorders.watcher import workorder_watch

pytestmark = pytest.mark.django_db(transaction=True)
NOW = dt.datetime(2026, 11, 20, 6, 30, tzinfo=dt.UTC)  # 14:30 in Asia/Shanghai, a Friday
STAMPS: dict[str, str] = {  # the stage time an order must carry once it has passed the status
    Status.DISPATCHED: "dispatched_at", Status.ACKNOWLEDGED: "acknowledged_at", Status.ON_SITE: "arrived_at",
    Status.HANDLED: "handled_at", Status.REPLIED: "replied_at", Status.CALLED_BACK: "called_back_at",
    Status.ARCHIVED: "closed_at", Status.CANCELLED: "closed_at", Status.MERGED: "closed_at",
}


@pytest.fixture(autouse=True)
def fast_hasher(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def customers(count: int = 300) -> None:
    demo_load(customers=count, seed=7, progress=False)


def snapshot() -> list[tuple[Any, ...]]:
    return sorted(WorkOrder.objects.values_list(
        "number", "order_type__code", "status", "channel", "account__number", "accepted_by__username",
        "handling_unit__code", "accepted_at", "closed_at", "due_at", "time_state"))


def test_orders_follow_the_lifecycle_and_look_like_a_hotline() -> None:
    customers()
    result = demo_orders_load(orders=3000, seed=7, progress=False, now=NOW, personas=False)
    assert result.loaded and result.orders == 3000
    orders = list(WorkOrder.objects.prefetch_related("events", "clocks").select_related("order_type"))
    assert len(orders) == 3000
    assert 0.02 <= result.open / 3000 <= 0.07, result.open
    statuses = Counter(o.status for o in orders)
    assert statuses[Status.ARCHIVED] > 2500 and statuses[Status.CANCELLED] and statuses[Status.MERGED]
    assert len({s for s in statuses if s in OPEN_STATUSES}) >= 6, statuses
    types = Counter(o.order_type.code for o in orders)
    assert types.most_common(2)[0][0] in ("repair", "enquiry") and types["repair"] + types["enquiry"] > 1500
    assert min(o.accepted_at for o in orders) >= NOW - dt.timedelta(days=365)
    numbers = [o.number for o in orders]
    assert len(set(numbers)) == len(numbers)
    assert NumberSequence.objects.get(key=ORDER_SEQUENCE_KEY).last_value >= max(int(n[6:]) for n in numbers)
    by_id = sorted(orders, key=lambda o: o.pk)
    assert all(a.accepted_at <= b.accepted_at for a, b in pairwise(by_id)), "ids follow time"
    for o in orders:
        events = sorted(o.events.all(), key=lambda e: (e.at, e.pk))
        assert events[0].kind == EventKind.ACCEPTED and events[0].at == o.accepted_at
        assert events[-1].at <= NOW
        status: str = Status.ACCEPTED
        for e in events[1:]:
            if e.kind in TRANSITIONS and e.to_status:
                assert status in TRANSITIONS[e.kind][0], (o.number, e.kind, status)
                assert e.from_status == status
                status = e.to_status
        assert status == o.status, o.number
        if o.status in STAMPS:
            assert getattr(o, STAMPS[o.status]) is not None, (o.number, o.status)
        if o.status in CLOSED_STATUSES:
            assert not o.clocks.all() and o.next_warning_at is None
        else:
            clocks = list(o.clocks.all())
            # The row's deadlines are what the clock code makes of its clocks, all warnings up to NOW raised.
            assert (o.due_at, o.next_warning_at, o.time_state) == clockwork.order_summary(clocks), o.number
            assert o.next_warning_at is None or o.next_warning_at > NOW
            warned = Counter((e.data["clock"], e.data["level"]) for e in events
                             if e.kind in (EventKind.WARNING, EventKind.OVERDUE))
            # Each level of each clock once (a public and an internal clock of one kind share the name).
            kinds = Counter(c.kind for c in clocks)
            assert all(n <= kinds[clock] for (clock, _level), n in warned.items()), o.number
            for c in clocks:
                assert (c.kind, c.warned) in warned or c.warned == 0, (o.number, c.kind)
    assert any(o.time_state == "overdue" for o in orders) and any(o.supervised for o in orders)
    # Nothing was due at NOW: the watcher, run at that moment, finds no work.
    assert workorder_watch(now=NOW).orders == 0


def test_same_seed_gives_the_same_orders_and_reruns_do_nothing() -> None:
    customers()
    demo_orders_load(orders=800, seed=7, progress=False, now=NOW, personas=False)
    first = snapshot()
    assert demo_orders_load(orders=800, seed=7, progress=False, now=NOW).loaded is False
    assert snapshot() == first
    demo_orders_load(orders=800, seed=7, progress=False, now=NOW, reset=True, personas=False)
    assert snapshot() == first
    demo_orders_load(orders=800, seed=8, progress=False, now=NOW, reset=True, personas=False)
    assert snapshot() != first
    assert NumberSequence.objects.get(key=ORDERS_MARKER_KEY).last_value == 800


def test_plain_demo_has_orders_for_the_personas() -> None:
    out = StringIO()
    call_command("demo", "--no-progress", "--customers", "300", "--orders", "500", stdout=out)
    text = out.getvalue()
    assert "Loaded 500 demo work orders" in text and "station_handler1" in text
    agent, handler, leader = (Staff.objects.get(username=n) for n in ("agent1", "station_handler1", "leader1"))
    assert handler.unit is not None and handler.unit.code == "ZJDL-HZ-XH-WX" and handler.has_role("handler")
    assert handler.check_password("kefu-demo-2026")
    assert queue_qs(agent, Queue.MINE).exists() and queue_qs(agent, Queue.TO_DISPATCH).exists()
    assert queue_qs(handler, Queue.UNIT).exists() and queue_qs(handler, Queue.MINE).exists()
    assert queue_qs(leader, Queue.SUPERVISED).filter(supervised_by=leader).exists()
    overdue = WorkOrder.objects.filter(accepted_by=agent, status=Status.ACKNOWLEDGED, time_state="overdue")
    assert overdue.exists(), "the watcher raised the persona order's warnings"
    # A second run changes nothing; a full reset removes the orders with the customers.
    before = WorkOrder.objects.count()
    call_command("demo", "--no-progress", "--customers", "300", "--orders", "500", stdout=StringIO())
    assert WorkOrder.objects.count() == before
    call_command("demo", "--no-progress", "--customers", "200", "--orders", "100", "--reset", stdout=StringIO())
    assert 100 <= WorkOrder.objects.count() < before
    assert OrderEvent.objects.filter(order__isnull=True).count() == 0


def test_orders_are_added_to_a_demo_loaded_without_them() -> None:
    customers()
    Staff.objects.filter(username__startswith="station_handler").delete()  # as loaded by an earlier version
    result = demo_orders_load(orders=200, seed=7, progress=False)
    assert "station_handler1" in result.staff_added
    assert WorkOrder.objects.count() >= 200 and OrderClock.objects.exists()
    top = WorkOrder.objects.aggregate(top=Max("id"))["top"]
    assert top is not None


def test_row_layout_matches_the_models() -> None:
    for model, names in ORDER_FIELDS.items():
        assert names == tuple(f.attname for f in model._meta.concrete_fields), model.__name__


def test_timeline_rises_and_stays_in_the_year() -> None:
    from zoneinfo import ZoneInfo

    line = Timeline(total=10_000, now=NOW, tz=ZoneInfo("Asia/Shanghai"))
    times = [line.at(g, 0.5) for g in range(10_000)]
    assert times == sorted(times) and times[-1] <= NOW and times[0] >= NOW - dt.timedelta(days=365)
    night = sum(1 for t in times if t.astimezone(ZoneInfo("Asia/Shanghai")).hour < 6)
    assert night < 0.05 * len(times)
