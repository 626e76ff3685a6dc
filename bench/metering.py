"""Bulk reading import at 1,000,000 meters: parse, check and validate a month's CSV end to end.

    .venv/bin/python bench/metering.py --database-url postgres://postgres@127.0.0.1:5432/kefu_bench
    .venv/bin/python bench/metering.py --sqlite var/bench/kefu-bench.sqlite3

Uses the benchmark database of the other scripts (loads ``kefu demo --customers N`` when it is not
there). Adds, set-based and once (marked by the ``BM`` serial prefix):

- ``--meters`` meters, one per service point (electricity or gas as the point), installed on 5 January
  a year ago with an initial reading;
- ``--history`` months of readings before the month imported, with a seasonal profile per meter
  (heating months higher for gas, summer for power) so the averages mean something.

Then, for the warm-up and each of ``--runs`` runs, writes a CSV (UTF-8, Chinese headers as a head-end
export gives them) of a reading for every meter for the next month — the previous month's value plus
the seasonal use, with about 1 % below the previous reading, 1 % far above the average and 0.5 % with
no consumption (these reach the 3-month zero rule from the third month on) — and times
``bulk.reading_bulk_import`` on it: the file's bytes to readings and exceptions committed, everything
included. Each run appends a new month, as a real month does; the last one is the month before this
one. Months imported by an earlier invocation are deleted first and the table compacted (not timed).
Median of the runs, with the time per stage of the median run (commit is the rest).
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from datetime import date
from pathlib import Path
from typing import Any

import common  # bench/common.py: the script's own directory comes first on sys.path

PREFIX = "BM"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    common.add_database_args(p)
    p.add_argument("--meters", type=int, default=1_000_000)
    p.add_argument("--history", type=int, default=3, help="months of readings before the month imported")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--chunk", type=int, default=200_000, help="rows per set-based step")
    return p.parse_args()


def month_add(first: date, k: int) -> date:
    year, month = divmod(first.year * 12 + first.month - 1 + k, 12)
    return date(year, month + 1, 1)


def first_month(runs: int) -> date:
    """The first month imported: warm-up and runs each import the next month, the last one being the
    month before this one (readings may not be dated in the future)."""
    today = date.today().replace(day=1)
    return month_add(today, -(runs + 1))


def meters_ensure(n: int, history: int, first: date) -> None:
    """The meters and their installations (once), then each history month before ``first`` that is
    missing, each one INSERT … SELECT. Months imported by an earlier invocation are deleted and the
    table compacted (not timed), so every timed import appends a new month as a real month does."""
    from django.db import connection, transaction

    from kefu.customers.models import Premise, ServicePoint
    from kefu.metering.models import ImportBatch, Meter, MeterEvent, Reading, ReadingException

    q = connection.ops.quote_name
    meter, event, reading = (q(m._meta.db_table) for m in (Meter, MeterEvent, Reading))
    sp, premise = q(ServicePoint._meta.db_table), q(Premise._meta.db_table)
    pg = connection.vendor == "postgresql"
    started = time.perf_counter()
    have = Meter.objects.filter(serial__startswith=PREFIX).count()
    if have and have != n:
        raise SystemExit(f"the database holds {have:,} bench meters, not {n:,}: use another database")
    oldest = month_add(first, -history)
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(f"DELETE FROM {q(ReadingException._meta.db_table)} WHERE period >= %s OR period < %s",  # noqa: S608
                    [first, oldest])
        cur.execute(f"DELETE FROM {reading} WHERE period >= %s OR period < %s", [first, oldest])  # noqa: S608
        stale = cur.rowcount
        ImportBatch.objects.filter(name__startswith="bench-metering").delete()
    if stale:
        with connection.cursor() as cur:
            cur.execute(f"VACUUM {'FULL ANALYZE ' if pg else ''}{reading if pg else ''}")
        print(f"removed {stale:,} readings of earlier invocations and compacted the table", flush=True)
    pad = "lpad(CAST(s.id AS TEXT), 9, '0')" if pg else "substr('000000000' || s.id, -9, 9)"
    with transaction.atomic(), connection.cursor() as cur:
        if not have:
            cur.execute(
                f"INSERT INTO {meter} (serial, kind, utility, model, manufacturer, registers, multiplier, digits, "  # noqa: S608
                "location, in_box, state, service_point_id, unit_id, version) "
                f"SELECT '{PREFIX}' || {pad}, CASE WHEN s.utility = 'gas' THEN 'diaphragm' ELSE 'single_phase' END, "
                "s.utility, '', '', 1, 1, 6, 'outdoor', TRUE, 'installed', s.id, p.unit_id, 1 "
                f"FROM {sp} s JOIN {premise} p ON p.id = s.premise_id "
                f"WHERE NOT EXISTS (SELECT 1 FROM {meter} m WHERE m.service_point_id = s.id) ORDER BY s.id LIMIT %s",
                [n])
            cur.execute(
                f"INSERT INTO {event} (service_point_id, meter_id, kind, installed_on, initial_reading, at) "  # noqa: S608
                f"SELECT service_point_id, id, 'install', %s, id %% 900, %s FROM {meter} WHERE serial LIKE %s",
                [month_add(oldest, -1), common_now(), PREFIX + "%"])
        # Monthly use: a base per meter (20–219) times a seasonal factor; the register climbs from the
        # initial reading month by month.
        added = []
        probe = Meter.objects.filter(serial__startswith=PREFIX).order_by("id").values_list("id", flat=True).first()
        for k in range(history):
            period = month_add(oldest, k)
            if Reading.objects.filter(meter_id=probe, period=period).exists():
                continue
            factor = seasonal(period.month)
            done = sum(seasonal(month_add(oldest, j).month) for j in range(k))
            cur.execute(
                f"INSERT INTO {reading} (meter_id, service_point_id, period, register, value, previous, consumption, "  # noqa: S608
                "read_on, source, state, unit_id, created_at) "
                f"SELECT m.id, m.service_point_id, %s, 0, m.id %% 900 + (20 + m.id %% 200) * %s, "
                f"m.id %% 900 + (20 + m.id %% 200) * %s, (20 + m.id %% 200) * %s, %s, 'actual', 'valid', m.unit_id, %s "
                f"FROM {meter} m WHERE m.serial LIKE %s",
                [period, done + factor, done, factor, period.replace(day=10), common_now(), PREFIX + "%"])
            added.append(f"{period:%Y-%m}")
    if pg:
        with connection.cursor() as cur:
            cur.execute(f"ANALYZE {meter}")
            cur.execute(f"ANALYZE {reading}")
    if added or not have:
        print(f"added {'' if have else f'{n:,} meters and '}history {', '.join(added)} in "
              f"{time.perf_counter() - started:.1f} s", flush=True)


def seasonal(month: int) -> float:
    return {1: 1.6, 2: 1.5, 3: 1.2, 4: 1.0, 5: 0.9, 6: 1.1, 7: 1.4, 8: 1.4, 9: 1.0, 10: 0.9, 11: 1.2,
            12: 1.5}[month]


def common_now() -> Any:
    from django.utils import timezone

    return timezone.now()


def csv_bytes(month: date) -> tuple[bytes, int, dict[str, int]]:
    """A month's file: the month before + the seasonal use, with planted anomalies."""
    from django.db import connection

    from kefu.metering.models import Meter, Reading

    q = connection.ops.quote_name
    with connection.cursor() as cur:  # one index lookup per meter (the planner may otherwise scan per meter)
        cur.execute(f"SELECT m.serial, m.id, r.value FROM {q(Meter._meta.db_table)} m JOIN "  # noqa: S608
                    f"{q(Reading._meta.db_table)} r ON r.meter_id = m.id AND r.period = %s AND r.register = 0 "
                    "WHERE m.serial LIKE %s ORDER BY m.id", [month_add(month, -1), PREFIX + "%"])
        rows = cur.fetchall()
    factor = seasonal(month.month)
    out = io.StringIO()
    out.write("表号,计度器,本次示数,抄表日期,抄表方式\n")
    planted = {"below": 0, "high": 0, "zero": 0}
    count = 0
    day = month.replace(day=10).isoformat()
    for serial, meter_id, value in rows:
        use = (20 + meter_id % 200) * factor
        bucket = meter_id % 200
        if bucket < 2:
            use, kind = -5, "below"
        elif bucket < 4:
            use, kind = use * 8, "high"
        elif bucket == 4:
            use, kind = 0, "zero"
        else:
            kind = ""
        if kind:
            planted[kind] += 1
        out.write(f"{serial},总,{float(value) + use:.2f},{day},实抄\n")
        count += 1
    return out.getvalue().encode("utf-8"), count, planted


