"""Customer lookup benchmark: by phone and by account number, selector and HTTP, on 1M customers.

    .venv/bin/python bench/lookup.py --database-url postgres://postgres@127.0.0.1:5432/kefu_bench
    .venv/bin/python bench/lookup.py --sqlite var/bench/kefu-bench.sqlite3

Creates the database if needed, migrates it and loads ``kefu demo --customers N --seed S`` unless
that exact demo is there already. Then, with a seeded random sample of existing phones and account
numbers: a warm-up, then several runs of N lookups each through the selectors (in this process)
and through ``GET /api/v1/customers/lookup/`` on a real server process (keep-alive, token auth).
Prints the machine, the dataset and median / p99 per case (median over runs); see bench/README.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DEMO_USER = "agent1"  # an agent whose scope is the whole power company


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    db = p.add_mutually_exclusive_group()
    db.add_argument("--database-url", help="PostgreSQL URL of a dedicated database (created if missing)")
    db.add_argument("--sqlite", help="SQLite file (default var/bench/kefu-bench.sqlite3)")
    p.add_argument("--customers", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=7, help="demo data seed and sample seed")
    p.add_argument("--samples", type=int, default=2000, help="measured lookups per case and run")
    p.add_argument("--warmup", type=int, default=300, help="unmeasured lookups per case first")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--server", choices=["gunicorn", "runserver"], default=None,
                   help="gunicorn when installed (production-like), else Django's runserver")
    p.add_argument("--skip-http", action="store_true")
    p.add_argument("--skip-selectors", action="store_true")
    p.add_argument("--explain", action="store_true", help="print the query plans of the lookups")
    p.add_argument("--json", help="write the results here too (default bench/results/lookup-<db>.json)")
    return p.parse_args()


def database_url(args: argparse.Namespace) -> str:
    if args.database_url:
        return str(args.database_url)
    path = Path(args.sqlite or ROOT / "var" / "bench" / "kefu-bench.sqlite3").resolve()
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


def kefu(*argv: str) -> None:
    subprocess.run([PYTHON, str(ROOT / "manage.py"), *argv], check=True, cwd=ROOT)


def dataset_ensure(args: argparse.Namespace) -> float | None:
    """Migrate and load the demo when it is not there with this size. Returns the load time, if loaded."""
    kefu("migrate", "--noinput", "-v0")
    from kefu.demo.loader import demo_loaded_count

    loaded = demo_loaded_count()
    if loaded == args.customers:
        return None
    print(f"loading {args.customers:,} demo customers (found {loaded}) …", flush=True)
    started = time.perf_counter()
    kefu("demo", "--customers", str(args.customers), "--seed", str(args.seed), "--no-progress",
         *(["--reset"] if loaded is not None else []))
    return time.perf_counter() - started


def machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    return {"nproc": os.cpu_count(), "cpu": cpu, "ram_gib": round(mem_kb / 1024**2, 1),
            "python": platform.python_version(), "os": platform.platform(), "loadavg": os.getloadavg(),
            "cpu_pressure": cpu_pressure()}


def db_info() -> dict[str, Any]:
    from django.db import connection

    from kefu.customers.models import Account, AccountEvent, Contact, Customer

    with connection.cursor() as cur:
        cur.execute("SELECT version()" if connection.vendor == "postgresql" else "SELECT sqlite_version()")
        version = cur.fetchone()[0]
    return {"vendor": connection.vendor, "version": version.split(" on ")[0],
            "customers": Customer.objects.count(), "accounts": Account.objects.count(),
            "contacts": Contact.objects.count(), "account_events": AccountEvent.objects.count()}


def sample(args: argparse.Namespace) -> tuple[list[str], list[str]]:
    """Seeded random phones (national spelling, as an agent types them) and account numbers that the
    benchmark user may see (the power company's customers)."""
    from django.db.models import Max, Min

    from kefu.core.validators import Phone
    from kefu.customers.models import Account, Contact
    from kefu.org.models import OrgUnit, Staff

    user = Staff.objects.select_related("unit").get(username=DEMO_USER)
    scope = set(OrgUnit.objects.for_user(user).values_list("id", flat=True))
    rng = random.Random(f"bench:{args.seed}")
    want = args.samples + args.warmup

    def pick(model: Any, column: str, unit_field: str) -> list[str]:
        bounds = model.objects.aggregate(lo=Min("id"), hi=Max("id"))
        found: dict[int, str] = {}
        while len(found) < want:
            ids = [rng.randint(bounds["lo"], bounds["hi"]) for _ in range(want * 2)]
            # Scope filtered here, not in SQL: SQLite would drive the join from the unit index.
            rows = {i: value for i, value, unit in model.objects.filter(id__in=ids).values_list(
                "id", column, unit_field) if unit in scope}
            for i in ids:
                if i in rows and len(found) < want:
                    found[i] = rows[i]
        return list(found.values())

    phones = [Phone(e164=p, kind="mobile" if p[3] == "1" else "landline", extension="").national
              for p in pick(Contact, "phone", "customer__unit_id")]
    return phones, pick(Account, "number", "unit_id")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


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


def cpu_pressure() -> str:
    """Share of time runnable tasks waited for a CPU (Linux PSI): high means the latencies include queueing."""
    try:
        return Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except OSError:
        return "n/a"


def measure(name: str, call: Callable[[str], Any], queries: list[str], args: argparse.Namespace,
            check: Callable[[Any], bool], cpu_pid: int | None = None) -> dict[str, Any]:
    """Warm up, then ``runs`` runs of ``samples`` calls; median and p99 in ms per run, median of runs.

    Also the CPU time per call of the process doing the work (this one, or the server): on a busy
    machine the wall-clock latency includes waiting for a CPU, the CPU time does not.
    """
    warm, measured = queries[:args.warmup], queries[args.warmup:]
    for q in warm:
        call(q)
    runs: list[dict[str, float]] = []
    misses = 0
    for run in range(args.runs):
        order = measured[:]
        random.Random(f"{name}:{run}").shuffle(order)
        times: list[float] = []
        cpu0 = cpu_seconds(cpu_pid)
        for q in order:
            t0 = time.perf_counter()
            result = call(q)
            times.append((time.perf_counter() - t0) * 1000)
            misses += not check(result)
        runs.append({"median": statistics.median(times), "p99": percentile(times, 99), "max": max(times),
                     "mean": statistics.fmean(times), "cpu": (cpu_seconds(cpu_pid) - cpu0) * 1000 / len(order)})
    row: dict[str, Any] = {k: statistics.median(r[k] for r in runs) for k in ("median", "p99", "max", "mean", "cpu")}
    row.update(case=name, runs=runs, n=len(measured), misses=misses)
    per_run = ", ".join(f"{r['p99']:.1f}" for r in runs)
    print(f"  {name:<34} median {row['median']:7.2f} ms   p99 {row['p99']:7.2f} ms   cpu/call {row['cpu']:6.2f} ms  "
          f"(p99 per run: {per_run}; misses {misses})", flush=True)
    return row


def bench_selectors(args: argparse.Namespace, phones: list[str], accounts: list[str]) -> list[dict[str, Any]]:
    from django.db import connection, reset_queries

    from kefu.customers.selectors import customer_lookup_account, customer_lookup_phone, customer_search
    from kefu.org.models import Staff

    user = Staff.objects.select_related("unit").get(username=DEMO_USER)
    reset_queries()
    print(f"selectors (in process, user {DEMO_USER}, {connection.vendor}):")
    return [
        measure("selector customer_lookup_phone", lambda q: customer_lookup_phone(user=user, phone=q),
                phones, args, check=bool),
        measure("selector customer_lookup_account", lambda q: customer_lookup_account(user=user, number=q),
                accounts, args, check=lambda r: r is not None),
        measure("selector customer_search (phone)", lambda q: customer_search(user=user, query=q).customers,
                phones, args, check=bool),
        measure("selector customer_search (account)", lambda q: customer_search(user=user, query=q).customers,
                accounts, args, check=bool),
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_start(args: argparse.Namespace, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "KEFU_DEBUG": "false", "KEFU_ALLOWED_HOSTS": "127.0.0.1,localhost"}
    gunicorn = Path(PYTHON).parent / "gunicorn"
    if args.server is None:
        args.server = "gunicorn" if gunicorn.exists() else "runserver"
    if args.server == "gunicorn":
        if not gunicorn.exists():
            raise SystemExit("gunicorn is not installed in this environment: pip install gunicorn")
        cmd = [str(gunicorn), "kefu.wsgi:application", "--bind", f"127.0.0.1:{port}",
               "--workers", str(os.cpu_count() or 1), "--worker-class", "gthread", "--keep-alive", "30"]
    else:
        cmd = [PYTHON, str(ROOT / "manage.py"), "runserver", "--noreload", f"127.0.0.1:{port}"]
    with log.open("wb") as out:
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def bench_http(args: argparse.Namespace, phones: list[str], accounts: list[str]) -> list[dict[str, Any]]:
    from rest_framework.authtoken.models import Token

    from kefu.org.models import Staff

    token = Token.objects.get_or_create(user=Staff.objects.get(username=DEMO_USER))[0].key
    port = free_port()
    log = ROOT / "var" / "bench" / f"server-{port}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    server = server_start(args, port, log)
    headers = {"Authorization": f"Token {token}", "Accept": "application/json", "Connection": "keep-alive"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def get(path: str) -> tuple[int, Any]:
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, json.loads(body) if resp.status == 200 else body

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if get(f"/api/v1/customers/lookup/?account={accounts[0]}")[0] == 200:
                    break
            except (ConnectionError, OSError):
                conn.close()
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"server did not come up; see {log}")
            time.sleep(0.3)
        print(f"HTTP ({args.server} on 127.0.0.1:{port}, keep-alive, token of {DEMO_USER}):")

        def found(r: tuple[int, Any]) -> bool:
            return r[0] == 200 and bool(r[1]["results"])

        return [
            measure("http lookup ?phone=", lambda q: get(f"/api/v1/customers/lookup/?phone={quote(q)}"),
                    phones, args, check=found, cpu_pid=server.pid),
            measure("http lookup ?account=", lambda q: get(f"/api/v1/customers/lookup/?account={q}"),
                    accounts, args, check=found, cpu_pid=server.pid),
        ]
    finally:
        conn.close()
        server.terminate()
        server.wait(timeout=20)


def explain(phones: list[str], accounts: list[str]) -> None:
    from django.db import connection

    from kefu.core.validators import parse_phone
    from kefu.customers.models import Account, Contact, Customer
    from kefu.customers.selectors import customer_qs
    from kefu.org.models import Staff

    user = Staff.objects.select_related("unit").get(username=DEMO_USER)
    e164 = parse_phone(phones[0]).e164
    queries = {
        "phone": customer_qs(user).filter(id__in=Contact.objects.filter(phone=e164).values("customer_id"))
        .order_by("id")[:50],
        "account": customer_qs(user).filter(accounts__number=accounts[0])[:1],
        "account exists": Account.objects.filter(number=accounts[0])[:1],
        "customer by id": Customer.objects.filter(pk=1),
    }
    for name, qs in queries.items():
        options = {"analyze": True} if connection.vendor == "postgresql" else {}
        print(f"--- EXPLAIN {name}\n{qs.explain(**options)}")


def main() -> None:
    args = parse_args()
    url = database_url(args)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kefu.settings")
    if url.startswith("postgres"):
        postgres_create_database(url)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    load_seconds = dataset_ensure(args)
    info = {"machine": machine(), "database": db_info(), "demo_load_seconds": load_seconds,
            "args": {k: v for k, v in vars(args).items() if k != "json"}}
    m, d = info["machine"], info["database"]
    print(f"machine: {m['nproc']} CPUs ({m['cpu']}), {m['ram_gib']} GiB RAM, load average "
          f"{' '.join(f'{x:.1f}' for x in m['loadavg'])}, cpu pressure: {m['cpu_pressure']}")
    print(f"database: {d['vendor']} {d['version']}; {d['customers']:,} customers, {d['accounts']:,} accounts, "
          f"{d['contacts']:,} contacts")
    if load_seconds is not None:
        print(f"demo load: {load_seconds:.0f} s")
    phones, accounts = sample(args)
    if args.explain:
        explain(phones, accounts)
    results: list[dict[str, Any]] = []
    if not args.skip_selectors:
        results += bench_selectors(args, phones, accounts)
    if not args.skip_http:
        results += bench_http(args, phones, accounts)
    info["results"] = results
    info["loadavg_end"] = os.getloadavg()
    info["cpu_pressure_end"] = cpu_pressure()
    print(f"load average at the end {' '.join(f'{x:.1f}' for x in info['loadavg_end'])}, "
          f"cpu pressure: {info['cpu_pressure_end']}")
    out = Path(args.json or ROOT / "bench" / "results" / f"lookup-{d['vendor']}-{args.customers}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(info, indent=2, ensure_ascii=False, default=str))
    print("\n| case | median ms | p99 ms | CPU ms / call |\n|---|---:|---:|---:|")
    for r in results:
        print(f"| {r['case']} | {r['median']:.2f} | {r['p99']:.2f} | {r['cpu']:.2f} |")
    print(f"\nresults written to {out}")


if __name__ == "__main__":
    main()
