"""Reading validation (guide §5). Pure checks over a candidate reading and its history, so that one
reading on a page and a million from a handheld file go through the same rules; thresholds come
from ``ValidationRule`` rows.

Consumption is the register difference (across a rollover when the register wrapped, or from the
new meter's initial reading after a replacement) times the meter's multiplier."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext as _

from .choices import Rule, Source
from .models import ValidationRule

ZERO = Decimal("0")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Thresholds:
    enabled: frozenset[str]
    high_average_factor: Decimal = Decimal("3")
    high_average_months: int = 6
    high_last_year_factor: Decimal = Decimal("3")
    zero_months: int = 3
    estimate_months: int = 2

    @classmethod
    def load(cls) -> Thresholds:
        rows = {r.rule: r for r in ValidationRule.objects.all()}
        enabled = frozenset(code for code, r in rows.items() if r.enabled)

        def factor(code: str, default: Decimal) -> Decimal:
            row = rows.get(code)
            return row.factor if row is not None and row.factor is not None else default

        def months(code: str, default: int) -> int:
            row = rows.get(code)
            return row.months if row is not None and row.months else default

        return cls(enabled=enabled, high_average_factor=factor(Rule.HIGH_AVERAGE, Decimal("3")),
                   high_average_months=months(Rule.HIGH_AVERAGE, 6),
                   high_last_year_factor=factor(Rule.HIGH_LAST_YEAR, Decimal("3")),
                   zero_months=months(Rule.ZERO, 3), estimate_months=months(Rule.CONSECUTIVE_ESTIMATES, 2))


@dataclass
class History:
    """What the rules need to know about the meter's past, read in one query per chunk."""

    previous: Decimal | None = None  # the last billable reading before this month (or the initial one)
    replaced: bool = False  # the meter was installed this month: ``previous`` is its initial reading
    consumptions: list[Decimal] = field(default_factory=list)  # earlier months, newest first
    last_year: Decimal | None = None  # the same month a year ago
    sources: list[str] = field(default_factory=list)  # earlier months' sources, newest first


@dataclass(frozen=True)
class Candidate:
    value: Decimal
    period: date
    source: str
    rollover: Decimal
    multiplier: Decimal
    registers_given: int = 1
    registers_expected: int = 1
    multiplier_given: Decimal | None = None
    serial: str = ""  # the meter number on file
    serial_found: str = ""  # the number the reader found at the service point, when it was written down


@dataclass(frozen=True)
class Finding:
    rule: str
    detail: str
    data: dict[str, str]


def consumption(c: Candidate, h: History) -> tuple[Decimal | None, bool]:
    """(consumption, wrapped). None when there is no previous reading to measure from."""
    if h.previous is None:
        return None, False
    diff = c.value - h.previous
    wrapped = False
    # A register close to its limit that starts again at a small value has rolled over, not gone back.
    if diff < 0 and h.previous >= c.rollover * Decimal("0.9") and c.value < c.rollover * Decimal("0.1"):
        diff += c.rollover
        wrapped = True
    return (diff * c.multiplier).quantize(CENT, ROUND_HALF_UP), wrapped


def check(c: Candidate, h: History, t: Thresholds) -> tuple[Decimal | None, list[Finding]]:
    """Consumption and the rules the reading breaks."""
    used, _wrapped = consumption(c, h)
    found: list[Finding] = []

    def hit(rule: str, detail: str, **data: object) -> None:
        if rule in t.enabled:
            found.append(Finding(rule, detail, {k: str(v) for k, v in data.items()}))

    if c.registers_given != c.registers_expected:
        hit(Rule.REGISTER_MISMATCH, _("%(given)d registers read, the meter has %(expected)d.") % {
            "given": c.registers_given, "expected": c.registers_expected},
            given=c.registers_given, expected=c.registers_expected)
    if c.serial_found and c.serial and c.serial_found != c.serial:
        hit(Rule.METER_MISMATCH, _("Meter %(found)s found at the service point, %(expected)s on file.") % {
            "found": c.serial_found, "expected": c.serial}, found=c.serial_found, expected=c.serial)
    if c.multiplier_given is not None and c.multiplier_given != c.multiplier:
        hit(Rule.MULTIPLIER_CHANGE, _("Multiplier %(given)s on the sheet, %(expected)s on file.") % {
            "given": c.multiplier_given, "expected": c.multiplier}, given=c.multiplier_given, expected=c.multiplier)
    if used is not None and used < 0:
        hit(Rule.BELOW_PREVIOUS, _("Reading %(value)s is below the previous %(previous)s.") % {
            "value": c.value, "previous": h.previous}, value=c.value, previous=h.previous)
        return used, found
    if used is not None:
        recent = h.consumptions[: t.high_average_months]
        average = sum(recent, ZERO) / len(recent) if recent else ZERO
        if average > 0 and used > average * t.high_average_factor:
            hit(Rule.HIGH_AVERAGE, _("Consumption %(used)s is more than %(factor)s× the average %(avg)s.") % {
                "used": used, "factor": t.high_average_factor, "avg": average.quantize(Decimal("0.01"))},
                used=used, average=average.quantize(Decimal("0.01")))
        if h.last_year and h.last_year > 0 and used > h.last_year * t.high_last_year_factor:
            hit(Rule.HIGH_LAST_YEAR, _("Consumption %(used)s is more than %(factor)s× last year's %(last)s.") % {
                "used": used, "factor": t.high_last_year_factor, "last": h.last_year}, used=used, last_year=h.last_year)
        zeros = [x for x in h.consumptions[: t.zero_months - 1] if x == 0]
        if used == 0 and len(zeros) == t.zero_months - 1 and len(h.consumptions) >= t.zero_months - 1:
            hit(Rule.ZERO, _("No consumption for %(n)d months.") % {"n": t.zero_months}, months=t.zero_months)
    if c.source == Source.ESTIMATED:
        earlier = h.sources[: t.estimate_months - 1]
        if len(earlier) == t.estimate_months - 1 and all(s == Source.ESTIMATED for s in earlier):
            hit(Rule.CONSECUTIVE_ESTIMATES, _("%(n)d estimated readings in a row.") % {"n": t.estimate_months},
                months=t.estimate_months)
    return used, found
