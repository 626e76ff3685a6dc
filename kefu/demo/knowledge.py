"""Many knowledge articles for scale tests (``bench/knowledge.py``), written set-based.

Each generated article is a variation on one of the seeded articles (``knowledge.seed_articles``):
sentences from it, from other seed articles of the same part of the tree and from the domain
phrases below, with a title and tags derived from it, so that the words and their frequencies look
like a real knowledge base (common words in most articles, specific ones in a few). Categories,
utilities, regions and validity periods vary. Articles are numbered ``KBG000001`` … and indexed with
``search.index_bulk``; loading again with the same count does nothing.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from kefu.demo.dice import Dice
from kefu.knowledge import search
from kefu.knowledge.models import Article, ArticleRevision, Category, SearchEntry
from kefu.knowledge.seed import category_seed
from kefu.knowledge.services import CONTENT_FIELDS, normalize_tags
from kefu.org.models import OrgUnit

PREFIX = "KBG"
BATCH = 2000

TITLE_PREFIXES = ("", "", "", "居民客户", "企业客户", "农村地区", "城区", "小区", "2025年版", "新版", "营业厅",
                  "高层住宅", "商铺", "老旧小区", "学校医院等重要客户")
TITLE_SUFFIXES = ("", "", "说明", "办理指引", "常见问题解答", "话术要点", "注意事项", "处理流程", "政策解读",
                  "（补充说明）", "问答", "操作要点")
# Domain phrases mixed into the bodies: they add the hotline's vocabulary at realistic rates.
PHRASES = (
    "客户可通过网上国网App、微信公众号或营业厅办理，办理时需提供户号和有效身份证件。",
    "如客户对处理结果不满意，可在回访时提出，客服中心将升级处理并在{n}个工作日内答复。",
    "受理时应核实户号、地址和联系电话，并告知客户预计处理时限。",
    "峰谷分时电价的峰段为8:00至22:00，谷段为22:00至次日8:00，谷段电价约为{p}元/千瓦时。",
    "居民阶梯电价按年累计电量计算，超过第一档后按第二档电价计费。",
    "欠费停电前应提前{n}天通知客户，缴清电费及违约金后24小时内恢复供电。",
    "电费违约金按日计算，居民客户每日按欠费总额的千分之一计收。",
    "燃气泄漏时应立即关闭燃气表前阀门，打开门窗通风，严禁开关电器和使用明火，到室外拨打抢修电话。",
    "燃气用户应定期检查燃气软管，软管使用年限一般不超过{n}年，发现老化、龟裂应及时更换。",
    "入户安检每{n}年至少一次，安检人员应出示工作证件，安检不收取任何费用。",
    "过户需要新旧户主双方身份证明、房屋产权证明，结清原户名下的全部费用。",
    "新装报装需提交用电申请、身份证明和房屋产权证明，低压居民新装一般{n}个工作日内装表接电。",
    "故障报修后，抢修人员到达现场时限为城区45分钟、农村90分钟、特殊边远地区120分钟。",
    "计划停电应提前7天公告，临时检修停电应提前24小时通知重要客户。",
    "家里停电时先看看邻居家是否有电，再检查家中总开关和漏电保护器是否跳闸。",
    "电能表计量有异议的，客户可申请校验，校验结果误差超出允许范围的退补电费。",
    "预付费燃气表余额不足时会自动关阀，充值后插卡即可恢复供气。",
    "阶梯气价按年度用气量分档，第一档用气量为{v}立方米以内。",
    "客户投诉应在{n}个工作日内答复，涉及服务态度的投诉由值班长督办。",
    "客户要求开具电费发票的，可在网上国网App申请电子发票。",
    "分布式光伏并网需办理并网申请，供电公司在{n}个工作日内完成并网验收。",
    "电动汽车充电桩报装需提供车位产权或使用权证明及物业同意安装的证明。",
    "雷雨大风天气后停电报修集中，应先查询停电信息，避免重复派单。",
    "燃气热水器应安装在通风良好的位置，严禁安装在浴室内。",
    "一户多人口的家庭可申请增加阶梯电价基数，每户每月增加{v}千瓦时。",
    "办理暂停用电的，暂停期间不收取基本电费，暂停时间每次不少于15天。",
    "电费账单可通过短信、微信和电子邮件推送，客户可自行选择订阅方式。",
    "客户报修燃气表不走字或走字异常的，应派员现场核查并记录表底读数。",
)
REGION_SHARE = 0.3
EXPIRED_SHARE, FUTURE_SHARE, WINDOW_SHARE = 0.05, 0.05, 0.05


@dataclass(frozen=True)
class SeedText:
    category: str
    utility: str
    title: str
    tags: tuple[str, ...]
    sentences: tuple[str, ...]
    source: str


def _sentences(text: str) -> list[str]:
    return [s.strip() + "。" for s in re.split(r"[。！？\n]+", text or "") if len(s.strip()) >= 6]


def _seed_texts() -> list[SeedText]:
    from kefu.knowledge.seed_articles import ARTICLES

    return [SeedText(a["category"], a.get("utility", "both"), a["title"], tuple(a.get("tags", [])),
                     tuple(_sentences(a.get("summary", "")) + _sentences(a["body"])), a.get("source", ""))
            for a in ARTICLES]


class ArticleMaker:
    def __init__(self, *, seed: int, categories: dict[str, Category], regions: list[int], today: dt.date) -> None:
        self.seed = seed
        self.categories = categories
        self.regions = regions
        self.today = today
        self.texts = _seed_texts()
        if not self.texts:
            raise RuntimeError("no seed articles to build on")
        self.by_top: dict[str, list[SeedText]] = {}
        for t in self.texts:
            self.by_top.setdefault(t.category.split("-")[0], []).append(t)

    def fields(self, n: int) -> dict[str, Any]:
        """The content fields of article ``n`` (deterministic for the seed)."""
        rng = Dice(f"kb:{self.seed}:{n}")
        base = rng.pick(self.texts)
        kin = self.by_top[base.category.split("-")[0]]
        paragraphs: list[str] = []
        first = ""
        for _p in range(rng.between(2, 6)):
            sentences = []
            for _s in range(rng.between(2, 5)):
                roll = rng.random()
                if roll < 0.55:
                    sentences.append(rng.pick(base.sentences))
                elif roll < 0.85:
                    sentences.append(rng.pick(rng.pick(kin).sentences))
                else:
                    sentences.append(rng.pick(PHRASES).format(n=rng.between(3, 15), p=f"0.{rng.between(25, 35)}",
                                                               v=rng.between(30, 400)))
            paragraphs.append("".join(sentences))
            first = first or sentences[0]
        title = f"{rng.pick(TITLE_PREFIXES)}{base.title}{rng.pick(TITLE_SUFFIXES)}"[:200]
        tags = list(base.tags[:3]) + ([rng.pick(self.texts).tags[0]] if rng.random() < 0.3 else [])
        roll = rng.random()
        valid_from: dt.date | None = None
        valid_to: dt.date | None = None
        if roll < EXPIRED_SHARE:
            valid_from = self.today - dt.timedelta(days=900)
            valid_to = self.today - dt.timedelta(days=rng.between(1, 400))
        elif roll < EXPIRED_SHARE + FUTURE_SHARE:
            valid_from = self.today + dt.timedelta(days=rng.between(1, 120))
        elif roll < EXPIRED_SHARE + FUTURE_SHARE + WINDOW_SHARE:
            valid_from = self.today - dt.timedelta(days=rng.between(1, 300))
            valid_to = self.today + dt.timedelta(days=rng.between(1, 300))
        category = self.categories.get(base.category) or next(iter(self.categories.values()))
        return {
            "title": title, "summary": first[:500], "body": "\n\n".join(paragraphs), "category": category,
            "utility": base.utility if rng.random() < 0.9 else "both",
            "region_id": rng.pick(self.regions) if self.regions and rng.random() < REGION_SHARE else None,
            "tags": normalize_tags(tags), "valid_from": valid_from, "valid_to": valid_to, "source": base.source,
        }


class _SentenceCache:
    """jieba cuts the text between two punctuation marks on its own, so cutting sentence by sentence
    gives the same words; generated articles reuse a few thousand sentences, and segmenting each
    once makes the load several times faster (segmentation is nearly all of its CPU time)."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.cache: dict[str, list[str]] = {}

    def cut_for_search(self, text: str, HMM: bool = True) -> list[str]:
        out: list[str] = []
        for part in re.split(r"([。\n])", text):
            if part:
                found = self.cache.get(part)
                if found is None:
                    found = self.cache[part] = list(self.tokenizer.cut_for_search(part, HMM))
                out.extend(found)
        return out

    def __getattr__(self, name: str) -> Any:
        return getattr(self.tokenizer, name)


