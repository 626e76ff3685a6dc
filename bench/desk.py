"""Screen-pop latency at the agent desk on 1,000,000 customers.

    .venv/bin/python bench/desk.py --database-url postgres://postgres@127.0.0.1:5432/kefu_bench
    .venv/bin/python bench/desk.py --sqlite var/bench/kefu-bench.sqlite3

The telephone system reports a ringing call at extension 8001, where ``agent1`` is signed in; the
desk must show who is calling. Measured in-process, from "event received" to "customer card data
ready": ``cti_receive`` (stores the event and the call, matches the caller's number to customers)
plus ``desk_card`` with everything the screen-pop template touches materialised (each candidate's
customer, accounts with premise, manager and unit, arrears and importance, open and recent orders
with type and handling unit, recent calls from the number with their agent, linked orders).

Callers are a seeded sample of real contact phones of the power company's customers, half of them
customers with work orders (people with an open matter call more), typed the national way or, for
a share of them, with +86. A warm-up, then ``--runs`` runs of ``--samples`` calls; every ring is a
new call id, and each run's calls are deleted after it. Then the HTTP path through gunicorn:
``POST /api/v1/cti/events/`` with the telephone system's token, and ``GET /desk/poll/`` as agent1
with a session (each skipped with a note when the route is not there yet).
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import random
import statistics
import time
from typing import Any

import common  # bench/common.py: the script's own directory comes first on sys.path

AGENT = "agent1"
EXTENSION = "8001"
BENCH_PREFIX = "BENCH-"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    common.add_database_args(p)
    p.add_argument("--orders", type=int, default=100_000,
                   help="at least this many demo work orders (a dataset with more is used as it is)")
    p.add_argument("--samples", type=int, default=1000, help="measured calls per case and run")
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--plus86", type=float, default=0.3, help="share of callers spelled +86…")
    p.add_argument("--skip-http", action="store_true")
    p.add_argument("--skip-selectors", action="store_true")
    p.add_argument("--explain", action="store_true", help="print the query plans behind the screen pop")
    return p.parse_args()


def db_info() -> dict[str, Any]:
    from django.db import connection

    from kefu.customers.models import Account, Contact, Customer
    from kefu.desk.models import Call
    from kefu.workorders.models import WorkOrder

    return {"vendor": connection.vendor, "version": common.db_version(), "customers": Customer.objects.count(),
            "accounts": Account.objects.count(), "contacts": Contact.objects.count(),
            "orders": WorkOrder.objects.count(), "calls": Call.objects.count(),
            "arrears": Account.objects.filter(arrears_amount__gt=0).count()}


def callers(args: argparse.Namespace, count: int) -> list[str]:
    """Seeded phones of the power company's customers: half of customers with orders, half of any."""
    from django.db.models import Max, Min

    from kefu.core.validators import Phone
    from kefu.customers.models import Contact
    from kefu.org.models import OrgUnit, Staff
    from kefu.workorders.models import WorkOrder

    user = Staff.objects.select_related("unit").get(username=AGENT)
    scope = set(OrgUnit.objects.for_user(user).values_list("id", flat=True))
    rng = random.Random(f"desk-bench:{args.seed}")
    found: dict[int, str] = {}  # customer -> phone
    with_orders = list(WorkOrder.objects.filter(customer__isnull=False, unit_id__in=scope)
                       .values_list("customer_id", flat=True).order_by("id")[:200_000])
    rng.shuffle(with_orders)
    bounds = Contact.objects.aggregate(lo=Min("id"), hi=Max("id"))
    half = count // 2
    for part in (with_orders[: half * 2], None):
        target = half if part is not None else count
        while len(found) < target:
            if part is not None:
                rows = Contact.objects.filter(customer_id__in=part[:target * 2]).values_list(
                    "customer_id", "phone", "customer__unit_id")
            else:
                ids = [rng.randint(bounds["lo"], bounds["hi"]) for _ in range(count * 2)]
                rows = Contact.objects.filter(id__in=ids).values_list("customer_id", "phone", "customer__unit_id")
            for customer, phone, unit in rows:
                if unit in scope and len(found) < target:
                    found.setdefault(customer, phone)
            if part is not None:
                break  # as many as there are
    phones: list[str] = []
    for e164 in found.values():
        phone = Phone(e164=e164, kind="mobile" if e164[3] == "1" else "landline", extension="")
        phones.append(e164 if rng.random() < args.plus86 else phone.national)
    rng.shuffle(phones)
    return phones


