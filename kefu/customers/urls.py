from django.urls import path

from kefu.customers import views

app_name = "customers"

urlpatterns = [
    path("", views.search, name="search"),
    path("new/", views.create, name="create"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/reveal/", views.reveal, name="reveal"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/contacts/new/", views.contact_create, name="contact-add"),
    path("accounts/<int:pk>/edit/", views.account_edit, name="account-edit"),
    path("accounts/<int:pk>/status/", views.account_status, name="account-status"),
    path("accounts/<int:pk>/manager/", views.account_manager, name="account-manager"),
    path("contacts/<int:pk>/edit/", views.contact_edit, name="contact-edit"),
    path("contacts/<int:pk>/remove/", views.contact_delete, name="contact-remove"),
    path("premises/<int:pk>/edit/", views.premise_edit, name="premise-edit"),
    path("coverage/", views.coverage, name="coverage"),
]