def _content(article: Article) -> dict[str, Any]:
    """The content fields by attname: reading ``region`` would fetch the unit once per article."""
    names = [{"category": "category_id", "region": "region_id"}.get(name, name) for name in CONTENT_FIELDS]
    return {name: getattr(article, name) for name in names}


def generated_count() -> int:
    return Article.objects.filter(number__startswith=PREFIX).count()


def generated_delete() -> int:
    """Remove the generated articles with their revisions and search entries (set-based)."""
    ids = Article.objects.filter(number__startswith=PREFIX).values("id")
    with transaction.atomic():
        if connection.vendor == "sqlite":
            with connection.cursor() as cur:
                cur.execute("DELETE FROM knowledge_fts WHERE rowid IN (SELECT id FROM knowledge_article "
                            "WHERE number LIKE %s)", [f"{PREFIX}%"])
        SearchEntry.objects.filter(article_id__in=ids).delete()
        Article.objects.filter(number__startswith=PREFIX).update(published=None)
        ArticleRevision.objects.filter(article_id__in=ids).delete()
        return Article.objects.filter(number__startswith=PREFIX).delete()[0]


def articles_load(count: int, *, seed: int = 7, log: Callable[[str], None] = print) -> float | None:
    """Make ``count`` published, indexed articles unless exactly that many are there. Returns the
    seconds it took, or None when nothing was done."""
    have = generated_count()
    if have == count:
        return None
    started = time.monotonic()
    if have:
        log(f"removing {have:,} generated articles …")
        generated_delete()
    categories = {c.code: c for c in Category.objects.all()} or category_seed()
    regions = list(OrgUnit.objects.filter(level__in=["city", "county"]).values_list("id", flat=True))
    maker = ArticleMaker(seed=seed, categories=categories, regions=regions, today=timezone.localdate())
    now = timezone.now()
    tokenizer = search._jieba()
    search._tokenizer = _SentenceCache(tokenizer)
    try:
        _write(maker, count, now, log)
    finally:
        search._tokenizer = tokenizer
    with connection.cursor() as cur:  # fresh planner statistics after the bulk load
        for model in (Article, ArticleRevision, SearchEntry):
            cur.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    return time.monotonic() - started


def _write(maker: ArticleMaker, count: int, now: dt.datetime, log: Callable[[str], None]) -> None:
    for first in range(0, count, BATCH):
        with transaction.atomic():
            rows = [maker.fields(n) for n in range(first + 1, min(count, first + BATCH) + 1)]
            articles = Article.objects.bulk_create([
                Article(number=f"{PREFIX}{first + i + 1:06d}", status="published", unit=None, **f)
                for i, f in enumerate(rows)])
            revisions = ArticleRevision.objects.bulk_create([
                ArticleRevision(article=a, revision=1, published_at=now, **_content(a))
                for a in articles])
            for a, r in zip(articles, revisions, strict=True):
                a.published = r
            Article.objects.bulk_update(articles, ["published"], batch_size=BATCH)
            search.index_bulk(revisions)
        if (first // BATCH) % 10 == 9:
            log(f"  {first + BATCH:,} articles …")