def materialise(card: Any) -> int:
    """Touch everything the screen-pop template shows; returns the number of candidate cards."""
    seen = 0
    for cand in card.candidates:
        c = cand.customer
        seen += len(c.name) + len(str(c.pk))
        for a in cand.accounts:
            seen += len(a.number) + len(a.premise.address) + len(a.unit.name) + int(a.arrears_amount > 0)
            seen += len(a.get_status_display()) + len(a.get_utility_display())
        seen += int(cand.in_arrears) + len(cand.importance)
        seen += sum(len(m.display_name()) + len(m.phone) for m in cand.managers)
        for o in [*cand.open_orders, *cand.recent_orders]:
            seen += len(o.number) + len(o.order_type.name) + len(o.get_status_display())
            seen += len(o.handling_unit.name) if o.handling_unit else 0
    for call in card.recent_calls:
        seen += len(call.get_state_display()) + len(call.agent.username if call.agent else "")
    for link in card.linked_orders:
        seen += len(link.order.number) + len(link.order.order_type.name)
    return len(card.candidates) if seen >= 0 else 0


def calls_delete() -> int:
    from kefu.desk.models import Call

    return Call.objects.filter(call_id__startswith=BENCH_PREFIX).delete()[1].get("desk.Call", 0)


def bench_selectors(args: argparse.Namespace, phones: list[str]) -> list[dict[str, Any]]:
    from django.db import connection

    from kefu.desk.selectors import desk_card
    from kefu.desk.services import CtiInput, cti_receive
    from kefu.org.models import Staff

    agent = Staff.objects.select_related("unit").get(username=AGENT)
    cti = Staff.objects.select_related("unit").get(username="cti")
    counter = itertools.count()
    parts: dict[str, list[float]] = {"cti_receive": [], "desk_card": []}
    tag = f"{BENCH_PREFIX}{os.getpid()}-"

    def pop(phone: str) -> int:
        t0 = time.perf_counter()
        call = cti_receive(actor=cti, event=CtiInput(event="ringing", call_id=f"{tag}{next(counter)}", caller=phone,
                                                     called="95598", extension=EXTENSION)).call
        t1 = time.perf_counter()
        found = materialise(desk_card(agent, call))
        parts["cti_receive"].append((t1 - t0) * 1000)
        parts["desk_card"].append((time.perf_counter() - t1) * 1000)
        return found

    print(f"in process ({connection.vendor}; ring at {EXTENSION}, card for {AGENT}):")
    row = common.measure("screen pop (cti_receive + desk_card)", pop, phones, warmup=args.warmup, runs=args.runs,
                         check=bool, after_run=calls_delete, width=40)
    for name, values in parts.items():
        measured = values[args.warmup:]
        print(f"    of which {name:<14} median {statistics.median(measured):6.2f} ms   "
              f"p99 {common.percentile(measured, 99):6.2f} ms (all runs)")
        row[f"{name}_median"] = statistics.median(measured)
        row[f"{name}_p99"] = common.percentile(measured, 99)
    return [row]


