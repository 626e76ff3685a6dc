"""IC-card prepaid gas (guide §5, tiered prices §6): pure pricing, then the writes.

Pricing. The household's cumulative volume bought in the current cycle (all its cards, from the
tariff's cycle start, e.g. 1 November) decides the tier; a purchase that crosses a tier limit is split
into one line per tier. Each line is volume × price rounded half-up to the fen and the purchase costs
the sum of its lines, so the receipt adds up. Volumes are in 0.01 m³ (what the card holds). Buying by
amount gives the largest volume in 0.01 m³ whose price does not exceed the amount; the charge is that
price, and the few fen left over (``change``) stay with the customer. A low-income household pays the
tier-1 price for every m³ where the tariff says so; a heating household gets the tariff's heating
limits. The customers app has no low-income or heating flag: the heating default comes from the
account's customer class (``g_heating``), and low-income is recorded on the card with its evidence.

Writes. One transaction each, one ``PrepaidEvent`` per state change. A purchase locks the card row,
so its sequence number is the last one plus one, gap-free; a retry with the same idempotency key
returns the first purchase. The meter status the card brings back is checked against what was sold
(refused when it names a purchase never sold; stored with its findings otherwise).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from kefu.core.errors import Conflict, IllegalTransition, InvalidInput, NotFoundError
from kefu.customers.choices import AccountStatus, CustomerClass
from kefu.customers.models import Account
from kefu.org.choices import Capability
from kefu.org.models import OrgUnit
from kefu.org.scope import require, unit_in_scope

from .choices import MeterKind, MeterState
from .models import CardPurchase, Meter, MeterWriteBack, PrepaidCard, PrepaidEvent, PrepaidTariff
from .prepaid_choices import (
    CARD_TRANSITIONS,
    HOLDS_METER,
    CardState,
    Finding,
    Household,
    PrepaidEventKind,
    PurchaseMode,
    TamperFlag,
    ValveState,
)

FEN = Decimal("0.01")
STEP = Decimal("0.01")  # m³ the card holds
MAX_TOTAL = Decimal("999999999999.99")  # a meter total that fits the columns
MAX_SEQUENCE = 10**9
MAX_KEY = 64
# A card reader's clock may run a little ahead of the server's.
CLOCK_SLACK = timedelta(minutes=5)
# Accounts that may buy gas: not suspended, sealed (arrears, illegal use), removed or closed.
SELLABLE = frozenset({AccountStatus.REGISTERED, AccountStatus.AWAITING_IGNITION, AccountStatus.GAS_ON,
                      AccountStatus.VACANT})


def money(value: Decimal) -> Decimal:
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def m3(value: Decimal | None) -> str:
    """A volume as text with its two decimals (SQLite hands back 90 for 90.00)."""
    return "" if value is None else str(Decimal(value).quantize(STEP))


# Pricing (pure) ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Schedule:
    """Tier limits (cumulative m³ in the cycle) and prices for one household under one tariff."""

    limits: tuple[Decimal, Decimal]
    prices: tuple[Decimal, Decimal, Decimal]
    flat: bool = False  # every m³ at the tier-1 price (low-income households)

    def bands(self) -> list[tuple[int, Decimal, Decimal | None, Decimal]]:
        """(tier, from m³, up to m³ or None, price)."""
        if self.flat:
            return [(1, Decimal(0), None, self.prices[0])]
        l1, l2 = self.limits
        return [(1, Decimal(0), l1, self.prices[0]), (2, l1, l2, self.prices[1]), (3, l2, None, self.prices[2])]


@dataclass(frozen=True)
class TierLine:
    tier: int
    volume: Decimal
    price: Decimal
    amount: Decimal

    @property
    def shown_price(self) -> str:
        return price_text(self.price)

    def as_json(self) -> dict[str, Any]:
        return {"tier": self.tier, "volume": str(self.volume.quantize(STEP)), "price": price_text(self.price),
                "amount": str(self.amount)}


def price_text(price: Decimal) -> str:
    """A unit price as published: 2.9300 → "2.93", 3.5160 → "3.516"."""
    trimmed = price.normalize()
    return str(trimmed.quantize(FEN) if trimmed.as_tuple().exponent > -2 else trimmed)  # type: ignore[operator]


def cycle_start(on: date, *, month: int, day: int) -> date:
    """The first day of the price cycle that contains ``on``."""
    start = date(on.year, month, day)
    return start if on >= start else date(on.year - 1, month, day)


def price_volume(schedule: Schedule, *, before: Decimal, volume: Decimal) -> list[TierLine]:
    """Split ``volume`` bought after ``before`` m³ this cycle into tier lines, each priced to the fen."""
    lines = []
    end = before + volume
    for tier, low, high, price in schedule.bands():
        lo = max(before, low)
        hi = end if high is None else min(end, high)
        if hi > lo:
            lines.append(TierLine(tier, hi - lo, price, money((hi - lo) * price)))
    return lines


def volume_for_amount(schedule: Schedule, *, before: Decimal, amount: Decimal) -> Decimal:
    """The largest volume (in 0.01 m³) whose price, line by line, does not exceed ``amount``."""
    left, position, total = amount, before, Decimal(0)
    for _tier, low, high, price in schedule.bands():
        if high is not None and position >= high:
            continue
        room = None if high is None else high - max(position, low)
        if room is not None and money(room * price) <= left:
            # The whole rest of this tier is affordable: take it and go on to the next one.
            total, left, position = total + room, left - money(room * price), position + room
            continue
        got = (left / price).quantize(STEP, rounding=ROUND_DOWN)
        if room is not None:
            got = min(got, room)
        while got > 0 and money(got * price) > left:
            got -= STEP
        # Rounding half-up may let one more step cost the same fen.
        while (room is None or got + STEP <= room) and money((got + STEP) * price) <= left:
            got += STEP
        return total + got
    return total


# Tariffs ----------------------------------------------------------------------------------------

def tariff_for(unit: OrgUnit, on: date) -> PrepaidTariff:
    """The active tariff in force on ``on`` for ``unit``: the one set on the nearest unit above it
    (or on itself), else the company-wide default."""
    rows = (PrepaidTariff.objects.filter(active=True, effective_from__lte=on)
            .filter(Q(effective_to__isnull=True) | Q(effective_to__gte=on)).select_related("unit"))
    fitting = [t for t in rows if t.unit is None or unit.path.startswith(t.unit.path)]
    if not fitting:
        raise IllegalTransition(_("No prepaid gas tariff is in force for %(unit)s on %(day)s.") % {
            "unit": unit.name, "day": on.isoformat()})
    return max(fitting, key=lambda t: (t.unit.depth if t.unit is not None else -1, t.effective_from, t.pk))


def schedule_for(tariff: PrepaidTariff, household: str) -> Schedule:
    limits = (tariff.tier1_limit, tariff.tier2_limit)
    if household == Household.HEATING and tariff.heating_tier1_limit and tariff.heating_tier2_limit:
        limits = (tariff.heating_tier1_limit, tariff.heating_tier2_limit)
    return Schedule(limits=limits, prices=(tariff.tier1_price, tariff.tier2_price, tariff.tier3_price),
                    flat=household == Household.LOW_INCOME and tariff.low_income_tier1)


# Input ------------------------------------------------------------------------------------------

def _decimal(raw: Any, field: str, message: str) -> Decimal:
    if isinstance(raw, bool):
        raise InvalidInput({field: [message]})
    # A float goes through its shortest text (0.1 → "0.1"), never its binary value.
    text = (repr(raw) if isinstance(raw, float) else str(raw if raw is not None else "")).strip().replace(",", "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InvalidInput({field: [message]}) from None
    if not value.is_finite():
        raise InvalidInput({field: [message]})
    return value


def parse_quantity(raw: Any, *, mode: str, tariff: PrepaidTariff, field: str = "quantity") -> Decimal:
    """A positive volume (m³) or amount (yuan) with at most two decimals, within the tariff's limit."""
    by_volume = mode == PurchaseMode.VOLUME
    value = _decimal(raw, field, _("Enter the volume in m³, e.g. 25.5.") if by_volume
                     else _("Enter the amount in yuan, e.g. 100.00."))
    if value <= 0:
        raise InvalidInput({field: [_("A purchase must be more than zero.")]})
    limit = tariff.max_volume if by_volume else tariff.max_amount
    if value > limit:
        raise InvalidInput({field: [(_("At most %(limit)s m³ in one purchase.") if by_volume
                                     else _("At most %(limit)s yuan in one purchase.")) % {"limit": limit}]})
    if value != value.quantize(STEP):
        raise InvalidInput({field: [_("At most two decimals (0.01 m³).") if by_volume
                                    else _("At most two decimals (fen).")]})
    return value.quantize(STEP)


