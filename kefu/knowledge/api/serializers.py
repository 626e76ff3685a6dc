"""Input and output serializers for the knowledge API.

Inputs check shapes and lengths only and refuse keys they do not know; the services own the rules
(required title, dates in order, who may publish) and answer with messages naming the field.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from kefu.core.api import MAX_ID, CodeOutputField, ScopedPrimaryKeyField, StrictInput
from kefu.core.choices import UnitUtility
from kefu.org.api.serializers import UnitRefOutput
from kefu.org.models import OrgUnit
from kefu.org.scope import visible_units

from ..choices import ArticleAction, ArticleStatus
from ..models import Article, ArticleEvent, ArticleRevision
from ..selectors import SearchResultItem

MAX_VERSION = 2**31 - 1
MAX_LIMIT = 50
MAX_OFFSET = 1000


# ---------------------------------------------------------------- outputs


class KnowledgeCategoryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.label


class ArticleStaffOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="display_name")


def _utility_label(value: str) -> str:
    try:
        return str(UnitUtility(value).label)
    except ValueError:
        return value


class SearchHitOutput(serializers.Serializer):
    """One hit of the search, best first."""

    id = serializers.IntegerField(help_text="The article id (GET /knowledge/articles/{id}/ reads it).")
    number = serializers.CharField()
    title = serializers.CharField()
    title_html = serializers.CharField(help_text="The title, HTML-escaped, with the query words in <mark>.")
    snippet_html = serializers.CharField(help_text="Part of the summary or body, HTML-escaped, words in <mark>.")
    category = KnowledgeCategoryOutput()
    utility = CodeOutputField(choices=UnitUtility.choices)
    utility_label = serializers.CharField()
    score = serializers.FloatField(help_text="Relevance; higher is better. Compare within one answer only.")
    url = serializers.CharField(help_text="The article's page for people.")


def search_rows(items: list[SearchResultItem]) -> list[dict[str, Any]]:
    """The SearchHitOutput shape for the selector's hits."""
    rows = []
    for item in items:
        r = item.revision
        rows.append({
            "id": r.article_id, "number": r.article.number, "title": r.title,
            "title_html": item.title_html, "snippet_html": item.snippet_html,
            "category": {"id": r.category_id, "code": r.category.code, "label": r.category.label},
            "utility": r.utility, "utility_label": _utility_label(r.utility),
            "score": round(item.score, 6), "url": reverse("knowledge:article", args=[r.article_id]),
        })
    return rows


class _ContentOutput(serializers.Serializer):
    title = serializers.CharField()
    summary = serializers.CharField()
    body = serializers.CharField()
    category = KnowledgeCategoryOutput()
    utility = CodeOutputField(choices=UnitUtility.choices)
    utility_label = serializers.CharField(source="get_utility_display")
    region = UnitRefOutput(allow_null=True, help_text="Null: applies everywhere.")
    tags = serializers.ListField(child=serializers.CharField(), source="tag_list")
    valid_from = serializers.DateField(allow_null=True)
    valid_to = serializers.DateField(allow_null=True)
    source = serializers.CharField()  # type: ignore[assignment]  # a field named like Field.source


class PublishedArticleOutput(_ContentOutput):
    """The revision agents read."""

    id = serializers.IntegerField(source="article_id", help_text="The article id.")
    number = serializers.CharField(source="article.number")
    revision = serializers.IntegerField()
    published_at = serializers.DateTimeField()


class ArticleRevisionOutput(serializers.Serializer):
    revision = serializers.IntegerField()
    title = serializers.CharField()
    published_at = serializers.DateTimeField()
    author = ArticleStaffOutput(allow_null=True)
    approved_by = ArticleStaffOutput(allow_null=True)


class ArticleEventOutput(serializers.Serializer):
    action = CodeOutputField(choices=ArticleAction.choices)
    action_label = serializers.CharField(source="get_action_display")
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    actor = ArticleStaffOutput(allow_null=True)
    text = serializers.CharField()
    at = serializers.DateTimeField()


