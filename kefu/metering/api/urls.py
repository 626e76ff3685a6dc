from __future__ import annotations

from django.urls import URLPattern, URLResolver, path, re_path

from kefu.core.api import ID_REGEX
from kefu.metering.api import plans as plan_api
from kefu.metering.api import prepaid as prepaid_api
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
    path("metering/routes/", plan_api.RouteListView.as_view(), name="api-metering-route-list"),
    path("metering/plans/", plan_api.PlanListView.as_view(), name="api-metering-plan-list"),
    re_path(rf"^metering/plans/(?P<pk>{ID_REGEX})/$", plan_api.PlanDetailView.as_view(),
            name="api-metering-plan-detail"),
    re_path(rf"^metering/plans/(?P<pk>{ID_REGEX})/sheets/$", plan_api.PlanSheetView.as_view(),
            name="api-metering-plan-sheets"),
    path("metering/cards/", prepaid_api.CardListView.as_view(), name="api-metering-card-list"),
    re_path(rf"^metering/cards/(?P<pk>{ID_REGEX})/$", prepaid_api.CardDetailView.as_view(),
            name="api-metering-card-detail"),
    re_path(rf"^metering/cards/(?P<pk>{ID_REGEX})/quote/$", prepaid_api.CardQuoteView.as_view(),
            name="api-metering-card-quote"),
    re_path(rf"^metering/cards/(?P<pk>{ID_REGEX})/purchases/$", prepaid_api.CardPurchaseView.as_view(),
            name="api-metering-card-purchase"),
    re_path(rf"^metering/cards/(?P<pk>{ID_REGEX})/write-backs/$", prepaid_api.CardWriteBackView.as_view(),
            name="api-metering-card-write-back"),
    re_path(rf"^metering/cards/(?P<pk>{ID_REGEX})/lost/$", prepaid_api.CardLostView.as_view(),
            name="api-metering-card-lost"),
    re_path(rf"^metering/cards/(?P<pk>{ID_REGEX})/replace/$", prepaid_api.CardReplaceView.as_view(),
            name="api-metering-card-replace"),
    path("metering/prepaid/reconciliation/", prepaid_api.ReconciliationView.as_view(),
         name="api-metering-prepaid-reconciliation"),
]
