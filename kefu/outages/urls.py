from django.urls import path

from kefu.outages import views

app_name = "outages"

urlpatterns = [
    path("", views.outage_list_page, name="list"),
]
