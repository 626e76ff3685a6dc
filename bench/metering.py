"""Bulk reading import at 1,000,000 meters: parse, check and validate a month's CSV end to end.

    .venv/bin/python bench/metering.py --database-url postgres://postgres@127.0.0.1:5432/kefu_bench
    .venv/bin/python bench/metering.py --sqlite var/bench/kefu-bench.sqlite3

Uses the benchmark database of the other scripts (loads ``kefu demo --customers N`` when it is not
there). Adds, set-based and once (marked by the ``BM`` serial prefix):

- ``--meters`` meters, one per service point (electricity or gas as the point), installed on 5 January
  a year ago with an initial reading;
- ``--history`` months of readings before the month imported, with a seasonal profile per meter
  (heating months higher for gas, summer for power) so the averages mean something.

Then writes one CSV (UTF-8, Chinese headers as a head-end export gives them) of a reading for every
meter in the month after the history, with about 1 % below the previous reading, 1 % far above the
average and 0.5 % zero consumption, and times ``bulk.reading_bulk_import`` on it ``--runs`` times
(after one warm-up): the file's bytes to readings and exceptions committed, everything included.
Between runs (not timed) that month's readings, exceptions and batch are deleted. Median of the runs,
with the time per stage of the median run.
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

MONTH = date(2026, 11, 1)  # the month imported; its readings are dated the 10th
PREFIX = "BM"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    common.add_database_args(p)
    p.add_argument("--meters", type=int, default=1_000_000)
    p.add_argument("--history", type=int, default=3, help="months of readings before the month imported")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--chunk", type=int, default=200_000, help="rows per set-based step")
    return p.parse_args()


def month_back(k: int) -> date:
    year, month = divmod(MONTH.year * 12 + MONTH.month - 1 - k, 12)
    return date(year, month + 1, 1)


def meters_ensure(n: int, history: int) -> None:
    """The meters, their installations and their history, each one INSERT … SELECT."""
    from django.db import connection, transaction

    from kefu.customers.models import Premise, ServicePoint
    from kefu.metering.models import Meter, MeterEvent, Reading

    have = Meter.objects.filter(serial__startswith=PREFIX).count()
    if have == n and Reading.objects.filter(period=month_back(history), meter__serial__startswith=PREFIX).exists():
        return
    if have:
        raise SystemExit(f"the database holds {have:,} bench meters, not {n:,}: use another database")
    q = connection.ops.quote_name
    meter, event, reading = (q(m._meta.db_table) for m in (Meter, MeterEvent, Reading))
    sp, premise = q(ServicePoint._meta.db_table), q(Premise._meta.db_table)
    pg = connection.vendor == "postgresql"
    pad = "lpad(CAST(s.id AS TEXT), 9, '0')" if pg else "substr('000000000' || s.id, -9, 9)"
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {meter} (serial, kind, utility, model, manufacturer, registers, multiplier, digits, "  # noqa: S608
            "location, in_box, state, service_point_id, unit_id, version) "
            f"SELECT '{PREFIX}' || {pad}, CASE WHEN s.utility = 'gas' THEN 'diaphragm' ELSE 'single_phase' END, "
            "s.utility, '', '', 1, 1, 6, 'outdoor', TRUE, 'installed', s.id, p.unit_id, 1 "
            f"FROM {sp} s JOIN {premise} p ON p.id = s.premise_id "
            f"WHERE NOT EXISTS (SELECT 1 FROM {meter} m WHERE m.service_point_id = s.id) ORDER BY s.id LIMIT %s", [n])
        cur.execute(
            f"INSERT INTO {event} (service_point_id, meter_id, kind, installed_on, initial_reading, at) "  # noqa: S608
            f"SELECT service_point_id, id, 'install', %s, id %% 900, %s FROM {meter} WHERE serial LIKE %s",
            [date(MONTH.year - 1, 1, 5), common_now(), PREFIX + "%"])
        # Monthly use: a base per meter (20–219) times a seasonal factor; the register climbs from the
        # initial reading month by month.
        for k in range(history, 0, -1):
            period = month_back(k)
            factor = seasonal(period.month)
            done = sum(seasonal(month_back(j).month) for j in range(history, k, -1))
            cur.execute(
                f"INSERT INTO {reading} (meter_id, service_point_id, period, register, value, previous, consumption, "  # noqa: S608
                "read_on, source, state, unit_id, created_at) "
                f"SELECT m.id, m.service_point_id, %s, 0, m.id %% 900 + (20 + m.id %% 200) * %s, "
                f"m.id %% 900 + (20 + m.id %% 200) * %s, (20 + m.id %% 200) * %s, %s, 'actual', 'valid', m.unit_id, %s "
                f"FROM {meter} m WHERE m.serial LIKE %s",
                [period, done + factor, done, factor, period.replace(day=10), common_now(), PREFIX + "%"])
        if pg:
            cur.execute(f"ANALYZE {meter}")
            cur.execute(f"ANALYZE {reading}")
    print(f"added {n:,} meters with {history} months of history in {time.perf_counter() - started:.1f} s", flush=True)


def seasonal(month: int) -> float:
    return {1: 1.6, 2: 1.5, 3: 1.2, 4: 1.0, 5: 0.9, 6: 1.1, 7: 1.4, 8: 1.4, 9: 1.0, 10: 0.9, 11: 1.2,
            12: 1.5}[month]


def common_now() -> Any:
    from django.utils import timezone

    return timezone.now()


def csv_bytes(history: int) -> tuple[bytes, int, dict[str, int]]:
    """This month's file: previous + the seasonal use, with planted anomalies."""
    from kefu.metering.models import Reading

    rows = (Reading.objects.filter(period=month_back(1), meter__serial__startswith=PREFIX)
            .values_list("meter__serial", "meter_id", "value").order_by("meter_id").iterator(chunk_size=50_000))
    factor = seasonal(MONTH.month)
    out = io.StringIO()
    out.write("表号,计度器,本次示数,抄表日期,抄表方式\n")
    planted = {"below": 0, "high": 0, "zero": 0}
    count = 0
    day = MONTH.replace(day=10).isoformat()
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


