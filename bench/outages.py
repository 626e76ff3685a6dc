"""Outages at 1,000,000 service points: publishing a planned outage of a 20,000-customer feeder, the
grouping decision per repair call, and the desk's outage banner lookup.

    .venv/bin/python bench/outages.py --database-url postgres://postgres@127.0.0.1:5432/kefu_bench
    .venv/bin/python bench/outages.py --sqlite var/bench/kefu-bench.sqlite3

Uses the benchmark database of the other scripts (loads ``kefu demo --customers N`` when it is not
there) with its demo topology, built here when missing, and the "10kV 大网线" feeder of about
``--big-feeder`` customers that bench/grid.py adds (added here the same way when missing).

(a) Publish, ``--runs`` runs after one warm-up, each on a new outage that is deleted afterwards with
    its affected rows and queued SMS: ``outage_create`` + ``outage_review`` + ``outage_publish`` of a
    planned outage of the whole feeder starting in 8 days (no notice rule broken), as the demo shift
    leader; then, on that outage, the two fan-out steps alone, each in its own transaction:
    ``fanout.affected_compute`` and ``fanout.sms_queue``. Median over the runs (and the slowest run).
(b) Grouping, ``--runs`` runs of the same seeded schedule of ``--calls`` repair calls over simulated
    days (spread over a sample of ``--areas`` transformer areas, with bursts under one area and
    under one feeder that open proposals, and a share from inside a live outage that are linked to
    it), each call a whole ``workorder_intake`` by agent1; the time of the grouping hook
    (``grouping.fault_call_received``) inside it is taken separately. A dispatcher dismisses stale
    proposals between calls (not timed). Each run's orders, fault calls and proposals are deleted
    after it. p50/p95/p99 per run, median over the runs.
(c) Banner, ``live_for_accounts`` for the accounts of ``--samples`` random customers per run (a
    share ``--inside`` of them inside a live fault outage of the big feeder, the rest anywhere).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import common  # bench/common.py: the script's own directory comes first on sys.path

LEADER, AGENT, DIRECTOR = "leader1", "agent1", "director1"
MARK = "[bench-outages]"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    common.add_database_args(p)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--big-feeder", type=int, default=20_000, help="customers on the biggest feeder (at least)")
    p.add_argument("--calls", type=int, default=3000, help="repair calls per grouping run")
    p.add_argument("--areas", type=int, default=1000, help="transformer areas the background calls come from")
    p.add_argument("--samples", type=int, default=2000, help="banner lookups per run")
    p.add_argument("--inside", type=float, default=0.2, help="share of banner lookups inside the live outage")
    p.add_argument("--skip", default="", help="comma-separated cases to skip: publish, grouping, banner")
    p.add_argument("--explain", action="store_true", help="EXPLAIN the fan-out and banner queries (PostgreSQL)")
    return p.parse_args()


def stats(values: list[float]) -> dict[str, float]:
    return {"p50": statistics.median(values), "p95": common.percentile(values, 95),
            "p99": common.percentile(values, 99), "max": max(values)}


def per_call(name: str, runs: list[list[float]], width: int = 40) -> dict[str, Any]:
    """Median over the runs of each run's p50 / p95 / p99."""
    rows = [stats(r) for r in runs]
    row: dict[str, Any] = {k: statistics.median(r[k] for r in rows) for k in ("p50", "p95", "p99", "max")}
    row.update(case=name, n=len(runs[0]), runs=rows)
    spread = ", ".join(f"{r['p99']:.1f}" for r in rows)
    print(f"  {name:<{width}} p50 {row['p50']:7.2f} ms   p95 {row['p95']:7.2f} ms   p99 {row['p99']:7.2f} ms   "
          f"(p99 per run: {spread})", flush=True)
    return row


def per_run(name: str, values: list[float], extra: str = "", width: int = 40) -> dict[str, Any]:
    row = {"case": name, "median": statistics.median(values), "max": max(values), "runs": values}
    print(f"  {name:<{width}} median {row['median']:8.1f} ms   slowest {row['max']:8.1f} ms   "
          f"(runs: {', '.join(f'{v:.0f}' for v in values)}){extra}", flush=True)
    return row


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = call()
    return (time.perf_counter() - t0) * 1000, result


# Dataset ------------------------------------------------------------------------------------------

