from __future__ import annotations

from django.urls import URLPattern, URLResolver, re_path
from rest_framework.routers import SimpleRouter

from kefu.core.api import ID_REGEX
from kefu.grid.api.views import NodeViewSet, ServicePointPathView

router = SimpleRouter()
router.register("grid/nodes", NodeViewSet, basename="api-grid-node")

urlpatterns: list[URLPattern | URLResolver] = [
    *router.urls,
    re_path(rf"^grid/service-points/(?P<pk>{ID_REGEX})/path/$", ServicePointPathView.as_view(),
            name="api-grid-service-point-path"),
]