def parse_key(raw: Any, field: str = "key") -> str | None:
    key = str(raw or "").strip()
    if len(key) > MAX_KEY:
        raise InvalidInput({field: [_("The idempotency key is too long (at most 64 characters).")]})
    return key or None


@dataclass(frozen=True)
class Status:
    """What the card brought back from the meter."""

    sequence: int
    total_used: Decimal
    total_bought: Decimal
    remaining: Decimal
    valve: str
    tamper_flags: tuple[str, ...]
    read_at: datetime


def _volume_field(raw: Any, field: str, errors: dict[str, list[str]]) -> Decimal:
    try:
        value = _decimal(raw, field, _("Enter m³ as a number, e.g. 123.45."))
    except InvalidInput as exc:
        errors.update(exc.errors)
        return Decimal(0)
    if value < 0:
        errors[field] = [_("A meter total cannot be negative.")]
    elif value > MAX_TOTAL or value != value.quantize(STEP):
        errors[field] = [_("At most 12 digits and two decimals.")]
    else:
        return value.quantize(STEP)
    return Decimal(0)


def parse_status(raw: Mapping[str, Any], *, now: datetime, prefix: str = "") -> Status:
    """The meter status as sent, each field checked; every bad field is reported at once."""
    errors: dict[str, list[str]] = {}
    name = prefix.__add__
    seq_raw = raw.get("sequence")
    sequence = 0
    if isinstance(seq_raw, int) and not isinstance(seq_raw, bool):
        sequence = seq_raw
    elif isinstance(seq_raw, str) and seq_raw.strip().isascii() and seq_raw.strip().isdigit() \
            and len(seq_raw.strip()) <= 10:
        sequence = int(seq_raw.strip())
    else:
        errors[name("sequence")] = [_("Give the number of the last purchase the meter loaded (0 if none).")]
    if not 0 <= sequence <= MAX_SEQUENCE and name("sequence") not in errors:
        errors[name("sequence")] = [_("Give the number of the last purchase the meter loaded (0 if none).")]
    used = _volume_field(raw.get("total_used"), name("total_used"), errors)
    bought = _volume_field(raw.get("total_bought"), name("total_bought"), errors)
    remaining = _volume_field(raw.get("remaining"), name("remaining"), errors)
    valve = str(raw.get("valve") or "").strip()
    if valve not in ValveState.values:
        errors[name("valve")] = [_("The valve is open or closed.")]
    flags_raw = raw.get("tamper_flags") or []
    if isinstance(flags_raw, str):
        flags_raw = [f for f in flags_raw.replace("，", ",").split(",") if f.strip()]
    flags: list[str] = []
    if not isinstance(flags_raw, list | tuple):
        errors[name("tamper_flags")] = [_("Tamper flags are a list.")]
    else:
        unknown = [str(f)[:40] for f in flags_raw if str(f).strip() not in TamperFlag.values]
        if unknown:
            errors[name("tamper_flags")] = [_("Unknown tamper flag %(flag)s; known: %(known)s.") % {
                "flag": unknown[0], "known": ", ".join(TamperFlag.values)}]
        flags = sorted({str(f).strip() for f in flags_raw} & set(TamperFlag.values))
    read_at = now
    at_raw = raw.get("read_at")
    if isinstance(at_raw, datetime):
        read_at = at_raw
    elif at_raw not in (None, ""):
        parsed = None
        try:
            parsed = parse_datetime(str(at_raw).strip())
        except ValueError:
            parsed = None
        if parsed is None:
            errors[name("read_at")] = [_("Give the time the card was read as YYYY-MM-DDTHH:MM.")]
        else:
            read_at = parsed
    if timezone.is_naive(read_at):
        read_at = timezone.make_aware(read_at)
    if name("read_at") not in errors and read_at > now + CLOCK_SLACK:
        errors[name("read_at")] = [_("The card cannot have been read in the future.")]
    if errors:
        raise InvalidInput(errors)
    return Status(sequence=sequence, total_used=used, total_bought=bought, remaining=remaining, valve=valve,
                  tamper_flags=tuple(flags), read_at=read_at)


