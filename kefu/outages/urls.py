from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from kefu.outages.views import outages, policy, proposals, reliability

app_name = "outages"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", outages.outage_list, name="list"),
    path("new/", outages.outage_create, name="create"),
    path("nodes/", outages.node_search, name="node-search"),
    path("proposals/", proposals.proposal_list, name="proposals"),
    path("proposals/<int:pk>/confirm/", proposals.proposal_confirm, name="proposal-confirm"),
    path("proposals/<int:pk>/dismiss/", proposals.proposal_dismiss, name="proposal-dismiss"),
    path("reliability/", reliability.reliability_page, name="reliability"),
    path("reliability/export/", reliability.reliability_export, name="reliability-export"),
    path("templates/", policy.templates_page, name="templates"),
    path("<int:pk>/", outages.outage_detail, name="detail"),
    path("<int:pk>/edit/", outages.outage_edit, name="edit"),
    path("<int:pk>/affected/", outages.outage_affected, name="affected"),
    path("<int:pk>/<slug:action>/", outages.outage_action, name="action"),
]
