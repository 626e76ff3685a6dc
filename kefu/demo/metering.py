"""Demo metering (part of ``kefu demo``): meters, reading routes, six months of readings, this
month's plans and IC-card sales, made through the metering services as the demo staff would:

- the first three power stations with a demo reader (reader1–reader3) and the first gas service
  center (gas_reader1) get meters on about 200 accounts, hung by the county's full-time customer
  manager (``meter_install``): single-phase meters, CT-connected three-phase meters (multiplier 40)
  for non-residential customers, a few time-of-use meters; gas diaphragm meters, two master meters
  on commercial customers, and IC-card prepaid meters;
- the analyst (analyst1, gas_analyst1) puts them on two routes per station in walking order
  (``plans.route_join``) and makes the monthly plans (``plans.plan_create``);
- each month the station's reader hands in the handheld file (``bulk.reading_bulk_import``: the
  same rules as one reading on a page), with seasonal, plausible consumption. A few meters carry a
  story the rules catch: a digit left out (below the previous reading), a jump in use, a vacant flat
  (zero for three months), a locked door (consecutive estimates), a customer's second reading of a
  month (duplicate), a meter not read at all (missing, raised by the daily job ``missing_raise``).
  The analyst decided what was raised up to two months ago (corrected or accepted); what was raised
  last month and this month is still open in the queue, and the corrections lower past accuracy;
- this month's plans are partly read, so ``kefu route_export`` and the route pages have work left;
- the gas clerk (gas_clerk1) issues the IC cards and sells gas; the cards bring the meters' status
  back, and one meter reports more gas bought than was sold (a forged card), so the reconciliation
  page has a finding.

Idempotent like the other demo steps: a completed load leaves the ``demo:metering`` marker (the
number of meters) and does nothing when run again. ``metering_demo_wipe`` removes every meter,
route, reading and card of the demo units; the demo command runs it before the customers, units or
staff they point at are reloaded.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from kefu.core.choices import UtilityKind
from kefu.core.errors import ApplicationError
from kefu.core.models import FieldChange, NumberSequence
from kefu.customers.choices import AccountStatus, CustomerClass
from kefu.customers.models import Account
from kefu.demo.dice import Dice
from kefu.demo.orgplan import demo_unit_ids, person_name, staff_plan
from kefu.metering import plans, prepaid
from kefu.metering.bulk import reading_bulk_import
from kefu.metering.choices import Location, MeterKind, Resolution, Rule, Source
from kefu.metering.models import (
    CardPurchase,
    ImportBatch,
    Meter,
    MeterEvent,
    MeterWriteBack,
    PlanItem,
    PrepaidCard,
    PrepaidEvent,
    PrepaidTariff,
    Reading,
    ReadingException,
    ReadingPlan,
    Route,
    RouteStop,
    ValidationRule,
)
from kefu.metering.prepaid_choices import Household, PurchaseMode, TamperFlag, ValveState
from kefu.metering.prepaid_report import reconcile
from kefu.metering.prepaid_seed import prepaid_seed
from kefu.metering.seed import metering_seed
from kefu.metering.services import meter_install, reading_record
from kefu.org.choices import Role
from kefu.org.models import OrgUnit, Staff

METERING_MARKER_KEY = "demo:metering"
HISTORY = 6  # whole months read before this one
POWER_STATIONS, GAS_STATIONS = 3, 1
POWER_METERS, GAS_METERS = 50, 55  # per station, at most
THREE_PHASE, TOU = 4, 3  # per power station
MASTERS, COMMERCIAL, IC_CARDS = 2, 2, 6  # per gas station
MIN_ACCOUNTS = 6  # a station with fewer is passed over
CT_RATIO = Decimal("40")  # TA 200/5
FORGED = Decimal("50")  # m³ the forged card put on one meter
CENT, ONE = Decimal("0.01"), Decimal("1")

# Monthly use relative to the year's mean (Zhejiang: air conditioning in summer, heating and hot
# water in winter). The spread stays well under the 3× high-use rule for an ordinary household.
POWER_SEASON = {1: 1.30, 2: 1.20, 3: 0.95, 4: 0.85, 5: 0.85, 6: 1.00, 7: 1.30, 8: 1.35, 9: 1.10, 10: 0.85,
                11: 0.90, 12: 1.15}
GAS_SEASON = {1: 1.35, 2: 1.30, 3: 1.15, 4: 1.00, 5: 0.90, 6: 0.85, 7: 0.80, 8: 0.80, 9: 0.85, 10: 0.90,
              11: 1.05, 12: 1.25}

# What happens to a meter with a story, by month (0 = six months ago, 6 = this month): "typo" (a digit
# left out), "spike", "zero", "est" (estimated), "dup" (read, then a second reading), "skip".
STORIES: dict[str, dict[int, str]] = {
    "typo_now": {6: "typo"}, "spike_now": {6: "spike"}, "spike_now_ct": {6: "spike"},
    "estimates_now": {5: "est", 6: "est"}, "duplicate_now": {6: "dup"},
    "spike_last": {5: "spike", 6: "skip"}, "vacant": {3: "zero", 4: "zero", 5: "zero", 6: "skip"},
    "missing_last": {5: "skip", 6: "skip"},
    "typo_past": {3: "typo"}, "spike_past": {2: "spike"}, "estimates_past": {1: "est", 2: "est"},
    "duplicate_past": {3: "dup"},
}
READ_THIS_MONTH = frozenset({"typo_now", "spike_now", "spike_now_ct", "estimates_now", "duplicate_now"})
POWER_STORIES = (
    ("typo_now", "spike_now_ct", "estimates_now", "typo_past", "duplicate_past"),
    ("typo_now", "spike_last", "duplicate_now", "vacant", "spike_past"),
    ("typo_now", "spike_now", "missing_last", "estimates_past", "typo_past"),
)
GAS_STORIES = ("typo_now", "spike_last", "vacant", "estimates_now", "duplicate_now", "typo_past", "spike_past")
# The analyst's word on what was raised two months ago or earlier.
NOTES: dict[str, str] = {
    Rule.BELOW_PREVIOUS: "抄表员漏录一位数字，按现场照片更正。",
    Rule.HIGH_AVERAGE: "已电话核实：客户家中装修，用量属实。",
    Rule.CONSECUTIVE_ESTIMATES: "连续入户不遇，已留置联系卡，估抄属实。",
    Rule.DUPLICATE: "客户自报读数晚于抄表日，保留抄表员读数。",
    Rule.ZERO: "空置房，物业确认无人居住。",
}
POWER_MAKERS = ("威胜集团", "宁波三星医疗电气", "杭州海兴电力科技", "浙江正泰仪器仪表", "华立科技")
GAS_MAKERS = ("金卡智能集团", "浙江威星智能仪表", "浙江苍南仪表集团")


@dataclass
class MeteringResult:
    loaded: bool  # False: the demo metering was there already (or there is nothing to meter)
    meters: int
    routes: int = 0
    readers: list[str] = field(default_factory=list)
    analysts: list[str] = field(default_factory=list)
    readings: int = 0
    open_by_rule: dict[str, int] = field(default_factory=dict)
    planned: int = 0  # this month's plans: meters to read, and read so far
    read: int = 0
    cards: int = 0
    purchases: int = 0
    findings: int = 0  # cards the reconciliation flags
    clerk: str = ""
    prepaid_skipped: str = ""  # why the IC-card part was left out
    seconds: float = 0.0

    @property
    def open_exceptions(self) -> int:
        return sum(self.open_by_rule.values())


def metering_demo_count() -> int | None:
    marker = NumberSequence.objects.filter(key=METERING_MARKER_KEY).first()
    return marker.last_value if marker else None


def metering_demo_wipe() -> dict[str, int]:
    """Remove the meters, routes, plans, readings and IC cards of the demo units (they hold protected
    references to the demo units, service points and accounts)."""
    units = demo_unit_ids()
    deleted: dict[str, int] = {}
    with transaction.atomic():
        meter_ids = set(Meter.objects.filter(Q(unit_id__in=units) | Q(service_point__premise__unit_id__in=units))
                        .values_list("pk", flat=True))
        meter_ids |= set(MeterEvent.objects.filter(service_point__premise__unit_id__in=units)
                         .values_list("meter_id", flat=True))
        cards = PrepaidCard.objects.filter(Q(unit_id__in=units) | Q(meter_id__in=meter_ids)
                                           | Q(account__premise__unit_id__in=units))
        card_ids = list(cards.values_list("pk", flat=True))
        PrepaidEvent.objects.filter(card_id__in=card_ids).delete()
        MeterWriteBack.objects.filter(card_id__in=card_ids).delete()
        deleted["metering.CardPurchase"] = CardPurchase.objects.filter(card_id__in=card_ids).delete()[0]
        PrepaidCard.objects.filter(pk__in=card_ids).update(replaces=None)  # replacements point at the old card
        deleted["metering.PrepaidCard"] = PrepaidCard.objects.filter(pk__in=card_ids).delete()[0]
        routes = Route.objects.filter(unit_id__in=units)
        plan_ids = list(ReadingPlan.objects.filter(route__in=routes).values_list("pk", flat=True))
        FieldChange.objects.filter(model=ReadingPlan._meta.label_lower, object_id__in=plan_ids).delete()
        ReadingException.objects.filter(Q(meter_id__in=meter_ids) | Q(unit_id__in=units)).delete()
        readings = Reading.objects.filter(Q(meter_id__in=meter_ids) | Q(unit_id__in=units))
        batch_ids = set(readings.exclude(batch_id=None).values_list("batch_id", flat=True))
        deleted["metering.Reading"] = readings.delete()[1].get("metering.Reading", 0)
        ImportBatch.objects.filter(pk__in=batch_ids).delete()
        deleted["metering.ReadingPlan"] = ReadingPlan.objects.filter(pk__in=plan_ids).delete()[1].get(
            "metering.ReadingPlan", 0)
        RouteStop.objects.filter(Q(route__in=routes) | Q(service_point__premise__unit_id__in=units)).delete()
        deleted["metering.Route"] = routes.delete()[0]
        MeterEvent.objects.filter(meter_id__in=meter_ids).delete()
        deleted["metering.Meter"] = Meter.objects.filter(pk__in=meter_ids).delete()[0]
        NumberSequence.objects.filter(key=METERING_MARKER_KEY).delete()
    return deleted


# The people --------------------------------------------------------------------------------------

@dataclass
class Cast:
    """One station of the demo and who works it."""

    station: OrgUnit
    utility: str
    reader: Staff
    fitter: Staff  # hangs the meters (METER_EDIT): the county's full-time customer manager
    analyst: Staff  # routes, plans, exceptions (READING_REVIEW)
    clerk: Staff | None = None  # sells IC-card gas (CARD_SELL)


def _over(unit: OrgUnit, role: str) -> Staff | None:
    """The demo staff member with ``role`` nearest above (or at) ``unit``."""
    found = [s for s in Staff.objects.select_related("unit").filter(is_active=True, roles__role=role,
                                                                    unit__isnull=False).order_by("id")
             if s.unit is not None and unit.path.startswith(s.unit.path)]
    return max(found, key=lambda s: s.unit.depth if s.unit else 0, default=None)


def _casts(since: dt.date) -> list[Cast]:
    """The stations of the first demo readers (power: reader1…, gas: gas_reader1…) that have accounts."""
    wanted = {UtilityKind.POWER: POWER_STATIONS, UtilityKind.GAS: GAS_STATIONS}
    readers = [p for p in staff_plan() if p.role == Role.READER]
    staff = {s.username: s for s in Staff.objects.select_related("unit").filter(
        username__in=[p.username for p in readers], is_active=True)}
    units = {u.code: u for u in OrgUnit.objects.filter(code__in=[p.unit_code for p in readers])}
    casts: list[Cast] = []
    for p in readers:
        utility = UtilityKind.GAS if p.username.startswith("gas_") else UtilityKind.POWER
        station, reader = units.get(p.unit_code), staff.get(p.username)
        if not wanted[utility] or station is None or reader is None:
            continue
        if len(_accounts(station, utility, since)) < MIN_ACCOUNTS:
            continue
        fitter = _over(station, Role.MANAGER_FULL) or _over(station, Role.ADMIN)
        analyst = _over(station, Role.ANALYST) or _over(station, Role.ADMIN)
        if fitter is None or analyst is None:
            continue
        clerk = (_over(station, Role.CLERK) or _over(station, Role.COLLECTOR)) if utility == UtilityKind.GAS else None
        casts.append(Cast(station, utility, reader, fitter, analyst, clerk))
        wanted[utility] -= 1
    return casts


# Which accounts, which meters -------------------------------------------------------------------

def _natural(text: str) -> tuple[int | str, ...]:
    """"12栋" after "2栋": numbers compare as numbers."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text or ""))