def clear_month() -> None:
    from django.db import connection, transaction

    from kefu.metering.models import ImportBatch, Reading, ReadingException

    q = connection.ops.quote_name
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(f"DELETE FROM {q(ReadingException._meta.db_table)} WHERE period = %s", [MONTH])  # noqa: S608
        cur.execute(f"DELETE FROM {q(Reading._meta.db_table)} WHERE period = %s", [MONTH])  # noqa: S608
        ImportBatch.objects.filter(name="bench-metering.csv").delete()
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(f"VACUUM ANALYZE {q(Reading._meta.db_table)}")


def main() -> None:
    args = parse_args()
    url = common.database_url(args)
    common.django_setup(url)
    loaded = common.dataset_ensure(args)
    from django.db import connection

    from kefu.metering.bulk import csv_records, reading_bulk_import
    from kefu.org.models import Staff

    meters_ensure(args.meters, args.history)
    data, count, planted = csv_bytes(args.history)
    # The demo's administrator: the file spans the power company and the gas group (two trees).
    actor = Staff.objects.filter(username="admin").select_related("unit").first()
    assert actor is not None, "the demo has an administrator"
    machine = common.machine()
    print(common.machine_line(machine))
    print(f"database: {common.db_version()}; file: {count:,} rows, {len(data) / 1e6:.1f} MB; planted {planted}")
    runs: list[dict[str, Any]] = []
    for i in range(args.runs + 1):
        clear_month()
        connection.close()
        started = time.perf_counter()
        report = reading_bulk_import(actor=actor, records=csv_records(data), name="bench-metering.csv",
                                     chunk=args.chunk)
        seconds = time.perf_counter() - started
        assert report.ok and report.applied == count, report.lines()[:5]
        label = "warm-up" if i == 0 else f"run {i}"
        print(f"  {label:<8} {seconds:6.2f} s  {count / seconds:10,.0f} readings/s   exceptions {report.by_rule}   "
              + "  ".join(f"{k} {v:.2f}" for k, v in report.seconds.items()), flush=True)
        if i:
            runs.append({"seconds": seconds, "stages": report.seconds, "exceptions": report.by_rule})
    median = statistics.median(r["seconds"] for r in runs)
    middle = min(runs, key=lambda r: abs(r["seconds"] - median))
    print(f"\nmedian {median:.2f} s = {count / median:,.0f} readings/s over {args.runs} runs "
          f"(slowest {max(r['seconds'] for r in runs):.2f} s); stages of the median run: "
          + ", ".join(f"{k} {v:.2f} s" for k, v in middle["stages"].items()))
    info = {"database": {"vendor": connection.vendor, "version": common.db_version()}, "machine": machine,
            "rows": count, "history_months": args.history, "runs": runs, "median_s": median,
            "per_second": count / median, "loaded_s": loaded, "file_mb": len(data) / 1e6}
    common.results_write("metering", info, args)
    Path(common.ROOT / "var" / "bench").mkdir(parents=True, exist_ok=True)


if __name__ == "__main__":
    main()
