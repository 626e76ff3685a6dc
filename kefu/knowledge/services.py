"""Writes to the knowledge base: one service per workflow step, each one transaction and one event."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.core.choices import UnitUtility
from kefu.core.errors import Conflict, IllegalTransition, InvalidInput, NotFoundError
from kefu.core.services import sequence_next
from kefu.org.choices import Capability
from kefu.org.models import OrgUnit
from kefu.org.scope import require, unit_in_scope

from . import search
from .choices import TRANSITIONS, ArticleAction, ArticleStatus
from .models import Article, ArticleEvent, ArticleRevision, Category
from .selectors import may_edit_company_wide

CONTENT_FIELDS = ("title", "summary", "body", "category", "utility", "region", "tags", "valid_from", "valid_to",
                  "source")


def normalize_tags(value: str | list[str] | None) -> str:
    """Tags from "电价, 阶梯；峰谷" or a list, to ",电价,阶梯,峰谷," (no duplicates, order kept)."""
    items = value if isinstance(value, list) else str(value or "").replace("，", ",").replace("；", ",").replace(
        ";", ",").replace("、", ",").split(",")
    seen: dict[str, None] = {}
    for item in items:
        tag = str(item).strip()[:20]
        if tag:
            seen.setdefault(tag, None)
    return "," + ",".join(seen) + "," if seen else ""


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    """Check the content fields; raise InvalidInput naming every bad field."""
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    title = str(data.get("title") or "").strip()
    if not title:
        errors["title"] = [_("An article needs a title.")]
    elif len(title) > 200:
        errors["title"] = [_("The title is too long (at most 200 characters).")]
    out["title"] = title
    body = str(data.get("body") or "").strip()
    if not body:
        errors["body"] = [_("An article needs a body text.")]
    elif len(body) > 100_000:
        errors["body"] = [_("The body is too long (at most 100,000 characters).")]
    out["body"] = body
    summary = str(data.get("summary") or "").strip()
    if len(summary) > 500:
        errors["summary"] = [_("The summary is too long (at most 500 characters).")]
    out["summary"] = summary
    category = data.get("category")
    if isinstance(category, (int, str)) and str(category).isdigit():
        category = Category.objects.filter(pk=int(category)).first()
    elif isinstance(category, str):
        category = Category.objects.filter(code=category).first()
    if not isinstance(category, Category):
        errors["category"] = [_("Choose a category.")]
    out["category"] = category
    utility = data.get("utility") or UnitUtility.BOTH
    if utility not in UnitUtility.values:
        errors["utility"] = [_("Utility must be power, gas or both.")]
    out["utility"] = utility
    region = data.get("region")
    if isinstance(region, (int, str)) and str(region).isdigit():
        region = OrgUnit.objects.filter(pk=int(region)).first()
        if region is None:
            errors["region"] = [_("Unknown region.")]
    out["region"] = region if isinstance(region, OrgUnit) else None
    for field in ("valid_from", "valid_to"):
        value = data.get(field)
        if isinstance(value, str) and value.strip():
            try:
                value = date.fromisoformat(value.strip())
            except ValueError:
                errors[field] = [_("Enter a date as YYYY-MM-DD.")]
                value = None
        out[field] = value if isinstance(value, date) else None
    if out["valid_from"] and out["valid_to"] and out["valid_to"] < out["valid_from"]:
        errors["valid_to"] = [_("The end of validity is before its start.")]
    out["tags"] = normalize_tags(data.get("tags"))
    if len(out["tags"]) > 300:
        errors["tags"] = [_("Too many tags (at most 300 characters in all).")]
    source = str(data.get("source") or "").strip()
    if len(source) > 300:
        errors["source"] = [_("The source is too long (at most 300 characters).")]
    out["source"] = source
    if errors:
        raise InvalidInput(errors)
    return out


def _event(article: Article, action: str, from_status: str, actor: Any, text: str = "",
           now: datetime | None = None) -> None:
    ArticleEvent.objects.create(article=article, action=action, from_status=from_status, to_status=article.status,
                                actor=actor, text=text, at=now or timezone.now())


def _locked(actor: Any, article_id: int, seen_version: int | None) -> Article:
    article = Article.objects.select_for_update(of=("self",)).select_related("unit").filter(pk=article_id).first()
    if article is None or not (unit_in_scope(actor, article.unit) if article.unit_id
                               else may_edit_company_wide(actor)):
        raise NotFoundError(_("No such article in your scope."))
    if seen_version is not None and article.version != seen_version:
        raise Conflict(_("Someone else changed this article after you opened it. Reload it and try again."))
    return article


def _move(article: Article, action: str) -> str:
    source = article.status
    target = TRANSITIONS[action].get(source)
    if target is None:
        raise IllegalTransition(
            _("An article that is %(status)s cannot be %(action)s.")
            % {"status": ArticleStatus(source).label, "action": ArticleAction(action).label}
        )
    article.status = target
    article.version += 1
    return source


@transaction.atomic
def article_create(*, actor: Any, data: dict[str, Any], unit: OrgUnit | None = None) -> Article:
    require(actor, Capability.KNOWLEDGE_EDIT)
    fields = _clean(data)
    owner = unit or actor.unit
    if not unit_in_scope(actor, owner):
        raise InvalidInput({"unit": [_("You can only write articles for your own unit or the units below it.")]})
    number = f"KB{sequence_next(key='knowledge.article'):06d}"
    article = Article.objects.create(number=number, unit=owner, created_by=actor, updated_by=actor, **fields)
    _event(article, ArticleAction.CREATE, "", actor)
    return article


@transaction.atomic
def article_update(*, actor: Any, article_id: int, data: dict[str, Any], seen_version: int | None) -> Article:
    """Change the working copy. A published article stays visible as it was until the edit is approved."""
    require(actor, Capability.KNOWLEDGE_EDIT)
    fields = _clean(data)
    article = _locked(actor, article_id, seen_version)
    if article.status == ArticleStatus.REVIEW:
        raise IllegalTransition(_("The article is in review: send it back to draft before editing."))
    source = _move(article, ArticleAction.EDIT)
    for name, value in fields.items():
        setattr(article, name, value)
    article.updated_by = actor
    article.save()
    _event(article, ArticleAction.EDIT, source, actor)
    return article


@transaction.atomic
def article_submit(*, actor: Any, article_id: int, seen_version: int | None = None) -> Article:
    require(actor, Capability.KNOWLEDGE_EDIT)
    article = _locked(actor, article_id, seen_version)
    source = _move(article, ArticleAction.SUBMIT)
    article.save(update_fields=["status", "version", "updated_at"])
    _event(article, ArticleAction.SUBMIT, source, actor)
    return article


@transaction.atomic
def article_approve(*, actor: Any, article_id: int, seen_version: int | None = None,
                    now: datetime | None = None) -> Article:
    """Publish the working copy as the next revision and put it in the search index."""
    require(actor, Capability.KNOWLEDGE_PUBLISH)
    article = _locked(actor, article_id, seen_version)
    source = _move(article, ArticleAction.APPROVE)
    at = now or timezone.now()
    last = article.revisions.order_by("-revision").values_list("revision", flat=True).first() or 0
    revision = ArticleRevision.objects.create(
        article=article, revision=last + 1, author=article.updated_by, approved_by=actor, published_at=at,
        **{name: getattr(article, name) for name in CONTENT_FIELDS},
    )
    article.published = revision
    article.save(update_fields=["status", "version", "published", "updated_at"])
    search.index_article(article.pk, revision)
    _event(article, ArticleAction.APPROVE, source, actor, now=at)
    return article


@transaction.atomic
def article_reject(*, actor: Any, article_id: int, reason: str, seen_version: int | None = None) -> Article:
    require(actor, Capability.KNOWLEDGE_PUBLISH)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput({"reason": [_("Say why the article goes back to draft.")]})
    article = _locked(actor, article_id, seen_version)
    source = _move(article, ArticleAction.REJECT)
    article.save(update_fields=["status", "version", "updated_at"])
    _event(article, ArticleAction.REJECT, source, actor, text=reason)
    return article


@transaction.atomic
def article_retire(*, actor: Any, article_id: int, reason: str = "", seen_version: int | None = None) -> Article:
    """Take the article away from agents at once; its revisions stay in the history."""
    require(actor, Capability.KNOWLEDGE_PUBLISH)
    article = _locked(actor, article_id, seen_version)
    source = _move(article, ArticleAction.RETIRE)
    article.save(update_fields=["status", "version", "updated_at"])
    search.index_article(article.pk, None)
    _event(article, ArticleAction.RETIRE, source, actor, text=(reason or "").strip())
    return article