# Checks -----------------------------------------------------------------------------------------

def sequences_text(numbers: Iterable[int]) -> str:
    """1, 2, 3, 5 → "#1–#3, #5"."""
    ordered = sorted(set(numbers))
    parts: list[str] = []
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        parts.append(f"#{ordered[i]}" if i == j else f"#{ordered[i]}–#{ordered[j]}")
        i = j + 1
    return ", ".join(parts)


def finding_text(item: Mapping[str, Any]) -> str:
    """A finding ({"code": ..., params}) as one sentence in the reader's language."""
    code, p = item.get("code", ""), dict(item)
    texts = {
        Finding.SOLD_GAP: _("Never sold on this card: %(numbers)s."),
        Finding.NOT_LOADED: _("Sold but not loaded by the meter: %(numbers)s (it is at #%(loaded)s)."),
        Finding.SEQUENCE_BACKWARDS: _("The meter reported purchase #%(previous)s before and #%(now)s now."),
        Finding.BOUGHT_MISMATCH: _("The meter shows %(meter)s m³ bought; the purchases it loaded add up to "
                                   "%(expected)s m³."),
        Finding.USED_BACKWARDS: _("Total used fell from %(previous)s to %(now)s m³."),
        Finding.REMAINING_MISMATCH: _("Remaining %(remaining)s m³, but bought − used = %(expected)s m³."),
        Finding.VALVE_CLOSED_WITH_CREDIT: _("The valve is closed with %(remaining)s m³ left."),
        Finding.TAMPER: _("Flags raised: %(flags)s."),
    }
    if code == Finding.TAMPER:
        p["flags"] = ", ".join(str(TamperFlag(f).label) if f in TamperFlag.values else f for f in p.get("flags", []))
    text = texts.get(code)
    try:
        return text % p if text is not None else str(code)
    except (KeyError, TypeError, ValueError):
        return str(Finding(code).label) if code in Finding.values else str(code)


