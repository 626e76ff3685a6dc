"""Work-queue latency benchmark: the queue pages and their selectors on 1,000,000 work orders.

    .venv/bin/python bench/queues.py --database-url postgres://postgres@127.0.0.1:5432/kefu_bench --explain
    .venv/bin/python bench/queues.py --sqlite var/bench/kefu-bench.sqlite3

(Named queues.py, not queue.py: a script directory comes first on sys.path, and a bench/queue.py
would stand in for the standard library's ``queue`` module that multiprocessing and others import.)

Four people, each signed in with a session as in the browser: ``agent1`` (95598 agent at the
provincial company: sees everything), ``leader1`` (shift leader, same scope), ``clerk1`` (counter
clerk at a county company: accepts orders there, sees the county) and ``station_handler1`` (handler at
a service station). For each person and each queue they may open (mine, unit, dispatch, warnings,
supervised, all, and all with a filter: type + status + a 30-day window), the first page and a
deep keyset page (``?after=`` the id some thousands of rows down, or the middle of a shorter
queue) are requested through HTTP from a gunicorn server, and computed in-process through the
selectors the pages use (``queue_qs`` + ``WorkOrderFilter`` + ``workorder_page``). Each case: a
warm-up, then ``--runs`` runs of ``--samples`` requests; median and p99 per run, median of runs.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import workorders as wb  # bench/workorders.py: the script's own directory comes first on sys.path

PEOPLE = (
    ("agent1", "center agent (province)"),
    ("leader1", "shift leader (province)"),
    ("clerk1", "counter clerk (county)"),
    ("station_handler1", "station handler"),
)
PATHS = {"mine": "mine", "unit": "unit", "dispatch": "to-dispatch", "warnings": "warnings",
         "supervised": "supervised", "all": "all"}
DEEP = 2000  # rows down for the deep keyset page


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    wb.add_database_args(p)
    p.add_argument("--samples", type=int, default=100, help="measured requests per case and run")
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--workers", type=int, default=2, help="gunicorn gthread workers")
    p.add_argument("--threads", type=int, default=4, help="threads per worker")
    p.add_argument("--people", nargs="+", default=[p for p, _ in PEOPLE])
    p.add_argument("--queues", nargs="+", default=[*PATHS, "filtered"])
    p.add_argument("--skip-http", action="store_true")
    p.add_argument("--skip-selectors", action="store_true")
    p.add_argument("--explain", action="store_true", help="print the query plan of every first page")
    return p.parse_args()


@dataclass
class Case:
    person: str
    queue: str  # a Queue value, or "filtered" (= all with the filter)
    filters: dict[str, Any] = field(default_factory=dict)
    deep_after: int | None = None
    rows: int = 0  # rows in the queue, counted up to DEEP * 2

    @property
    def name(self) -> str:
        return f"{self.person} {self.queue}"

    @property
    def base_queue(self) -> str:
        return "all" if self.queue == "filtered" else self.queue


def the_filter() -> dict[str, Any]:
    """Repairs archived in a 30-day window three months back: what a supervisor looks up."""
    from datetime import timedelta

    from django.utils import timezone

    from kefu.workorders.models import OrderType

    start = timezone.localdate() - timedelta(days=120)
    return {"order_type": str(OrderType.objects.get(code="repair").pk), "status": ["archived"],
            "accepted_from": start.isoformat(), "accepted_to": (start + timedelta(days=29)).isoformat()}


def cases(args: argparse.Namespace) -> list[Case]:
    from kefu.org.models import Staff
    from kefu.org.scope import has_capability
    from kefu.workorders.filters import WorkOrderFilter
    from kefu.workorders.selectors import queue_qs
    from kefu.workorders.views.queues import TAB_BY_QUEUE

    out: list[Case] = []
    flt = the_filter()
    for username in args.people:
        user = Staff.objects.select_related("unit").get(username=username)
        for queue in args.queues:
            case = Case(username, queue, dict(flt) if queue == "filtered" else {})
            if not has_capability(user, TAB_BY_QUEUE[case.base_queue].capability):
                continue  # the page is not offered to this role (e.g. dispatch for a handler)
            qs = WorkOrderFilter(case.filters, queryset=queue_qs(user, case.base_queue)).qs
            ids = list(qs.order_by("-id").values_list("id", flat=True)[:DEEP * 2])
            case.rows = len(ids)
            if len(ids) > 100:
                case.deep_after = ids[min(DEEP, len(ids) // 2)]
            out.append(case)
    return out


def measure(name: str, call: Callable[[], Any], args: argparse.Namespace,
            check: Callable[[Any], bool] = bool) -> dict[str, Any]:
    for _ in range(args.warmup):
        call()
    runs = []
    misses = 0
    for _run in range(args.runs):
        times = []
        for _ in range(args.samples):
            t0 = time.perf_counter()
            result = call()
            times.append((time.perf_counter() - t0) * 1000)
            misses += not check(result)
        runs.append({"median": statistics.median(times), "p99": wb.percentile(times, 99), "max": max(times)})
    row: dict[str, Any] = {k: statistics.median(r[k] for r in runs) for k in ("median", "p99", "max")}
    row.update(case=name, runs=runs, misses=misses)
    per_run = ", ".join(f"{r['p99']:.1f}" for r in runs)
    bad = f"; bad answers {misses}" if misses else ""
    print(f"  {name:<48} median {row['median']:7.2f} ms   p99 {row['p99']:7.2f} ms   (p99 per run: {per_run}{bad})",
          flush=True)
    return row


def bench_selectors(args: argparse.Namespace, all_cases: list[Case]) -> list[dict[str, Any]]:
    from kefu.org.models import Staff
    from kefu.workorders.filters import WorkOrderFilter
    from kefu.workorders.selectors import queue_qs, workorder_page

    print("selectors (in process: queue_qs + WorkOrderFilter + workorder_page, 50 rows):")
    results = []
    for case in all_cases:
        user = Staff.objects.select_related("unit").get(username=case.person)
        for label, after in (("first", None), ("deep", case.deep_after)):
            if label == "deep" and after is None:
                continue

            def call(case: Case = case, user: Any = user, after: int | None = after) -> Any:
                # A fresh user per call, as a request has: nothing cached on it between calls.
                fresh = Staff.objects.select_related("unit").get(pk=user.pk)
                qs = WorkOrderFilter(case.filters, queryset=queue_qs(fresh, case.base_queue)).qs
                return workorder_page(qs, after_id=after, limit=50)

            row = measure(f"{case.name} {label}", call, args, check=lambda r: r is not None)
            row.update(kind="selector", person=case.person, queue=case.queue, page=label, rows=case.rows)
            results.append(row)
    return results


class Session:
    """A browser-like session over one keep-alive connection: CSRF cookie, login, then GETs."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: str | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        h = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()), **(headers or {})}
        try:
            self.conn.request(method, path, body=body, headers=h)
            resp = self.conn.getresponse()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn.request(method, path, body=body, headers=h)
            resp = self.conn.getresponse()
        data = resp.read()
        for value in resp.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return resp.status, data

    def login(self, username: str, password: str) -> None:
        self.request("GET", "/login/")
        token = self.cookies.get("csrftoken", "")
        form = urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token})
        status, body = self.request("POST", "/login/", form, {
            "Content-Type": "application/x-www-form-urlencoded", "Referer": f"http://127.0.0.1:{self.port}/login/"})
        if status != 302 or "sessionid" not in self.cookies:
            raise SystemExit(f"login of {username} failed: {status} {body[:300]!r}")


