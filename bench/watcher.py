"""Time-limit watcher benchmark: ``kefu watch_orders`` on tens of thousands of due orders.

    .venv/bin/python bench/watcher.py --database-url postgres://postgres@127.0.0.1:5432/kefu_bench_watch
    .venv/bin/python bench/watcher.py --sqlite var/bench/kefu-bench-watch.sqlite3

Uses its own database (the queue benchmark's 1M orders stay untouched): ``kefu demo --customers
20000 --orders 0``, then, before every run, ``--orders`` open repair and gas-leak orders made by the
demo order generator as they stood ``--lag`` minutes ago (accepted in the ``--span`` minutes before
that, clocks started and warnings raised up to that moment). By now their arrival clocks have passed
further warning levels: they are due. Then ``kefu watch_orders --batch <all>`` runs as one copy, and
as two copies started together, ``--runs`` times each; the benchmark reports orders and warning
events per second and checks that no level of any clock was raised twice and nothing due was left.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import statistics
import subprocess
import time
from collections import Counter
from typing import Any

import workorders as wb  # bench/workorders.py: the script's own directory comes first on sys.path

DUE_TYPES: dict[str, tuple[tuple[str, float], ...]] = {"power": (("repair", 1.0),), "gas": (("gas_leak", 1.0),)}
REPORT = re.compile(r"orders=(\d+) warnings=(\d+) overdue=(\d+) lost_claims=(\d+)")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    db = p.add_mutually_exclusive_group()
    db.add_argument("--database-url", help="PostgreSQL URL of a dedicated database (created if missing)")
    db.add_argument("--sqlite", help="SQLite file (default var/bench/kefu-bench-watch.sqlite3)")
    p.add_argument("--customers", type=int, default=20_000)
    p.add_argument("--orders", type=int, default=60_000, help="open orders made before each run")
    p.add_argument("--span", type=float, default=30, help="minutes over which they were accepted")
    p.add_argument("--lag", type=float, default=60, help="minutes between their state and now")
    p.add_argument("--copies", nargs="+", type=int, default=[1, 2], help="watcher copies per scenario")
    p.add_argument("--runs", type=int, default=2)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--json", help="write the results here too (default bench/results/watcher-<db>.json)")
    args = p.parse_args()
    if not args.database_url and not args.sqlite:
        args.sqlite = str(wb.ROOT / "var" / "bench" / "kefu-bench-watch.sqlite3")
    return args


def dataset(args: argparse.Namespace) -> None:
    from kefu.demo.loader import demo_loaded_count

    wb.kefu("migrate", "--noinput", "-v0")
    loaded = demo_loaded_count()
    if loaded != args.customers:
        wb.kefu("demo", "--customers", str(args.customers), "--orders", "0", "--seed", str(args.seed),
                "--no-progress", "-v0", *(["--reset"] if loaded is not None else []))


def due_orders(args: argparse.Namespace, run: int) -> dict[str, Any]:
    """Replace every order with ``--orders`` fresh open ones whose next warnings fall due by now."""
    from django.utils import timezone

    from kefu.demo.orderload import demo_orders_wipe, order_world_load, orders_write
    from kefu.demo.orders import OrderGenerator
    from kefu.workorders.models import OrderClock, WorkOrder

    started = time.perf_counter()
    demo_orders_wipe()
    world = order_world_load()
    anchor = timezone.now() - dt.timedelta(minutes=args.lag)
    generator = OrderGenerator(seed=args.seed + run, world=world, total=args.orders, now=anchor,
                               span=dt.timedelta(minutes=args.span), open_share=1.0, type_weights=DUE_TYPES)
    totals, open_count = orders_write(generator, world=world, orders=args.orders, seed=args.seed + run)
    now = timezone.now()
    due = WorkOrder.objects.filter(next_warning_at__lte=now)
    info = {"orders": open_count, "due_orders": due.count(),
            "due_clocks": OrderClock.objects.filter(state="running", next_warning_at__lte=now).count(),
            "clocks": totals.get("workorders.OrderClock", 0), "events_before": totals.get("workorders.OrderEvent", 0),
            "prepare_seconds": time.perf_counter() - started}
    return info


def watch(args: argparse.Namespace, copies: int, batch: int) -> dict[str, Any]:
    env = {**os.environ}
    cmd = [wb.PYTHON, str(wb.ROOT / "manage.py"), "watch_orders", "--batch", str(batch)]
    t0 = time.perf_counter()
    procs = [subprocess.Popen(cmd, cwd=wb.ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
             for _ in range(copies)]
    reports = []
    for p in procs:
        out, _ = p.communicate()
        text = out.decode(errors="replace")
        match = REPORT.search(text)
        if p.returncode != 0 or match is None:
            raise SystemExit(f"watch_orders failed ({p.returncode}):\n{text[-3000:]}")
        reports.append(dict(zip(("orders", "warnings", "overdue", "lost_claims"), map(int, match.groups()),
                                strict=True)))
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "copies": reports}


def check(started: dt.datetime) -> dict[str, int]:
    """Warning events per (order, clock, level) never exceed the clocks of that kind on the order;
    nothing that was due when the run started is still due."""
    from kefu.workorders.models import OrderClock, OrderEvent, WorkOrder

    clocks = Counter(OrderClock.objects.values_list("order_id", "kind"))
    raised = Counter((o, d.get("clock"), d.get("level")) for o, d in OrderEvent.objects.filter(
        kind__in=["warning", "overdue"]).values_list("order_id", "data"))
    duplicates = sum(n - clocks[(o, kind)] for (o, kind, _level), n in raised.items() if n > clocks[(o, kind)])
    left = WorkOrder.objects.filter(next_warning_at__lte=started).count()
    return {"warning_events": sum(raised.values()), "duplicates": duplicates, "still_due": left}


def main() -> None:
    args = parse_args()
    url = wb.database_url(args)
    wb.django_setup(url)
    dataset(args)
    from django.utils import timezone

    info: dict[str, Any] = {"machine": wb.machine(), "database": wb.db_info(),
                            "args": {k: v for k, v in vars(args).items() if k != "json"}}
    m, d = info["machine"], info["database"]
    print(f"machine: {m['nproc']} CPUs ({m['cpu']}), {m['ram_gib']} GiB RAM, load average "
          f"{' '.join(f'{x:.1f}' for x in m['loadavg'])}, cpu pressure: {m['cpu_pressure']}")
    print(f"database: {d['vendor']} {d['version']}; {d['customers']:,} customers")
    results = []
    for copies in args.copies:
        runs = []
        for run in range(args.runs):
            prep = due_orders(args, run)
            started = timezone.now()
            before = check(started)
            out = watch(args, copies, batch=max(500, prep["due_orders"] * 2))
            after = check(started)
            processed = sum(r["orders"] for r in out["copies"])
            events = sum(r["warnings"] + r["overdue"] for r in out["copies"])
            row = {**prep, **out, "processed": processed, "events": events,
                   "orders_per_s": processed / out["seconds"], "events_per_s": events / out["seconds"],
                   "lost_claims": sum(r["lost_claims"] for r in out["copies"]),
                   "new_warning_events": after["warning_events"] - before["warning_events"],
                   "duplicates": after["duplicates"], "still_due": after["still_due"]}
            runs.append(row)
            print(f"{copies} cop{'y' if copies == 1 else 'ies'}, run {run + 1}: {prep['due_orders']:,} due orders "
                  f"({prep['due_clocks']:,} due clocks) of {prep['orders']:,} open; {out['seconds']:.1f} s, "
                  f"{processed:,} orders ({row['orders_per_s']:.0f}/s), {events:,} warning/overdue events "
                  f"({row['events_per_s']:.0f}/s); per copy {[r['orders'] for r in out['copies']]}; lost claims "
                  f"{row['lost_claims']}; duplicate levels {row['duplicates']}; still due {row['still_due']}",
                  flush=True)
        summary = {k: statistics.median(r[k] for r in runs)
                   for k in ("seconds", "orders_per_s", "events_per_s", "due_orders", "processed", "events")}
        summary.update(copies=copies, runs=runs, duplicates=sum(r["duplicates"] for r in runs),
                       still_due=sum(r["still_due"] for r in runs), lost_claims=sum(r["lost_claims"] for r in runs))
        results.append(summary)
    info["results"] = results
    wb.results_write("watcher", info, args)
    print("\n| copies | due orders | seconds | orders/s | warning events/s | lost claims | duplicate levels | "
          "left due |\n|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['copies']} | {r['due_orders']:,.0f} | {r['seconds']:.1f} | {r['orders_per_s']:.0f} | "
              f"{r['events_per_s']:.0f} | {r['lost_claims']} | {r['duplicates']} | {r['still_due']} |")


if __name__ == "__main__":
    main()
