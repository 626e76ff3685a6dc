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
from .prepaid_choices import CardState, Household, PrepaidEventKind, PurchaseMode, ValveState


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


class ReadingWindow(models.Model):
    """When a utility's meters are read each month and by when new accounts must be on a route to be
    in that month's plan (policy data, ../shared/domain/policy-defaults.yaml ``metering``)."""

    utility = models.CharField(_("utility kind"), max_length=8, choices=UtilityKind.choices, unique=True)
    first_day = models.PositiveSmallIntegerField(_("window opens on day"), default=6)
    last_day = models.PositiveSmallIntegerField(_("window closes on day"), default=26)
    # A stop joined after this day of the month before is read from the month after.
    join_by_day = models.PositiveSmallIntegerField(_("new accounts joined by day (month before)"), default=28)
    source = models.CharField(_("source"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("reading window")
        verbose_name_plural = _("reading windows")

    def __str__(self) -> str:
        return f"{self.utility}: {self.first_day}–{self.last_day}"


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


# IC-card prepaid gas (guide §5, prices §6) -----------------------------------------------------
# One household, one meter, one card. The counter writes each purchase (m³) to the card with the
# next sequence number; the meter loads it, closes its valve at zero, and writes its status back on
# the card, which the counter reads at the next visit. See ``prepaid.py``.


class PrepaidTariff(models.Model):
    """Residential tiered gas prices for prepaid cards (policy data with its source).

    Tier limits are cumulative m³ bought in the cycle (a year from ``cycle_month``/``cycle_day``).
    A row without ``unit`` is the company-wide default; a row for a unit applies to its subtree and
    wins over a row higher up."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    unit = models.ForeignKey(OrgUnit, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("unit"))
    active = models.BooleanField(_("active"), default=True)
    effective_from = models.DateField(_("effective from"))
    effective_to = models.DateField(_("effective until (last day)"), null=True, blank=True)
    cycle_month = models.PositiveSmallIntegerField(_("cycle starts: month"), default=1)
    cycle_day = models.PositiveSmallIntegerField(_("cycle starts: day"), default=1)
    tier1_limit = models.DecimalField(_("tier 1 up to (m³)"), max_digits=10, decimal_places=2)
    tier2_limit = models.DecimalField(_("tier 2 up to (m³)"), max_digits=10, decimal_places=2)
    heating_tier1_limit = models.DecimalField(_("heating: tier 1 up to (m³)"), max_digits=10, decimal_places=2,
                                              null=True, blank=True)
    heating_tier2_limit = models.DecimalField(_("heating: tier 2 up to (m³)"), max_digits=10, decimal_places=2,
                                              null=True, blank=True)
    tier1_price = models.DecimalField(_("tier 1 price (yuan/m³)"), max_digits=8, decimal_places=4)
    tier2_price = models.DecimalField(_("tier 2 price (yuan/m³)"), max_digits=8, decimal_places=4)
    tier3_price = models.DecimalField(_("tier 3 price (yuan/m³)"), max_digits=8, decimal_places=4)
    low_income_tier1 = models.BooleanField(_("low-income households pay the tier-1 price"), default=True)
    max_volume = models.DecimalField(_("most m³ in one purchase"), max_digits=10, decimal_places=2,
                                     default=Decimal("1000"))
    max_amount = models.DecimalField(_("most yuan in one purchase"), max_digits=12, decimal_places=2,
                                     default=Decimal("5000"))
    source = models.CharField(_("source"), max_length=500)

    class Meta:
        verbose_name = _("prepaid gas tariff")
        verbose_name_plural = _("prepaid gas tariffs")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=models.Q(tier1_limit__gt=0, tier2_limit__gt=models.F("tier1_limit")),
                                   name="ptariff_tiers_ascending"),
            models.CheckConstraint(condition=models.Q(cycle_month__gte=1, cycle_month__lte=12, cycle_day__gte=1,
                                                      cycle_day__lte=28), name="ptariff_cycle_start"),
        ]

    def __str__(self) -> str:
        return self.name


class PrepaidCard(models.Model):
    """The household's IC card for its prepaid meter. ``last_sequence`` is the last purchase sold on
    it; a replacement card carries the numbering on from ``opening_sequence``."""

    number = models.CharField(_("card number"), max_length=32, unique=True)
    meter = models.ForeignKey(Meter, on_delete=models.PROTECT, related_name="cards", verbose_name=_("meter"))
    account = models.ForeignKey("customers.Account", on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("account"))
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+", verbose_name=_("unit"))
    state = models.CharField(_("state"), max_length=10, choices=CardState.choices, default=CardState.ACTIVE)
    household = models.CharField(_("household category"), max_length=12, choices=Household.choices,
                                 default=Household.STANDARD)
    household_note = models.CharField(_("household evidence"), max_length=200, blank=True)
    issued_on = models.DateField(_("issued on"))
    opening_sequence = models.PositiveIntegerField(_("numbering continues after"), default=0)
    opening_bought = models.DecimalField(_("meter's total bought at issue (m³)"), max_digits=14, decimal_places=2,
                                         default=Decimal("0"))
    last_sequence = models.PositiveIntegerField(_("last purchase number"), default=0)
    replaces = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="replaced_by", verbose_name=_("replaces card"))
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = _("prepaid card")
        verbose_name_plural = _("prepaid cards")
        ordering = ["number"]
        indexes = [models.Index(fields=["unit", "state"], name="pcard_unit_state_idx")]
        constraints = [
            # One household, one meter, one card: a lost card still holds its meter until replaced.
            models.UniqueConstraint(fields=["meter"], condition=models.Q(state__in=["active", "lost"]),
                                    name="pcard_one_per_meter"),
        ]

    def __str__(self) -> str:
        return self.number


class CardPurchase(models.Model):
    """One sale of gas to a card: the volume written to it, what it cost and how the tiers split it."""

    card = models.ForeignKey(PrepaidCard, on_delete=models.PROTECT, related_name="purchases")
    meter = models.ForeignKey(Meter, on_delete=models.PROTECT, related_name="+")
    account = models.ForeignKey("customers.Account", on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    tariff = models.ForeignKey(PrepaidTariff, on_delete=models.PROTECT, related_name="+", verbose_name=_("tariff"))
    sequence = models.PositiveIntegerField(_("purchase number"))
    mode = models.CharField(_("bought"), max_length=8, choices=PurchaseMode.choices)
    requested = models.DecimalField(_("asked for"), max_digits=12, decimal_places=2)
    volume = models.DecimalField(_("volume (m³)"), max_digits=12, decimal_places=2)
    amount = models.DecimalField(_("amount (yuan)"), max_digits=12, decimal_places=2)
    household = models.CharField(_("household category"), max_length=12, choices=Household.choices)
    cycle_start = models.DateField(_("price cycle from"))
    cycle_before = models.DecimalField(_("bought earlier in the cycle (m³)"), max_digits=14, decimal_places=2)
    tiers = models.JSONField(_("tier split"), default=list)
    key = models.CharField(_("idempotency key"), max_length=64, null=True, blank=True, unique=True)
    cashier = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+", verbose_name=_("cashier"))
    at = models.DateTimeField(_("sold at"))

    class Meta:
        verbose_name = _("card purchase")
        verbose_name_plural = _("card purchases")
        ordering = ["card", "sequence"]
        constraints = [models.UniqueConstraint(fields=["card", "sequence"], name="cpurchase_seq_unique")]
        indexes = [
            models.Index(fields=["account", "cycle_start"], name="cpurchase_cycle_idx"),
            models.Index(fields=["unit", "at"], name="cpurchase_unit_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.card_id}#{self.sequence}"


class MeterWriteBack(models.Model):
    """The meter's status as the card brought it back: the last purchase the meter loaded, its
    totals, the valve and the tamper flags, with what the check found at the time."""

    card = models.ForeignKey(PrepaidCard, on_delete=models.PROTECT, related_name="write_backs")
    meter = models.ForeignKey(Meter, on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    purchase = models.OneToOneField(CardPurchase, null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="write_back", verbose_name=_("came with purchase"))
    sequence = models.PositiveIntegerField(_("last purchase loaded"))
    last_sold = models.PositiveIntegerField(_("last purchase sold then"))
    total_used = models.DecimalField(_("total used (m³)"), max_digits=14, decimal_places=2)
    total_bought = models.DecimalField(_("total bought (m³)"), max_digits=14, decimal_places=2)
    remaining = models.DecimalField(_("remaining (m³)"), max_digits=14, decimal_places=2)
    valve = models.CharField(_("valve"), max_length=8, choices=ValveState.choices)
    tamper_flags = models.JSONField(_("tamper flags"), default=list, blank=True)
    expected_bought = models.DecimalField(_("bought according to the purchases (m³)"), max_digits=14,
                                          decimal_places=2)
    findings = models.JSONField(_("findings"), default=list, blank=True)
    # History findings as columns, so the reconciliation counts them in SQL.
    used_backwards = models.BooleanField(default=False)
    sequence_backwards = models.BooleanField(default=False)
    tampered = models.BooleanField(default=False)
    read_at = models.DateTimeField(_("read at"))
    key = models.CharField(_("idempotency key"), max_length=64, null=True, blank=True, unique=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    at = models.DateTimeField(_("recorded at"))

    class Meta:
        verbose_name = _("meter write-back")
        verbose_name_plural = _("meter write-backs")
        ordering = ["card", "read_at", "id"]
        indexes = [models.Index(fields=["card", "read_at"], name="mwb_card_read_idx")]

    def __str__(self) -> str:
        return f"{self.card_id}@{self.sequence}"


class PrepaidEvent(models.Model):
    """One row per state change of a card: issue, purchase, write-back, category, loss, replacement."""

    card = models.ForeignKey(PrepaidCard, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(_("event"), max_length=12, choices=PrepaidEventKind.choices)
    data = models.JSONField(_("data"), default=dict, blank=True)
    unit = models.ForeignKey(OrgUnit, on_delete=models.PROTECT, related_name="+")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("prepaid card event")
        verbose_name_plural = _("prepaid card events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.card_id}:{self.kind}"
