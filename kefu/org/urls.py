"""Org unit and staff pages (the customer-manager coverage report is a customers page)."""

from django.urls import path

from kefu.org import views

app_name = "org"

urlpatterns = [
    path("units/", views.unit_list, name="unit-list"),
    path("units/new/", views.unit_create, name="unit-create"),
    path("units/<int:pk>/", views.unit_detail, name="unit-detail"),
    path("units/<int:pk>/edit/", views.unit_edit, name="unit-edit"),
    path("staff/", views.staff_list_view, name="staff-list"),
    path("staff/new/", views.staff_create_view, name="staff-create"),
    path("staff/<int:pk>/edit/", views.staff_edit_view, name="staff-edit"),
    path("staff/<int:pk>/password/", views.staff_password_view, name="staff-password"),
]
