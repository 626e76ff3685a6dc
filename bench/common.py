"""Shared parts of the benchmarks (not a benchmark itself).

The dedicated database (PostgreSQL ``kefu_bench`` or the SQLite file ``var/bench/kefu-bench.sqlite3``)
loaded with ``kefu demo``; a description of the machine; percentiles and a measuring loop (warm-up,
then runs of timed calls, median of the runs' figures); CPU time of a process tree; a gunicorn
server to measure HTTP against; the results file. bench/workorders.py adds the work-order dataset.

Scripts import it as ``import common`` (a script's own directory comes first on sys.path).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PG_URL = "postgres://postgres@127.0.0.1:5432/kefu_bench"
SQLITE_PATH = ROOT / "var" / "bench" / "kefu-bench.sqlite3"


def add_database_args(p: argparse.ArgumentParser, *, customers: int = 1_000_000) -> None:
    db = p.add_mutually_exclusive_group()
    db.add_argument("--database-url", help=f"PostgreSQL URL of a dedicated database (e.g. {PG_URL})")
    db.add_argument("--sqlite", help=f"SQLite file (default {SQLITE_PATH.relative_to(ROOT)})")
    p.add_argument("--customers", type=int, default=customers, help="demo customers in the dataset")
    p.add_argument("--seed", type=int, default=7, help="demo data seed and sample seed")
    p.add_argument("--json", help="write the results here too (default bench/results/<name>-<db>.json)")


def database_url(args: argparse.Namespace) -> str:
    if args.database_url:
        return str(args.database_url)
    path = Path(args.sqlite or SQLITE_PATH).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def postgres_create_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")


def django_setup(url: str) -> None:
    """Point this process (and the ``kefu`` subprocesses it starts) at ``url`` and set Django up."""
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kefu.settings")
    if url.startswith("postgres"):
        postgres_create_database(url)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def kefu(*argv: str, env: dict[str, str] | None = None) -> None:
    subprocess.run([PYTHON, str(ROOT / "manage.py"), *argv], check=True, cwd=ROOT, env=env)


def dataset_ensure(args: argparse.Namespace, *, orders: int | None = None,
                   orders_at_least: bool = False) -> float | None:
    """Migrate; load the demo (``args.customers`` customers and, when given, ``orders`` work orders —
    or at least that many with ``orders_at_least``) unless it is there. Returns the load time when
    something was loaded."""
    kefu("migrate", "--noinput", "-v0")
    from kefu.demo.loader import demo_loaded_count
    from kefu.demo.orderload import demo_orders_count

    customers, have = demo_loaded_count(), demo_orders_count()
    orders_ok = orders is None or have == orders or (orders_at_least and (have or 0) >= orders)
    if customers == args.customers and orders_ok:
        return None
    flags = []
    if customers is not None and customers != args.customers:
        flags.append("--reset")
    elif not orders_ok and have is not None:
        flags.append("--reset-orders")
    size = ["--orders", str(orders)] if orders is not None else []
    print(f"loading the demo: {args.customers:,} customers (found {customers})"
          + (f", {orders:,} work orders (found {have})" if orders is not None else "") + " …", flush=True)
    started = time.perf_counter()
    kefu("demo", "--customers", str(args.customers), *size, "--seed", str(args.seed), "--no-progress", *flags)
    return time.perf_counter() - started


def cpu_model() -> str:
    return next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                 if line.startswith("model name")), platform.processor())


def cpu_pressure() -> str:
    """Share of time runnable tasks waited for a CPU (Linux PSI): high means the latencies include queueing."""
    try:
        return Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except OSError:
        return "n/a"


def machine() -> dict[str, Any]:
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    return {"nproc": os.cpu_count(), "cpu": cpu_model(), "ram_gib": round(mem_kb / 1024**2, 1),
            "python": platform.python_version(), "os": platform.platform(), "loadavg": os.getloadavg(),
            "cpu_pressure": cpu_pressure()}


def machine_line(m: dict[str, Any]) -> str:
    return (f"machine: {m['nproc']} CPUs ({m['cpu']}), {m['ram_gib']} GiB RAM, load average "
            f"{' '.join(f'{x:.1f}' for x in m['loadavg'])}, cpu pressure: {m['cpu_pressure']}")


def db_version() -> str:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT version()" if connection.vendor == "postgresql" else "SELECT sqlite_version()")
        version = str(cur.fetchone()[0])
    return version.split(" on ")[0].split(",")[0]


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] if ordered else float("nan")


def summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0, "median": float("nan"), "p99": float("nan"), "max": float("nan"), "mean": float("nan")}
    return {"n": len(values), "median": statistics.median(values), "p99": percentile(values, 99),
            "max": max(values), "mean": statistics.fmean(values)}


def measure(name: str, call: Callable[[Any], Any], items: Sequence[Any], *, warmup: int, runs: int,
            check: Callable[[Any], bool] = bool, cpu_pid: int | None = None, quantile: int = 99,
            shuffle: bool = True, width: int = 34, after_run: Callable[[], None] | None = None) -> dict[str, Any]:
    """``call`` each of the first ``warmup`` items unmeasured, then ``runs`` runs over the rest (in a
    seeded shuffled order). Per run: median, the ``quantile`` percentile, max, mean in ms and the CPU
    time per call of the process doing the work (this one, or ``cpu_pid`` and its children: on a busy
    machine wall-clock latency includes waiting for a CPU, CPU time does not). The row holds the
    median of the runs' figures. ``after_run`` (unmeasured) cleans up after each run."""
    key = f"p{quantile}"
    warm, measured = list(items[:warmup]), list(items[warmup:])
    for item in warm:
        call(item)
    per_run: list[dict[str, float]] = []
    misses = 0
    for run in range(runs):
        order = measured[:]
        if shuffle:
            random.Random(f"{name}:{run}").shuffle(order)
        times: list[float] = []
        cpu0 = cpu_seconds(cpu_pid)
        for item in order:
            t0 = time.perf_counter()
            result = call(item)
            times.append((time.perf_counter() - t0) * 1000)
            misses += not check(result)
        per_run.append({"median": statistics.median(times), key: percentile(times, quantile), "max": max(times),
                        "mean": statistics.fmean(times), "cpu": (cpu_seconds(cpu_pid) - cpu0) * 1000 / len(order)})
        if after_run is not None:
            after_run()
    row: dict[str, Any] = {k: statistics.median(r[k] for r in per_run) for k in ("median", key, "max", "mean", "cpu")}
    row.update(case=name, runs=per_run, n=len(measured), misses=misses)
    spread = ", ".join(f"{r[key]:.1f}" for r in per_run)
    print(f"  {name:<{width}} median {row['median']:7.2f} ms   {key} {row[key]:7.2f} ms   "
          f"cpu/call {row['cpu']:6.2f} ms  ({key} per run: {spread}; misses {misses})", flush=True)
    return row


