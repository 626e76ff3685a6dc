"""Outage notices with their scope and affected accounts, the rules they are checked against, fault
proposals grouped from repair calls, and the link between repair orders and outages."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kefu.core.choices import UtilityKind
from kefu.customers.models import Account
from kefu.grid.models import GridNode
from kefu.org.models import OrgUnit
from kefu.workorders.models import WorkOrder

from .choices import Audience, MessageKind, OutageClass, ProposalStatus, RuleKind, Status


class NoticeRule(models.Model):
    """How far ahead an outage must be announced (guide §4, policy-defaults ``outage_notice``).

    A notice rule applies to one class; a change rule (no class) to every earlier start or later
    restoration. ``reminder_minutes`` queues a second message that long before the start."""

    kind = models.CharField(_("rule kind"), max_length=8, choices=RuleKind.choices, default=RuleKind.NOTICE)
    outage_class = models.CharField(_("outage class"), max_length=16, choices=OutageClass.choices, blank=True)
    audience = models.CharField(_("applies to"), max_length=10, choices=Audience.choices, default=Audience.ALL)
    lead_minutes = models.PositiveIntegerField(_("lead time (minutes)"))
    reminder_minutes = models.PositiveIntegerField(_("reminder before start (minutes)"), default=0)
    source = models.CharField(_("source"), max_length=200, blank=True)
    weak_source = models.BooleanField(_("weak source"), default=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("notice rule")
        verbose_name_plural = _("notice rules")
        ordering = ["kind", "outage_class", "audience"]

    def __str__(self) -> str:
        return f"{self.kind}:{self.outage_class or '*'}:{self.lead_minutes}m"


class GroupingRule(models.Model):
    """When repair calls point to one faulted device (guide §4). One row per utility.

    ``area_calls`` calls under one low-level node (transformer area / building) within the window,
    or calls from ``feeder_areas`` different low-level nodes under one feeder / pressure zone, make a
    proposal at their common ancestor."""

    utility = models.CharField(_("utility kind"), max_length=8, choices=UtilityKind.choices, unique=True)
    window_minutes = models.PositiveIntegerField(_("window (minutes)"), default=30)
    area_calls = models.PositiveSmallIntegerField(_("calls under one transformer area"), default=3)
    feeder_areas = models.PositiveSmallIntegerField(_("transformer areas under one feeder"), default=2)
    expected_hours = models.PositiveSmallIntegerField(_("expected restoration (hours)"), default=4)
    source = models.CharField(_("source"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("fault grouping rule")
        verbose_name_plural = _("fault grouping rules")

    def __str__(self) -> str:
        return f"{self.utility}: {self.area_calls}/{self.feeder_areas} in {self.window_minutes}m"


class MessageTemplate(models.Model):
    """SMS text per message kind with ``{field}`` placeholders (see ``notices.TEMPLATE_FIELDS``)."""

    kind = models.CharField(_("message kind"), max_length=10, choices=MessageKind.choices, unique=True)
    text = models.TextField(_("Chinese text"))
    text_en = models.TextField(_("English text"), blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("SMS template")
        verbose_name_plural = _("SMS templates")

    def __str__(self) -> str:
        return self.kind


class Outage(models.Model):
    number = models.CharField(_("outage number"), max_length=20, unique=True)
    utility = models.CharField(_("utility kind"), max_length=8, choices=UtilityKind.choices)
    outage_class = models.CharField(_("outage class"), max_length=16, choices=OutageClass.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("unit"))
    area = models.CharField(_("area"), max_length=300)
    reason = models.CharField(_("reason"), max_length=300)
    planned_start = models.DateTimeField(_("start"))
    planned_end = models.DateTimeField(_("expected restoration"))
    # What customers were last told, so that a change is judged against the announcement.
    announced_start = models.DateTimeField(_("announced start"), null=True, blank=True)
    announced_end = models.DateTimeField(_("announced restoration"), null=True, blank=True)
    actual_start = models.DateTimeField(_("actual start"), null=True, blank=True)
    actual_end = models.DateTimeField(_("actual restoration"), null=True, blank=True)
    # Marketing outages (arrears, theft, violation) follow the account and order behind them.
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("account"))
    order = models.ForeignKey(WorkOrder, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("work order"))
    affected_count = models.PositiveIntegerField(_("affected accounts"), default=0)
    important_count = models.PositiveIntegerField(_("important customers"), default=0)
    dedicated_count = models.PositiveIntegerField(_("dedicated-transformer customers"), default=0)
    channels = models.JSONField(_("published on"), default=list, blank=True)
    override_reason = models.CharField(_("override reason"), max_length=300, blank=True)
    override_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name=_("overridden by"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created at"))
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name=_("reviewed by"))
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    # Idempotency key of the request that created it (API retries return this outage).
    intake_key = models.CharField(max_length=64, null=True, blank=True, editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = _("outage")
        verbose_name_plural = _("outages")
        ordering = ["-planned_start", "-id"]
        constraints = [models.UniqueConstraint(fields=["created_by", "intake_key"], name="outage_intake_key_unique")]
        indexes = [
            models.Index(fields=["unit", "status", "planned_start"], name="outage_unit_status_idx"),
            models.Index(fields=["status", "planned_start"], name="outage_status_start_idx"),
            models.Index(fields=["actual_start"], name="outage_actual_start_idx"),
        ]

    def __str__(self) -> str:
        return self.number


class OutageNode(models.Model):
    """A topology node in the outage's scope: everything under it is affected."""

    outage = models.ForeignKey(Outage, on_delete=models.CASCADE, related_name="scope_nodes")
    node = models.ForeignKey(GridNode, on_delete=models.PROTECT, related_name="+", verbose_name=_("node"))

    class Meta:
        verbose_name = _("outage scope node")
        verbose_name_plural = _("outage scope nodes")
        constraints = [models.UniqueConstraint(fields=["outage", "node"], name="outage_node_unique")]

    def __str__(self) -> str:
        return f"{self.outage_id}:{self.node_id}"


