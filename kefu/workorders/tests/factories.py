"""Factories and helpers for work-order tests: local times, accounts in a region class, orders in any
status, and running code in several threads against one test database."""

from __future__ import annotations

import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.db import DEFAULT_DB_ALIAS, connections

from kefu.core.calendar import calendar_invalidate
from kefu.core.calendar_seed import calendar_seed
from kefu.customers.models import Account, Premise
from kefu.customers.tests.factories import make_account
from kefu.org.models import OrgUnit, Staff
from kefu.workorders.choices import Status
from kefu.workorders.clocks import policy_cache_clear
from kefu.workorders.models import OrderEvent, OrderType, SlaPolicy, WarningLevel, WorkOrder
from kefu.workorders.seed import catalogue_seed
from kefu.workorders.services import workorder_intake

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0,
       microsecond: int = 0) -> datetime:
    """A moment in Beijing time (the business calendar's zone)."""
    return datetime(year, month, day, hour, minute, second, microsecond, tzinfo=SHANGHAI)


def local(moment: datetime | None) -> datetime | None:
    return moment.astimezone(SHANGHAI) if moment is not None else None


def account_in(unit: OrgUnit, *, region_class: str = "urban", utility: str = "power", **kw: Any) -> Account:
    """An account whose premise lies in the given region class (the class decides field time limits)."""
    account = make_account(unit=unit, utility=utility, **kw)
    Premise.objects.filter(pk=account.premise_id).update(region_class=region_class)
    return Account.objects.select_related("premise", "customer").get(pk=account.pk)


def intake(actor: Staff, account: Account | None, order_type: str, *, channel: str = "phone",
           now: datetime | None = None, **kw: Any) -> WorkOrder:
    return workorder_intake(actor=actor, order_type=order_type, channel=channel, account=account,
                            content=kw.pop("content", "测试工单 / test order"), now=now, **kw).order


def force_status(order: WorkOrder, status: str, *, handling_unit: OrgUnit | None = None, **fields: Any) -> WorkOrder:
    """Put a fresh order straight into ``status`` (for table checks that must start from every status)."""
    values: dict[str, Any] = {"status": status, "handling_unit": handling_unit, **fields}
    if status == Status.SUSPENDED:
        values.setdefault("suspended_from", Status.ACKNOWLEDGED)
    WorkOrder.objects.filter(pk=order.pk).update(**values)
    return WorkOrder.objects.select_related("order_type", "handling_unit", "accepted_unit").get(pk=order.pk)


def snapshot(order: WorkOrder) -> tuple[str, int, int, str]:
    """What a refused action must leave unchanged: status, version, number of events, handling unit."""
    row = WorkOrder.objects.get(pk=order.pk)
    return row.status, row.version, OrderEvent.objects.filter(order=order).count(), str(row.handling_unit_id)


# ------------------------------------------------------------------------------------- threads


def reseed() -> None:
    """Put back what the data migrations seed (business calendar, order types, time limits, warning
    levels, knowledge categories and articles). A transaction=True test empties the tables when it
    ends, so the next one may start without them; the seeds are idempotent, so this is harmless when
    the rows are still there."""
    from kefu.knowledge.seed import knowledge_seed  # the knowledge base's categories and starting articles
    from kefu.metering.models import ValidationRule
    from kefu.metering.seed import metering_seed
    from kefu.outages.models import GroupingRule, MessageTemplate, NoticeRule
    from kefu.outages.seed import outage_policy_seed

    calendar_seed()
    catalogue_seed(type_model=OrderType, policy_model=SlaPolicy, level_model=WarningLevel)
    knowledge_seed()
    outage_policy_seed(rule_model=NoticeRule, grouping_model=GroupingRule, template_model=MessageTemplate)
    metering_seed(rule_model=ValidationRule)
    calendar_invalidate()
    policy_cache_clear()


@contextmanager
def shared_database() -> Iterator[None]:
    """Let threads work on the test database, each through its own connection.

    PostgreSQL (or SQLite in a file) needs nothing. SQLite's in-memory test database is one shared
    cache, where a second writer fails at once with "table is locked" instead of waiting; so for the
    duration the database is copied to a file and every connection (this thread's and new ones) opens
    that file, with the WAL mode and busy timeout from settings. Use inside a transaction=True test.
    """
    conn = connections[DEFAULT_DB_ALIAS]
    if conn.vendor != "sqlite" or not conn.is_in_memory_db():  # type: ignore[attr-defined]
        yield
        return
    conn.ensure_connection()
    memory = conn.connection  # kept open: closing the last connection would drop the memory database
    settings_dict = conn.settings_dict  # the same dict every thread's connection is built from
    memory_name = settings_dict["NAME"]
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "threads.sqlite3")
        copy = sqlite3.connect(path)
        memory.backup(copy)
        # WAL is a property of the file: set it once here, so the threads' own "journal_mode=WAL" on
        # connect finds it done instead of racing each other for the exclusive lock it needs.
        copy.execute("PRAGMA journal_mode=WAL")
        copy.close()
        settings_dict["NAME"] = path
        conn.connection = None
        try:
            yield
        finally:
            conn.close()
            settings_dict["NAME"] = memory_name
            conn.connection = memory


@dataclass
class Outcome:
    results: list[Any] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)


def run_together(*calls: Callable[[], Any], timeout: float = 60.0) -> Outcome:
    """Run each call in its own thread, all released at the same moment; collect results and errors.

    Each thread has its own database connection (Django's connections are per thread) and closes it
    at the end, so PostgreSQL sees separate sessions and no connection outlives the test."""
    barrier = threading.Barrier(len(calls))
    outcome = Outcome()
    lock = threading.Lock()

    def worker(call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout)
            result = call()
            with lock:
                outcome.results.append(result)
        except BaseException as exc:
            with lock:
                outcome.errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
        assert not thread.is_alive(), "a thread did not finish in time"
    return outcome
