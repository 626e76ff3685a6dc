"""Pages agents read: the search box with browsing by category, and one published article."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods

from kefu.core.errors import InvalidInput
from kefu.core.web import is_htmx, vary_on_htmx
from kefu.org.choices import Capability
from kefu.org.scope import has_capability, require

from ..forms import MAX_OFFSET, SearchForm
from ..models import ArticleRevision, Category
from ..selectors import (
    SearchResultItem,
    article_qs,
    category_with_descendants,
    knowledge_search,
    readable_revision,
    reader_region,
    region_chain,
    visible_entries,
)
from .common import category_overview

PAGE_SIZE = 20


def _more_url(form: SearchForm, offset: int) -> str | None:
    if offset > MAX_OFFSET:
        return None
    data = form.cleaned_data
    query = {k: v for k, v in (("q", data.get("q")), ("category", data.get("category")),
                               ("utility", data.get("utility"))) if v}
    return "?" + urlencode({**query, "offset": offset})


def _browse_category(user: Any, category_id: int, utility: str, limit: int,
                     offset: int) -> tuple[list[SearchResultItem], bool]:
    """The articles of a category (and those below it) when nothing is typed, by title."""
    entries = visible_entries(user).filter(category_id__in=category_with_descendants(category_id))
    chain = region_chain(reader_region(user))
    if chain is not None:
        entries = entries.filter(Q(region__isnull=True) | Q(region_id__in=chain))
    if utility:
        entries = entries.filter(utility__in=[utility, "both"])
    rows = list(entries.select_related("revision", "revision__category", "revision__region", "revision__article")
                .order_by("revision__title", "article_id")[offset:offset + limit + 1])
    items = [SearchResultItem(revision=e.revision, score=0.0, title_html="", snippet_html="") for e in rows[:limit]]
    return items, len(rows) > limit


@login_required
@require_http_methods(["GET"])
def search(request: HttpRequest) -> HttpResponse:
    """Search with highlighted hits; without a query, the category tree and the latest articles."""
    user = request.user
    require(user, Capability.KNOWLEDGE_VIEW)
    form = SearchForm(request.GET)
    context: dict[str, Any] = {"form": form, "query": "", "items": None, "more_url": None}
    status = 200
    if not form.is_valid():
        status = 400
    else:
        query = form.cleaned_data["q"]
        category = form.cleaned_data["category"]
        utility = form.cleaned_data["utility"]
        offset = form.cleaned_data["offset"] or 0
        context.update(query=query, offset=offset)
        if category is not None:
            context["category"] = Category.objects.filter(pk=category).first()
        if query:
            try:
                page = knowledge_search(user=user, query=query, category_id=category, utility=utility or None,
                                        region=reader_region(user), limit=PAGE_SIZE, offset=offset)
            except InvalidInput as exc:
                for message in exc.errors.get("q", [str(exc.message)]):
                    form.add_error("q", message)
                status = 400
            else:
                context.update(items=page.items, searched=True)
                if page.has_more:
                    context["more_url"] = _more_url(form, offset + PAGE_SIZE)
        elif category is not None:
            items, has_more = _browse_category(user, category, utility, PAGE_SIZE, offset)
            context["items"] = items
            if has_more:
                context["more_url"] = _more_url(form, offset + PAGE_SIZE)
        else:
            context["tree"], context["latest"] = category_overview(user)
    if is_htmx(request) and request.GET.get("offset"):
        # "More": only the next hits and the next "more" button, appended where the button was.
        return vary_on_htmx(render(request, "knowledge/_hits.html", context, status=status))
    return vary_on_htmx(render(request, "knowledge/search.html", context, status=status))


@login_required
@require_http_methods(["GET"])
def article(request: HttpRequest, pk: int) -> HttpResponse:
    """The published revision of an article, as agents are to tell it."""
    require(request.user, Capability.KNOWLEDGE_VIEW)
    revision: ArticleRevision = readable_revision(request.user, pk)
    can_edit = (has_capability(request.user, Capability.KNOWLEDGE_EDIT)
                and article_qs(request.user).filter(pk=pk).exists())
    context = {
        "revision": revision,
        "article": revision.article,
        "paragraphs": [p.strip() for p in revision.body.replace("\r\n", "\n").split("\n") if p.strip()],
        "can_edit": can_edit,
    }
    return render(request, "knowledge/article.html", context)