def topology_ensure(args: argparse.Namespace, info: dict[str, Any]) -> Any:
    """The demo topology and the big feeder; returns the feeder."""
    import grid  # bench/grid.py: how the big feeder is made

    from kefu.demo.grid import grid_demo_count, grid_demo_load
    from kefu.grid.models import GridNode

    if grid_demo_count() is None:
        build = grid_demo_load(seed=args.seed)
        print(f"built the demo topology in {build.seconds:.1f} s: {build.nodes:,} nodes, {build.attached:,} attached")
        info["topology_build_seconds"] = build.seconds
    feeder = GridNode.objects.filter(kind="feeder", code__endswith=f"-{grid.BIG_CODE}").first()
    if feeder is None:
        grid.big_feeder(args.big_feeder, args.seed)
        feeder = grid.feeders_by_size()[0][0]
        analyze()
    return feeder


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            for table in ("grid_gridnode", "grid_attachment", "outages_affectedaccount", "outages_outage",
                          "outages_faultcall", "core_outboxmessage"):
                cur.execute(f"ANALYZE {table}")
        else:
            cur.execute("ANALYZE")


def db_info(feeder: Any) -> dict[str, Any]:
    from django.db import connection

    from kefu.core.models import OutboxMessage
    from kefu.customers.models import Account, Contact, Customer, ServicePoint
    from kefu.grid.models import GridNode
    from kefu.grid.selectors import accounts_under
    from kefu.outages.models import AffectedAccount, Outage
    from kefu.workorders.models import WorkOrder

    return {"vendor": connection.vendor, "version": common.db_version(), "customers": Customer.objects.count(),
            "accounts": Account.objects.count(), "service_points": ServicePoint.objects.count(),
            "contacts": Contact.objects.count(), "nodes": GridNode.objects.count(),
            "orders": WorkOrder.objects.count(), "outages": Outage.objects.count(),
            "affected_rows": AffectedAccount.objects.count(), "outbox": OutboxMessage.objects.count(),
            "feeder": feeder.code, "feeder_accounts": accounts_under(feeder).count()}


def staff(username: str) -> Any:
    from kefu.org.models import Staff

    return Staff.objects.select_related("unit").get(username=username)


def outage_delete(outage_id: int) -> None:
    from kefu.core.models import OutboxMessage
    from kefu.outages.models import FaultCall, FaultProposal, Outage

    OutboxMessage.objects.filter(source_model="outages.outage", source_id=outage_id).delete()
    FaultCall.objects.filter(outage_id=outage_id).update(outage=None)
    FaultProposal.objects.filter(outage_id=outage_id).update(outage=None)
    Outage.objects.filter(pk=outage_id).delete()


def leftovers_delete() -> None:
    """What an interrupted earlier run left: its outages and its repair orders."""
    from kefu.outages.models import Outage
    from kefu.workorders.models import WorkOrder

    for pk in Outage.objects.filter(reason__startswith=MARK).values_list("pk", flat=True):
        outage_delete(pk)
    orders_delete(list(WorkOrder.objects.filter(content__startswith=MARK).values_list("pk", flat=True)))


def orders_delete(ids: list[int]) -> None:
    from kefu.core.models import OutboxMessage
    from kefu.outages.models import FaultCall
    from kefu.workorders.models import OrderEvent, WorkOrder

    for i in range(0, len(ids), 1000):
        chunk = ids[i:i + 1000]
        events = OrderEvent.objects.filter(order_id__in=chunk).values("id")
        OutboxMessage.objects.filter(source_model="workorders.orderevent", source_id__in=events).delete()
        FaultCall.objects.filter(order_id__in=chunk).delete()
        WorkOrder.objects.filter(pk__in=chunk).delete()


# (a) Publish ------------------------------------------------------------------------------------

