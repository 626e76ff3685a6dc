"""What the knowledge pages and the API share: which published articles a reader gets, the category
overview shown before anything is searched, and which review steps a user may take."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q

from kefu.org.choices import Capability
from kefu.org.scope import has_capability

from ..choices import TRANSITIONS, ArticleAction
from ..models import Article, ArticleRevision, Category
from ..selectors import category_tree, reader_region, region_chain, visible_entries

LATEST = 10

# The capability each review step needs; the service checks it again.
STEP_CAPABILITY: dict[str, str] = {
    ArticleAction.SUBMIT: Capability.KNOWLEDGE_EDIT,
    ArticleAction.APPROVE: Capability.KNOWLEDGE_PUBLISH,
    ArticleAction.REJECT: Capability.KNOWLEDGE_PUBLISH,
    ArticleAction.RETIRE: Capability.KNOWLEDGE_PUBLISH,
}


def allowed_steps(user: Any, article: Article) -> list[str]:
    """The review steps the article's status allows and the user's role may take."""
    return [a for a, cap in STEP_CAPABILITY.items()
            if article.status in TRANSITIONS[a] and has_capability(user, cap)]


@dataclass
class CategoryCount:
    category: Category
    depth: int
    count: int  # visible articles in the category and the ones below it


def category_overview(user: Any) -> tuple[list[CategoryCount], list[ArticleRevision]]:
    """Every category with how many articles the reader finds there, and the latest published ones."""
    entries = visible_entries(user)
    chain = region_chain(reader_region(user))
    if chain is not None:
        entries = entries.filter(Q(region__isnull=True) | Q(region_id__in=chain))
    direct = dict(entries.values_list("category_id").annotate(n=Count("article_id")).values_list("category_id", "n"))
    tree = category_tree()
    totals = {c.pk: direct.get(c.pk, 0) for c, _depth in tree}
    # Parents come before children in the tree: add children to parents walking it backwards.
    for c, _depth in reversed(tree):
        if c.parent_id is not None and c.parent_id in totals:
            totals[c.parent_id] += totals[c.pk]
    rows = [CategoryCount(c, depth, totals[c.pk]) for c, depth in tree]
    latest = [
        e.revision for e in entries.select_related("revision", "revision__category", "revision__region")
        .order_by("-revision__published_at", "-article_id")[:LATEST]
    ]
    return rows, latest
