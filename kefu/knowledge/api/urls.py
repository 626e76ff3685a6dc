from __future__ import annotations

from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from kefu.knowledge.api.views import DraftViewSet, PublishedArticleView, SearchView

router = SimpleRouter()
router.register("knowledge/drafts", DraftViewSet, basename="api-knowledge-draft")

urlpatterns: list[URLPattern | URLResolver] = [
    path("knowledge/search/", SearchView.as_view(), name="api-knowledge-search"),
    path("knowledge/articles/<int:pk>/", PublishedArticleView.as_view(), name="api-knowledge-article"),
    *router.urls,
]
