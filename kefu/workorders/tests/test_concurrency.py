"""Two people at the same moment: one wins, the other gets a clear refusal, and the timeline records
one action. Real threads, each with its own database connection (SQLite works on a file copy of the
test database for the duration, PostgreSQL as it is)."""

from __future__ import annotations

from typing import Any

import pytest

from kefu.core.errors import Conflict, IllegalTransition
from kefu.org.tests.factories import make_staff
from kefu.workorders import services as svc
from kefu.workorders.choices import EventKind, Status
from kefu.workorders.models import OrderEvent, WorkOrder
from kefu.workorders.tests.factories import reseed, run_together, shared_database

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _seed_data(db: None) -> None:
    # Before ``world``: its orders need the type catalogue, which an earlier transaction=True test may
    # have flushed away.
    reseed()


def count(order: WorkOrder, kind: str) -> int:
    return OrderEvent.objects.filter(order=order, kind=kind).count()


@pytest.mark.parametrize("with_version", [True, False])
def test_two_dispatchers_at_once(world: Any, station: Any, with_version: bool):
    order = world.order_a1
    seen = order.version if with_version else None
    with shared_database():
        outcome = run_together(
            lambda: svc.workorder_dispatch(actor=world.agent_a1, order=order, unit=station.unit,
                                           expected_version=seen),
            lambda: svc.workorder_dispatch(actor=station.leader, order=order, unit=station.unit,
                                           expected_version=seen),
        )
        assert len(outcome.results) == 1, outcome.errors
        assert len(outcome.errors) == 1
        loser = outcome.errors[0]
        assert isinstance(loser, Conflict if with_version else (Conflict, IllegalTransition)), repr(loser)
        assert str(loser)  # a message the person can read
        row = WorkOrder.objects.get(pk=order.pk)
        assert row.status == Status.DISPATCHED
        assert row.version == order.version + 1
        assert count(order, EventKind.DISPATCH) == 1


def test_two_handlers_acknowledge_at_once(world: Any, station: Any):
    colleague = make_staff("handler_s1b", unit=station.unit, roles=["handler"], phone="13900004444")
    order = svc.workorder_dispatch(actor=world.agent_a1, order=world.order_a1, unit=station.unit)
    with shared_database():
        outcome = run_together(
            lambda: svc.workorder_acknowledge(actor=station.handler, order=order, expected_version=order.version),
            lambda: svc.workorder_acknowledge(actor=colleague, order=order, expected_version=order.version),
        )
        assert len(outcome.results) == 1 and len(outcome.errors) == 1
        assert isinstance(outcome.errors[0], (Conflict, IllegalTransition))
        winner = outcome.results[0]
        row = WorkOrder.objects.get(pk=order.pk)
        assert row.status == Status.ACKNOWLEDGED
        assert row.assignee_id == winner.assignee_id
        assert row.assignee_id in (station.handler.pk, colleague.pk)
        assert count(order, EventKind.ACKNOWLEDGE) == 1
        assert row.version == order.version + 1


def test_concurrent_intake_with_one_key_gives_one_order(world: Any):
    before = WorkOrder.objects.count()

    def submit() -> svc.IntakeResult:
        return svc.workorder_intake(actor=world.agent_a1, order_type="repair", channel="phone",
                                    account=world.account_a1, content="停电了", intake_key="cti-2026-0042")

    with shared_database():
        outcome = run_together(*[submit for _ in range(4)])
        assert outcome.errors == []
        assert len({r.order.pk for r in outcome.results}) == 1
        assert sorted(r.created for r in outcome.results) == [False, False, False, True]
        assert WorkOrder.objects.count() == before + 1
        order = outcome.results[0].order
        assert count(order, EventKind.ACCEPTED) == 1


def test_concurrent_intakes_get_distinct_numbers(world: Any):
    def submit(n: int) -> Any:
        return lambda: svc.workorder_intake(actor=world.agent_a1, order_type="enquiry", channel="phone",
                                            account=world.account_a1, content=f"咨询 {n}", intake_key=f"k-{n}")

    with shared_database():
        outcome = run_together(*[submit(n) for n in range(8)])
        assert outcome.errors == []
        assert all(r.created for r in outcome.results)
        numbers = [r.order.number for r in outcome.results]
        assert len(set(numbers)) == 8
        stored = list(WorkOrder.objects.values_list("number", flat=True))
        assert len(stored) == len(set(stored))
        assert set(numbers) <= set(stored)