class DraftOutput(_ContentOutput):
    """An editor's working copy."""

    id = serializers.IntegerField()
    number = serializers.CharField()
    status = CodeOutputField(choices=ArticleStatus.choices)
    status_label = serializers.CharField(source="get_status_display")
    unit = UnitRefOutput(allow_null=True, help_text="The owning unit; null for company-wide articles.")
    published_revision = serializers.IntegerField(source="published.revision", allow_null=True, default=None,
                                                  help_text="The revision agents read now; null if none.")
    version = serializers.IntegerField(help_text="Send it back with a change or a step; a newer one is a 409.")
    updated_at = serializers.DateTimeField()


class DraftDetailOutput(DraftOutput):
    allowed_actions = serializers.SerializerMethodField(help_text="The review steps you may take now.")
    revisions = serializers.SerializerMethodField()
    events = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_allowed_actions(self, article: Article) -> list[str]:
        return list(self.context.get("allowed_actions", []))

    @extend_schema_field(ArticleRevisionOutput(many=True))
    def get_revisions(self, article: Article) -> list[dict[str, Any]]:
        revisions: list[ArticleRevision] = list(self.context.get("revisions", []))
        return list(ArticleRevisionOutput(revisions, many=True).data)

    @extend_schema_field(ArticleEventOutput(many=True))
    def get_events(self, article: Article) -> list[dict[str, Any]]:
        events: list[ArticleEvent] = list(self.context.get("events", []))
        return list(ArticleEventOutput(events, many=True).data)


# ---------------------------------------------------------------- inputs


class SearchQuery(serializers.Serializer):
    # No max_length here: the selector refuses a long text with its own message on "q".
    q = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=True,
                              help_text="What to look for, at most 500 characters.")
    category = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID,
                                        help_text="Category id: that category and the ones below it.")
    utility = serializers.ChoiceField(choices=[UnitUtility.POWER, UnitUtility.GAS], required=False,
                                      help_text="Articles for this utility or for both.")
    limit = serializers.IntegerField(required=False, default=10, min_value=1, max_value=MAX_LIMIT)
    offset = serializers.IntegerField(required=False, default=0, min_value=0, max_value=MAX_OFFSET)


def _region_scope(user: Any) -> Any:
    return visible_units(user)


class DraftInput(StrictInput):
    """The content of an article. Text fields are checked for length again by the service."""

    title = serializers.CharField(max_length=200, allow_blank=True)
    summary = serializers.CharField(max_length=500, required=False, allow_blank=True)
    body = serializers.CharField(max_length=100_000, allow_blank=True)
    category = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="Category id.")
    # Plain text (the service names the allowed values): a choice set of its own would clash with the
    # other "utility" enums in the schema.
    utility = serializers.CharField(max_length=8, required=False,
                                    help_text="One of: " + ", ".join(UnitUtility.values) + " (default both).")
    region = ScopedPrimaryKeyField(model=OrgUnit, scope=_region_scope, required=False, allow_null=True,
                                   help_text="An org unit in your area; null or absent: everywhere.")
    tags = serializers.ListField(child=serializers.CharField(max_length=20), max_length=30, required=False,
                                 help_text="Tags such as 电价, 阶梯.")
    valid_from = serializers.DateField(required=False, allow_null=True)
    valid_to = serializers.DateField(required=False, allow_null=True)
    source = serializers.CharField(  # type: ignore[assignment]  # a field named like Field.source
        max_length=300, required=False, allow_blank=True)


class DraftUpdateInput(DraftInput):
    version = serializers.IntegerField(min_value=1, max_value=MAX_VERSION,
                                       help_text="The version you read; a newer one on the server is a 409.")


class StepInput(StrictInput):
    version = serializers.IntegerField(required=False, min_value=1, max_value=MAX_VERSION,
                                       help_text="The version you read; a newer one on the server is a 409.")


class ReasonInput(StepInput):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class DraftListQuery(serializers.Serializer):
    status = serializers.ChoiceField(choices=ArticleStatus.choices, required=False)
    q = serializers.CharField(max_length=100, required=False, allow_blank=True, help_text="Title contains.")
