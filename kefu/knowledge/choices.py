from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ArticleStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    REVIEW = "review", _("In review")
    PUBLISHED = "published", _("Published")
    RETIRED = "retired", _("Retired")


class ArticleAction(models.TextChoices):
    CREATE = "create", _("Created")
    EDIT = "edit", _("Edited")
    SUBMIT = "submit", _("Submitted for review")
    APPROVE = "approve", _("Approved and published")
    REJECT = "reject", _("Sent back to draft")
    RETIRE = "retire", _("Retired")


S = ArticleStatus
A = ArticleAction

# Who may move an article where. Editing a published article makes a new working draft; agents keep
# seeing the last published revision until the draft is approved.
TRANSITIONS: dict[str, dict[str, str]] = {
    A.EDIT: {S.DRAFT: S.DRAFT, S.PUBLISHED: S.DRAFT, S.RETIRED: S.DRAFT},
    A.SUBMIT: {S.DRAFT: S.REVIEW},
    A.APPROVE: {S.REVIEW: S.PUBLISHED},
    A.REJECT: {S.REVIEW: S.DRAFT},
    A.RETIRE: {S.PUBLISHED: S.RETIRED, S.DRAFT: S.RETIRED, S.REVIEW: S.RETIRED},
}
