from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

api_v1: list[URLPattern | URLResolver] = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("kefu.org.api.urls")),
    path("", include("kefu.customers.api.urls")),
    path("", include("kefu.workorders.api.urls")),
    path("", include("kefu.knowledge.api.urls")),
    path("", include("kefu.desk.api.urls")),
    path("", include("kefu.grid.api.urls")),
    path("", include("kefu.outages.api.urls")),
    path("", include("kefu.metering.api.urls")),
]

urlpatterns = [
    path("", include("kefu.shell.urls")),
    path("org/", include("kefu.org.urls")),
    path("customers/", include("kefu.customers.urls")),
    path("orders/", include("kefu.workorders.urls")),
    path("knowledge/", include("kefu.knowledge.urls")),
    path("desk/", include("kefu.desk.urls")),
    path("grid/", include("kefu.grid.urls")),
    path("outages/", include("kefu.outages.urls")),
    path("metering/", include("kefu.metering.urls")),
    path("api/v1/", include(api_v1)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
