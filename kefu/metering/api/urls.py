from __future__ import annotations

from django.urls import URLPattern, URLResolver, path, re_path

from kefu.core.api import ID_REGEX
from kefu.metering.api.views import (
    ExceptionListView,
    ExceptionResolveView,
    MeterDetailView,
    ReadingBatchView,
    ReadingListView,
)

urlpatterns: list[URLPattern | URLResolver] = [
    path("metering/readings/", ReadingListView.as_view(), name="api-metering-reading-list"),
    path("metering/readings/batch/", ReadingBatchView.as_view(), name="api-metering-reading-batch"),
    path("metering/exceptions/", ExceptionListView.as_view(), name="api-metering-exception-list"),
    re_path(rf"^metering/exceptions/(?P<pk>{ID_REGEX})/resolve/$", ExceptionResolveView.as_view(),
            name="api-metering-exception-resolve"),
    re_path(rf"^metering/meters/(?P<pk>{ID_REGEX})/$", MeterDetailView.as_view(), name="api-metering-meter-detail"),
]