def cpu_seconds(pid: int | None = None) -> float:
    """CPU time (user + system) of this process, or of process ``pid`` and its children (gunicorn workers)."""
    if pid is None:
        return time.process_time()
    total = 0
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        pids += [int(c) for c in (task / "children").read_text().split()]
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float:
    """CPU time of every PostgreSQL server process on this machine (the database's share of the work)."""
    total = 0
    tick = os.sysconf("SC_CLK_TCK")
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        if name.startswith("postgres"):
            fields = stat.rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / tick


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def gunicorn_start(port: int, log: Path, *, workers: int, threads: int, worker_class: str,
                   env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    gunicorn = Path(PYTHON).parent / "gunicorn"
    if not gunicorn.exists():
        raise SystemExit("gunicorn is not installed in this environment: pip install gunicorn")
    environ = {**os.environ, "KEFU_DEBUG": "false", "KEFU_ALLOWED_HOSTS": "127.0.0.1,localhost", **(env or {})}
    cmd = [str(gunicorn), "kefu.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
           "--worker-class", worker_class, "--keep-alive", "30", "--backlog", "2048", "--log-level", "warning"]
    if worker_class == "gthread":
        cmd += ["--threads", str(threads)]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        return subprocess.Popen(cmd, cwd=ROOT, env=environ, stdout=out, stderr=subprocess.STDOUT)


def server_wait(server: subprocess.Popen[bytes], port: int, log: Path, timeout: float = 60) -> None:
    import http.client

    deadline = time.monotonic() + timeout
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/api/v1/schema/?format=json")
            conn.getresponse().read()
            conn.close()
            return
        except (ConnectionError, OSError):
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"server did not come up; see {log}")
        time.sleep(0.3)


def server_stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)


def results_write(name: str, info: dict[str, Any], args: argparse.Namespace) -> Path:
    info["loadavg_end"] = os.getloadavg()
    info["cpu_pressure_end"] = cpu_pressure()
    vendor = info["database"]["vendor"]
    out = Path(args.json or ROOT / "bench" / "results" / f"{name}-{vendor}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(info, indent=2, ensure_ascii=False, default=str))
    print(f"load average at the end {' '.join(f'{x:.1f}' for x in info['loadavg_end'])}, "
          f"cpu pressure: {info['cpu_pressure_end']}")
    print(f"results written to {out}")
    return out


def results_table(results: list[dict[str, Any]], quantile: int = 99) -> None:
    key = f"p{quantile}"
    print(f"\n| case | median ms | {key} ms | CPU ms / call |\n|---|---:|---:|---:|")
    for r in results:
        print(f"| {r['case']} | {r['median']:.2f} | {r[key]:.2f} | {r['cpu']:.2f} |")