def bench_publish(args: argparse.Namespace, feeder: Any) -> list[dict[str, Any]]:
    from django.db import transaction
    from django.utils import timezone

    from kefu.core.models import OutboxMessage
    from kefu.outages import fanout, notices
    from kefu.outages.choices import MessageKind
    from kefu.outages.services import outage_create, outage_publish, outage_review

    leader = staff(LEADER)
    day = timezone.localdate() + timedelta(days=8)
    start = timezone.make_aware(datetime(day.year, day.month, day.day, 8))
    parts: dict[str, list[float]] = {k: [] for k in ("create", "review", "publish", "total", "affected_compute",
                                                       "sms_queue")}
    counts: dict[str, int] = {}
    print(f"(a) publish a planned outage of {feeder.code} {feeder.name}, {args.runs} runs after one warm-up, as "
          f"{LEADER}:")
    for run in range(args.runs + 1):
        data = {"utility": "power", "outage_class": "planned", "area": f"{feeder.name}全线",
                "reason": f"{MARK} 线路检修", "planned_start": start, "planned_end": start + timedelta(hours=9),
                "nodes": [feeder.code]}
        t0 = time.perf_counter()
        outage = outage_create(actor=leader, data=data)
        t1 = time.perf_counter()
        outage = outage_review(actor=leader, outage=outage)
        t2 = time.perf_counter()
        outage = outage_publish(actor=leader, outage=outage)
        t3 = time.perf_counter()
        t_create, t_review, t_publish = (t1 - t0) * 1000, (t2 - t1) * 1000, (t3 - t2) * 1000
        published = outage.events.filter(kind="publish").values_list("data", flat=True).first() or {}
        body = notices.render(MessageKind.PUBLISHED, outage)

        def compute(o: Any = outage) -> tuple[int, int, int]:
            with transaction.atomic():
                return fanout.affected_compute(o)

        def queue(o: Any = outage, b: str = body, r: int = run) -> int:
            with transaction.atomic():
                return fanout.sms_queue(o, body=b, key=f"bench:{o.pk}:{r}:")

        t_compute, (affected, important, dedicated) = timed(compute)
        t_queue, queued = timed(queue)
        counts = {"affected": affected, "important": important, "dedicated": dedicated,
                  "sms_on_publish": int(published.get("sms", 0)), "sms_queued_alone": queued,
                  "outbox_rows": OutboxMessage.objects.filter(source_model="outages.outage",
                                                              source_id=outage.pk).count()}
        outage_delete(outage.pk)
        if run == 0:
            print(f"  warm-up: {affected:,} affected accounts ({important:,} important, {dedicated:,} dedicated), "
                  f"{counts['sms_on_publish']:,} SMS queued on publish", flush=True)
            continue
        for key, value in (("create", t_create), ("review", t_review), ("publish", t_publish),
                           ("total", t_create + t_review + t_publish), ("affected_compute", t_compute),
                           ("sms_queue", t_queue)):
            parts[key].append(value)
    results = [
        per_run("outage_create (scope + affected rows)", parts["create"]),
        per_run("outage_review (recount)", parts["review"]),
        per_run("outage_publish (recount, rules, SMS)", parts["publish"]),
        per_run("create + review + publish", parts["total"]),
        per_run("fanout.affected_compute alone", parts["affected_compute"], f"; {counts['affected']:,} rows"),
        per_run("fanout.sms_queue alone", parts["sms_queue"], f"; {counts['sms_queued_alone']:,} messages"),
    ]
    both = [a + b for a, b in zip(parts["affected_compute"], parts["sms_queue"], strict=True)]
    results.append(per_run("affected_compute + sms_queue", both))
    for row in results:
        row.update(counts)
    return results


def explain_fanout(feeder: Any) -> None:
    from django.db import connection

    from kefu.customers.models import Account
    from kefu.grid.models import Attachment, GridNode

    sql = (f"SELECT a.id FROM {GridNode._meta.db_table} n JOIN {Attachment._meta.db_table} t ON t.node_id = n.id "  # noqa: S608
           f"JOIN {Account._meta.db_table} a ON a.service_point_id = t.service_point_id "
           "WHERE n.path LIKE %s AND a.utility = %s")
    with connection.cursor() as cur:  # table names from the models, values as parameters
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, [feeder.path + "%", "power"])
        print("--- EXPLAIN affected accounts of the feeder\n" + "\n".join(r[0] for r in cur.fetchall()))


# Live outage for (b) and (c) --------------------------------------------------------------------

