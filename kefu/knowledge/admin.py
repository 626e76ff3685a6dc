"""Django admin for the knowledge base. Articles are look-up only: writing, review and publishing go
through the services (events, revisions, search index), which the admin's plain save() would skip.
Categories are reference data without a page of their own, so the admin may add and rename them."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from kefu.core.admin import ReadOnlyAdmin, ReadOnlyInline

from .models import Article, ArticleEvent, ArticleRevision, Category


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "name_en", "parent", "sort")
    list_select_related = ("parent",)
    search_fields = ("code", "name", "name_en")
    ordering = ("sort", "code")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # articles and revisions keep pointing at their category


class RevisionInline(ReadOnlyInline):
    model = ArticleRevision
    fields = ("revision", "title", "published_at", "author", "approved_by")
    show_change_link = True


class EventInline(ReadOnlyInline):
    model = ArticleEvent
    fields = ("at", "action", "from_status", "to_status", "actor", "text")


@admin.register(Article)
class ArticleAdmin(ReadOnlyAdmin):
    list_display = ("number", "title", "status", "category", "utility", "unit", "updated_at")
    list_filter = ("status", "utility", "category")
    search_fields = ("=number", "title")
    list_select_related = ("category", "unit")
    inlines = (RevisionInline, EventInline)


@admin.register(ArticleRevision)
class ArticleRevisionAdmin(ReadOnlyAdmin):
    list_display = ("article", "revision", "title", "published_at", "approved_by")
    search_fields = ("=article__number", "title")
    list_select_related = ("article", "approved_by")
