"""Work orders (95598): type catalogue, time-limit policy, orders with their clocks and events,
shift handovers. Policy rows are data with effective dates; an order copies what it needs at intake,
so a later policy change never rewrites the deadlines of open orders."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from kefu.core.choices import RegionClass, UtilityKind
from kefu.core.models import TimeStampedModel
from kefu.customers.choices import Importance
from kefu.customers.models import Account, Customer, Premise
from kefu.org.models import OrgUnit
from kefu.workorders.choices import (
    OPEN_STATUSES,
    Basis,
    CancelReason,
    Channel,
    ClockKind,
    ClockStart,
    ClockState,
    EventKind,
    HandoverStatus,
    LimitUnit,
    Satisfaction,
    Status,
    TimeState,
)


class OrderType(TimeStampedModel):
    """A business type or sub-type (a tree). ``utility`` blank means both power and gas."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children",
                               verbose_name=_("parent type"))
    name = models.CharField(_("name (Chinese)"), max_length=60)
    name_en = models.CharField(_("name (English)"), max_length=80)
    utility = models.CharField(_("utility kind"), max_length=8, choices=UtilityKind.choices, blank=True)
    field_work = models.BooleanField(_("needs a visit on site"), default=False)
    callback_required = models.BooleanField(_("callback required"), default=True)
    # Open orders of the same customer, phone or premise within this window are shown at intake.
    duplicate_window_hours = models.PositiveIntegerField(_("duplicate window (hours)"), default=72)
    is_active = models.BooleanField(_("active"), default=True)
    sort = models.PositiveSmallIntegerField(_("sort order"), default=0)

    class Meta:
        verbose_name = _("order type")
        verbose_name_plural = _("order types")
        ordering = ["sort", "code"]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        lang = get_language() or ""
        return self.name_en if lang.startswith("en") and self.name_en else self.name

    def allows_utility(self, utility: str) -> bool:
        return not self.utility or self.utility == utility


