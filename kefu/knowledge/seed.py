"""The category tree and the starting articles (content in ``seed_articles.py``, written from the
domain guide and the source documents it cites). Idempotent: run again, nothing doubles; an article
an editor has since changed is left alone."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from . import search
from .models import Article, ArticleRevision, Category
from .services import CONTENT_FIELDS, normalize_tags

# code, name, English name, parent code, sort
CATEGORIES: list[tuple[str, str, str, str | None, int]] = [
    ("policy", "政策法规", "Policies and regulations", None, 10),
    ("policy-power", "供电服务规范", "Power supply service rules", "policy", 11),
    ("policy-gas", "燃气管理规定", "Gas supply rules", "policy", 12),
    ("procedure", "业务流程", "Procedures", None, 20),
    ("procedure-business", "营业业务", "Business services", "procedure", 21),
    ("procedure-repair", "故障抢修", "Fault repair", "procedure", 22),
    ("procedure-complaint", "投诉举报处理", "Complaints and reports", "procedure", 23),
    ("procedure-outage", "停送电与停复气", "Outages and gas supply interruptions", "procedure", 24),
    ("tariff", "电价气价与收费", "Tariffs and charges", None, 30),
    ("tariff-power", "电价电费", "Power tariffs and bills", "tariff", 31),
    ("tariff-gas", "气价气费", "Gas tariffs and bills", "tariff", 32),
    ("knowledge", "用电用气知识", "Power and gas know-how", None, 40),
    ("knowledge-power", "安全用电", "Electrical safety", "knowledge", 41),
    ("knowledge-gas", "安全用气", "Gas safety", "knowledge", 42),
    ("faq", "常见问题", "Frequently asked questions", None, 50),
    ("script", "服务话术", "Scripts for agents", None, 60),
]


def category_seed() -> dict[str, Category]:
    by_code: dict[str, Category] = {}
    existing = {c.code: c for c in Category.objects.all()}
    for code, name, name_en, parent, sort in CATEGORIES:
        wanted = {"name": name, "name_en": name_en, "parent": by_code.get(parent or ""), "sort": sort}
        cat = existing.get(code)
        if cat is None:
            cat = Category.objects.create(code=code, **wanted)
        elif any(getattr(cat, key) != value for key, value in wanted.items()):
            # Written only when it differs: a seed run on an unchanged base writes nothing.
            Category.objects.filter(pk=cat.pk).update(**wanted)
            for key, value in wanted.items():
                setattr(cat, key, value)
        by_code[code] = cat
    return by_code


def _articles() -> list[dict[str, Any]]:
    from .seed_articles import ARTICLES

    return ARTICLES


@transaction.atomic
def knowledge_seed() -> int:
    """Create the categories and publish every seed article not there yet. Returns how many were added."""
    cats = category_seed()
    existing = set(Article.objects.filter(number__startswith="KBS").values_list("number", flat=True))
    now = timezone.now()
    revisions: list[ArticleRevision] = []
    for item in _articles():
        if item["number"] in existing:
            continue
        fields = {
            "title": item["title"], "summary": item.get("summary", ""), "body": item["body"].strip(),
            "category": cats[item["category"]], "utility": item.get("utility", "both"), "region": None,
            "tags": normalize_tags(item.get("tags", [])), "valid_from": item.get("valid_from"),
            "valid_to": item.get("valid_to"), "source": item.get("source", ""),
        }
        article = Article.objects.create(number=item["number"], status="published", unit=None, **fields)
        revision = ArticleRevision.objects.create(article=article, revision=1, published_at=now,
                                                  **{name: fields[name] for name in CONTENT_FIELDS})
        Article.objects.filter(pk=article.pk).update(published=revision)
        revisions.append(revision)
    return search.index_bulk(revisions)
