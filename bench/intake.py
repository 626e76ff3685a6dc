"""Work-order intake benchmark: POST /api/v1/workorders/ with many concurrent clients.

    .venv/bin/python bench/intake.py --database-url postgres://postgres@127.0.0.1:5432/kefu_bench
    .venv/bin/python bench/intake.py --sqlite var/bench/kefu-bench.sqlite3

On the demo dataset (1M customers, 1M work orders; loaded by ``kefu demo`` when missing), agents
accept new orders through the API: token auth, a unique ``Idempotency-Key`` per request, bodies for
the hotline's usual types (repairs and enquiries for an account, some by phone number only). For
each server set-up (gunicorn workers / threads) the load generator keeps ``--clients`` requests in
flight for ``--duration`` seconds after a warm-up, ``--runs`` times, and reports sustained orders/s,
latency p50/p99, errors and the CPU per order of the server and of PostgreSQL. The load generator
runs on the same machine and takes its share of the CPUs: the output says how much.

``--profile N`` adds an in-process look at one intake: the SQL it sends (count and time) and where
the CPU goes (cProfile of N requests through Django's test client). Orders the benchmark made are
deleted at the end (their idempotency keys start with ``bench-``).
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import io
import json
import multiprocessing as mp
import os
import pstats
import random
import statistics
import threading
import time
import uuid
from collections import Counter
from multiprocessing.connection import Connection
from typing import Any

import workorders as wb  # bench/workorders.py: the script's own directory comes first on sys.path

DEFAULT_CONFIGS = ("sync:4", "gthread:2x8", "gthread:4x4")
KEY_PREFIX = "bench-"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    wb.add_database_args(p)
    p.add_argument("--configs", nargs="+", default=list(DEFAULT_CONFIGS),
                   help="gunicorn set-ups: sync:WORKERS or gthread:WORKERSxTHREADS (default: %(default)s)")
    p.add_argument("--clients", type=int, default=32, help="requests in flight (client threads in all)")
    p.add_argument("--client-procs", type=int, default=2, help="load-generator processes sharing the clients")
    p.add_argument("--duration", type=float, default=20.0, help="measured seconds per run")
    p.add_argument("--warmup", type=float, default=4.0, help="unmeasured seconds at the start of each run")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--profile", type=int, default=0, metavar="N", help="profile N intakes in-process")
    p.add_argument("--skip-http", action="store_true")
    p.add_argument("--keep", action="store_true", help="keep the orders the benchmark made")
    return p.parse_args()


# ------------------------------------------------------------------------------------------ requests


def bodies(seed: int, count: int = 4000) -> tuple[list[tuple[str, str]], list[dict[str, Any]]]:
    """(username, token) of the power agents and a seeded mix of request bodies for them."""
    from django.db.models import Max, Min
    from rest_framework.authtoken.models import Token

    from kefu.customers.models import Account
    from kefu.org.choices import Role
    from kefu.org.models import OrgUnit, Staff

    root = OrgUnit.objects.get(code="ZJDL")
    agents = list(Staff.objects.filter(unit=root, roles__role=Role.AGENT, is_active=True).order_by("id"))
    tokens = [(a.username, Token.objects.get_or_create(user=a)[0].key) for a in agents]
    rng = random.Random(f"intake:{seed}")
    power = Account.objects.filter(utility="power", unit__path__startswith=root.path)
    bounds = power.aggregate(lo=Min("id"), hi=Max("id"))
    ids = list(power.filter(id__in=[rng.randint(bounds["lo"], bounds["hi"]) for _ in range(count * 2)])
               .values_list("id", flat=True)[:count])
    kinds = [("repair", "家中突然停电，邻居家也没电。"), ("repair", "家里跳闸后合不上。"),
             ("enquiry", "咨询电费余额和本月电费。"), ("enquiry", "咨询阶梯电价怎么计算。"),
             ("service_meter", "电表走得特别快。"), ("complaint_service", "客服电话等了很久没人接。")]
    weights = [30, 15, 20, 15, 10, 10]
    out: list[dict[str, Any]] = []
    for i in range(count):
        kind, text = rng.choices(kinds, weights)[0]
        body: dict[str, Any] = {"order_type": kind, "channel": rng.choice(["phone"] * 8 + ["app", "wechat"]),
                                "content": text}
        if i % 10 == 9:  # by phone number only
            body.update(utility="power", caller_phone=f"138{rng.randrange(10**8):08d}", caller_name="王先生",
                        address="浙江省杭州市西湖区文新街道")
        else:
            body["account"] = ids[i % len(ids)]
        out.append(body)
    return tokens, out


def _client_proc(port: int, tokens: list[tuple[str, str]], payloads: list[dict[str, Any]], threads: int,
                 start: float, measure_from: float, stop: float, tag: str, pipe: Connection) -> None:
    """One load-generator process: ``threads`` keep-alive connections posting until ``stop``."""
    records: list[tuple[float, float, int]] = []  # (sent at, latency ms, status)
    lock = threading.Lock()
    cpu0 = time.process_time()

    def worker(n: int) -> None:
        _username, token = tokens[n % len(tokens)]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine: list[tuple[float, float, int]] = []
        i = 0
        while time.time() < start:
            time.sleep(0.001)
        while True:
            t0 = time.time()
            if t0 >= stop:
                break
            body = json.dumps(payloads[(n * 7919 + i) % len(payloads)], ensure_ascii=False).encode()
            headers = {"Authorization": f"Token {token}", "Content-Type": "application/json",
                       "Accept": "application/json", "Idempotency-Key": f"{KEY_PREFIX}{tag}-{n}-{i}"}
            i += 1
            try:
                conn.request("POST", "/api/v1/workorders/", body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                code = resp.status
            except (OSError, http.client.HTTPException):
                conn.close()
                code = 0
            t1 = time.time()
            if t0 >= measure_from:
                mine.append((t0, (t1 - t0) * 1000, code))
        conn.close()
        with lock:
            records.extend(mine)

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    pipe.send((records, time.process_time() - cpu0))
    pipe.close()


def run_load(args: argparse.Namespace, port: int, tokens: list[tuple[str, str]], payloads: list[dict[str, Any]],
             server_pid: int, tag: str) -> dict[str, Any]:
    ctx = mp.get_context("fork")
    start = time.time() + 1.0
    measure_from = start + args.warmup
    stop = measure_from + args.duration
    procs = []
    per = [args.clients // args.client_procs + (1 if i < args.clients % args.client_procs else 0)
           for i in range(args.client_procs)]
    for i, threads in enumerate(per):
        parent, child = ctx.Pipe(duplex=False)
        # Each process's connections go to one agent's token per thread; the key names the run.
        p = ctx.Process(target=_client_proc, args=(port, tokens, payloads, threads, start, measure_from, stop,
                                                   f"{tag}-{i}", child))
        p.start()
        procs.append((p, parent))
    while time.time() < measure_from:
        time.sleep(0.01)
    server0, pg0, t0 = wb.cpu_seconds(server_pid), wb.postgres_cpu_seconds(), time.time()
    time.sleep(max(0.0, stop - time.time()))
    server1, pg1, t1 = wb.cpu_seconds(server_pid), wb.postgres_cpu_seconds(), time.time()
    records: list[tuple[float, float, int]] = []
    client_cpu = 0.0
    for p, parent in procs:
        got, cpu = parent.recv()
        records += got
        client_cpu += cpu
        p.join()
    ok = [r for r in records if r[2] in (200, 201)]
    errors = Counter(r[2] for r in records if r[2] not in (200, 201))
    latencies = [r[1] for r in ok]
    elapsed = t1 - t0
    rate = len(ok) / args.duration
    return {"orders_per_s": rate, "requests": len(records), "ok": len(ok), "errors": dict(errors),
            "p50": statistics.median(latencies) if latencies else float("nan"),
            "p99": wb.percentile(latencies, 99), "max": max(latencies, default=float("nan")),
            "server_cpu_ms": (server1 - server0) * 1000 / max(1, len(ok)),
            "postgres_cpu_ms": (pg1 - pg0) * 1000 / max(1, len(ok)),
            "server_cpu_share": (server1 - server0) / elapsed, "postgres_cpu_share": (pg1 - pg0) / elapsed,
            "client_cpu_share": client_cpu / (stop - start)}


def bench_http(args: argparse.Namespace, tokens: list[tuple[str, str]],
               payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    results = []
    run_id = uuid.uuid4().hex[:8]
    for config in args.configs:
        kind, _, size = config.partition(":")
        workers, _, threads = size.partition("x")
        port = wb.free_port()
        log = wb.ROOT / "var" / "bench" / f"intake-server-{port}.log"
        server = wb.gunicorn_start(port, log, workers=int(workers), threads=int(threads or 1), worker_class=kind)
        try:
            wb.server_wait(server, port, log)
            print(f"gunicorn {config} ({kind}, {workers} workers{f' x {threads} threads' if threads else ''}), "
                  f"{args.clients} clients in {args.client_procs} processes, {args.warmup:.0f} s warm-up + "
                  f"{args.duration:.0f} s measured, {args.runs} runs:", flush=True)
            runs = []
            for n in range(args.runs):
                r = run_load(args, port, tokens, payloads, server.pid, f"{run_id}-{config}-{n}")
                runs.append(r)
                print(f"  run {n + 1}: {r['orders_per_s']:7.1f} orders/s  p50 {r['p50']:7.1f} ms  "
                      f"p99 {r['p99']:7.1f} ms  errors {sum(r['errors'].values())} {r['errors'] or ''}  "
                      f"cpu/order: server {r['server_cpu_ms']:.1f} ms, postgres {r['postgres_cpu_ms']:.1f} ms; "
                      f"cpu used: server {r['server_cpu_share']:.2f}, postgres {r['postgres_cpu_share']:.2f}, "
                      f"load generator {r['client_cpu_share']:.2f} of a core", flush=True)
            row = {k: statistics.median(r[k] for r in runs)
                   for k in ("orders_per_s", "p50", "p99", "server_cpu_ms", "postgres_cpu_ms",
                             "server_cpu_share", "postgres_cpu_share", "client_cpu_share")}
            row.update(config=config, runs=runs, errors=sum(sum(r["errors"].values()) for r in runs))
            results.append(row)
        finally:
            wb.server_stop(server)
    return results


# ------------------------------------------------------------------------------------------ profile


def profile(args: argparse.Namespace, tokens: list[tuple[str, str]], payloads: list[dict[str, Any]]) -> dict[str, Any]:
    """Queries and CPU of one intake, in this process, through Django's test client (no network)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    token = tokens[0][1]
    tag = uuid.uuid4().hex[:8]

    def post(i: int) -> int:
        response = client.post("/api/v1/workorders/", data=payloads[i % len(payloads)], content_type="application/json",
                               HTTP_AUTHORIZATION=f"Token {token}", HTTP_IDEMPOTENCY_KEY=f"{KEY_PREFIX}p{tag}-{i}",
                               HTTP_HOST="127.0.0.1")
        return response.status_code

    for i in range(30):  # warm caches (policies, calendar, type catalogue)
        assert post(i) in (200, 201), post(i)
    db_time = [0.0]
    one: list[float] = []

    def timer(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent = time.perf_counter() - t0
            db_time[0] += spent
            one.append(spent * 1000)

    with connection.execute_wrapper(timer), CaptureQueriesContext(connection) as captured:
        code = post(10_000)
    assert code == 201, code
    print(f"\nSQL of one intake with an account ({len(captured.captured_queries)} statements with BEGIN/COMMIT, "
          f"{sum(one):.2f} ms in the database driver):")
    for ms, q in zip(one, captured.captured_queries, strict=False):
        print(f"  {ms:6.2f} ms  {q['sql'][:140]}")
    n = args.profile
    db_time[0] = 0.0
    with connection.execute_wrapper(timer):
        t0, c0 = time.perf_counter(), time.process_time()
        for i in range(n):
            post(20_000 + i)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"\n{n} intakes in-process: {wall / n * 1000:.2f} ms each (CPU {cpu / n * 1000:.2f} ms), of which "
          f"{db_time[0] / n * 1000:.2f} ms inside the database driver (round trips + server work)")
    prof = cProfile.Profile()
    prof.enable()
    for i in range(n):
        post(40_000 + i)
    prof.disable()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out)
    stats.sort_stats("cumulative").print_stats(
        r"(views|services|selectors|clocks|serializers|auth|scope|sequence|compiler|base|query)\.py:\d+\((create|"
        r"workorder_intake|_resolve_type|_next_number|sequence_next|account_qs|matching_policies|clock_from_policy|"
        r"bulk_create|save|_event|authenticate|initial|get_response|execute_sql|as_sql|_input|require|"
        r"workorder_rows|first|exists|update|dispatch)\)", 40)
    print("\nCPU profile (cumulative, selected):\n" + "\n".join(out.getvalue().splitlines()[4:60]))
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(25)
    print("CPU profile (own time, top 25):\n" + "\n".join(out.getvalue().splitlines()[4:40]))
    return {"queries": len(captured.captured_queries),
            "sql": [q["sql"][:300] for q in captured.captured_queries],
            "ms_per_intake": wall / n * 1000, "cpu_ms_per_intake": cpu / n * 1000,
            "db_ms_per_intake": db_time[0] / n * 1000}