class SlaPolicy(TimeStampedModel):
    """One clock for orders that match: type (a sub-type beats its parent), then optional utility,
    region class, importance and channel. Several rows may match; the most specific wins."""

    order_type = models.ForeignKey(OrderType, on_delete=models.PROTECT, related_name="policies",
                                   verbose_name=_("order type"))
    clock = models.CharField(_("clock"), max_length=16, choices=ClockKind.choices)
    basis = models.CharField(_("basis"), max_length=8, choices=Basis.choices, default=Basis.PUBLIC)
    utility = models.CharField(_("utility kind"), max_length=8, choices=UtilityKind.choices, blank=True)
    region_class = models.CharField(_("region class"), max_length=8, choices=RegionClass.choices, blank=True)
    importance = models.CharField(_("importance grade"), max_length=16, choices=Importance.choices, blank=True)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices, blank=True)
    amount = models.PositiveIntegerField(_("limit"))
    unit = models.CharField(_("limit unit"), max_length=16, choices=LimitUnit.choices)
    starts_on = models.CharField(_("starts"), max_length=10, choices=ClockStart.choices)
    effective_from = models.DateField(_("effective from"))
    effective_to = models.DateField(_("effective until"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=200, blank=True)
    weak_source = models.BooleanField(_("weak source"), default=False)

    class Meta:
        verbose_name = _("time-limit policy")
        verbose_name_plural = _("time-limit policies")
        ordering = ["order_type__sort", "order_type__code", "clock", "effective_from"]

    def __str__(self) -> str:
        return f"{self.order_type.code}:{self.clock} {self.amount} {self.unit}"


class WarningLevel(models.Model):
    """Share of the allowed time at which a warning is raised; the level at 1.0 marks overdue."""

    fraction = models.DecimalField(_("share of allowed time"), max_digits=4, decimal_places=2, unique=True)
    name = models.CharField(_("name"), max_length=40)
    notify_shift_leader = models.BooleanField(_("notify the shift leader"), default=True)

    class Meta:
        verbose_name = _("warning level")
        verbose_name_plural = _("warning levels")
        ordering = ["fraction"]

    def __str__(self) -> str:
        return f"{self.fraction}"


class WorkOrder(models.Model):
    number = models.CharField(_("order number"), max_length=20, unique=True)
    order_type = models.ForeignKey(OrderType, on_delete=models.PROTECT, related_name="+", verbose_name=_("type"))
    utility = models.CharField(_("utility kind"), max_length=8, choices=UtilityKind.choices)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ACCEPTED)
    suspended_from = models.CharField(max_length=16, choices=Status.choices, blank=True)
    # Who called and about what.
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("account"))
    premise = models.ForeignKey(Premise, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    caller_name = models.CharField(_("caller name"), max_length=60, blank=True)
    caller_phone = models.CharField(_("caller phone"), max_length=20, blank=True, db_index=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    content = models.TextField(_("request"))
    region_class = models.CharField(_("region class"), max_length=8, choices=RegionClass.choices)
    importance = models.CharField(_("importance grade"), max_length=16, choices=Importance.choices,
                                  default=Importance.NORMAL)
    # Scope: the area unit (the account's unit, else the accepting unit) and the handling unit.
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("area unit"))
    handling_unit = models.ForeignKey(OrgUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                      verbose_name=_("handling unit"))
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+", verbose_name=_("handler"))
    # First responsibility (首问负责): never changes after intake.
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("accepted by"))
    accepted_unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+",
                                      verbose_name=_("accepting unit"))
    accepted_at = models.DateTimeField(_("accepted at"))
    intake_key = models.CharField(max_length=64, null=True, blank=True, editable=False)
    # Stage times.
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    contacted_at = models.DateTimeField(_("first contact at"), null=True, blank=True)
    arrived_at = models.DateTimeField(_("arrived at"), null=True, blank=True)
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)
    replied_at = models.DateTimeField(_("replied at"), null=True, blank=True)
    called_back_at = models.DateTimeField(_("called back at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # Outcome.
    result = models.TextField(_("result"), blank=True)
    reply = models.TextField(_("reply to customer"), blank=True)
    satisfaction = models.CharField(_("satisfaction"), max_length=12, choices=Satisfaction.choices, blank=True)
    cancel_reason = models.CharField(_("cancel reason"), max_length=12, choices=CancelReason.choices, blank=True)
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged",
                                    verbose_name=_("merged into"))
    # Time limits: the earliest running deadline and the next warning, kept by the clock code.
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)
    next_warning_at = models.DateTimeField(null=True, blank=True)
    time_state = models.CharField(_("time-limit state"), max_length=8, choices=TimeState.choices,
                                  default=TimeState.NONE)
    # Counters and flags.
    urge_count = models.PositiveSmallIntegerField(_("urged"), default=0)
    repeat_count = models.PositiveSmallIntegerField(_("repeat calls"), default=0)
    return_count = models.PositiveSmallIntegerField(_("returned"), default=0)
    transfer_count = models.PositiveSmallIntegerField(_("transferred"), default=0)
    reopen_count = models.PositiveSmallIntegerField(_("reopened"), default=0)
    supervised = models.BooleanField(_("supervised"), default=False)
    supervise_due_at = models.DateTimeField(_("supervision deadline"), null=True, blank=True)
    supervised_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+", verbose_name=_("supervised by"))
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = _("work order")
        verbose_name_plural = _("work orders")
        constraints = [
            models.UniqueConstraint(fields=["accepted_by", "intake_key"], name="wo_intake_key_unique",
                                    condition=Q(intake_key__isnull=False)),
        ]
        indexes = [
            # Queue pages are keyset pages, newest first: (accepted_at, id) descending inside a scope
            # (selectors.workorder_page). Every queue but "all" reads open orders only, through the
            # same status list as these partial indexes (SQLite needs the condition repeated word for
            # word). The scope columns ride along so that the page's ids come from the index alone.
            # Figures and plans: bench/README.md, "Work queues".
            models.Index(fields=["accepted_at", "id", "unit", "handling_unit"], name="wo_open_idx",
                         condition=Q(status__in=sorted(OPEN_STATUSES))),
            models.Index(fields=["accepted_by", "accepted_at", "id"], name="wo_open_accepted_by_idx",
                         condition=Q(status__in=sorted(OPEN_STATUSES))),
            models.Index(fields=["assignee", "accepted_at", "id"], name="wo_open_assignee_idx",
                         condition=Q(status__in=sorted(OPEN_STATUSES))),
            models.Index(fields=["accepted_at", "id", "unit", "handling_unit"], name="wo_warned_idx",
                         condition=Q(time_state__in=["warning", "overdue"])),
            # The warnings and supervised queues also lead with their own column, so that SQLite can
            # count them (the capped tab counts have no order to walk an index by).
            models.Index(fields=["time_state"], name="wo_time_state_idx",
                         condition=Q(time_state__in=["warning", "overdue"])),
            models.Index(fields=["supervised", "accepted_at", "id"], name="wo_supervised_idx",
                         condition=Q(supervised=True)),
            # All orders, newest first, by date range, by type and status.
            models.Index(fields=["accepted_at", "id", "unit", "handling_unit"], name="wo_accepted_at_idx"),
            models.Index(fields=["order_type", "status", "accepted_at", "id", "unit", "handling_unit"],
                         name="wo_type_status_idx"),
            models.Index(fields=["status", "accepted_at", "id"], name="wo_status_idx"),
            # The watcher's claim list: only open orders carry a next warning.
            models.Index(fields=["next_warning_at"], name="wo_next_warning_idx",
                         condition=Q(next_warning_at__isnull=False)),
            # Duplicates at intake.
            models.Index(fields=["customer", "accepted_at"], name="wo_customer_idx"),
            models.Index(fields=["premise", "accepted_at"], name="wo_premise_idx"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class OrderClock(models.Model):
    """One running time limit of one order, copied from the matching policy at intake."""

    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="clocks")
    kind = models.CharField(_("clock"), max_length=16, choices=ClockKind.choices)
    basis = models.CharField(_("basis"), max_length=8, choices=Basis.choices, default=Basis.PUBLIC)
    policy = models.ForeignKey(SlaPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    starts_on = models.CharField(max_length=10, choices=ClockStart.choices)
    working = models.BooleanField(_("counts working days"), default=False)
    budget_seconds = models.PositiveIntegerField(_("allowed time (s)"))
    amount = models.PositiveIntegerField(_("limit"))
    unit = models.CharField(_("limit unit"), max_length=16, choices=LimitUnit.choices)
    # Warning fractions copied at start, e.g. [0.5, 0.8, 1.0]; ``warned`` counts those raised.
    levels = models.JSONField(default=list)
    warned = models.PositiveSmallIntegerField(default=0)
    state = models.CharField(_("state"), max_length=8, choices=ClockState.choices, default=ClockState.RUNNING)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_seconds = models.PositiveIntegerField(_("paused (s)"), default=0)
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)
    next_warning_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(_("stopped at"), null=True, blank=True)

    class Meta:
        verbose_name = _("order clock")
        verbose_name_plural = _("order clocks")
        ordering = ["id"]
        indexes = [models.Index(fields=["order", "kind"], name="wo_clock_order_idx")]

    def __str__(self) -> str:
        return f"{self.order_id}:{self.kind}"


class OrderEvent(models.Model):
    """The order's timeline: one row per action, warning, urge, repeat call or note."""

    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("event"), max_length=16, choices=EventKind.choices)
    from_status = models.CharField(_("from status"), max_length=16, choices=Status.choices, blank=True)
    to_status = models.CharField(_("to status"), max_length=16, choices=Status.choices, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", verbose_name=_("by"))
    actor_unit = models.ForeignKey(OrgUnit, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    text = models.TextField(_("text"), blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("order event")
        verbose_name_plural = _("order events")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["order", "at"], name="wo_event_order_idx")]

    def __str__(self) -> str:
        return f"{self.order_id}:{self.kind}"


class ShiftHandover(models.Model):
    """交接班: the outgoing leader lists the shift's open orders with notes; the next leader confirms."""

    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("unit"))
    shift_start = models.DateTimeField(_("shift start"))
    shift_end = models.DateTimeField(_("shift end"))
    summary = models.TextField(_("handover notes"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=HandoverStatus.choices,
                              default=HandoverStatus.PENDING)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("handed over by"))
    created_at = models.DateTimeField(_("handed over at"))
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+", verbose_name=_("received by"))
    confirmed_at = models.DateTimeField(_("received at"), null=True, blank=True)
    confirm_note = models.TextField(_("receiver's note"), blank=True)

    class Meta:
        verbose_name = _("shift handover")
        verbose_name_plural = _("shift handovers")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["unit", "created_at"], name="wo_handover_unit_idx")]

    def __str__(self) -> str:
        return f"{self.unit_id}@{self.shift_end:%Y-%m-%d %H:%M}"


class HandoverItem(models.Model):
    handover = models.ForeignKey(ShiftHandover, on_delete=models.CASCADE, related_name="items")
    order = models.ForeignKey(WorkOrder, on_delete=models.PROTECT, related_name="+")
    status_at_handover = models.CharField(_("status at handover"), max_length=16, choices=Status.choices)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("handover item")
        verbose_name_plural = _("handover items")
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["handover", "order"], name="wo_handover_item_unique")]

    def __str__(self) -> str:
        return f"{self.handover_id}:{self.order_id}"
