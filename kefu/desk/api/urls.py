from __future__ import annotations

from django.urls import URLPattern, URLResolver, path
from rest_framework.routers import SimpleRouter

from kefu.desk.api.views import CallbackViewSet, CallViewSet, CtiEventView, IvrLookupView

router = SimpleRouter()
router.register("desk/calls", CallViewSet, basename="api-desk-call")
router.register("desk/callbacks", CallbackViewSet, basename="api-desk-callback")

urlpatterns: list[URLPattern | URLResolver] = [
    path("cti/events/", CtiEventView.as_view(), name="api-cti-events"),
    path("ivr/lookup/", IvrLookupView.as_view(), name="api-ivr-lookup"),
    *router.urls,
]
