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


class CalendarDay(models.Model):
    """An exception to the Monday–Friday working week: a statutory holiday on a weekday, or a
    weekend day worked in exchange (调休). Days not listed follow the weekday rule."""

    date = models.DateField(_("date"), primary_key=True)
    is_workday = models.BooleanField(_("working day"))
    name = models.CharField(_("name"), max_length=60, blank=True)
    source = models.CharField(_("source"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date} {'workday' if self.is_workday else 'holiday'}"


class OutboxMessage(models.Model):
    """A notification waiting to be sent (SMS or e-mail). Written in the same transaction as the
    change that caused it, sent afterwards by ``kefu send_outbox``; ``dedup_key`` keeps a retried
    change from queueing the same message twice, and the lease keeps two senders apart."""

    class Channel(models.TextChoices):
        SMS = "sms", _("SMS")
        EMAIL = "email", _("E-mail")

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed (gave up)")

    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    recipient = models.CharField(_("recipient"), max_length=254)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("message"))
    dedup_key = models.CharField(_("deduplication key"), max_length=120, unique=True)
    state = models.CharField(_("state"), max_length=8, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"))
    lease_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    lease_token = models.CharField(max_length=32, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    # Where it came from, for the order timeline ("notified the station by SMS").
    source_model = models.CharField(max_length=64, blank=True)
    source_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("outgoing message")
        verbose_name_plural = _("outgoing messages")
        indexes = [
            models.Index(fields=["next_attempt_at"], name="outbox_due_idx",
                         condition=models.Q(state="pending")),
            models.Index(fields=["source_model", "source_id"], name="outbox_source_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.channel}:{self.recipient}"