def _walk(account: Account) -> tuple[object, ...]:
    p = account.premise
    return (p.street, p.community, _natural(p.building), _natural(p.entrance), _natural(p.room), account.pk)


# Residential and business classes per utility, and how many of each a station takes at most.
GROUPS: dict[str, tuple[tuple[tuple[str, ...], int], ...]] = {
    UtilityKind.POWER: (((CustomerClass.POWER_PUBLIC_RESIDENTIAL,), POWER_METERS),
                        (tuple(c for c in CustomerClass.values if c.startswith("p_") and c != "p_pub_residential"),
                         THREE_PHASE)),
    UtilityKind.GAS: (((CustomerClass.GAS_RESIDENTIAL, CustomerClass.GAS_HEATING), GAS_METERS),
                      ((CustomerClass.GAS_COMMERCIAL, CustomerClass.GAS_INDUSTRIAL), MASTERS + COMMERCIAL)),
}


def _accounts(station: OrgUnit, utility: str, since: dt.date) -> list[Account]:
    """Accounts drawing supply at the station since before ``since`` whose service point has no meter
    and no route yet, in walking order: the first few streets' worth of households and businesses
    (taken in the database, so a station of a million-customer demo costs no more)."""
    status = AccountStatus.ACTIVE if utility == UtilityKind.POWER else AccountStatus.GAS_ON
    start = timezone.make_aware(dt.datetime.combine(since, dt.time.min))
    metered = Meter.objects.filter(service_point=OuterRef("service_point_id"))
    routed = RouteStop.objects.filter(service_point=OuterRef("service_point_id"))
    found: list[Account] = []
    for classes, limit in GROUPS[utility]:
        found += list(Account.objects.filter(premise__unit=station, utility=utility, status=status,
                                             customer_class__in=classes, service_point__isnull=False,
                                             opened_on__lt=since)
                      .exclude(status_changed_at__gte=start).exclude(Exists(metered)).exclude(Exists(routed))
                      .select_related("premise", "service_point", "customer")
                      .order_by("premise__street", "premise__community", "pk")[:limit])
    seen: set[int | None] = set()
    accounts = []
    for account in sorted(found, key=_walk):
        if account.service_point_id not in seen:
            seen.add(account.service_point_id)
            accounts.append(account)
    return accounts