def status_findings(status: Status, *, previous: MeterWriteBack | None, last_sold: int,
                    expected_bought: Decimal) -> list[dict[str, Any]]:
    """What is wrong with one status against the previous one and what was sold (pure)."""
    found: list[dict[str, Any]] = []
    if status.sequence < last_sold:
        found.append({"code": Finding.NOT_LOADED.value, "loaded": status.sequence,
                      "numbers": sequences_text(range(status.sequence + 1, last_sold + 1))})
    if previous is not None and status.sequence < previous.sequence:
        found.append({"code": Finding.SEQUENCE_BACKWARDS.value, "previous": previous.sequence,
                      "now": status.sequence})
    if status.total_bought != expected_bought:
        found.append({"code": Finding.BOUGHT_MISMATCH.value, "meter": m3(status.total_bought),
                      "expected": m3(expected_bought)})
    if previous is not None and status.total_used < previous.total_used:
        found.append({"code": Finding.USED_BACKWARDS.value, "previous": m3(previous.total_used),
                      "now": m3(status.total_used)})
    balance = status.total_bought - status.total_used
    if status.remaining != max(balance, Decimal(0)) or balance < 0:
        found.append({"code": Finding.REMAINING_MISMATCH.value, "remaining": m3(status.remaining),
                      "expected": m3(balance)})
    if status.valve == ValveState.CLOSED and status.remaining > 0:
        found.append({"code": Finding.VALVE_CLOSED_WITH_CREDIT.value, "remaining": m3(status.remaining)})
    if status.tamper_flags:
        found.append({"code": Finding.TAMPER.value, "flags": list(status.tamper_flags)})
    return found


# Reads the services need ------------------------------------------------------------------------

def cycle_volume(account: Account | int, start: date) -> Decimal:
    account_id = account.pk if isinstance(account, Account) else account
    total = CardPurchase.objects.filter(account_id=account_id, cycle_start=start).aggregate(v=Sum("volume"))["v"]
    return (total or Decimal(0)).quantize(STEP)


def expected_bought(card: PrepaidCard, sequence: int) -> Decimal:
    """What the meter should show as bought once it loaded purchase ``sequence`` of this card."""
    loaded = (CardPurchase.objects.filter(card=card, sequence__lte=sequence).aggregate(v=Sum("volume"))["v"]
              or Decimal(0))
    return (card.opening_bought + loaded).quantize(STEP)


@dataclass(frozen=True)
class Quote:
    """A priced purchase before it is made: the counter shows it, the sale stores it."""

    tariff: PrepaidTariff
    household: str
    mode: str
    requested: Decimal
    cycle_start: date
    cycle_before: Decimal
    lines: tuple[TierLine, ...]

    @property
    def volume(self) -> Decimal:
        return sum((line.volume for line in self.lines), Decimal(0))

    @property
    def amount(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0))

    @property
    def change(self) -> Decimal:
        """Amount asked for but not spent (amount mode): less than one 0.01 m³ step costs."""
        return self.requested - self.amount if self.mode == PurchaseMode.AMOUNT else Decimal(0)

    @property
    def cycle_after(self) -> Decimal:
        return self.cycle_before + self.volume


def purchase_quote(*, card: PrepaidCard, mode: str, quantity: Any, on: date, field: str = "quantity") -> Quote:
    """Price a purchase for the card's household on day ``on`` (writes nothing)."""
    if mode not in PurchaseMode.values:
        raise InvalidInput({"mode": [_("Buy by volume (m³) or by amount (yuan).")]})
    tariff = tariff_for(card.unit, on)
    value = parse_quantity(quantity, mode=mode, tariff=tariff, field=field)
    start = cycle_start(on, month=tariff.cycle_month, day=tariff.cycle_day)
    before = cycle_volume(card.account_id, start)
    schedule = schedule_for(tariff, card.household)
    if mode == PurchaseMode.VOLUME:
        volume = value
    else:
        volume = volume_for_amount(schedule, before=before, amount=value)
        if volume <= 0:
            price = next(p for _t, _low, high, p in schedule.bands() if high is None or before < high)
            raise InvalidInput({field: [_("%(amount)s yuan does not buy 0.01 m³ at %(price)s yuan/m³.") % {
                "amount": value, "price": price}]})
    lines = tuple(price_volume(schedule, before=before, volume=volume))
    return Quote(tariff=tariff, household=card.household, mode=mode, requested=value, cycle_start=start,
                 cycle_before=before, lines=lines)


