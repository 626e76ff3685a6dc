from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from kefu.metering.views import plans as plan_views
from kefu.metering.views import prepaid as prepaid_views
from kefu.metering.views import readings as views

app_name = "metering"

urlpatterns: list[URLPattern | URLResolver] = [
    path("exceptions/", views.exception_list, name="exceptions"),
    path("exceptions/<int:pk>/resolve/", views.exception_resolve, name="exception-resolve"),
    path("readings/new/", views.reading_entry, name="reading-entry"),
    path("meters/<int:pk>/", views.meter_detail, name="meter"),
    path("kpis/", views.kpis_page, name="kpis"),
    path("routes/", plan_views.route_list, name="routes"),
    path("routes/<int:pk>/plan/", plan_views.plan_create, name="plan-create"),
    path("plans/<int:pk>/", plan_views.plan_detail, name="plan"),
    path("plans/<int:pk>/export/", plan_views.plan_export_file, name="plan-export"),
    path("plans/<int:pk>/import/", plan_views.plan_import, name="plan-import"),
    path("plans/<int:pk>/sheets/", plan_views.plan_sheet, name="plan-sheet"),
    path("prepaid/counter/", prepaid_views.prepaid_counter, name="prepaid-counter"),
    path("prepaid/cards/<int:pk>/", prepaid_views.prepaid_card, name="prepaid-card"),
    path("prepaid/reconciliation/", prepaid_views.prepaid_reconciliation, name="prepaid-reconciliation"),
]