def bench_http(args: argparse.Namespace, all_cases: list[Case]) -> list[dict[str, Any]]:
    from kefu.demo.orgplan import DEMO_PASSWORD

    port = wb.free_port()
    log = wb.ROOT / "var" / "bench" / f"queues-server-{port}.log"
    server = wb.gunicorn_start(port, log, workers=args.workers, threads=args.threads, worker_class="gthread")
    results = []
    try:
        wb.server_wait(server, port, log)
        print(f"HTTP pages (gunicorn gthread {args.workers}x{args.threads} on 127.0.0.1:{port}, one client, "
              "keep-alive, session login; a full page: tabs with capped counts, filter form, 50 rows):")
        sessions: dict[str, Session] = {}
        for case in all_cases:
            if case.person not in sessions:
                sessions[case.person] = Session(port)
                sessions[case.person].login(case.person, DEMO_PASSWORD)
            session = sessions[case.person]
            for label, after in (("first", None), ("deep", case.deep_after)):
                if label == "deep" and after is None:
                    continue
                query = urlencode({**case.filters, **({"after": after} if after else {})}, doseq=True)
                path = f"/orders/{PATHS[case.base_queue]}/" + (f"?{query}" if query else "")

                def call(path: str = path, session: Session = session) -> tuple[int, bytes]:
                    return session.request("GET", path)

                row = measure(f"{case.name} {label}", call, args, check=lambda r: r[0] == 200)
                row.update(kind="page", person=case.person, queue=case.queue, page=label, rows=case.rows,
                           path=path)
                results.append(row)
        api = bench_api(args, all_cases, port)
        results += api
    finally:
        wb.server_stop(server)
    return results