# Cards ------------------------------------------------------------------------------------------

def _event(card: PrepaidCard, kind: str, actor: Any, at: datetime, **data: Any) -> PrepaidEvent:
    return PrepaidEvent.objects.create(card=card, kind=kind, data=data, unit_id=card.unit_id,
                                       actor=actor if getattr(actor, "pk", None) else None, at=at)


def _card_number(raw: Any) -> str:
    number = str(raw or "").strip().upper()
    if not (4 <= len(number) <= 32 and number.isascii() and number.replace("-", "").isalnum()):
        raise InvalidInput({"number": [_("A card number is 4 to 32 letters, digits or hyphens.")]})
    return number


def _prepaid_meter(meter: Meter) -> None:
    if meter.kind != MeterKind.IC_CARD:
        raise InvalidInput({"meter": [_("Meter %(serial)s is not an IC-card prepaid meter.") % {
            "serial": meter.serial}]})
    if meter.state != MeterState.INSTALLED or meter.service_point_id is None:
        raise InvalidInput({"meter": [_("Meter %(serial)s is not installed anywhere.") % {"serial": meter.serial}]})


def _household(raw: Any, note: str, account: Account) -> str:
    if raw in (None, ""):
        return Household.HEATING if account.customer_class == CustomerClass.GAS_HEATING else Household.STANDARD
    if raw not in Household.values:
        raise InvalidInput({"household": [_("Choose standard, heating or low-income.")]})
    if raw == Household.LOW_INCOME and not note:
        raise InvalidInput({"household_note": [_("Note the low-income certificate (number and issuer).")]})
    return str(raw)


def card_issue(*, actor: Any, meter: Meter, number: Any, account: Account | None = None, household: Any = None,
               household_note: str = "", opening_bought: Any = 0, now: datetime | None = None) -> PrepaidCard:
    """Issue the household's card for its installed IC-card meter (one card per meter)."""
    require(actor, Capability.CARD_SELL)
    now = now or timezone.now()
    card_no = _card_number(number)
    note = (household_note or "").strip()[:200]
    opening = _decimal(opening_bought, "opening_bought", _("Enter m³ as a number, e.g. 123.45."))
    if opening < 0 or opening > MAX_TOTAL or opening != opening.quantize(STEP):
        raise InvalidInput({"opening_bought": [_("At most 12 digits and two decimals, not negative.")]})
    opening = opening.quantize(STEP)
    try:
        with transaction.atomic():
            locked = Meter.objects.select_for_update().filter(pk=meter.pk).first()
            if locked is None or not unit_in_scope(actor, locked.unit):
                raise NotFoundError(_("No such meter in your area."))
            _prepaid_meter(locked)
            accounts = list(Account.objects.select_related("unit").filter(service_point_id=locked.service_point_id)
                            .exclude(status=AccountStatus.CLOSED).order_by("number"))
            if account is not None:
                chosen = next((a for a in accounts if a.pk == account.pk), None)
                if chosen is None:
                    raise InvalidInput({"account": [_("Account %(number)s is not at this meter's service point.") % {
                        "number": account.number}]})
            elif len(accounts) == 1:
                chosen = accounts[0]
            else:
                raise InvalidInput({"account": [_("Name the account: the meter's service point has %(n)d.") % {
                    "n": len(accounts)}]})
            if not unit_in_scope(actor, chosen.unit):
                raise NotFoundError(_("No such meter in your area."))
            held = PrepaidCard.objects.filter(meter=locked, state__in=HOLDS_METER).first()
            if held is not None:
                raise IllegalTransition(_("Meter %(serial)s already has card %(card)s; replace that card instead.")
                                        % {"serial": locked.serial, "card": held.number})
            if PrepaidCard.objects.filter(number=card_no).exists():
                raise InvalidInput({"number": [_("Card %(number)s is already issued.") % {"number": card_no}]})
            kind = _household(household, note, chosen)
            card = PrepaidCard.objects.create(
                number=card_no, meter=locked, account=chosen, unit=chosen.unit, household=kind,
                household_note=note, issued_on=timezone.localdate(now), opening_bought=opening,
                issued_by=actor if getattr(actor, "pk", None) else None)
            _event(card, PrepaidEventKind.ISSUED, actor, now, meter=locked.serial, account=chosen.number,
                   household=kind, opening_bought=str(opening))
    except IntegrityError:
        # Another counter issued the same number, or a card for this meter, at the same moment.
        raise Conflict(_("Card %(number)s or a card for this meter was just issued elsewhere.") % {
            "number": card_no}) from None
    return card