@dataclass
class Spec:
    account: Account
    kind: str
    model: str
    base: Decimal  # mean use per month (kWh, m³)
    multiplier: Decimal = ONE
    registers: int = 1
    digits: int = 6
    location: str = Location.OUTDOOR
    routed: bool = True  # IC-card meters are not read on a route: the card brings their status back


def _power_specs(rng: Dice, accounts: list[Account]) -> list[Spec]:
    residential = [a for a in accounts if a.customer_class == CustomerClass.POWER_PUBLIC_RESIDENTIAL]
    others = [a for a in accounts if a.customer_class != CustomerClass.POWER_PUBLIC_RESIDENTIAL][:THREE_PHASE]
    residential = residential[:POWER_METERS - len(others)]
    tou = set(rng.rng.sample(range(len(residential)), min(TOU, len(residential) // 8)))
    specs = [Spec(a, MeterKind.THREE_PHASE, "DTZY341 3×1.5(6)A 经TA 200/5", Decimal(rng.between(1500, 6000)),
                  multiplier=CT_RATIO) for a in others]
    for i, a in enumerate(residential):
        if i in tou:
            specs.append(Spec(a, MeterKind.TIME_OF_USE, "DDZY102-Z 复费率 5(60)A", Decimal(rng.between(220, 420)),
                              registers=4))
        else:
            specs.append(Spec(a, MeterKind.SINGLE_PHASE, "DDZY102-Z 5(60)A", Decimal(rng.between(110, 330))))
    return sorted(specs, key=lambda s: _walk(s.account))


def _gas_specs(rng: Dice, accounts: list[Account]) -> list[Spec]:
    business = [a for a in accounts if a.customer_class in (CustomerClass.GAS_COMMERCIAL, CustomerClass.GAS_INDUSTRIAL)]
    homes = [a for a in accounts if a.customer_class in (CustomerClass.GAS_RESIDENTIAL, CustomerClass.GAS_HEATING)]
    homes = homes[:GAS_METERS - min(len(business), MASTERS + COMMERCIAL)]
    plain = [i for i, a in enumerate(homes) if a.customer_class == CustomerClass.GAS_RESIDENTIAL]
    cards = set(rng.rng.sample(plain, min(IC_CARDS, len(plain) // 4)))
    specs = [Spec(a, MeterKind.MASTER, "G65 腰轮流量计", Decimal(rng.between(1500, 4000)), digits=7,
                  location=Location.MASTER) for a in business[:MASTERS]]
    specs += [Spec(a, MeterKind.DIAPHRAGM, "G10", Decimal(rng.between(300, 800)))
              for a in business[MASTERS:MASTERS + COMMERCIAL]]
    for i, a in enumerate(homes):
        if i in cards:
            specs.append(Spec(a, MeterKind.IC_CARD, "IC卡 G2.5", Decimal(rng.between(15, 30)), digits=5,
                              location=Location.INDOOR, routed=False))
        elif a.customer_class == CustomerClass.GAS_HEATING:
            specs.append(Spec(a, MeterKind.DIAPHRAGM, "G4", Decimal(rng.between(55, 90)), digits=5,
                              location=Location.INDOOR))
        else:
            specs.append(Spec(a, MeterKind.DIAPHRAGM, "G2.5", Decimal(rng.between(12, 35)), digits=5,
                              location=Location.INDOOR))
    return sorted(specs, key=lambda s: _walk(s.account))


# Months ------------------------------------------------------------------------------------------

def _month(first: dt.date, delta: int) -> dt.date:
    n = first.year * 12 + first.month - 1 + delta
    return dt.date(n // 12, n % 12 + 1, 1)


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def _ceil10(value: Decimal) -> Decimal:
    return (value / 10).to_integral_value(ROUND_CEILING) * 10


# The meters' stories ------------------------------------------------------------------------------

@dataclass
class Story:
    """One routed meter: what it really shows, what was last billed, and what happens each month."""

    meter: Meter
    spec: Spec
    cast: int
    route: int
    seq: int
    now_read: bool = True  # read this month (the first route and half the second)
    planned: set[dt.date] = field(default_factory=set)  # the months whose plans list it
    story: str = ""
    true: Decimal = Decimal("0")  # the register as it stands (register 0)
    last: Decimal = Decimal("0")  # the last billable reading
    used: list[Decimal] = field(default_factory=list)  # billable use per month, oldest first
    parts: list[Decimal] = field(default_factory=lambda: [Decimal("0")] * 3)  # time-of-use registers

    @property
    def places(self) -> Decimal:
        return CENT if self.spec.multiplier != ONE else ONE

    def average(self) -> Decimal:
        recent = self.used[-6:]
        return sum(recent, Decimal("0")) / len(recent) if recent else self.spec.base

    def step(self, use: Decimal) -> Decimal:
        """The register advance for ``use`` (kWh or m³) through the multiplier."""
        return (use / self.spec.multiplier).quantize(self.places, ROUND_HALF_UP)


@dataclass
class Row:
    story: Story
    day: int
    values: list[tuple[int, Decimal]]  # (register, value)
    source: str = Source.ACTUAL
    duplicate: Decimal | None = None  # a second reading of the month (the customer's)
    correct_to: Decimal | None = None  # the value the analyst puts right


def _month_rows(rng: Dice, stories: list[Story], m: int, month: dt.date, days: dict[int, int],
                late: set[int]) -> list[Row]:
    """What each meter shows in month ``m`` and what the reader hands in (meters not in the month's
    plan are not read)."""
    rows: list[Row] = []
    for s in stories:
        season = POWER_SEASON if s.spec.account.utility == UtilityKind.POWER else GAS_SEASON
        act = STORIES.get(s.story, {}).get(m) or ("read" if m < HISTORY or s.now_read else "skip")
        if month not in s.planned:
            act = "skip"
        f = Decimal(str(season[month.month]))
        if s.spec.multiplier != ONE:  # business use varies less with the season
            f = (1 + (f - 1) / 2)
        use = (s.spec.base * f * Decimal(str(0.9 + 0.2 * rng.random()))).quantize(ONE, ROUND_HALF_UP)
        day = days[s.route] + (1 if s.seq % 2 == 0 else 0)
        if m in (1, 4) and s.meter.pk in late:
            day = 27  # the reader came back after the window closed
        if act == "spike":
            use = (s.average() * Decimal(str(3.6 + 1.2 * rng.random()))).quantize(ONE, ROUND_HALF_UP)
        elif act == "zero":
            use = Decimal("0")
        if act in ("skip", "est"):
            s.true += s.step(use)  # the meter runs on; nobody sees it
            if act == "skip":
                continue
            guess = s.step(s.average())
            s.used.append(guess * s.spec.multiplier)
            s.last += guess
            rows.append(Row(s, day, [(0, s.last)], source=Source.ESTIMATED))
            continue
        # After estimates the real register may lag the last estimate: it is unseen, so it catches up.
        s.true = max(s.true + s.step(use), s.last + s.step(use))
        row = Row(s, day, [(0, s.true)])
        if s.spec.registers > 1:  # peak, flat and valley add up to the total
            diff = s.true - s.last
            peak = (diff * Decimal("0.35")).quantize(ONE, ROUND_HALF_UP)
            valley = (diff * Decimal("0.25")).quantize(ONE, ROUND_HALF_UP)
            s.parts = [s.parts[0] + peak, s.parts[1] + diff - peak - valley, s.parts[2] + valley]
            row.values += [(r + 1, v) for r, v in enumerate(s.parts)]
        if act == "typo":  # the last digit left out
            typed = min((s.true / 10).to_integral_value(ROUND_FLOOR), s.last - 1)
            row.values = [(0, max(typed, Decimal("0")))]
            row.correct_to = s.true
        elif act == "dup":
            row.duplicate = s.true + s.step(Decimal(rng.between(3, 15)))
        s.used.append((s.true - s.last) * s.spec.multiplier)
        s.last = s.true
        rows.append(row)
    return rows


# The load ----------------------------------------------------------------------------------------

def metering_demo_load(*, seed: int = 7, now: dt.datetime | None = None) -> MeteringResult:
    """Make the demo metering unless the marker says it is there. Needs the demo customers and staff."""
    loaded = metering_demo_count()
    if loaded is not None:
        return MeteringResult(loaded=False, meters=loaded)
    now = now or timezone.now()
    started = time.monotonic()
    with transaction.atomic():
        if Meter.objects.filter(unit_id__in=demo_unit_ids()).exists():  # an older demo without the marker
            metering_demo_wipe()
        casts = _casts(_month(timezone.localdate(now).replace(day=1), -HISTORY - 1))
        if not casts:
            return MeteringResult(loaded=False, meters=0)
        # The validation rules and tariffs of the data migrations (idempotent; a flushed test database
        # lacks them).
        metering_seed(rule_model=ValidationRule)
        prepaid_seed(tariff_model=PrepaidTariff)
        result = Maker(seed=seed, now=now, casts=casts).make()
        NumberSequence.objects.update_or_create(key=METERING_MARKER_KEY, defaults={"last_value": result.meters})
    result.seconds = time.monotonic() - started
    return result


class Maker:
    def __init__(self, *, seed: int, now: dt.datetime, casts: list[Cast]) -> None:
        self.rng = Dice(f"metering:{seed}")
        self.now, self.casts = now, casts
        self.today = timezone.localdate(now)
        self.this_month = self.today.replace(day=1)
        self.months = [_month(self.this_month, m - HISTORY) for m in range(HISTORY + 1)]
        self.serials: Counter[str] = Counter()

    def make(self) -> MeteringResult:
        result = MeteringResult(loaded=True, meters=0)
        stories: list[list[Story]] = []
        cards: list[tuple[Cast, Meter, Spec]] = []
        for i, cast in enumerate(self.casts):
            accounts = _accounts(cast.station, cast.utility, _month(self.this_month, -HISTORY - 1))
            specs = (_power_specs if cast.utility == UtilityKind.POWER else _gas_specs)(self.rng, accounts)
            meters = self._install(cast, specs)
            result.meters += len(meters)
            cards += [(cast, meters[k], spec) for k, spec in enumerate(specs) if not spec.routed]
            routed = [(meters[k], spec) for k, spec in enumerate(specs) if spec.routed]
            stories.append(self._routes(i, cast, routed))
            result.routes += 2 if len(routed) > 1 else 1
        result.readers = [c.reader.username for c in self.casts]
        result.analysts = sorted({c.analyst.username for c in self.casts})
        planned = self._plans()
        for i, group in enumerate(stories):
            for s in group:
                s.planned = planned.get(s.meter.pk, set())
            self._cast_stories(i, group)
        self._read(stories)
        self._summary(result, [s.meter.pk for group in stories for s in group])
        if cards:
            self._cards(result, cards)
        return result

    # Meters and routes ---------------------------------------------------------------------------

    def _install(self, cast: Cast, specs: list[Spec]) -> list[Meter]:
        """Meters in stock at the station, hung by the county's customer manager in a campaign the
        month before the first one read."""
        first = _month(self.this_month, -HISTORY - 1)
        power = cast.utility == UtilityKind.POWER
        meters = []
        for spec in specs:
            prefix = ("33" if power else "HR") + f"{cast.station.pk % 100:02d}"
            self.serials[prefix] += 1
            on = first + dt.timedelta(days=4 + self.rng.below(20))
            verified = on - dt.timedelta(days=20 + self.rng.below(90))
            meter = Meter.objects.create(
                serial=f"{prefix}{self.serials[prefix]:08d}", kind=spec.kind, utility=cast.utility, model=spec.model,
                manufacturer=self.rng.pick(POWER_MAKERS if power else GAS_MAKERS), registers=spec.registers,
                multiplier=spec.multiplier, digits=spec.digits, verified_on=verified,
                verification_due_on=verified + dt.timedelta(days=365 * (8 if power else 10) + 2),
                location=spec.location, in_box=spec.location == Location.OUTDOOR, unit=cast.station)
            assert spec.account.service_point is not None
            meter_install(actor=cast.fitter, meter=meter, service_point=spec.account.service_point, on=on)
            meter.refresh_from_db()
            meters.append(meter)
        return meters

    def _routes(self, index: int, cast: Cast, routed: list[tuple[Meter, Spec]]) -> list[Story]:
        """Two routes in walking order, cut at the community nearest the middle, for the station's reader."""
        half = len(routed) // 2
        communities = [spec.account.premise.community for _m, spec in routed]
        cut = min((k for k in range(1, len(routed)) if communities[k] != communities[k - 1]),
                  key=lambda k: abs(k - half), default=half) if len(routed) > 1 else len(routed)
        parts = [p for p in (routed[:cut], routed[cut:]) if p]
        joined = _month(self.this_month, -HISTORY - 1) + dt.timedelta(days=27)
        stories = []
        for r, part in enumerate(parts, start=1):
            names = list(dict.fromkeys(c for _m, spec in part if (c := spec.account.premise.community)))
            route = Route.objects.create(
                code=f"{cast.station.code}-{r:02d}", utility=cast.utility, unit=cast.station, reader=cast.reader,
                name=(f"{cast.station.name}{r}号抄表册"
                      + (f"（{'、'.join(names[:2])}{'等' if len(names) > 2 else ''}）" if names else ""))[:100])
            for meter, spec in part:
                assert spec.account.service_point is not None
                stop = plans.route_join(actor=cast.analyst, route=route, service_point=spec.account.service_point,
                                        on=joined)
                stories.append(Story(meter=meter, spec=spec, cast=index, route=route.pk, seq=stop.seq))
            # This month the reader has done the first route and half of the second (all of it once
            # the window has closed).
            if r > 1 and self.today.day <= plans.WINDOW_LAST_DAY:
                for s in stories[-len(part):][len(part) // 2:]:
                    s.now_read = False
        return stories

    def _plans(self) -> dict[int, set[dt.date]]:
        """Each route's plan for every month, made by the analyst; the months each meter is planned."""
        self.plans: dict[tuple[int, dt.date], ReadingPlan] = {}
        for cast in self.casts:
            for route in Route.objects.filter(unit=cast.station).order_by("code"):
                for month in self.months:
                    self.plans[(route.pk, month)] = plans.plan_create(actor=cast.analyst, route=route, period=month)
        planned: dict[int, set[dt.date]] = {}
        for meter_id, period in (PlanItem.objects.filter(plan__in=[p.pk for p in self.plans.values()])
                                 .values_list("meter_id", "plan__period")):
            planned.setdefault(meter_id, set()).add(period)
        return planned

    def _cast_stories(self, index: int, stories: list[Story]) -> None:
        """Give the station's stories to ordinary meters planned every month (this month's ones to
        meters read this month), spread over the routes."""
        everyday = [s for s in stories if s.planned >= set(self.months)]
        # Households on ordinary meters (not a business, a time-of-use or a master meter).
        plain = [s for s in everyday if s.spec.kind == MeterKind.SINGLE_PHASE
                 or (s.spec.kind == MeterKind.DIAPHRAGM and s.spec.location == Location.INDOOR)]
        ct = [s for s in everyday if s.spec.kind == MeterKind.THREE_PHASE and s.now_read]
        names = GAS_STORIES if self.casts[index].utility == UtilityKind.GAS else POWER_STORIES[index % 3]
        for name in names:
            if name == "spike_now_ct" and ct:
                pool = ct
            else:
                now = [s for s in plain if s.now_read and not s.story]
                later = [s for s in plain if not s.now_read and not s.story]
                pool = now if name in READ_THIS_MONTH else (later or now)
            pool = [s for s in pool if not s.story]
            if pool:
                self.rng.pick(pool).story = name

    # Readings ------------------------------------------------------------------------------------

    def _read(self, stories: list[list[Story]]) -> None:
        """Month by month: every station's handheld file, the customers' second readings, the
        confirmation sheets, the analyst's decisions (two months ago and earlier) and the daily job
        once the window has closed."""
        days: dict[int, int] = {}  # route day: 8th, 10th, … for the first routes, three days later the second
        for i, group in enumerate(stories):
            for r, route_id in enumerate(sorted({s.route for s in group})):
                days[route_id] = 8 + 2 * i + 3 * r
        late: set[int] = set()
        if len(stories) > 1:  # the second station's second route: its last two stops read late twice
            routes = sorted({s.route for s in stories[1]})
            late = {s.meter.pk for s in [s for s in stories[1] if s.route == routes[-1] and not s.story][-2:]}
        for m, month in enumerate(self.months):
            for i, group in enumerate(stories):
                rows = _month_rows(self.rng, group, m, month, days, late)
                if rows:
                    self._hand_in(m, month, self.casts[i], rows)
            if m < HISTORY:
                close = _at(month.replace(day=plans.WINDOW_LAST_DAY) + dt.timedelta(days=1), 2)
                plans.missing_raise(day=timezone.localdate(close), now=close)

    def _hand_in(self, m: int, month: dt.date, cast: Cast, rows: list[Row]) -> None:
        current = m == HISTORY
        if current:  # nobody reads tomorrow's meters today
            for row in rows:
                row.day = max(1, min(row.day, self.today.day))
        when = self.now if current else _at(month.replace(day=max(r.day for r in rows)), 18, 30)
        lines = ((row, register, value) for row in rows for register, value in row.values)
        records = [(n, {"meter": row.story.meter.serial, "register": str(register), "reading": str(value),
                        "read_on": month.replace(day=row.day).isoformat(), "source": row.source})
                   for n, (row, register, value) in enumerate(lines, start=1)]
        report = reading_bulk_import(actor=cast.reader, records=records, period=month, source=Source.ACTUAL, now=when,
                                     name=f"handheld-{cast.station.code}-{month:%Y%m}.csv")
        if report.errors:
            raise RuntimeError("demo readings refused: " + "; ".join(report.lines(5)))
        for row in rows:
            if row.duplicate is not None:  # the customer reported the meter a few days later
                day = min(row.day + 2, self.today.day) if current else row.day + 2
                reading_record(actor=cast.reader, meter=row.story.meter, value=row.duplicate, period=month,
                               read_on=month.replace(day=day), source=Source.CUSTOMER,
                               now=self.now if current else when + dt.timedelta(days=2))
        self._sheets(cast, month, rows, when)
        if m <= HISTORY - 2:
            self._decide(cast, month, rows)

    def _sheets(self, cast: Cast, month: dt.date, rows: list[Row], when: dt.datetime) -> None:
        """The property manager signs the confirmation sheet of each route day inside the window."""
        routes = sorted({r.story.route for r in rows})
        for route_id in routes:
            day = min(r.day for r in rows if r.story.route == route_id)
            plan = self.plans[(route_id, month)]
            if plan.window_start <= month.replace(day=day) <= min(plan.window_end, timezone.localdate(when)):
                plans.sheet_record(actor=cast.reader, plan=plan, day=month.replace(day=day),
                                   signed_by=f"{person_name(self.rng, male=self.rng.random() < 0.5)}（物业）",
                                   signer_role=plans.SignerRole.PROPERTY_MANAGER, now=when)

    def _decide(self, cast: Cast, month: dt.date, rows: list[Row]) -> None:
        """The analyst's decisions on the month's exceptions, a few days after the window closed."""
        when = _at(month.replace(day=plans.WINDOW_LAST_DAY) + dt.timedelta(days=3), 10)
        fixes = {r.story.meter.pk: r.correct_to for r in rows if r.correct_to is not None}
        raised = ReadingException.objects.filter(meter_id__in=[r.story.meter.pk for r in rows], period=month,
                                                 resolution=Resolution.OPEN).order_by("id")
        for exc in raised:
            value = fixes.get(exc.meter_id) if exc.rule == Rule.BELOW_PREVIOUS else None
            resolution = Resolution.CORRECTED if value is not None else Resolution.ACCEPTED
            plans.exception_decide(actor=cast.analyst, exception=exc, resolution=resolution, value=value,
                                   note=NOTES.get(exc.rule, "已核实。"), now=when)

    def _summary(self, result: MeteringResult, meter_ids: list[int]) -> None:
        result.readings = Reading.objects.filter(meter_id__in=meter_ids).count()
        opened = (ReadingException.objects.filter(meter_id__in=meter_ids, resolution=Resolution.OPEN)
                  .values_list("rule", flat=True))
        result.open_by_rule = dict(sorted(Counter(opened).items()))
        current = [p for (_r, month), p in self.plans.items() if month == self.this_month]
        result.planned = sum(p.planned for p in current)
        result.read = (PlanItem.objects.filter(plan__in=current)
                       .filter(Exists(plans.standing_readings("service_point_id", "plan__period"))).count())

    # IC cards ------------------------------------------------------------------------------------

    def _cards(self, result: MeteringResult, cards: list[tuple[Cast, Meter, Spec]]) -> None:
        """Cards issued when the meters were hung; gas bought every two months, the meter's status
        coming back on the card; one meter shows more bought than was sold."""
        clerk = next((c.clerk for c, _m, _s in cards if c.clerk is not None), None)
        if clerk is None:
            result.prepaid_skipped = "no demo clerk may sell IC-card gas"
            return
        result.clerk = clerk.username
        try:
            with transaction.atomic():
                for k, (cast, meter, spec) in enumerate(cards):
                    self._card(k, cast.clerk or clerk, meter, spec, result)
        except ApplicationError as exc:  # the prepaid services refused: leave the part out, say why
            result.prepaid_skipped = str(exc.message)
            result.cards = result.purchases = 0
            return
        held = PrepaidCard.objects.filter(meter__in=[m for _c, m, _s in cards])
        result.findings = sum(1 for row in reconcile(held) if row.findings)

    def _card(self, k: int, clerk: Staff, meter: Meter, spec: Spec, result: MeteringResult) -> None:
        event = MeterEvent.objects.filter(meter=meter).order_by("-installed_on").first()
        issued = (event.installed_on if event else self.months[0]) + dt.timedelta(days=1)
        low_income = k == 3
        card = prepaid.card_issue(
            actor=clerk, meter=meter, number=f"IC{meter.serial}", account=spec.account,
            household=Household.LOW_INCOME if low_income else None,
            household_note=f"低保证 西民保字第2026-{101 + k:04d}号（西湖区民政局）" if low_income else "",
            now=_at(issued, 9 + k))
        result.cards += 1

        def used_by(day: dt.date) -> Decimal:
            """m³ the household burned from the issue to ``day``, month by month."""
            total, cursor = Decimal("0"), issued
            while cursor < day:
                end = min(_month(cursor.replace(day=1), 1), day)
                share = Decimal((end - cursor).days) / 30
                total += spec.base * Decimal(str(GAS_SEASON[cursor.month])) * share
                cursor = end
            return total.quantize(CENT, ROUND_HALF_UP)

        sold = Decimal("0")
        days = [issued] + [self.months[m].replace(day=12 + k) for m in (1, 3, 5)]
        for n, day in enumerate(days, start=1):
            at = _at(day, 9 + k, 10 * n)
            status = None
            if n > 1:  # the card brings back what the meter loaded and burned
                used = used_by(day)
                bought = sold + (FORGED if k == 1 and n == len(days) else 0)
                status = {"sequence": n - 1, "total_used": str(used), "total_bought": str(bought),
                          "remaining": str(max(bought - used, Decimal("0"))),
                          "valve": ValveState.OPEN if bought > used else ValveState.CLOSED,
                          "tamper_flags": [TamperFlag.ILLEGAL_CARD] if bought != sold else [],
                          "read_at": at - dt.timedelta(minutes=3)}
            ahead = days[n] if n < len(days) else _month(day.replace(day=1), 2)
            need = used_by(ahead) - sold
            by_amount = k == 2 and n == 2
            quantity = "300" if by_amount else str(max(_ceil10(need * Decimal("1.5")), Decimal(60 + 20 * (k % 3))))
            sale = prepaid.card_purchase(
                actor=clerk, card=card, mode=PurchaseMode.AMOUNT if by_amount else PurchaseMode.VOLUME,
                quantity=quantity, key=f"demo-{card.number}-{n}", write_back=status, now=at)
            sold += sale.purchase.volume
            result.purchases += 1

