"""Network topology at 1,000,000 service points: build time and the reads outage work needs.

    .venv/bin/python bench/grid.py --database-url postgres://postgres@127.0.0.1:5432/kefu_bench
    .venv/bin/python bench/grid.py --sqlite var/bench/kefu-bench.sqlite3

Uses the benchmark database of the other scripts as it is (the demo customers must be loaded; this
script never reloads them). Builds the demo topology for every demo service point with the demo
step (``kefu.demo.grid``, timed; a topology already there is wiped first unless ``--keep``), then
makes sure one feeder serves about ``--big-feeder`` customers: the demo's feeders carry a few
thousand each, so a "10kV 大网线" feeder is added under a substation of the largest power station
and that many of the station's service points are moved onto its transformer areas (set-based).

Measured, ``--runs`` timed calls after one warm-up (median and p99 of those calls):
``accounts_under(feeder).count()`` and the full id list for the feeder with the most customers,
``service_points_under(substation)`` count and id list for the largest substation; and per call over
``--samples`` random items (median of the runs' median / p99): ``path_to_root`` of service points,
``ancestors`` of nodes.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

import common  # bench/common.py: the script's own directory comes first on sys.path

BIG_CODE = "BIG"
TA_SIZE = 150


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    common.add_database_args(p)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--samples", type=int, default=1000, help="random service points / nodes per run")
    p.add_argument("--big-feeder", type=int, default=20_000, help="customers on the biggest feeder (at least)")
    p.add_argument("--keep", action="store_true", help="reuse a topology already built instead of rebuilding it")
    p.add_argument("--explain", action="store_true", help="EXPLAIN the feeder's accounts query")
    return p.parse_args()


def timed(name: str, call: Callable[[], Any], runs: int) -> dict[str, Any]:
    result = call()  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        result = call()
        times.append((time.perf_counter() - t0) * 1000)
    size = result if isinstance(result, int) else len(result)
    row = {"case": name, "median": statistics.median(times), "p99": common.percentile(times, 99),
           "cpu": float("nan"), "runs": times, "rows": size}
    print(f"  {name:<44} median {row['median']:8.2f} ms   p99 {row['p99']:8.2f} ms   rows {size:,}", flush=True)
    return row


def big_feeder(target: int, seed: int) -> None:
    """Add a feeder of ``target`` service points unless one that big exists (set-based moves)."""
    from django.db import transaction
    from django.db.models import Count

    from kefu.core.choices import UtilityKind
    from kefu.grid.models import Attachment, GridNode
    from kefu.grid.services import node_path

    biggest = feeders_by_size()[:1]
    if biggest and biggest[0][1] >= target:
        return
    station = (Attachment.objects.filter(node__utility=UtilityKind.POWER).values("node__unit_id")
               .annotate(n=Count("service_point_id")).order_by("-n").first())
    assert station is not None, "no power topology"
    unit_id = station["node__unit_id"]
    sub = GridNode.objects.filter(unit_id=unit_id, parent__isnull=True).order_by("id").first()
    assert sub is not None
    started = time.perf_counter()
    with transaction.atomic():
        feeder = GridNode.objects.create(code=f"{sub.code}-{BIG_CODE}", name="10kV 大网线", kind="feeder",
                                         utility=sub.utility, parent=sub, unit_id=unit_id, path="", depth=1,
                                         region_class=sub.region_class)
        feeder.path = node_path(sub, feeder.pk)
        feeder.save(update_fields=["path"])
        count = -(-target // TA_SIZE)
        tas = GridNode.objects.bulk_create([
            GridNode(code=f"{feeder.code}-T{k + 1:03d}", name=f"大网线{k + 1}号台区", kind="ta", utility=sub.utility,
                     parent=feeder, unit_id=unit_id, path="", depth=2, region_class=sub.region_class)
            for k in range(count)])
        if any(t.pk is None for t in tas):
            ids = dict(GridNode.objects.filter(code__startswith=f"{feeder.code}-T").values_list("code", "id"))
            for t in tas:
                t.pk = ids[t.code]
        for t in tas:
            t.path = node_path(feeder, t.pk)
        GridNode.objects.bulk_update(tas, ["path"])
        sps = list(Attachment.objects.filter(node__unit_id=unit_id, node__dedicated=False)
                   .order_by("service_point_id").values_list("service_point_id", flat=True)[:target])
        for k, ta in enumerate(tas):
            Attachment.objects.filter(service_point_id__in=sps[k * TA_SIZE:(k + 1) * TA_SIZE]).update(node=ta)
    print(f"added feeder {feeder.code} ({feeder.name}) with {count} transformer areas and {len(sps):,} service "
          f"points moved onto it in {time.perf_counter() - started:.1f} s")


def feeders_by_size() -> list[tuple[Any, int]]:
    """Feeders with their number of accounts, biggest first."""
    from django.db.models import Count

    from kefu.grid.models import Attachment, GridNode

    feeders = {n.pk: n for n in GridNode.objects.filter(kind="feeder")}
    counts: dict[int, int] = {}
    leaf_feeder = dict(GridNode.objects.filter(parent_id__in=list(feeders)).values_list("id", "parent_id"))
    for node_id, n in (Attachment.objects.filter(node_id__in=list(leaf_feeder)).values("node_id")
                       .annotate(n=Count("service_point__accounts")).values_list("node_id", "n")):
        counts[leaf_feeder[node_id]] = counts.get(leaf_feeder[node_id], 0) + n
    return sorted(((feeders[f], n) for f, n in counts.items()), key=lambda x: -x[1])


def main() -> None:
    args = parse_args()
    url = common.database_url(args)
    common.django_setup(url)
    common.kefu("migrate", "--noinput", "-v0")
    from django.db import connection
    from django.db.models import Max, Min

    from kefu.customers.models import ServicePoint
    from kefu.demo.grid import grid_demo_count, grid_demo_load, grid_demo_wipe
    from kefu.demo.loader import demo_loaded_count
    from kefu.demo.outages import outages_demo_wipe
    from kefu.grid.models import Attachment, GridNode
    from kefu.grid.selectors import accounts_under, ancestors, path_to_root, service_points_under

    customers = demo_loaded_count()
    if customers is None:
        raise SystemExit("the benchmark database holds no demo customers: run another benchmark (or kefu demo) first")
    m = common.machine()
    print(f"{connection.vendor} {common.db_version()}, {customers:,} demo customers, "
          f"{ServicePoint.objects.count():,} service points")
    print(common.machine_line(m))
    info: dict[str, Any] = {"machine": m, "results": []}
    if grid_demo_count() is not None and not args.keep:
        t0 = time.perf_counter()
        outages_demo_wipe()  # outages and fault calls point at the nodes
        grid_demo_wipe()
        print(f"removed the previous topology in {time.perf_counter() - t0:.1f} s")
    build = grid_demo_load(seed=args.seed)
    if build.loaded:
        print(f"built the topology in {build.seconds:.1f} s: {build.nodes:,} nodes, {build.attached:,} attached")
        info["build"] = {"seconds": build.seconds, "nodes": build.nodes, "attached": build.attached}
    natural = feeders_by_size()
    sizes = [n for _f, n in natural]
    print(f"feeders: {len(sizes)}, accounts per feeder median {statistics.median(sizes):,.0f}, "
          f"max {max(sizes):,}")
    info["feeders_natural"] = {"count": len(sizes), "median": statistics.median(sizes), "max": max(sizes)}
    big_feeder(args.big_feeder, args.seed)
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("ANALYZE grid_gridnode")
            cur.execute("ANALYZE grid_attachment")
    else:
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
    feeder, feeder_accounts = feeders_by_size()[0]
    substation = max(GridNode.objects.filter(parent__isnull=True, utility="power"),
                     key=lambda s: service_points_under(s).count())
    info["database"] = {"vendor": connection.vendor, "version": common.db_version(), "customers": customers,
                        "nodes": GridNode.objects.count(), "attachments": Attachment.objects.count(),
                        "feeder": feeder.code, "feeder_accounts": feeder_accounts, "substation": substation.code}
    print(f"feeder {feeder.code} {feeder.name}: {feeder_accounts:,} accounts; substation {substation.code} "
          f"{substation.name}: {service_points_under(substation).count():,} service points")
    results = info["results"]
    results.append(timed("accounts_under(feeder).count()", lambda: accounts_under(feeder).count(), args.runs))
    results.append(timed("accounts_under(feeder) id list",
                         lambda: list(accounts_under(feeder).values_list("id", flat=True)), args.runs))
    results.append(timed("service_points_under(substation).count()",
                         lambda: service_points_under(substation).count(), args.runs))
    results.append(timed("service_points_under(substation) id list",
                         lambda: list(service_points_under(substation).values_list("id", flat=True)), args.runs))
    rng = random.Random(f"grid:{args.seed}")
    bounds = Attachment.objects.aggregate(lo=Min("service_point_id"), hi=Max("service_point_id"))
    lo, hi = bounds["lo"], bounds["hi"]
    sps = [rng.randint(lo, hi) for _ in range(args.samples + 100)]
    node_ids = list(GridNode.objects.values_list("id", flat=True))
    nodes = list(GridNode.objects.filter(id__in=[rng.choice(node_ids) for _ in range(args.samples + 100)]))
    rng.shuffle(nodes)
    results.append(common.measure("path_to_root(service point)", path_to_root, sps, warmup=100, runs=args.runs,
                                  check=lambda r: True, width=44))
    results.append(common.measure("ancestors(node)", ancestors, nodes, warmup=min(100, len(nodes) // 10),
                                  runs=args.runs, width=44))
    if args.explain and connection.vendor == "postgresql":
        sql, params = accounts_under(feeder).values("id").query.sql_with_params()
        with connection.cursor() as cur:
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            print("\n".join(r[0] for r in cur.fetchall()))
    common.results_table(results)
    common.results_write("grid", info, args)


if __name__ == "__main__":
    main()