def live_outage(feeder: Any) -> Any:
    """A fault outage of the big feeder in force since an hour ago (its SMS are dropped at once)."""
    from django.utils import timezone

    from kefu.core.models import OutboxMessage
    from kefu.outages.services import outage_create, outage_publish, outage_review

    leader = staff(LEADER)
    now = timezone.now()
    outage = outage_create(actor=leader, now=now - timedelta(minutes=50), data={
        "utility": "power", "outage_class": "fault", "area": feeder.name, "reason": f"{MARK} 线路故障",
        "planned_start": now - timedelta(hours=1), "planned_end": now + timedelta(days=30), "nodes": [feeder.code]})
    outage = outage_review(actor=leader, outage=outage, now=now - timedelta(minutes=45))
    outage = outage_publish(actor=leader, outage=outage, now=now - timedelta(minutes=40))
    OutboxMessage.objects.filter(source_model="outages.outage", source_id=outage.pk).delete()
    return outage


# (b) Grouping -----------------------------------------------------------------------------------

def call_schedule(args: argparse.Namespace, live: Any) -> tuple[list[tuple[float, int]], dict[str, int]]:
    """(seconds after the start, account id) for ``args.calls`` repair calls, seeded, in time order."""
    from django.db.models import Count

    from kefu.customers.models import Account
    from kefu.grid.models import Attachment, GridNode
    from kefu.outages.models import AffectedAccount

    rng = random.Random(f"outages-grouping:{args.seed}")
    areas = list(GridNode.objects.filter(kind="ta", utility="power", dedicated=False)
                 .exclude(path__startswith=live.scope_nodes.get().node.path).values_list("id", "parent_id"))
    rng.shuffle(areas)
    areas = areas[:args.areas]
    feeder_of = dict(areas)
    attached = Attachment.objects.filter(node_id__in=list(feeder_of))
    sp_node = dict(attached.values_list("service_point_id", "node_id"))
    by_area: dict[int, list[int]] = {}
    for pk, sp in (Account.objects.filter(service_point_id__in=attached.values("service_point_id"), utility="power",
                                          status="active", premise__isnull=False).values_list("id", "service_point_id")
                   .order_by("id").iterator(chunk_size=5000)):
        by_area.setdefault(sp_node[sp], []).append(pk)
    by_feeder: dict[int, list[int]] = {}
    for area in by_area:
        by_feeder.setdefault(feeder_of[area], []).append(area)
    inside = list(AffectedAccount.objects.filter(outage=live).values_list("account_id", flat=True)[:5000])
    rich = [f for f, tas in by_feeder.items() if len(tas) >= 3]
    assert by_area and inside, "no accounts to call from"
    calls: list[tuple[float, int]] = []
    kinds = dict.fromkeys(("background", "area burst", "feeder burst", "inside live outage"), 0)
    t = 0.0
    pool = list(by_area)
    while len(calls) < args.calls:
        t += rng.expovariate(1 / 90)  # a repair call every 90 s on average: ~1,000 a day
        roll = rng.random()
        if roll < 0.01:  # one area, 4–6 calls within 10 minutes
            area = rng.choice(pool)
            n = rng.randint(4, 6)
            calls += [(t + rng.uniform(0, 600), rng.choice(by_area[area])) for _ in range(n)]
            kinds["area burst"] += n
        elif roll < 0.015 and rich:  # one feeder, 3 of its areas within 15 minutes
            tas = rng.sample(by_feeder[rng.choice(rich)], 3)
            calls += [(t + rng.uniform(0, 900), rng.choice(by_area[a])) for a in tas]
            kinds["feeder burst"] += 3
        elif roll < 0.065:
            calls.append((t, rng.choice(inside)))
            kinds["inside live outage"] += 1
        else:
            calls.append((t, rng.choice(by_area[rng.choice(pool)])))
            kinds["background"] += 1
    calls.sort()
    del calls[args.calls:]
    feeders = Attachment.objects.filter(node_id__in=list(by_area)).aggregate(n=Count("node__parent", distinct=True))
    print(f"  schedule: {len(calls):,} calls over {calls[-1][0] / 3600:.1f} simulated hours from {len(by_area):,} "
          f"transformer areas on {feeders['n']:,} feeders; " + ", ".join(f"{k} {v}" for k, v in kinds.items()))
    return calls, kinds


