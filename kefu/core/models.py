"""Domain-free building blocks: timestamps, field-level history, audit log, number sequences."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class FieldChange(models.Model):
    """One changed field of a master-data record: who changed it, when, from what to what."""

    model = models.CharField(_("record type"), max_length=64)
    object_id = models.BigIntegerField(_("record id"))
    field = models.CharField(_("field"), max_length=64)
    old_value = models.TextField(_("old value"), blank=True)
    new_value = models.TextField(_("new value"), blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(_("changed at"), auto_now_add=True, db_index=True)
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("field change")
        verbose_name_plural = _("field changes")
        indexes = [models.Index(fields=["model", "object_id", "at"], name="core_fieldchange_obj_idx")]
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.model}#{self.object_id}.{self.field}"


class AuditLog(models.Model):
    """Views of full personal data and exports: who saw what, when (architecture rule 8)."""

    class Action(models.TextChoices):
        VIEW_PERSONAL = "view_personal", _("Viewed personal data")
        EXPORT = "export", _("Exported data")
        LOGIN = "login", _("Logged in")
        LOGIN_FAILED = "login_failed", _("Failed login")
        LOCKED = "locked", _("Account locked")

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(_("action"), max_length=32, choices=Action.choices)
    model = models.CharField(_("record type"), max_length=64, blank=True)
    object_id = models.BigIntegerField(_("record id"), null=True, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("audit record")
        verbose_name_plural = _("audit records")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} {self.model}#{self.object_id}"


class NumberSequence(models.Model):
    """A named counter for human-readable numbers (account numbers, order numbers)."""

    key = models.CharField(max_length=64, primary_key=True)
    last_value = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("number sequence")
        verbose_name_plural = _("number sequences")

    def __str__(self) -> str:
        return f"{self.key}={self.last_value}"