def main() -> None:
    args = parse_args()
    url = common.database_url(args)
    common.django_setup(url)
    loaded = common.dataset_ensure(args)
    from django.db import connection

    from kefu.metering.bulk import csv_records, reading_bulk_import
    from kefu.org.models import Staff

    first = first_month(args.runs)
    meters_ensure(args.meters, args.history, first)
    # The demo's administrator: the file spans the power company and the gas group (two trees).
    actor = Staff.objects.filter(username="admin").select_related("unit").first()
    assert actor is not None, "the demo has an administrator"
    machine = common.machine()
    print(common.machine_line(machine))
    print(f"database: {common.db_version()}; months imported: {first:%Y-%m} and the {args.runs} after it")
    runs: list[dict[str, Any]] = []
    for i in range(args.runs + 1):
        month = month_add(first, i)
        data, count, planted = csv_bytes(month)  # not timed
        connection.close()
        started = time.perf_counter()
        report = reading_bulk_import(actor=actor, records=csv_records(data), name=f"bench-metering-{month:%Y-%m}.csv",
                                     chunk=args.chunk)
        seconds = time.perf_counter() - started
        assert report.ok and report.applied == count, report.lines()[:5]
        label = "warm-up" if i == 0 else f"run {i}"
        print(f"  {label:<8} {month:%Y-%m} {count:,} rows ({len(data) / 1e6:.1f} MB) {seconds:6.2f} s  "
              f"{count / seconds:10,.0f} readings/s   exceptions {dict(report.by_rule)}   "
              + "  ".join(f"{k} {v:.2f}" for k, v in report.seconds.items()), flush=True)
        if i:
            runs.append({"month": f"{month:%Y-%m}", "seconds": seconds, "stages": report.seconds,
                         "exceptions": report.by_rule, "planted": planted})
    median = statistics.median(r["seconds"] for r in runs)
    middle = min(runs, key=lambda r: abs(r["seconds"] - median))
    print(f"\nmedian {median:.2f} s = {count / median:,.0f} readings/s over {args.runs} runs "
          f"(slowest {max(r['seconds'] for r in runs):.2f} s); stages of the median run: "
          + ", ".join(f"{k} {v:.2f} s" for k, v in middle["stages"].items()))
    info = {"database": {"vendor": connection.vendor, "version": common.db_version()}, "machine": machine,
            "rows": count, "history_months": args.history, "runs": runs, "median_s": median,
            "per_second": count / median, "loaded_s": loaded}
    common.results_write("metering", info, args)
    Path(common.ROOT / "var" / "bench").mkdir(parents=True, exist_ok=True)


if __name__ == "__main__":
    main()