def bench_grouping(args: argparse.Namespace, live: Any) -> list[dict[str, Any]]:
    from django.utils import timezone

    from kefu.outages import grouping
    from kefu.outages.choices import ProposalStatus
    from kefu.outages.models import FaultCall, FaultProposal, OutageEvent
    from kefu.workorders import hooks
    from kefu.workorders.services import workorder_intake

    agent, director = staff(AGENT), staff(DIRECTOR)
    schedule, kinds = call_schedule(args, live)
    hook_times: list[float] = []

    def timed_hook(order: Any, actor: Any, now: datetime) -> Any:
        t0 = time.perf_counter()
        result = grouping.fault_call_received(order, actor, now)
        hook_times.append((time.perf_counter() - t0) * 1000)
        return result

    hooks.AFTER_INTAKE[:] = [timed_hook if h is grouping.fault_call_received else h for h in hooks.AFTER_INTAKE]
    intake_runs: list[list[float]] = []
    hook_runs: list[list[float]] = []
    outcomes: dict[str, int] = {}
    print(f"(b) grouping: {args.runs} runs of {len(schedule):,} repair calls (workorder_intake as {AGENT}); "
          "a dispatcher dismisses proposals quiet for an hour (not timed):")
    try:
        for run in range(args.runs):
            start = timezone.now()
            last_proposal = FaultProposal.objects.order_by("-id").values_list("id", flat=True).first() or 0
            last_event = OutageEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
            hook_times.clear()
            times: list[float] = []
            orders: list[int] = []
            for i, (offset, account) in enumerate(schedule):
                now = start + timedelta(seconds=offset)
                t0 = time.perf_counter()
                result = workorder_intake(actor=agent, order_type="repair", channel="phone", account=account,
                                          content=f"{MARK} 家里停电了", now=now)
                times.append((time.perf_counter() - t0) * 1000)
                orders.append(result.order.pk)
                if i % 50 == 49:
                    dismiss_stale(director, now)
            made = FaultProposal.objects.filter(pk__gt=last_proposal)
            calls = FaultCall.objects.filter(order_id__in=orders)
            outcomes = {"proposals opened": made.count(),
                        "proposals dismissed by widening": made.filter(decided_by__isnull=True,
                                                                       status=ProposalStatus.DISMISSED).count(),
                        "calls in a proposal": calls.filter(proposal__isnull=False).count(),
                        "calls linked to the live outage": calls.filter(outage=live).count(),
                        "calls placed": calls.count()}
            if run == 0:
                print("  outcome per run: " + ", ".join(f"{k} {v:,}" for k, v in outcomes.items()), flush=True)
            intake_runs.append(times)
            hook_runs.append(hook_times[:])
            orders_delete(orders)
            FaultProposal.objects.filter(pk__gt=last_proposal).delete()
            OutageEvent.objects.filter(pk__gt=last_event, outage=live).delete()
    finally:
        hooks.AFTER_INTAKE[:] = [grouping.fault_call_received if h is timed_hook else h for h in hooks.AFTER_INTAKE]
    rows = [per_call("workorder_intake (repair call, whole)", intake_runs),
            per_call("of which fault_call_received", hook_runs)]
    for row in rows:
        row.update(kinds=kinds, outcomes=outcomes)
    return rows


def dismiss_stale(director: Any, now: datetime) -> None:
    from kefu.outages.choices import ProposalStatus
    from kefu.outages.grouping import proposal_dismiss
    from kefu.outages.models import FaultProposal

    for pk in FaultProposal.objects.filter(status=ProposalStatus.OPEN,
                                           last_call_at__lt=now - timedelta(hours=1)).values_list("pk", flat=True):
        proposal_dismiss(actor=director, proposal=pk, reason="bench: not one fault", now=now)


# (c) Banner -------------------------------------------------------------------------------------

