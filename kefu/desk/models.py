"""The agent desk: extensions, the call log fed by the telephone system, and the callback queue."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kefu.customers.models import Account, Customer
from kefu.org.models import OrgUnit
from kefu.workorders.models import WorkOrder

from .choices import ActivityKind, CallbackStatus, CallResult, CallState, CtiKind, Direction, OrderRelation


class Extension(models.Model):
    """A telephone extension (分机) of the hotline and the agent signed in at it now."""

    number = models.CharField(_("extension"), max_length=16, unique=True)
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("unit"))
    agent = models.OneToOneField(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="desk_extension", verbose_name=_("agent signed in"))
    signed_in_at = models.DateTimeField(_("signed in at"), null=True, blank=True)

    class Meta:
        verbose_name = _("extension")
        verbose_name_plural = _("extensions")
        ordering = ["number"]

    def __str__(self) -> str:
        return self.number


class Call(models.Model):
    """One telephone call, built up from the telephone system's events in whatever order they come."""

    call_id = models.CharField(_("call id"), max_length=64, unique=True)
    direction = models.CharField(_("direction"), max_length=3, choices=Direction.choices, default=Direction.INBOUND)
    caller = models.CharField(_("caller number"), max_length=40, blank=True)
    # +86…, the key customers' contacts are stored under; blank when withheld or not a valid number.
    caller_e164 = models.CharField(_("caller (normalised)"), max_length=20, blank=True)
    called = models.CharField(_("called number"), max_length=40, blank=True)
    extension = models.CharField(_("extension"), max_length=16, blank=True)
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", verbose_name=_("agent"))
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("unit"))
    state = models.CharField(_("state"), max_length=12, choices=CallState.choices, default=CallState.RINGING)
    ivr_result = models.CharField(_("IVR choice"), max_length=40, blank=True)
    # Customers holding a contact on the caller's number when it rang (the screen-pop candidates).
    candidates = models.JSONField(_("candidate customers"), default=list, blank=True)
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                 verbose_name=_("customer"))
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                verbose_name=_("account"))
    started_at = models.DateTimeField(_("started at"))
    rang_at = models.DateTimeField(_("rang at"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(_("talk time (s)"), null=True, blank=True)
    recording_ref = models.CharField(_("recording"), max_length=200, blank=True)
    result = models.CharField(_("result"), max_length=16, choices=CallResult.choices, blank=True)
    result_note = models.TextField(_("result note"), blank=True)
    callback_status = models.CharField(_("callback"), max_length=8, choices=CallbackStatus.choices, blank=True,
                                       default=CallbackStatus.NONE)
    callback_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name=_("called back by"))
    callback_attempts = models.PositiveSmallIntegerField(_("callback attempts"), default=0)
    callback_at = models.DateTimeField(_("last callback attempt"), null=True, blank=True)
    orders: models.ManyToManyField[WorkOrder, Any] = models.ManyToManyField(
        WorkOrder, through="CallOrder", related_name="+")
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("call")
        verbose_name_plural = _("calls")
        ordering = ["-started_at", "-id"]
        indexes = [
            # The desk's poll: "my live call" must be one index probe.
            models.Index(fields=["agent", "state"], name="call_agent_live_idx",
                         condition=Q(state__in=["ringing", "talking"])),
            models.Index(fields=["unit", "started_at", "id"], name="call_unit_time_idx"),
            models.Index(fields=["caller_e164", "started_at"], name="call_caller_idx"),
            models.Index(fields=["customer", "started_at"], name="call_customer_idx"),
            models.Index(fields=["unit", "callback_status", "started_at"], name="call_callback_idx",
                         condition=Q(callback_status__in=["pending", "claimed"])),
        ]

    def __str__(self) -> str:
        return self.call_id


class CtiEvent(models.Model):
    """An event as the telephone system sent it. Unique per call and kind: a retry is a no-op."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="cti_events")
    kind = models.CharField(_("event"), max_length=10, choices=CtiKind.choices)
    occurred_at = models.DateTimeField(_("occurred at"))
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    payload = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("telephone event")
        verbose_name_plural = _("telephone events")
        ordering = ["occurred_at", "id"]
        constraints = [models.UniqueConstraint(fields=["call", "kind"], name="cti_event_once")]

    def __str__(self) -> str:
        return f"{self.call_id}:{self.kind}"


class CallOrder(models.Model):
    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="order_links")
    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="call_links")
    relation = models.CharField(_("relation"), max_length=8, choices=OrderRelation.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("call and order")
        verbose_name_plural = _("calls and orders")
        ordering = ["at", "id"]
        constraints = [models.UniqueConstraint(fields=["call", "order", "relation"], name="call_order_once")]

    def __str__(self) -> str:
        return f"{self.call_id}→{self.order_id}"


class CallActivity(models.Model):
    """What agents did with the call: identification, results, callback attempts."""

    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="activities")
    kind = models.CharField(_("activity"), max_length=12, choices=ActivityKind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", verbose_name=_("by"))
    text = models.TextField(_("note"), blank=True)
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("call activity")
        verbose_name_plural = _("call activities")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.call_id}:{self.kind}"
