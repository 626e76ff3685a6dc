"""Meters and where they hang (with history), reading routes and monthly plans, readings with their
corrections, the validation rules (policy data) and the exceptions queue."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kefu.core.choices import UtilityKind
from kefu.customers.models import ServicePoint
from kefu.org.models import OrgUnit

from .choices import Location, MeterEventKind, MeterKind, MeterState, PlanStatus, ReadingState, Resolution, Rule, Source


class Meter(models.Model):
    serial = models.CharField(_("meter number"), max_length=32, unique=True)
    kind = models.CharField(_("meter kind"), max_length=16, choices=MeterKind.choices)
    utility = models.CharField(_("utility kind"), max_length=8, choices=UtilityKind.choices)
    model = models.CharField(_("model / size"), max_length=40, blank=True)
    manufacturer = models.CharField(_("manufacturer"), max_length=60, blank=True)
    registers = models.PositiveSmallIntegerField(_("registers"), default=1)
    # CT/PT ratio: consumption = register difference × multiplier.
    multiplier = models.DecimalField(_("multiplier"), max_digits=10, decimal_places=2, default=Decimal("1"))
    digits = models.PositiveSmallIntegerField(_("whole digits"), default=6)
    verified_on = models.DateField(_("last verified on"), null=True, blank=True)
    verification_due_on = models.DateField(_("verification due on"), null=True, blank=True)
    location = models.CharField(_("location"), max_length=8, choices=Location.choices, default=Location.OUTDOOR)
    in_box = models.BooleanField(_("in a meter box"), default=True)
    state = models.CharField(_("state"), max_length=10, choices=MeterState.choices, default=MeterState.IN_STOCK)
    service_point = models.ForeignKey(ServicePoint, null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="meters", verbose_name=_("service point"))
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("unit"))
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = _("meter")
        verbose_name_plural = _("meters")
        indexes = [models.Index(fields=["service_point"], name="meter_sp_idx")]

    def __str__(self) -> str:
        return self.serial

    @property
    def rollover(self) -> Decimal:
        """The register value after which it starts again at zero."""
        return Decimal(10) ** self.digits


class MeterEvent(models.Model):
    """Installation, replacement and removal on a service point. ``installed_on``/``removed_on``
    answer "which meter was here on date D"; the final and initial readings close and open it."""

    service_point = models.ForeignKey(ServicePoint, on_delete=models.PROTECT, related_name="+")
    meter = models.ForeignKey(Meter, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(_("event"), max_length=8, choices=MeterEventKind.choices)
    installed_on = models.DateField(_("installed on"))
    removed_on = models.DateField(_("removed on"), null=True, blank=True)
    initial_reading = models.DecimalField(_("initial reading"), max_digits=14, decimal_places=2,
                                          default=Decimal("0"))
    final_reading = models.DecimalField(_("final reading"), max_digits=14, decimal_places=2, null=True, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("meter installation")
        verbose_name_plural = _("meter installations")
        ordering = ["installed_on", "id"]
        indexes = [models.Index(fields=["service_point", "installed_on"], name="meterevent_sp_idx")]

    def __str__(self) -> str:
        return f"{self.meter_id}@{self.service_point_id}"


class Route(models.Model):
    """A reading route (抄表册): service points in walking order, assigned to a reader."""

    code = models.CharField(_("route code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    utility = models.CharField(_("utility kind"), max_length=8, choices=UtilityKind.choices)
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("unit"))
    reader = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+", verbose_name=_("meter reader"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("reading route")
        verbose_name_plural = _("reading routes")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class RouteStop(models.Model):
    route = models.ForeignKey(Route, on_delete=models.CASCADE, related_name="stops")
    service_point = models.OneToOneField(ServicePoint, on_delete=models.CASCADE, related_name="+")
    seq = models.PositiveIntegerField(_("walking order"))
    joined_on = models.DateField(_("joined on"))

    class Meta:
        verbose_name = _("route stop")
        verbose_name_plural = _("route stops")
        ordering = ["route", "seq"]
        indexes = [models.Index(fields=["route", "seq"], name="routestop_seq_idx")]

    def __str__(self) -> str:
        return f"{self.route_id}#{self.seq}"


class ReadingPlan(models.Model):
    """One route's reading for one month, inside the reading window."""

    route = models.ForeignKey(Route, on_delete=models.PROTECT, related_name="plans")
    period = models.DateField(_("month"))  # the first day of the month
    window_start = models.DateField(_("window opens"))
    window_end = models.DateField(_("window closes"))
    planned = models.PositiveIntegerField(_("meters to read"), default=0)
    status = models.CharField(_("status"), max_length=8, choices=PlanStatus.choices, default=PlanStatus.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("reading plan")
        verbose_name_plural = _("reading plans")
        constraints = [models.UniqueConstraint(fields=["route", "period"], name="plan_route_period_unique")]

    def __str__(self) -> str:
        return f"{self.route_id}:{self.period:%Y-%m}"


class PlanItem(models.Model):
    """A meter the plan must read, frozen when the plan is made (the gas rule of guide §2.3)."""

    plan = models.ForeignKey(ReadingPlan, on_delete=models.CASCADE, related_name="items")
    service_point = models.ForeignKey(ServicePoint, on_delete=models.CASCADE, related_name="+")
    meter = models.ForeignKey(Meter, on_delete=models.CASCADE, related_name="+")
    seq = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["plan", "meter"], name="planitem_unique")]

    def __str__(self) -> str:
        return f"{self.plan_id}:{self.meter_id}"


