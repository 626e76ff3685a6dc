"""Knowledge API: thin views over the selectors and services.

Readers search and read published articles (as on the search page: the articles that apply to their
unit). Editors list and change the working copies of their units (``article_qs``: out of scope is a
404) and take the review steps; a step the role may not take is a 403, one the status does not
allow a 409, and a stale ``version`` a 409 that changes nothing.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action as route
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kefu.core.api import ApiViewMixin, KeysetPagination, error_responses
from kefu.core.errors import InvalidInput
from kefu.org.choices import Capability
from kefu.org.scope import require

from .. import services
from ..choices import ArticleAction
from ..models import Article
from ..selectors import article_history, article_qs, knowledge_search, readable_revision, reader_region
from ..services import CONTENT_FIELDS
from ..views.common import STEP_CAPABILITY, allowed_steps
from . import serializers as s


def _validated(serializer_class: type[serializers.Serializer], data: Any, request: Request,
               *, partial: bool = False) -> dict[str, Any]:
    serializer = serializer_class(data=data, context={"request": request}, partial=partial)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class SearchView(APIView):
    @extend_schema(
        summary="Search published knowledge articles (Chinese full text), best first",
        description="Articles that apply to your unit: company-wide ones and those for your unit or a unit "
                    "above it. A text of only punctuation finds nothing.",
        parameters=[s.SearchQuery],
        responses={200: s.SearchHitOutput(many=True), **error_responses(400, 403)},
    )
    def get(self, request: Request) -> Response:
        require(request.user, Capability.KNOWLEDGE_VIEW)
        query = _validated(s.SearchQuery, request.query_params, request)
        page = knowledge_search(
            user=request.user, query=query["q"], category_id=query.get("category"), utility=query.get("utility"),
            region=reader_region(request.user), limit=query["limit"], offset=query["offset"],
        )
        return Response(s.search_rows(page.items))


class PublishedArticleView(APIView):
    @extend_schema(
        summary="One published article: the revision agents read",
        responses={200: s.PublishedArticleOutput, **error_responses(403, 404)},
    )
    def get(self, request: Request, pk: int) -> Response:
        require(request.user, Capability.KNOWLEDGE_VIEW)
        return Response(s.PublishedArticleOutput(readable_revision(request.user, pk)).data)


class NewestFirst(KeysetPagination):
    ordering = "-id"


STEP_SUMMARY: dict[str, str] = {
    ArticleAction.SUBMIT: "Submit a draft for review",
    ArticleAction.APPROVE: "Approve an article in review: it is published as the next revision",
    ArticleAction.REJECT: "Send an article in review back to draft (reason required)",
    ArticleAction.RETIRE: "Retire an article: agents no longer find it",
}


def _step(action: str, input_class: type[s.StepInput]) -> Any:
    def endpoint(self: DraftViewSet, request: Request, pk: str) -> Response:
        return self.take_step(request, action, input_class)

    endpoint.__name__ = action
    # The schema goes on after the route: @action keeps its own schema attribute and would drop it.
    routed = route(detail=True, methods=["post"], url_path=action, url_name=action, filter_backends=[])(endpoint)
    return extend_schema(
        summary=STEP_SUMMARY[action],
        description=f"Needs the `{STEP_CAPABILITY[action]}` capability. Send `version` to make sure nobody "
                    "changed the article since you read it.",
        request=input_class,
        responses={200: s.DraftDetailOutput, **error_responses(400, 403, 404, 409)},
    )(routed)


@extend_schema_view(
    list=extend_schema(summary="Working copies of your units' articles, newest first", parameters=[s.DraftListQuery],
                       responses={200: s.DraftOutput, **error_responses(400, 403)}),
    retrieve=extend_schema(summary="One working copy with its revisions, history and the steps you may take",
                           responses={200: s.DraftDetailOutput, **error_responses(403, 404)}),
    create=extend_schema(summary="Write a new article (a draft of your unit)", request=s.DraftInput,
                         responses={201: s.DraftDetailOutput, **error_responses(400, 403)}),
    update=extend_schema(summary="Replace the working copy's content (send the version you read)",
                         request=s.DraftUpdateInput,
                         responses={200: s.DraftDetailOutput, **error_responses(400, 403, 404, 409)}),
    partial_update=extend_schema(summary="Change some fields of the working copy (send the version you read)",
                                 request=s.DraftUpdateInput,
                                 responses={200: s.DraftDetailOutput, **error_responses(400, 403, 404, 409)}),
)
class DraftViewSet(ApiViewMixin, viewsets.GenericViewSet):
    serializer_class = s.DraftOutput
    pagination_class = NewestFirst
    filter_backends: list[Any] = []

    def get_queryset(self) -> QuerySet[Article]:
        return article_qs(self.request.user).select_related("category", "region", "unit", "published")

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # Without the capability nothing here is open: 403, before any lookup.
        require(request.user, Capability.KNOWLEDGE_EDIT)

    def _detail(self, article: Article, *, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=article.pk)
        context = {
            "request": self.request,
            "allowed_actions": allowed_steps(self.request.user, fresh),
            "revisions": article_history(fresh),
            "events": fresh.events.select_related("actor").order_by("at", "id"),
        }
        return Response(s.DraftDetailOutput(fresh, context=context).data, status=code)

    def list(self, request: Request) -> Response:
        query = _validated(s.DraftListQuery, request.query_params, request)
        qs = self.get_queryset()
        if query.get("status"):
            qs = qs.filter(status=query["status"])
        if query.get("q"):
            qs = qs.filter(title__icontains=query["q"])
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(s.DraftOutput(page, many=True).data)

    def retrieve(self, request: Request, pk: str) -> Response:
        return self._detail(self.get_object())

    def create(self, request: Request) -> Response:
        data = _validated(s.DraftInput, request.data, request)
        article = services.article_create(actor=request.user, data=data)
        return self._detail(article, code=status.HTTP_201_CREATED)

    def _change(self, request: Request, *, partial: bool) -> Response:
        article = self.get_object()
        data = _validated(s.DraftUpdateInput, request.data, request, partial=partial)
        if "version" not in data:  # a partial update skips required fields, but never this one
            raise InvalidInput({"version": [_("Send the version you read.")]})
        version = data.pop("version")
        # Fields not sent keep their current values.
        content = {name: getattr(article, name) for name in CONTENT_FIELDS} | data
        if "tags" not in data:
            content["tags"] = article.tag_list
        services.article_update(actor=request.user, article_id=article.pk, data=content, seen_version=version)
        return self._detail(article)

    def update(self, request: Request, pk: str) -> Response:
        return self._change(request, partial=False)

    def partial_update(self, request: Request, pk: str) -> Response:
        return self._change(request, partial=True)

    def take_step(self, request: Request, action: str, input_class: type[s.StepInput]) -> Response:
        article = self.get_object()
        require(request.user, STEP_CAPABILITY[action])
        data = _validated(input_class, request.data, request)
        version = data.get("version")
        if action == ArticleAction.SUBMIT:
            done = services.article_submit(actor=request.user, article_id=article.pk, seen_version=version)
        elif action == ArticleAction.APPROVE:
            done = services.article_approve(actor=request.user, article_id=article.pk, seen_version=version)
        elif action == ArticleAction.REJECT:
            done = services.article_reject(actor=request.user, article_id=article.pk, reason=data.get("reason", ""),
                                           seen_version=version)
        else:
            done = services.article_retire(actor=request.user, article_id=article.pk, reason=data.get("reason", ""),
                                           seen_version=version)
        return self._detail(done)

    submit = _step(ArticleAction.SUBMIT, s.StepInput)
    approve = _step(ArticleAction.APPROVE, s.StepInput)
    reject = _step(ArticleAction.REJECT, s.ReasonInput)
    retire = _step(ArticleAction.RETIRE, s.ReasonInput)

