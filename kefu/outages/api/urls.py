from __future__ import annotations

from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from kefu.outages.api.views import FaultProposalViewSet, OutageViewSet, PublicOutageView, ReliabilityView

router = SimpleRouter()
router.register("outages/proposals", FaultProposalViewSet, basename="api-outage-proposal")
router.register("outages", OutageViewSet, basename="api-outage")

urlpatterns: list[URLPattern | URLResolver] = [
    path("outages/public/", PublicOutageView.as_view(), name="api-outage-public"),
    path("outages/reliability/", ReliabilityView.as_view(), name="api-outage-reliability"),
    *router.urls,
]