def bench_http(args: argparse.Namespace, phones: list[str]) -> list[dict[str, Any]]:
    from queues import Session  # bench/queues.py: a browser-like session (CSRF, login, cookies)
    from rest_framework.authtoken.models import Token

    from kefu.demo.orgplan import DEMO_PASSWORD
    from kefu.org.models import Staff

    token = Token.objects.get_or_create(user=Staff.objects.get(username="cti"))[0].key
    port = common.free_port()
    log = common.ROOT / "var" / "bench" / f"server-{port}.log"
    server = common.gunicorn_start(port, log, workers=os.cpu_count() or 1, threads=1, worker_class="gthread")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json", "Accept": "application/json"}
    counter = itertools.count()
    tag = f"{BENCH_PREFIX}h{os.getpid()}-"
    results: list[dict[str, Any]] = []

    def post(phone: str) -> tuple[int, bytes]:
        body = json.dumps({"event": "ringing", "call_id": f"{tag}{next(counter)}", "caller": phone,
                           "called": "95598", "extension": EXTENSION})
        conn.request("POST", "/api/v1/cti/events/", body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()

    try:
        common.server_wait(server, port, log)
        print(f"HTTP (gunicorn gthread, {os.cpu_count()} workers, 127.0.0.1:{port}, keep-alive):")
        status, body = post(phones[0])
        if status == 404:
            print("  POST /api/v1/cti/events/ answers 404 (not there yet): skipped")
        elif status >= 300:
            print(f"  POST /api/v1/cti/events/ answers {status}: {body[:300]!r}; skipped")
        else:
            results.append(common.measure("http POST /api/v1/cti/events/", post, phones, warmup=args.warmup,
                                          runs=args.runs, check=lambda r: r[0] < 300, cpu_pid=server.pid,
                                          after_run=calls_delete, width=40))
        session = Session(port)
        session.login(AGENT, DEMO_PASSWORD)
        post(phones[1])  # a live call on the desk, so the poll has something to show

        def poll(_item: Any) -> tuple[int, bytes]:
            return session.request("GET", "/desk/poll/", headers={"HX-Request": "true"})

        status, body = poll(None)
        if status == 404:
            print("  GET /desk/poll/ answers 404 (not there yet): skipped")
        elif status >= 400:
            print(f"  GET /desk/poll/ answers {status}: {body[:300]!r}; skipped")
        else:
            results.append(common.measure("http GET /desk/poll/", poll, list(range(args.warmup + args.samples)),
                                          warmup=args.warmup, runs=args.runs, check=lambda r: r[0] < 400,
                                          cpu_pid=server.pid, shuffle=False, width=40))
    finally:
        conn.close()
        common.server_stop(server)
        calls_delete()
    return results


def explain(phone: str) -> None:
    from django.db import connection

    from kefu.core.validators import parse_phone
    from kefu.customers.models import Contact
    from kefu.desk.models import Call

    e164 = parse_phone(phone).e164
    options = {"analyze": True} if connection.vendor == "postgresql" else {}
    queries = {
        "candidates": Contact.objects.filter(phone=e164).values_list("customer_id", flat=True).order_by("customer_id"),
        "recent calls": Call.objects.filter(caller_e164=e164).select_related("agent").order_by("-started_at")[:5],
    }
    for name, qs in queries.items():
        print(f"--- EXPLAIN {name}\n{qs.explain(**options)}")


def main() -> None:
    args = parse_args()
    common.django_setup(common.database_url(args))
    load_seconds = common.dataset_ensure(args, orders=args.orders, orders_at_least=True)
    from kefu.demo.desk import desk_demo_load

    desk = desk_demo_load(seed=args.seed)  # extensions, agent1 at 8001, the telephone system's account
    if desk.loaded:
        print(f"desk demo data loaded in {desk.seconds:.1f} s ({desk.calls} calls, arrears on {desk.arrears:,})")
    calls_delete()  # leftovers of an interrupted run
    info: dict[str, Any] = {"machine": common.machine(), "database": db_info(), "demo_load_seconds": load_seconds,
                            "args": {k: v for k, v in vars(args).items() if k != "json"}}
    d = info["database"]
    print(common.machine_line(info["machine"]))
    print(f"database: {d['vendor']} {d['version']}; {d['customers']:,} customers, {d['accounts']:,} accounts "
          f"({d['arrears']:,} in arrears), {d['contacts']:,} contacts, {d['orders']:,} work orders, {d['calls']:,} "
          "calls", flush=True)
    phones = callers(args, args.warmup + args.samples)
    print(f"{len(phones)} callers ({sum(p.startswith('+86') for p in phones)} spelled +86)")
    if args.explain:
        explain(phones[0])
    results: list[dict[str, Any]] = []
    if not args.skip_selectors:
        results += bench_selectors(args, phones)
    if not args.skip_http:
        results += bench_http(args, phones)
    info["results"] = results
    common.results_write("desk", info, args)
    common.results_table(results)
    figures = ", ".join(f"{r['case']} {r['p99']:.1f} ms" for r in results)
    print(f"target p99 < 50 ms: {figures}")


if __name__ == "__main__":
    main()
