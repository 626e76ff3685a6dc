"""Search quality on the seeded articles (migration 0003 seeds them into every test database), bad
queries, highlighting, and the filters agents rely on: category, utility, region and validity."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.http import Http404

from kefu.core.errors import InvalidInput
from kefu.knowledge import search
from kefu.knowledge.models import Article, Category
from kefu.knowledge.seed import CATEGORIES, knowledge_seed
from kefu.knowledge.seed_articles import ARTICLES
from kefu.knowledge.selectors import knowledge_search, published_get, suggestions
from kefu.knowledge.services import normalize_tags
from kefu.knowledge.tests.factories import Editors, make_article, make_editors
from kefu.org.models import Staff
from kefu.org.tests.factories import make_staff, make_unit

if TYPE_CHECKING:
    from conftest import World

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
TARIFF_TIERED = "KBS013"
TARIFF_TOU = "KBS014"
GAS_TIERED = "KBS017"
# Articles about power outages, their notices and repairs: what a caller saying 停电 is after.
OUTAGE_ARTICLES = {"KBS004", "KBS005", "KBS006", "KBS007", "KBS009", "KBS019", "KBS034", "KBS040"}


@pytest.fixture
def reader() -> Staff:
    unit = make_unit("搜索测试中心", code="SR", level="group", utility="both")
    return make_staff("kb_reader", unit=unit, roles=["agent"])


@pytest.fixture
def editors(world: World) -> Editors:
    return make_editors(world)


def numbers(user: Staff, query: str, *, limit: int = 50, **filters: Any) -> list[str]:
    page = knowledge_search(user=user, query=query, limit=limit, **filters)
    return [item.revision.article.number for item in page.items]


def test_the_seed_is_there_complete_and_idempotent() -> None:
    seeded = Article.objects.filter(number__startswith="KBS", status="published")
    assert seeded.count() == len(ARTICLES) >= 40
    assert not seeded.filter(published__isnull=True).exists()
    assert knowledge_seed() == 0 and seeded.count() == len(ARTICLES)


def test_seed_articles_are_well_formed() -> None:
    codes = {code for code, *_rest in CATEGORIES}
    numbers_seen = [item["number"] for item in ARTICLES]
    assert len(set(numbers_seen)) == len(numbers_seen)
    for item in ARTICLES:
        where = item["number"]
        assert re.fullmatch(r"KBS\d{3}", where), where
        assert item["category"] in codes and item["utility"] in {"power", "gas", "both"}, where
        assert 0 < len(item["title"]) <= 200 and 0 < len(item["summary"]) <= 500, where
        assert item["source"] and item["tags"] and len(normalize_tags(item["tags"])) <= 300, where
        paragraphs = [p for p in item["body"].strip().split("\n\n") if p.strip()]
        assert len(paragraphs) >= 3 and len(item["body"]) >= 250, where


# question as a caller or agent types it → article numbers that must be among the first ``top``
QUALITY: list[tuple[str, set[str], int]] = [
    ("电价", {TARIFF_TIERED, TARIFF_TOU}, 2),
    ("阶梯", {TARIFF_TIERED, GAS_TIERED}, 2),
    ("峰谷", {TARIFF_TOU}, 1),
    ("峰谷电价时段", {TARIFF_TOU}, 1),
    ("阶梯气价", {GAS_TIERED}, 1),
    ("家里停电了怎么办", {"KBS034"}, 3),
    ("燃气泄漏怎么办", {"KBS031"}, 1),
    ("闻到煤气味", {"KBS031"}, 1),
    ("违约金怎么算", {"KBS015"}, 1),
    ("多久能到现场", {"KBS004"}, 1),
    ("电费为什么这么高", {"KBS035"}, 1),
    ("燃气表不走字", {"KBS036"}, 1),
    ("入户安检", {"KBS030"}, 1),
    ("到访不遇", {"KBS030"}, 1),
    ("过户需要什么材料", {"KBS028"}, 1),
    ("低保户有优惠吗", {"KBS016"}, 1),
    ("交了电费什么时候复电", {"KBS019"}, 1),
    ("欠费停电", {"KBS019"}, 1),
    ("电表不准怎么办", {"KBS022"}, 1),
    ("验表", {"KBS022"}, 1),
    ("投诉多久处理", {"KBS010"}, 3),
    ("燃气费滞纳金", {"KBS018"}, 1),
    ("计划停电提前几天通知", {"KBS007"}, 1),
    ("停气", {"KBS008", "KBS020"}, 3),
    ("报装", {"KBS025", "KBS026", "KBS027"}, 3),
    ("IC卡", {"KBS024"}, 1),
    ("ic卡", {"KBS024"}, 1),
    ("话术", {"KBS038", "KBS039", "KBS040", "KBS041", "KBS042"}, 5),
]


@pytest.mark.parametrize(("query", "expected", "top"), QUALITY, ids=[q for q, _e, _t in QUALITY])
def test_search_quality(reader: Staff, query: str, expected: set[str], top: int) -> None:
    found = numbers(reader, query, limit=top)
    assert expected <= set(found), f"{query!r}: expected {sorted(expected)} in the top {top}, got {found}"


def test_outage_query_finds_outage_articles_not_everything_with_the_character(reader: Staff) -> None:
    found = numbers(reader, "停电")
    assert set(found[:3]) <= OUTAGE_ARTICLES, found
    # 电价, 电费 and 用电 all hold the character 电; only articles with the word 停电 may match.
    assert TARIFF_TIERED not in found and TARIFF_TOU not in found
    with_character = Article.objects.filter(number__startswith="KBS", body__contains="电").count()
    assert len(found) < with_character
    for number in found:
        article = Article.objects.get(number=number)
        assert "停电" in f"{article.title}{article.summary}{article.body}{article.tags}", number


@pytest.mark.parametrize("query", ["！！？。", "...", "   ", "，、；：", "\n\t"])
def test_queries_without_words_find_nothing(reader: Staff, query: str) -> None:
    page = knowledge_search(user=reader, query=query)
    assert page.items == [] and page.terms == [] and not page.has_more
    assert suggestions(user=reader, text=query).items == []


def test_an_overlong_query_is_refused_by_the_search_box_and_cut_for_suggestions(reader: Staff) -> None:
    text = "停电" * 5000
    with pytest.raises(InvalidInput) as refused:
        knowledge_search(user=reader, query=text, strict=True)
    assert "q" in refused.value.errors
    hints = suggestions(user=reader, text=text)
    assert hints.items and set(i.revision.article.number for i in hints.items) <= OUTAGE_ARTICLES
    assert suggestions(user=reader, text="！" * 10_000).items == []
    assert knowledge_search(user=reader, query="x" * 10_000, strict=False).items == []


@pytest.mark.parametrize("query", ['"停电', "停电*", "NEAR(停电 电价)", "title_terms:停电", "停电 OR", "AND OR NOT",
                                   "';drop table knowledge_searchentry;--", "停电 & 电价 | !峰谷", "\\'"])
def test_query_syntax_of_the_engines_is_plain_text(reader: Staff, query: str) -> None:
    page = knowledge_search(user=reader, query=query)  # neither FTS5 nor tsquery syntax may leak through
    if "停电" in query:
        assert any(i.revision.article.number in OUTAGE_ARTICLES for i in page.items)
    assert Article.objects.filter(number__startswith="KBS").count() >= 40


def test_caller_description_in_the_desk_suggestions(reader: Staff) -> None:
    hints = suggestions(user=reader, text="客户说家里停电了，邻居家也没电，问什么时候来电")
    assert "KBS034" in [i.revision.article.number for i in hints.items][:3]


def test_highlight_marks_the_words_and_escapes_html() -> None:
    out = search.highlight("停电<script>alert('电价')</script>怎么办", ["停电", "电价"])
    assert out.startswith("<mark>停电</mark>&lt;script&gt;")
    assert "<mark>电价</mark>" in out and "<script>" not in out
    assert search.highlight("A & B <b>", []) == "A &amp; B &lt;b&gt;"
    window = search.highlight("甲" * 300 + "阶梯电价" + "乙" * 300, ["阶梯电价"], width=60)
    assert "<mark>阶梯电价</mark>" in window and window.startswith("…") and window.endswith("…")
    assert len(window) < 120


def test_search_results_escape_article_html(world: World, editors: Editors) -> None:
    make_article(editors.leader_a1, approver=editors.director, title="防汛<script>alert(1)</script>须知",
                 summary="", body="配电房<script>steal()</script>防汛巡视 <b>加粗</b>")
    page = knowledge_search(user=world.agent_a1, query="防汛")
    [item] = page.items
    assert "<script>" not in item.title_html and "<script>" not in item.snippet_html
    assert item.title_html == "<mark>防汛</mark>&lt;script&gt;alert(1)&lt;/script&gt;须知"
    assert "&lt;script&gt;steal()&lt;/script&gt;<mark>防汛</mark>" in item.snippet_html
    assert "&lt;b&gt;" in item.snippet_html


def test_category_filter_includes_subcategories(reader: Staff) -> None:
    tariff = Category.objects.get(code="tariff")
    found = numbers(reader, "阶梯", category_id=tariff.pk)
    assert {TARIFF_TIERED, GAS_TIERED, "KBS016"} <= set(found)
    assert "KBS035" not in found  # the FAQ mentions 阶梯 too, but lives under 常见问题
    gas_only = numbers(reader, "阶梯", category_id=Category.objects.get(code="tariff-gas").pk)
    assert gas_only == [GAS_TIERED]


def test_utility_filter(reader: Staff) -> None:
    gas = numbers(reader, "报装", utility="gas")
    assert gas[0] == "KBS027"
    assert "KBS025" not in gas and "KBS026" not in gas  # power-only articles
    assert "KBS028" in numbers(reader, "过户", utility="gas")  # "both" articles serve either utility
    power = numbers(reader, "阶梯", utility="power")
    assert TARIFF_TIERED in power and GAS_TIERED not in power


def test_region_filter_follows_the_unit_chain(world: World, editors: Editors) -> None:
    make_article(editors.leader_a1, approver=editors.director, region=world.county_a1.pk,
                 title="县A1防汛值班安排", body="汛期县A1供电公司实行24小时防汛值班。")
    station = make_unit("城关供电所", code="S9", parent=world.county_a1, level="station")
    assert numbers(world.agent_a1, "防汛", region=world.county_a1) == [numbers(world.agent_a1, "防汛")[0]]
    assert len(numbers(world.agent_a1, "防汛", region=station)) == 1  # a unit below A1: A1's articles apply
    assert numbers(world.agent_a1, "防汛", region=world.county_a2) == []  # a sibling county: they do not
    assert numbers(world.outsider, "防汛", region=world.county_b1) == []
    # Company-wide articles (no region) apply everywhere.
    assert "KBS004" in numbers(world.outsider, "到达现场", region=world.county_b1)


def test_validity_dates(world: World, editors: Editors) -> None:
    with time_machine.travel(datetime(2026, 3, 20, 9, 0, tzinfo=SHANGHAI), tick=False):
        article = make_article(editors.leader_a1, approver=editors.director, title="春季防汛临时措施",
                               valid_from="2026-03-25", valid_to="2026-03-31")
        assert numbers(world.agent_a1, "防汛") == []  # not valid yet
        with pytest.raises(Http404):
            published_get(user=world.agent_a1, article_id=article.pk)
    with time_machine.travel(datetime(2026, 3, 31, 23, 30, tzinfo=SHANGHAI), tick=False):  # last day, Beijing time
        assert numbers(world.agent_a1, "防汛") == [article.number]
        assert published_get(user=world.agent_a1, article_id=article.pk).title == "春季防汛临时措施"
    with time_machine.travel(datetime(2026, 4, 1, 0, 30, tzinfo=SHANGHAI), tick=False):  # valid_to was yesterday
        assert numbers(world.agent_a1, "防汛") == []
        with pytest.raises(Http404):
            published_get(user=world.agent_a1, article_id=article.pk)
    assert date(2026, 3, 31) == Article.objects.get(pk=article.pk).valid_to


def test_readers_without_the_capability_see_nothing(world: World) -> None:
    telephony = make_staff("kb_cti", unit=world.province, roles=["telephony"])
    assert knowledge_search(user=telephony, query="停电").items == []
    seeded = Article.objects.get(number="KBS034")
    with pytest.raises(Http404):
        published_get(user=telephony, article_id=seeded.pk)
    assert published_get(user=world.agent_a1, article_id=seeded.pk).title == "家里突然停电了怎么办"
