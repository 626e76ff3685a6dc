"""Knowledge base: a category tree, articles with a reviewed workflow, published revisions and a
search index over what agents may see."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kefu.core.choices import UnitUtility
from kefu.org.models import OrgUnit

from .choices import ArticleAction, ArticleStatus


class Category(models.Model):
    """政策法规, 业务流程, 电价电费, 用电用气知识, 常见问题, 服务话术 and their children."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=64)
    name_en = models.CharField(_("English name"), max_length=64, blank=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children",
                               verbose_name=_("parent category"))
    sort = models.PositiveSmallIntegerField(_("sort order"), default=0)

    class Meta:
        verbose_name = _("knowledge category")
        verbose_name_plural = _("knowledge categories")
        ordering = ["sort", "code"]

    def __str__(self) -> str:
        return self.name

    @property
    def label(self) -> str:
        """The name in the reader's language (names are data, kept in both)."""
        from django.utils.translation import get_language

        lang = get_language() or ""
        return self.name_en if lang.startswith("en") and self.name_en else self.name


class ArticleContent(models.Model):
    """The fields an editor writes; shared by the working copy and each published revision."""

    title = models.CharField(_("title"), max_length=200)
    summary = models.CharField(_("summary"), max_length=500, blank=True)
    body = models.TextField(_("body"))
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="+", verbose_name=_("category"))
    utility = models.CharField(_("utility"), max_length=8, choices=UnitUtility.choices, default=UnitUtility.BOTH)
    region = models.ForeignKey(OrgUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("applicable region"),
                               help_text=_("Empty: applies everywhere. Otherwise this unit and the units below it."))
    # ",阶梯,电价," — the commas make "has tag X" an exact substring test on every database.
    tags = models.CharField(_("tags"), max_length=300, blank=True)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=300, blank=True,
                              help_text=_("The regulation or document this article rests on."))

    class Meta:
        abstract = True

    @property
    def tag_list(self) -> list[str]:
        return [t for t in self.tags.split(",") if t]


class Article(ArticleContent):
    """The working copy. Agents never read it directly: they read ``published`` (the last approved
    revision) through the search index, so an edit in progress never shows half-done."""

    number = models.CharField(_("article number"), max_length=20, unique=True)
    status = models.CharField(_("status"), max_length=12, choices=ArticleStatus.choices, default=ArticleStatus.DRAFT)
    # Empty for company-wide articles (the seeded ones): editors at a root unit look after those.
    unit = models.ForeignKey(OrgUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("owning unit"))
    published = models.ForeignKey("ArticleRevision", null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+", verbose_name=_("published revision"))
    version = models.PositiveIntegerField(_("version"), default=1)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("created by"))
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("updated by"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("knowledge article")
        verbose_name_plural = _("knowledge articles")
        ordering = ["-updated_at", "-id"]
        indexes = [models.Index(fields=["unit", "status", "updated_at"], name="kb_article_unit_idx")]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class ArticleRevision(ArticleContent):
    """A published version, kept for ever: what agents were told, and when."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="revisions")
    revision = models.PositiveIntegerField(_("revision"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+", verbose_name=_("author"))
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name=_("approved by"))
    published_at = models.DateTimeField(_("published at"))

    class Meta:
        verbose_name = _("article revision")
        verbose_name_plural = _("article revisions")
        ordering = ["article", "-revision"]
        constraints = [models.UniqueConstraint(fields=["article", "revision"], name="kb_revision_unique")]

    def __str__(self) -> str:
        return f"{self.article_id} r{self.revision}"


class ArticleEvent(models.Model):
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(_("action"), max_length=12, choices=ArticleAction.choices)
    from_status = models.CharField(_("from status"), max_length=12, choices=ArticleStatus.choices, blank=True)
    to_status = models.CharField(_("to status"), max_length=12, choices=ArticleStatus.choices, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", verbose_name=_("by"))
    text = models.TextField(_("note"), blank=True)
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("article event")
        verbose_name_plural = _("article events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.article_id}:{self.action}"


class SearchEntry(models.Model):
    """One row per article agents may see (published, not retired), holding the segmented words of
    the published revision and the columns searches filter on. SQLite searches a FTS5 table kept
    beside it (rowid = article id); PostgreSQL a weighted tsvector column with a GIN index. Both are
    added by migration 0002 and written by ``search.index_article``."""

    article = models.OneToOneField(Article, primary_key=True, on_delete=models.CASCADE, related_name="+")
    revision = models.ForeignKey(ArticleRevision, on_delete=models.CASCADE, related_name="+")
    title_terms = models.TextField()
    tag_terms = models.TextField(blank=True)
    body_terms = models.TextField()
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="+")
    utility = models.CharField(max_length=8, choices=UnitUtility.choices)
    region = models.ForeignKey(OrgUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)

    class Meta:
        verbose_name = _("search entry")
        verbose_name_plural = _("search entries")

    def __str__(self) -> str:
        return str(self.article_id)