def bench_api(args: argparse.Namespace, all_cases: list[Case], port: int) -> list[dict[str, Any]]:
    """GET /api/v1/workorders/?queue=… (token auth): first page and the page after following ``next``."""
    from rest_framework.authtoken.models import Token

    from kefu.org.models import Staff

    print("HTTP API list (token auth, 50 rows):")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    results = []
    tokens: dict[str, str] = {}
    for case in all_cases:
        if case.person not in tokens:
            tokens[case.person] = Token.objects.get_or_create(user=Staff.objects.get(username=case.person))[0].key
        headers = {"Authorization": f"Token {tokens[case.person]}", "Accept": "application/json"}

        def get(path: str, headers: dict[str, str] = headers) -> tuple[int, Any]:
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            body = resp.read()
            return resp.status, json.loads(body) if resp.status == 200 else body

        first = "/api/v1/workorders/?" + urlencode({"queue": case.base_queue, **case.filters}, doseq=True)
        status, page = get(first)
        if status != 200:
            print(f"  {case.name}: API answered {status}; skipped")
            continue
        deep = None
        for _ in range(DEEP // 50):  # follow the next links as a client would
            link = page.get("next") if isinstance(page, dict) else None
            if not link:
                break
            deep = re.sub(r"^https?://[^/]+", "", link)
            status, page = get(deep)
        pages: list[tuple[str, str]] = [("first", first), *([("deep", deep)] if deep else [])]
        for label, target in pages:

            def call(path: str = target) -> tuple[int, Any]:
                return get(path)

            row = measure(f"{case.name} {label}", call, args, check=lambda r: r[0] == 200)
            row.update(kind="api", person=case.person, queue=case.queue, page=label, rows=case.rows)
            results.append(row)
    conn.close()
    return results


def explain(all_cases: list[Case]) -> None:
    from django.db import connection

    from kefu.org.models import Staff
    from kefu.workorders.filters import WorkOrderFilter
    from kefu.workorders.selectors import queue_qs

    for case in all_cases:
        user = Staff.objects.select_related("unit").get(username=case.person)
        qs = WorkOrderFilter(case.filters, queryset=queue_qs(user, case.base_queue)).qs
        for label, after in (("first", None), ("deep", case.deep_after)):
            if label == "deep" and after is None:
                continue
            page = (qs.filter(id__lt=after) if after else qs).select_related(
                "order_type", "handling_unit", "unit").order_by("-id")[:51]
            options = {"analyze": True, "buffers": True} if connection.vendor == "postgresql" else {}
            print(f"--- EXPLAIN {case.name} {label} ({case.rows if case.rows < DEEP * 2 else f'{DEEP * 2}+'} rows)")
            print(page.explain(**options))


def main() -> None:
    args = parse_args()
    url = wb.database_url(args)
    wb.django_setup(url)
    load_seconds = wb.dataset_ensure(args)
    info: dict[str, Any] = {"machine": wb.machine(), "database": wb.db_info(), "demo_load_seconds": load_seconds,
                            "args": {k: v for k, v in vars(args).items() if k != "json"}}
    wb.describe(info)
    all_cases = cases(args)
    print("queues: " + ", ".join(f"{c.name} ({c.rows if c.rows < DEEP * 2 else f'{DEEP * 2}+'} rows)"
                                 for c in all_cases))
    print(f"filter: {the_filter()}")
    if args.explain:
        explain(all_cases)
    results: list[dict[str, Any]] = []
    if not args.skip_selectors:
        results += bench_selectors(args, all_cases)
    if not args.skip_http:
        from django.db import connections

        connections.close_all()
        results += bench_http(args, all_cases)
    info["results"] = results
    wb.results_write("queues", info, args)
    by = {(r["kind"], r["person"], r["queue"], r["page"]): r for r in results}
    kinds = [k for k in ("page", "api", "selector") if any(r["kind"] == k for r in results)]
    header = " | ".join(f"{k} first p50 / p99 | {k} deep p50 / p99" for k in kinds)
    print(f"\n| person | queue | rows | {header} |\n|---|---|---:|" + "---:|" * (2 * len(kinds)))
    for case in all_cases:
        cells = []
        for k in kinds:
            for page in ("first", "deep"):
                r = by.get((k, case.person, case.queue, page))
                cells.append(f"{r['median']:.1f} / {r['p99']:.1f}" if r else "–")
        rows = str(case.rows) if case.rows < DEEP * 2 else f"{DEEP * 2:,}+"
        print(f"| {case.person} | {case.queue} | {rows} | {' | '.join(cells)} |")
    worst = max((r["p99"] for r in results if r["kind"] == "page"), default=None)
    if worst is not None:
        print(f"\nworst page p99: {worst:.1f} ms (target < 100 ms on PostgreSQL)")
    os.environ.pop("DATABASE_URL", None)


if __name__ == "__main__":
    main()
