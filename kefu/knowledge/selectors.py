"""Reads of the knowledge base. Readers see published, currently valid articles (those with a search
entry valid today); editors see the working copies of their units' articles."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.core.api import parse_id
from kefu.core.errors import InvalidInput
from kefu.org.choices import Capability
from kefu.org.models import OrgUnit
from kefu.org.scope import for_user, has_capability, unit_in_scope

from . import search
from .models import Article, ArticleRevision, Category, SearchEntry


def may_edit_company_wide(user: Any) -> bool:
    unit = getattr(user, "unit", None)
    return getattr(user, "is_superuser", False) or (unit is not None and unit.parent_id is None)


def article_qs(user: Any) -> QuerySet[Article]:
    """Working copies an editor may open: articles owned by units in the user's scope, and the
    company-wide ones for editors at the top of the tree."""
    if not has_capability(user, Capability.KNOWLEDGE_EDIT):
        return Article.objects.none()
    scoped = for_user(Article.objects.all(), user)
    if may_edit_company_wide(user):
        return scoped | Article.objects.filter(unit__isnull=True)
    return scoped


def _today() -> date:
    return timezone.localdate()


def _valid_q(today: date) -> Q:
    return (Q(valid_from__isnull=True) | Q(valid_from__lte=today)) & (Q(valid_to__isnull=True) | Q(valid_to__gte=today))


def visible_entries(user: Any, *, today: date | None = None) -> QuerySet[SearchEntry]:
    if not has_capability(user, Capability.KNOWLEDGE_VIEW):
        return SearchEntry.objects.none()
    return SearchEntry.objects.filter(_valid_q(today or _today()))


def published_get(*, user: Any, article_id: int, today: date | None = None) -> ArticleRevision:
    """The revision agents see for this article; 404 when it is not published or not valid today."""
    entry = visible_entries(user, today=today).filter(article_id=article_id).select_related(
        "revision", "revision__category", "revision__region", "revision__article").first()
    if entry is None:
        raise Http404
    return entry.revision


def category_tree() -> list[tuple[Category, int]]:
    """Every category with its depth, parents before children, in sort order."""
    cats = list(Category.objects.all())
    children: dict[int | None, list[Category]] = {}
    for c in cats:
        children.setdefault(c.parent_id, []).append(c)
    out: list[tuple[Category, int]] = []

    def walk(parent: int | None, depth: int) -> None:
        for c in children.get(parent, []):
            out.append((c, depth))
            walk(c.pk, depth + 1)

    walk(None, 0)
    return out


def category_with_descendants(category_id: int) -> list[int]:
    ids = [category_id]
    by_parent: dict[int | None, list[int]] = {}
    for pk, parent in Category.objects.values_list("pk", "parent_id"):
        by_parent.setdefault(parent, []).append(pk)
    i = 0
    while i < len(ids):
        ids.extend(by_parent.get(ids[i], []))
        i += 1
    return ids


def region_chain(unit: OrgUnit | None) -> list[int] | None:
    """The unit and its ancestors: articles for any of them apply to a customer of ``unit``."""
    if unit is None:
        return None
    return [int(part) for part in unit.path.split(".") if part.isdigit()] or [unit.pk]


def reader_region(user: Any) -> OrgUnit | None:
    """The unit whose customers the reader serves: searches show company-wide articles and those for
    this unit or a unit above it. None (superusers): every region."""
    if getattr(user, "is_superuser", False):
        return None
    return getattr(user, "unit", None)


def region_readable(user: Any, region: OrgUnit | None) -> bool:
    """A regional article is for its own area: readers there (the unit or below it) and the people
    looking after that area (units above it). Elsewhere it is out of scope."""
    if region is None or getattr(user, "is_superuser", False):
        return True
    unit = getattr(user, "unit", None)
    if unit is None:
        return False
    return region.pk in (region_chain(unit) or []) or unit_in_scope(user, region)


def readable_revision(user: Any, article_id: int) -> ArticleRevision:
    """The published revision a reader may open; anything else is the same 404."""
    if parse_id(article_id) is None:  # a URL id too big for the id column
        raise Http404
    revision = published_get(user=user, article_id=article_id)
    if not region_readable(user, revision.region):
        raise Http404
    return revision


@dataclass
class SearchResultItem:
    revision: ArticleRevision
    score: float
    title_html: str
    snippet_html: str


@dataclass
class SearchPage:
    query: str
    terms: list[str]
    items: list[SearchResultItem]
    has_more: bool


def knowledge_search(
    *,
    user: Any,
    query: str,
    category_id: int | None = None,
    utility: str | None = None,
    region: OrgUnit | None = None,
    limit: int = 20,
    offset: int = 0,
    strict: bool = True,
    today: date | None = None,
) -> SearchPage:
    """Published, valid articles for ``query``, best first, with highlighted title and snippet.

    ``strict`` refuses a search string longer than the limit (the search box); the desk's suggestions
    pass ``strict=False`` and the text is cut instead. A query with no words (only punctuation) finds
    nothing rather than everything.
    """
    query = query or ""
    if strict and len(query) > search.MAX_QUERY_CHARS:
        raise InvalidInput({"q": [_("The search text is too long (at most %(max)d characters).")
                                  % {"max": search.MAX_QUERY_CHARS}]})
    if not has_capability(user, Capability.KNOWLEDGE_VIEW):
        return SearchPage(query, [], [], False)
    terms = search.query_terms(query)
    filters = search.Filters(
        category_ids=category_with_descendants(category_id) if category_id else None,
        utility=utility or None,
        region_ids=region_chain(region),
        today=today or _today(),
    )
    hits = search.search(terms, filters, limit=limit + 1, offset=offset)
    revisions = ArticleRevision.objects.select_related("category", "region", "article").in_bulk(
        [h.revision_id for h in hits[:limit]])
    items = [
        SearchResultItem(
            revision=revisions[h.revision_id],
            score=h.score,
            title_html=search.highlight(revisions[h.revision_id].title, terms),
            snippet_html=search.highlight(revisions[h.revision_id].summary or revisions[h.revision_id].body,
                                          terms, width=120),
        )
        for h in hits[:limit]
        if h.revision_id in revisions
    ]
    return SearchPage(query, terms, items, len(hits) > limit)


def suggestions(*, user: Any, text: str, utility: str | None = None, region: OrgUnit | None = None,
                limit: int = 5) -> SearchPage:
    """The articles most relevant to what the agent is typing about the caller's problem."""
    return knowledge_search(user=user, query=text[: search.MAX_QUERY_CHARS], utility=utility, region=region,
                            limit=limit, strict=False)


def article_history(article: Article) -> list[ArticleRevision]:
    return list(article.revisions.select_related("approved_by", "author").order_by("-revision"))
