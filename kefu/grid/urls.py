from django.urls import path

from kefu.grid import views

app_name = "grid"

urlpatterns = [
    path("", views.tree, name="tree"),
    path("nodes/new/", views.node_create_page, name="node-create"),
    path("nodes/<int:pk>/", views.node, name="node"),
    path("nodes/<int:pk>/children/", views.children, name="children"),
    path("nodes/<int:pk>/edit/", views.node_edit_page, name="node-edit"),
    path("import/", views.import_page, name="import"),
    path("export/", views.export_page, name="export"),
]
