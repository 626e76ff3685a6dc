from __future__ import annotations

from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from kefu.workorders.api.views import HandoverViewSet, OrderTypeTreeView, SlaPolicyViewSet, WorkOrderViewSet

router = SimpleRouter()
router.register("workorders", WorkOrderViewSet, basename="api-workorder")
router.register("sla-policies", SlaPolicyViewSet, basename="api-slapolicy")
router.register("handovers", HandoverViewSet, basename="api-handover")

urlpatterns: list[URLPattern | URLResolver] = [
    path("workorder-types/", OrderTypeTreeView.as_view(), name="api-workordertype-list"),
    *router.urls,
]
