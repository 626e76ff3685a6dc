"""Shared parts of the work-order benchmarks (bench/intake.py, bench/queues.py, bench/watcher.py).

Not a benchmark itself: the work-order dataset (the same 1M-customer demo as bench/lookup.py, plus
1M work orders from ``kefu demo --orders``) and its description. Everything else (database set-up,
machine, percentiles, CPU time, the gunicorn server, the results file) lives in bench/common.py and
is re-exported here for those scripts.
"""

from __future__ import annotations

import argparse
from typing import Any

import common
from common import (  # noqa: F401 - re-exported for bench/intake.py, queues.py, watcher.py
    PG_URL,
    PYTHON,
    ROOT,
    SQLITE_PATH,
    cpu_model,
    cpu_pressure,
    cpu_seconds,
    database_url,
    django_setup,
    free_port,
    gunicorn_start,
    kefu,
    machine,
    percentile,
    postgres_cpu_seconds,
    postgres_create_database,
    results_write,
    server_stop,
    server_wait,
    summary,
)


def add_database_args(p: argparse.ArgumentParser, *, customers: int = 1_000_000, orders: int = 1_000_000) -> None:
    common.add_database_args(p, customers=customers)
    p.add_argument("--orders", type=int, default=orders, help="demo work orders in the dataset")


def dataset_ensure(args: argparse.Namespace) -> float | None:
    """Migrate; load the demo customers and work orders unless that exact demo is there. Returns the
    load time when something was loaded."""
    return common.dataset_ensure(args, orders=args.orders)


def db_info() -> dict[str, Any]:
    from kefu.customers.models import Account, Customer
    from kefu.workorders.choices import OPEN_STATUSES
    from kefu.workorders.models import OrderClock, OrderEvent, WorkOrder

    return {"vendor": _vendor(), "version": common.db_version(),
            "customers": Customer.objects.count(), "accounts": Account.objects.count(),
            "orders": WorkOrder.objects.count(),
            "open_orders": WorkOrder.objects.filter(status__in=list(OPEN_STATUSES)).count(),
            "events": OrderEvent.objects.count(), "clocks": OrderClock.objects.count()}


def _vendor() -> str:
    from django.db import connection

    return str(connection.vendor)


def describe(info: dict[str, Any]) -> None:
    d = info["database"]
    print(common.machine_line(info["machine"]))
    print(f"database: {d['vendor']} {d['version']}; {d['customers']:,} customers, {d['orders']:,} work orders "
          f"({d['open_orders']:,} open), {d['events']:,} order events, {d['clocks']:,} clocks", flush=True)