def bench_banner(args: argparse.Namespace, live: Any) -> list[dict[str, Any]]:
    from django.db.models import Max, Min

    from kefu.customers.models import Account
    from kefu.outages.models import AffectedAccount
    from kefu.outages.selectors import live_for_accounts

    rng = random.Random(f"outages-banner:{args.seed}")
    count = args.samples
    want_inside = round(count * args.inside)
    inside_accounts = list(AffectedAccount.objects.filter(outage=live).values_list("account_id", flat=True))
    inside_customers = set(Account.objects.filter(pk__in=rng.sample(inside_accounts, min(want_inside,
                                                                                      len(inside_accounts))))
                           .values_list("customer_id", flat=True))
    bounds = Account.objects.aggregate(lo=Min("customer_id"), hi=Max("customer_id"))
    others: set[int] = set()
    while len(others) < count - len(inside_customers):
        others.add(rng.randint(bounds["lo"], bounds["hi"]))
    by_customer: dict[int, list[int]] = {}
    for pk, customer in Account.objects.filter(customer_id__in=[*inside_customers, *others]).values_list(
            "id", "customer_id").order_by("id"):
        by_customer.setdefault(customer, []).append(pk)
    items = list(by_customer.values())
    rng.shuffle(items)
    hits = sum(bool(live_for_accounts(ids)) for ids in items)
    print(f"(c) banner: live_for_accounts(the accounts of one customer) for {len(items):,} customers "
          f"({len(inside_customers):,} picked inside the live outage; {hits:,} see a banner), {args.runs} runs "
          "after this warm-up:")

    def lookup(ids: list[int]) -> int:
        return sum(len(o.number) for o in live_for_accounts(ids))

    runs: list[list[float]] = []
    for run in range(args.runs):
        order = items[:]
        random.Random(f"banner:{run}").shuffle(order)
        times = []
        for ids in order:
            t0 = time.perf_counter()
            lookup(ids)
            times.append((time.perf_counter() - t0) * 1000)
        runs.append(times)
    row = per_call("live_for_accounts", runs)
    row.update(hits=hits, customers=len(items))
    return [row]


def explain_banner(live: Any) -> None:
    from django.db import connection
    from django.utils import timezone

    from kefu.outages.choices import LIVE
    from kefu.outages.models import AffectedAccount, Outage
    from kefu.outages.selectors import BANNER_HORIZON

    inside = list(AffectedAccount.objects.filter(outage=live).values_list("account_id", flat=True)[:2])
    ids = AffectedAccount.objects.filter(account_id__in=inside).values("outage_id")
    qs = (Outage.objects.filter(pk__in=ids, status__in=LIVE, planned_start__lte=timezone.now() + BANNER_HORIZON,
                                actual_end__isnull=True).order_by("planned_start", "id")[:5])
    options = {"analyze": True} if connection.vendor == "postgresql" else {}
    print(f"--- EXPLAIN live_for_accounts\n{qs.explain(**options)}")


def main() -> None:
    args = parse_args()
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    common.django_setup(common.database_url(args))
    load_seconds = common.dataset_ensure(args)
    info: dict[str, Any] = {"machine": common.machine(), "demo_load_seconds": load_seconds,
                            "args": {k: v for k, v in vars(args).items() if k != "json"}}
    feeder = topology_ensure(args, info)
    leftovers_delete()
    analyze()
    info["database"] = d = db_info(feeder)
    print(common.machine_line(info["machine"]))
    print(f"database: {d['vendor']} {d['version']}; {d['customers']:,} customers, {d['accounts']:,} accounts, "
          f"{d['service_points']:,} service points, {d['contacts']:,} contacts, {d['nodes']:,} topology nodes, "
          f"{d['orders']:,} work orders, {d['outages']:,} outages ({d['affected_rows']:,} affected rows), "
          f"{d['outbox']:,} outbox messages; feeder {d['feeder']} with {d['feeder_accounts']:,} accounts", flush=True)
    results: list[dict[str, Any]] = []
    if args.explain and d["vendor"] == "postgresql":
        explain_fanout(feeder)
    if "publish" not in skip:
        results += bench_publish(args, feeder)
    if not {"grouping", "banner"} <= skip:
        live = live_outage(feeder)
        try:
            analyze()
            if args.explain:
                explain_banner(live)
            if "grouping" not in skip:
                results += bench_grouping(args, live)
            if "banner" not in skip:
                results += bench_banner(args, live)
        finally:
            outage_delete(live.pk)
    info["results"] = results
    common.results_write("outages", info, args)
    targets = {"affected_compute + sms_queue": ("median", 1000), "of which fault_call_received": ("p99", 50),
               "workorder_intake (repair call, whole)": ("p99", 50), "live_for_accounts": ("p99", 20)}
    for r in results:
        if r["case"] in targets:
            key, limit = targets[r["case"]]
            print(f"target {r['case']} {key} < {limit} ms: {r[key]:.1f} ms "
                  f"{'met' if r[key] < limit else 'MISSED'}")


if __name__ == "__main__":
    main()
