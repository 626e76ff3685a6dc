from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from kefu.knowledge.views import editor, reader

app_name = "knowledge"

urlpatterns: list[URLPattern | URLResolver] = [
    # Readers.
    path("", reader.search, name="search"),
    path("<int:pk>/", reader.article, name="article"),
    # Editors and reviewers.
    path("manage/", editor.manage, name="manage"),
    path("manage/new/", editor.create, name="create"),
    path("manage/<int:pk>/", editor.edit, name="edit"),
    path("manage/<int:pk>/<slug:action>/", editor.act, name="action"),
]