def _locked_card(actor: Any, card: PrepaidCard) -> PrepaidCard:
    locked = (PrepaidCard.objects.select_for_update().select_related("meter", "account", "unit")
              .filter(pk=card.pk).first())
    if locked is None or not unit_in_scope(actor, locked.unit):
        raise NotFoundError(_("No such card in your area."))
    return locked


def _move(card: PrepaidCard, target: str) -> None:
    if target not in CARD_TRANSITIONS.get(card.state, frozenset()):
        raise IllegalTransition(_("Card %(number)s is %(state)s.") % {
            "number": card.number, "state": CardState(card.state).label})
    card.state = target
    card.version += 1
    card.save(update_fields=["state", "version"])


def card_report_lost(*, actor: Any, card: PrepaidCard, reason: str = "", now: datetime | None = None
                     ) -> PrepaidCard:
    """The customer lost the card: nothing more is sold to it until it is replaced."""
    require(actor, Capability.CARD_SELL)
    now = now or timezone.now()
    with transaction.atomic():
        locked = _locked_card(actor, card)
        _move(locked, CardState.LOST)
        _event(locked, PrepaidEventKind.LOST, actor, now, reason=(reason or "").strip()[:200])
    return locked


def card_replace(*, actor: Any, card: PrepaidCard, number: Any, now: datetime | None = None) -> PrepaidCard:
    """A new card for the same meter and household. Its numbering carries on after the old card's
    last sale, and the meter's opening total counts everything sold on the old card: a purchase the
    meter never loaded then shows as a finding for the counter to settle."""
    require(actor, Capability.CARD_SELL)
    now = now or timezone.now()
    card_no = _card_number(number)
    try:
        with transaction.atomic():
            old = _locked_card(actor, card)
            if PrepaidCard.objects.filter(number=card_no).exists():
                raise InvalidInput({"number": [_("Card %(number)s is already issued.") % {"number": card_no}]})
            _move(old, CardState.REPLACED)
            sold = CardPurchase.objects.filter(card=old).aggregate(v=Sum("volume"))["v"] or Decimal(0)
            new = PrepaidCard.objects.create(
                number=card_no, meter_id=old.meter_id, account_id=old.account_id, unit_id=old.unit_id,
                household=old.household, household_note=old.household_note, issued_on=timezone.localdate(now),
                opening_sequence=old.last_sequence, last_sequence=old.last_sequence,
                opening_bought=old.opening_bought + sold, replaces=old,
                issued_by=actor if getattr(actor, "pk", None) else None)
            _event(old, PrepaidEventKind.REPLACED, actor, now, by=new.number)
            _event(new, PrepaidEventKind.ISSUED, actor, now, replaces=old.number, opening_sequence=new.opening_sequence,
                   opening_bought=str(new.opening_bought))
    except IntegrityError:
        raise Conflict(_("Card %(number)s was just issued elsewhere.") % {"number": card_no}) from None
    return new


def card_set_household(*, actor: Any, card: PrepaidCard, household: Any, note: str = "",
                       now: datetime | None = None) -> PrepaidCard:
    """Change the household's price category (heating, low-income with its evidence)."""
    require(actor, Capability.CARD_SELL)
    now = now or timezone.now()
    text = (note or "").strip()[:200]
    if household not in Household.values:
        raise InvalidInput({"household": [_("Choose standard, heating or low-income.")]})
    if household == Household.LOW_INCOME and not text:
        raise InvalidInput({"household_note": [_("Note the low-income certificate (number and issuer).")]})
    with transaction.atomic():
        locked = _locked_card(actor, card)
        if locked.state != CardState.ACTIVE:
            raise IllegalTransition(_("Card %(number)s is %(state)s.") % {
                "number": locked.number, "state": CardState(locked.state).label})
        before = locked.household
        locked.household, locked.household_note = str(household), text
        locked.version += 1
        locked.save(update_fields=["household", "household_note", "version"])
        _event(locked, PrepaidEventKind.HOUSEHOLD, actor, now, before=before, after=str(household), note=text)
    return locked


# Purchases and write-backs ----------------------------------------------------------------------

@dataclass
class Sale:
    purchase: CardPurchase
    created: bool
    write_back: MeterWriteBack | None = None


@dataclass
class WriteBackResult:
    write_back: MeterWriteBack
    created: bool