class ConfirmationSheet(models.Model):
    """The reading confirmation sheet (抄表确认单) signed on a route day."""

    plan = models.ForeignKey(ReadingPlan, on_delete=models.CASCADE, related_name="sheets")
    day = models.DateField(_("route day"))
    signed_by = models.CharField(_("signed by"), max_length=60)
    signer_role = models.CharField(_("signer"), max_length=20)
    note = models.CharField(_("note"), max_length=200, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")

    class Meta:
        verbose_name = _("reading confirmation sheet")
        verbose_name_plural = _("reading confirmation sheets")

    def __str__(self) -> str:
        return f"{self.plan_id}:{self.day}"


class ImportBatch(models.Model):
    """One imported reading file (or API batch): who, what, how many rows, and the outcome."""

    name = models.CharField(_("file"), max_length=200)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    applied = models.PositiveIntegerField(_("applied"), default=0)
    exceptions = models.PositiveIntegerField(_("exceptions"), default=0)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("reading import")
        verbose_name_plural = _("reading imports")

    def __str__(self) -> str:
        return self.name


class Reading(models.Model):
    """One register value of one meter for one month. A correction keeps the original value and
    the reason in ``ReadingCorrection``; the row holds the value billing uses."""

    meter = models.ForeignKey(Meter, on_delete=models.PROTECT, related_name="readings", db_index=False)
    # Copies of the meter's place and metadata: filled by joins, so the database need not check them
    # for each of a million rows at commit (decision 0013); the meter itself stays checked.
    service_point = models.ForeignKey(ServicePoint, on_delete=models.PROTECT, related_name="+", db_index=False,
                                      db_constraint=False)
    period = models.DateField(_("month"))
    register = models.PositiveSmallIntegerField(_("register"), default=0)
    value = models.DecimalField(_("reading"), max_digits=14, decimal_places=2)
    previous = models.DecimalField(_("previous reading"), max_digits=14, decimal_places=2, null=True, blank=True)
    consumption = models.DecimalField(_("consumption"), max_digits=14, decimal_places=2, null=True, blank=True)
    read_on = models.DateField(_("read on"))
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.ACTUAL)
    state = models.CharField(_("state"), max_length=10, choices=ReadingState.choices, default=ReadingState.VALID)
    reader = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+", db_index=False, db_constraint=False)
    plan = models.ForeignKey(ReadingPlan, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                             db_index=False, db_constraint=False)
    batch = models.ForeignKey(ImportBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                              db_index=False, db_constraint=False)
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", db_index=False,
                             db_constraint=False)
    created_at = models.DateTimeField(_("entered at"))

    class Meta:
        verbose_name = _("reading")
        verbose_name_plural = _("readings")
        constraints = [models.UniqueConstraint(fields=["meter", "period", "register"], name="reading_unique")]
        indexes = [
            models.Index(fields=["service_point", "period"], name="reading_sp_period_idx"),
            models.Index(fields=["unit", "state", "period"], name="reading_unit_state_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.meter_id}:{self.period:%Y-%m}:{self.register}"


class ReadingCorrection(models.Model):
    reading = models.ForeignKey(Reading, on_delete=models.CASCADE, related_name="corrections")
    old_value = models.DecimalField(_("old value"), max_digits=14, decimal_places=2)
    new_value = models.DecimalField(_("new value"), max_digits=14, decimal_places=2)
    old_source = models.CharField(_("old source"), max_length=10, choices=Source.choices)
    reason = models.CharField(_("reason"), max_length=200)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    at = models.DateTimeField(_("corrected at"))

    class Meta:
        verbose_name = _("reading correction")
        verbose_name_plural = _("reading corrections")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.reading_id}: {self.old_value}→{self.new_value}"


class ValidationRule(models.Model):
    """A validation rule's switch and thresholds (policy data, guide §5)."""

    rule = models.CharField(_("rule"), max_length=20, choices=Rule.choices, unique=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    factor = models.DecimalField(_("factor"), max_digits=6, decimal_places=2, null=True, blank=True)
    months = models.PositiveSmallIntegerField(_("months"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("validation rule")
        verbose_name_plural = _("validation rules")

    def __str__(self) -> str:
        return self.rule


class ReadingException(models.Model):
    """A reading (or a missing one) that failed a rule, waiting for the data analyst."""

    reading = models.ForeignKey(Reading, null=True, blank=True, on_delete=models.CASCADE, related_name="exceptions")
    meter = models.ForeignKey(Meter, on_delete=models.CASCADE, related_name="+")
    period = models.DateField(_("month"))
    rule = models.CharField(_("rule"), max_length=20, choices=Rule.choices)
    detail = models.CharField(_("detail"), max_length=300)
    data = models.JSONField(default=dict, blank=True)
    resolution = models.CharField(_("resolution"), max_length=10, choices=Resolution.choices,
                                  default=Resolution.OPEN)
    note = models.CharField(_("note"), max_length=300, blank=True)
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("unit"))
    raised_at = models.DateTimeField(_("raised at"))
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    class Meta:
        verbose_name = _("reading exception")
        verbose_name_plural = _("reading exceptions")
        ordering = ["raised_at", "id"]
        indexes = [models.Index(fields=["unit", "resolution", "raised_at"], name="rexc_queue_idx")]
        constraints = [models.UniqueConstraint(fields=["meter", "period", "rule"], name="rexc_unique")]

    def __str__(self) -> str:
        return f"{self.meter_id}:{self.rule}"