class OutageListedAccount(models.Model):
    """An account named explicitly in the scope (besides or instead of nodes)."""

    outage = models.ForeignKey(Outage, on_delete=models.CASCADE, related_name="listed_accounts")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("listed account")
        verbose_name_plural = _("listed accounts")
        constraints = [models.UniqueConstraint(fields=["outage", "account"], name="outage_listed_unique")]

    def __str__(self) -> str:
        return f"{self.outage_id}:{self.account_id}"


class AffectedAccount(models.Model):
    """One account the outage cuts off, computed from the scope (set-based, one row per account)."""

    # No single-column indexes: the unique (outage, account) and the (account, outage) index cover
    # both keys, and every index slows the fan-out of a 20,000-account outage.
    outage = models.ForeignKey(Outage, on_delete=models.CASCADE, related_name="affected", db_index=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+", db_index=False)
    important = models.BooleanField(_("important customer"), default=False)
    dedicated = models.BooleanField(_("dedicated transformer"), default=False)

    class Meta:
        verbose_name = _("affected account")
        verbose_name_plural = _("affected accounts")
        constraints = [models.UniqueConstraint(fields=["outage", "account"], name="outage_affected_unique")]
        # The desk asks "is this account inside a live outage?" on every pop.
        indexes = [models.Index(fields=["account", "outage"], name="outage_affected_acct_idx")]

    def __str__(self) -> str:
        return f"{self.outage_id}:{self.account_id}"


class OutageEvent(models.Model):
    outage = models.ForeignKey(Outage, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("event"), max_length=10)
    from_status = models.CharField(_("from status"), max_length=10, blank=True)
    to_status = models.CharField(_("to status"), max_length=10, blank=True)
    text = models.TextField(_("text"), blank=True)
    data = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("outage event")
        verbose_name_plural = _("outage events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.outage_id}:{self.kind}"


class FaultProposal(models.Model):
    """Repair calls that point to one faulted device, waiting for a dispatcher's one-click confirm."""

    node = models.ForeignKey(GridNode, on_delete=models.PROTECT, related_name="+", verbose_name=_("node"))
    utility = models.CharField(_("utility kind"), max_length=8, choices=UtilityKind.choices)
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("unit"))
    status = models.CharField(_("status"), max_length=10, choices=ProposalStatus.choices,
                              default=ProposalStatus.OPEN)
    first_call_at = models.DateTimeField(_("first call"))
    last_call_at = models.DateTimeField(_("last call"))
    call_count = models.PositiveIntegerField(_("calls"), default=0)
    outage = models.ForeignKey(Outage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = _("fault proposal")
        verbose_name_plural = _("fault proposals")
        ordering = ["-last_call_at", "-id"]
        indexes = [models.Index(fields=["status", "unit"], name="outage_proposal_status_idx")]
        # Two calls racing on one device make one proposal: the loser attaches to the winner's.
        constraints = [models.UniqueConstraint(fields=["node"], condition=models.Q(status="open"),
                                               name="outage_proposal_open_node")]

    def __str__(self) -> str:
        return f"{self.node_id}:{self.status}"


class FaultCall(models.Model):
    """A repair order placed on the topology: the node its premise hangs on and the two levels the
    grouping rule counts (transformer area / building and feeder / pressure zone)."""

    order = models.OneToOneField(WorkOrder, primary_key=True, on_delete=models.CASCADE, related_name="+")
    utility = models.CharField(max_length=8, choices=UtilityKind.choices)
    node = models.ForeignKey(GridNode, null=True, on_delete=models.PROTECT, related_name="+")
    area = models.ForeignKey(GridNode, null=True, on_delete=models.PROTECT, related_name="+")
    feeder = models.ForeignKey(GridNode, null=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    proposal = models.ForeignKey(FaultProposal, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="calls")
    outage = models.ForeignKey(Outage, null=True, blank=True, on_delete=models.SET_NULL, related_name="calls")
    # The order that goes to the crew; the others wait on it and are resolved with the outage.
    lead = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("fault call")
        verbose_name_plural = _("fault calls")
        indexes = [
            models.Index(fields=["area", "at"], name="outage_faultcall_area_idx"),
            models.Index(fields=["feeder", "at"], name="outage_faultcall_feeder_idx"),
            models.Index(fields=["outage"], name="outage_faultcall_outage_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}@{self.node_id}"