def cleanup() -> dict[str, int]:
    """Delete the orders this benchmark made (idempotency keys starting with ``bench-``)."""
    from django.db import connection, transaction

    from kefu.core.models import OutboxMessage
    from kefu.workorders.models import OrderClock, OrderEvent, WorkOrder

    def table(m: Any) -> str:
        return str(connection.ops.quote_name(m._meta.db_table))

    orders = f"SELECT id FROM {table(WorkOrder)} WHERE intake_key LIKE %s"  # noqa: S608
    pattern = [KEY_PREFIX + "%"]
    out: dict[str, int] = {}
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(f"DELETE FROM {table(OutboxMessage)} WHERE source_model = 'workorders.orderevent' "  # noqa: S608
                    f"AND source_id IN (SELECT id FROM {table(OrderEvent)} WHERE order_id IN ({orders}))", pattern)
        for model in (OrderEvent, OrderClock):
            cur.execute(f"DELETE FROM {table(model)} WHERE order_id IN ({orders})", pattern)  # noqa: S608
            out[model.__name__] = cur.rowcount
        cur.execute(f"DELETE FROM {table(WorkOrder)} WHERE intake_key LIKE %s", pattern)  # noqa: S608
        out["WorkOrder"] = cur.rowcount
    return out


def main() -> None:
    args = parse_args()
    url = wb.database_url(args)
    os.environ["KEFU_ALLOWED_HOSTS"] = "127.0.0.1,localhost"
    wb.django_setup(url)
    load_seconds = wb.dataset_ensure(args)
    removed = cleanup()
    if any(removed.values()):
        print(f"removed orders of an earlier run: {removed}")
    info: dict[str, Any] = {"machine": wb.machine(), "database": wb.db_info(), "demo_load_seconds": load_seconds,
                            "args": {k: v for k, v in vars(args).items() if k != "json"}}
    wb.describe(info)
    tokens, payloads = bodies(args.seed)
    print(f"{len(tokens)} agents (token auth), {len(payloads)} request bodies: repair / enquiry / meter / complaint, "
          "90 % for an account, 10 % by phone number only")
    try:
        if args.profile:
            info["profile"] = profile(args, tokens, payloads)
        if not args.skip_http:
            from django.db import connections

            connections.close_all()  # the load generators fork: they must not share this connection
            info["results"] = bench_http(args, tokens, payloads)
    finally:
        if not args.keep:
            print(f"removed the benchmark's orders: {cleanup()}")
    wb.results_write("intake", info, args)
    if info.get("results"):
        print("\n| gunicorn | orders/s | p50 ms | p99 ms | errors | server CPU ms/order | PostgreSQL CPU ms/order |"
              "\n|---|---:|---:|---:|---:|---:|---:|")
        for r in info["results"]:
            print(f"| {r['config']} | {r['orders_per_s']:.0f} | {r['p50']:.1f} | {r['p99']:.1f} | {r['errors']} | "
                  f"{r['server_cpu_ms']:.1f} | {r['postgres_cpu_ms']:.1f} |")


if __name__ == "__main__":
    main()