def _sellable(card: PrepaidCard) -> None:
    if card.state != CardState.ACTIVE:
        raise IllegalTransition(_("Card %(number)s is %(state)s: nothing can be sold to it.") % {
            "number": card.number, "state": CardState(card.state).label})
    _prepaid_meter(card.meter)
    if card.meter.service_point_id != card.account.service_point_id:
        raise IllegalTransition(_("Meter %(serial)s no longer hangs at account %(account)s's service point.") % {
            "serial": card.meter.serial, "account": card.account.number})
    if card.account.status not in SELLABLE:
        raise IllegalTransition(_("Account %(account)s is %(status)s: no gas can be sold.") % {
            "account": card.account.number, "status": AccountStatus(card.account.status).label})


def _replayed_purchase(key: str, card: PrepaidCard, mode: str, quantity: Any) -> CardPurchase | None:
    first = CardPurchase.objects.filter(key=key).first()
    if first is None:
        return None
    same = first.card_id == card.pk and first.mode == mode
    try:
        same = same and Decimal(str(quantity).strip()) == first.requested
    except InvalidOperation:
        same = False
    if not same:
        raise Conflict(_("This idempotency key was already used for purchase #%(seq)d on card %(card)s.") % {
            "seq": first.sequence, "card": first.card.number})
    return first


def _write_back_row(card: PrepaidCard, status: Status, *, actor: Any, now: datetime, prefix: str,
                    key: str | None = None) -> MeterWriteBack:
    """Check the status against the locked card and build its row (not saved)."""
    if status.sequence > card.last_sequence:
        raise InvalidInput({f"{prefix}sequence": [
            _("The meter reports purchase #%(seq)d, but the last one sold on card %(card)s is #%(last)d.") % {
                "seq": status.sequence, "card": card.number, "last": card.last_sequence}]})
    if timezone.localdate(status.read_at) < card.issued_on:
        raise InvalidInput({f"{prefix}read_at": [_("The card was read before it was issued.")]})
    previous = (MeterWriteBack.objects.filter(card=card, read_at__lte=status.read_at)
                .order_by("-read_at", "-id").first())
    expected = expected_bought(card, status.sequence)
    found = status_findings(status, previous=previous, last_sold=card.last_sequence, expected_bought=expected)
    codes = {f["code"] for f in found}
    return MeterWriteBack(
        card=card, meter_id=card.meter_id, unit_id=card.unit_id, sequence=status.sequence,
        last_sold=card.last_sequence, total_used=status.total_used, total_bought=status.total_bought,
        remaining=status.remaining, valve=status.valve, tamper_flags=list(status.tamper_flags),
        expected_bought=expected, findings=found, used_backwards=Finding.USED_BACKWARDS in codes,
        sequence_backwards=Finding.SEQUENCE_BACKWARDS in codes, tampered=bool(status.tamper_flags),
        read_at=status.read_at, key=key, actor=actor if getattr(actor, "pk", None) else None, at=now)


def card_purchase(*, actor: Any, card: PrepaidCard, mode: str, quantity: Any, key: Any = None,
                  write_back: Mapping[str, Any] | None = None, expect_amount: Decimal | None = None,
                  now: datetime | None = None) -> Sale:
    """Sell gas to the card: the next sequence number, the tier split of the cycle, the meter status
    the card brought back (if read) checked and stored. The same key again returns the first sale."""
    require(actor, Capability.CARD_SELL)
    now = now or timezone.now()
    token = parse_key(key)
    if token is not None:
        first = _replayed_purchase(token, card, mode, quantity)
        if first is not None:
            return Sale(first, created=False, write_back=MeterWriteBack.objects.filter(purchase=first).first())
    if not unit_in_scope(actor, card.unit):
        raise NotFoundError(_("No such card in your area."))
    status = parse_status(write_back, now=now, prefix="write_back.") if write_back is not None else None
    try:
        with transaction.atomic():
            locked = _locked_card(actor, card)
            if token is not None:
                # A retry that waited for the first request's lock finds its purchase now.
                first = _replayed_purchase(token, locked, mode, quantity)
                if first is not None:
                    return Sale(first, created=False,
                                write_back=MeterWriteBack.objects.filter(purchase=first).first())
            _sellable(locked)
            quote = purchase_quote(card=locked, mode=mode, quantity=quantity, on=timezone.localdate(now))
            if expect_amount is not None and quote.amount != expect_amount:
                raise Conflict(_("The price changed to %(amount)s yuan since it was shown (%(shown)s yuan); "
                                 "check it with the customer.") % {"amount": quote.amount, "shown": expect_amount})
            wb = _write_back_row(locked, status, actor=actor, now=now, prefix="write_back.") \
                if status is not None else None
            sequence = locked.last_sequence + 1
            purchase = CardPurchase.objects.create(
                card=locked, meter_id=locked.meter_id, account_id=locked.account_id, unit_id=locked.unit_id,
                tariff=quote.tariff, sequence=sequence, mode=mode, requested=quote.requested, volume=quote.volume,
                amount=quote.amount, household=quote.household, cycle_start=quote.cycle_start,
                cycle_before=quote.cycle_before, tiers=[line.as_json() for line in quote.lines], key=token,
                cashier=actor if getattr(actor, "pk", None) else None, at=now)
            if wb is not None:
                wb.purchase = purchase
                wb.save(force_insert=True)
                _event(locked, PrepaidEventKind.WRITE_BACK, actor, now, write_back=wb.pk, sequence=wb.sequence,
                       findings=[f["code"] for f in wb.findings])
            locked.last_sequence = sequence
            locked.version += 1
            locked.save(update_fields=["last_sequence", "version"])
            _event(locked, PrepaidEventKind.PURCHASE, actor, now, purchase=purchase.pk, sequence=sequence,
                   volume=str(purchase.volume), amount=str(purchase.amount))
    except IntegrityError:
        # Two requests with one key raced past the check: the other one made the sale.
        first = CardPurchase.objects.filter(key=token).first() if token is not None else None
        if first is None:
            raise Conflict(_("The card changed meanwhile; try again.")) from None
        return Sale(first, created=False, write_back=MeterWriteBack.objects.filter(purchase=first).first())
    return Sale(purchase, created=True, write_back=wb)


