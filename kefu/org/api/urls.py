from __future__ import annotations

from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from kefu.org.api.views import OrgUnitViewSet, StaffViewSet, TokenObtainView

router = SimpleRouter()
router.register("org-units", OrgUnitViewSet, basename="api-orgunit")
router.register("staff", StaffViewSet, basename="api-staff")

urlpatterns: list[URLPattern | URLResolver] = [
    path("auth/token/", TokenObtainView.as_view(), name="api-token"),
    *router.urls,
]
