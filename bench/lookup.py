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
import random
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import common  # bench/common.py: the script's own directory comes first on sys.path
from common import PYTHON, ROOT, cpu_pressure, free_port, machine

DEMO_USER = "agent1"  # an agent whose scope is the whole power company


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    common.add_database_args(p)
    p.add_argument("--samples", type=int, default=2000, help="measured lookups per case and run")
    p.add_argument("--warmup", type=int, default=300, help="unmeasured lookups per case first")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--server", choices=["gunicorn", "runserver"], default=None,
                   help="gunicorn when installed (production-like), else Django's runserver")
    p.add_argument("--skip-http", action="store_true")
    p.add_argument("--skip-selectors", action="store_true")
    p.add_argument("--explain", action="store_true", help="print the query plans of the lookups")
    return p.parse_args()


def db_info() -> dict[str, Any]:
    from django.db import connection

    from kefu.customers.models import Account, AccountEvent, Contact, Customer

    return {"vendor": connection.vendor, "version": common.db_version(),
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


def measure(name: str, call: Callable[[str], Any], queries: list[str], args: argparse.Namespace,
            check: Callable[[Any], bool], cpu_pid: int | None = None) -> dict[str, Any]:
    return common.measure(name, call, queries, warmup=args.warmup, runs=args.runs, check=check, cpu_pid=cpu_pid)


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


def server_start(args: argparse.Namespace, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "KEFU_DEBUG": "false", "KEFU_ALLOWED_HOSTS": "127.0.0.1,localhost"}
    if args.server is None:
        args.server = "gunicorn" if (Path(PYTHON).parent / "gunicorn").exists() else "runserver"
    if args.server == "gunicorn":
        return common.gunicorn_start(port, log, workers=os.cpu_count() or 1, threads=1, worker_class="gthread")
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
        common.server_stop(server)


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
    common.django_setup(common.database_url(args))
    load_seconds = common.dataset_ensure(args)
    info = {"machine": machine(), "database": db_info(), "demo_load_seconds": load_seconds,
            "args": {k: v for k, v in vars(args).items() if k != "json"}}
    d = info["database"]
    print(common.machine_line(info["machine"]))
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
