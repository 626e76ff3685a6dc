from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from kefu.metering.views import readings as views

app_name = "metering"

urlpatterns: list[URLPattern | URLResolver] = [
    path("exceptions/", views.exception_list, name="exceptions"),
    path("exceptions/<int:pk>/resolve/", views.exception_resolve, name="exception-resolve"),
    path("readings/new/", views.reading_entry, name="reading-entry"),
    path("meters/<int:pk>/", views.meter_detail, name="meter"),
    path("kpis/", views.kpis_page, name="kpis"),
]