def card_write_back(*, actor: Any, card: PrepaidCard, status: Mapping[str, Any], key: Any = None,
                    now: datetime | None = None) -> WriteBackResult:
    """Store the meter status read from the card without a sale. The same key, or the same status
    read at the same moment, again returns the first row."""
    require(actor, Capability.CARD_SELL)
    now = now or timezone.now()
    token = parse_key(key)
    if not unit_in_scope(actor, card.unit):
        raise NotFoundError(_("No such card in your area."))
    parsed = parse_status(status, now=now)
    try:
        with transaction.atomic():
            locked = _locked_card(actor, card)
            first = _same_write_back(locked, parsed, token)
            if first is not None:
                return WriteBackResult(first, created=False)
            if locked.state != CardState.ACTIVE:
                raise IllegalTransition(_("Card %(number)s is %(state)s.") % {
                    "number": locked.number, "state": CardState(locked.state).label})
            wb = _write_back_row(locked, parsed, actor=actor, now=now, prefix="", key=token)
            wb.save(force_insert=True)
            _event(locked, PrepaidEventKind.WRITE_BACK, actor, now, write_back=wb.pk, sequence=wb.sequence,
                   findings=[f["code"] for f in wb.findings])
    except IntegrityError:
        first = MeterWriteBack.objects.filter(key=token).first() if token is not None else None
        if first is None:
            raise Conflict(_("The card changed meanwhile; try again.")) from None
        return WriteBackResult(first, created=False)
    return WriteBackResult(wb, created=True)


def _same_write_back(card: PrepaidCard, status: Status, key: str | None) -> MeterWriteBack | None:
    if key is not None:
        first = MeterWriteBack.objects.filter(key=key).first()
        if first is not None and (first.card_id != card.pk or first.sequence != status.sequence
                                  or first.total_used != status.total_used):
            raise Conflict(_("This idempotency key was already used for another write-back."))
        if first is not None:
            return first
    return MeterWriteBack.objects.filter(
        card=card, read_at=status.read_at, sequence=status.sequence, total_used=status.total_used,
        total_bought=status.total_bought, remaining=status.remaining, valve=status.valve).first()


def write_back_preview(card: PrepaidCard, raw: Mapping[str, Any], *, now: datetime,
                       prefix: str = "write_back.") -> list[dict[str, Any]]:
    """What a status would be found to say before the sale is made (writes nothing)."""
    status = parse_status(raw, now=now, prefix=prefix)
    return list(_write_back_row(card, status, actor=None, now=now, prefix=prefix).findings)


def cycle_position(card: PrepaidCard, on: date) -> dict[str, Any]:
    """The household's place in the price cycle: for the counter before it sells."""
    tariff = tariff_for(card.unit, on)
    start = cycle_start(on, month=tariff.cycle_month, day=tariff.cycle_day)
    schedule = schedule_for(tariff, card.household)
    bought = cycle_volume(card.account_id, start)
    tier, price, room = 1, schedule.prices[0], None
    for band, _low, high, band_price in schedule.bands():
        if high is None or bought < high:
            tier, price, room = band, band_price, (None if high is None else high - bought)
            break
    return {"tariff": tariff, "start": start, "bought": bought, "tier": tier, "price": price_text(price), "room": room,
            "limits": None if schedule.flat else schedule.limits, "flat": schedule.flat}
