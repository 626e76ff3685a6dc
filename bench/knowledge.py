"""Knowledge search latency with 100,000 published articles.

    .venv/bin/python bench/knowledge.py --database-url postgres://postgres@127.0.0.1:5432/kefu_bench --explain
    .venv/bin/python bench/knowledge.py --sqlite var/bench/kefu-bench.sqlite3 --explain

Uses the benchmark database of the other scripts (the demo supplies the agent and the org units
articles apply to) and adds ``--articles`` generated articles (``kefu.demo.knowledge``: variations
on the seed articles with the hotline's vocabulary, spread over categories, utilities, regions and
validity periods), written set-based and indexed with ``search.index_bulk``; a second run reuses
them. Then ``knowledge_search`` as ``agent1`` for a fixed list of agent queries, each query
``--repeat`` times per run in a seeded order: the search page (no filter), and the desk's
suggestions (utility power, the caller's station as region, five results). Median and p95 per run,
median of the runs.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import common  # bench/common.py: the script's own directory comes first on sys.path

AGENT = "agent1"
STATION = "ZJDL-HZ-XH-WX"  # a caller's station: the region of the desk's suggestions
QUERIES = (
    "电价", "阶梯电价怎么算", "峰谷", "峰谷电价", "停电", "家里停电了怎么办", "计划停电", "燃气泄漏", "闻到煤气味",
    "违约金", "电费违约金怎么算", "过户", "过户需要什么材料", "报装", "新装报装流程", "电表走得快", "电能表校验",
    "欠费停电", "缴费", "电子发票", "充电桩报装", "光伏并网", "抢修到达时间", "跳闸", "漏电保护器跳闸",
    "燃气热水器", "燃气软管更换", "入户安检", "预付费燃气表", "阶梯气价", "气价", "投诉处理时限", "服务态度投诉",
    "暂停用电", "增加人口基数", "一户多人口", "电费账单", "户号查询", "营业厅", "雷雨天气停电报修",
)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    common.add_database_args(p)
    p.add_argument("--articles", type=int, default=100_000)
    p.add_argument("--repeat", type=int, default=10, help="each query this many times per run")
    p.add_argument("--warmup", type=int, default=2, help="unmeasured passes over the queries first")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the search of a few queries")
    return p.parse_args()


def db_info() -> dict[str, Any]:
    from django.db import connection

    from kefu.knowledge.models import Article, SearchEntry

    return {"vendor": connection.vendor, "version": common.db_version(), "articles": Article.objects.count(),
            "search_entries": SearchEntry.objects.count()}


def explain(queries: list[str]) -> None:
    """The statements knowledge_search runs, captured and explained (ANALYZE and BUFFERS on PostgreSQL)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from kefu.knowledge.selectors import knowledge_search
    from kefu.org.models import Staff

    user = Staff.objects.select_related("unit").get(username=AGENT)
    for q in queries:
        with CaptureQueriesContext(connection) as ctx:
            page = knowledge_search(user=user, query=q)
        sql = next((c["sql"] for c in ctx.captured_queries if "knowledge_searchentry" in c["sql"]
                    and ("@@" in c["sql"] or "MATCH" in c["sql"])), None)
        print(f"--- {q!r}: terms {page.terms}, {len(page.items)} results")
        if sql is None:
            continue
        prefix = "EXPLAIN (ANALYZE, BUFFERS) " if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN "
        with connection.cursor() as cur:
            cur.execute(prefix + sql)
            for row in cur.fetchall():
                print("   ", " ".join(str(x) for x in row))
        with connection.cursor() as cur:  # how many rows the ranking had to score
            cur.execute("SELECT count(*) FROM " + sql.split(" FROM ", 1)[1].split(" ORDER BY ")[0])  # noqa: S608
            print(f"    matching rows: {cur.fetchone()[0]:,}")


def main() -> None:
    args = parse_args()
    common.django_setup(common.database_url(args))
    load_seconds = common.dataset_ensure(args)
    from kefu.demo.knowledge import articles_load
    from kefu.knowledge.seed import knowledge_seed
    from kefu.knowledge.selectors import knowledge_search
    from kefu.org.models import OrgUnit, Staff

    knowledge_seed()  # the seed articles (the generated ones vary them); adds only missing ones
    print(f"making sure {args.articles:,} generated articles are there …", flush=True)
    article_seconds = articles_load(args.articles, seed=args.seed)
    if article_seconds is not None:
        print(f"articles written and indexed in {article_seconds:.0f} s")
    info: dict[str, Any] = {"machine": common.machine(), "database": db_info(), "demo_load_seconds": load_seconds,
                            "articles_load_seconds": article_seconds,
                            "args": {k: v for k, v in vars(args).items() if k != "json"}, "queries": QUERIES}
    d = info["database"]
    print(common.machine_line(info["machine"]))
    print(f"database: {d['vendor']} {d['version']}; {d['articles']:,} articles, {d['search_entries']:,} indexed",
          flush=True)
    user = Staff.objects.select_related("unit").get(username=AGENT)
    station = OrgUnit.objects.get(code=STATION)
    if args.explain:
        explain(["电价", "停电", "家里停电了怎么办", "阶梯电价怎么算"])
    items = list(QUERIES) * (args.warmup + args.repeat)
    warmup = len(QUERIES) * args.warmup
    print(f"knowledge_search as {AGENT}, {len(QUERIES)} queries × {args.repeat} per run:")
    results = [
        common.measure("search page (no filter, 20 rows)", lambda q: knowledge_search(user=user, query=q).items,
                       items, warmup=warmup, runs=args.runs, quantile=95, width=44),
        common.measure("desk suggestions (power, region, 5 rows)",
                       lambda q: knowledge_search(user=user, query=q, utility="power", region=station, limit=5,
                                                  strict=False).items,
                       items, warmup=warmup, runs=args.runs, quantile=95, width=44),
    ]
    per_query: dict[str, float] = {}
    for q in QUERIES:  # the slowest queries, for the report
        t0 = time.perf_counter()
        for _ in range(3):
            knowledge_search(user=user, query=q)
        per_query[q] = (time.perf_counter() - t0) * 1000 / 3
    slowest = sorted(per_query.items(), key=lambda kv: -kv[1])[:8]
    print("slowest queries (mean of 3, ms): " + ", ".join(f"{q} {ms:.1f}" for q, ms in slowest))
    info["results"] = results
    info["per_query_ms"] = per_query
    common.results_write("knowledge", info, args)
    common.results_table(results, quantile=95)


if __name__ == "__main__":
    main()
