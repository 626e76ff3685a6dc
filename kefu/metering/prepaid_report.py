"""Reads for IC-card prepaid gas: scoped card lists and one card's history, and the reconciliation of
what was sold with what the meters report (per card and for a unit), with its Excel export.

Reconciliation, per card (the latest write-back is the meter's current word):
- sequence numbers sold on the card with gaps (``sold_gap``);
- purchases sold before the latest write-back that the meter had not loaded (``not_loaded``);
- total bought on the meter ≠ the card's opening total + the purchases it loaded (``bought_mismatch``);
- remaining ≠ bought − used (``remaining_mismatch``); valve closed with credit left (``valve_closed``);
- over the card's whole history: purchase number or total used going backwards, tamper flags raised.
Purchases sold after the latest write-back are only "awaiting" (the customer has not been back yet).
The per-card figures come from SQL subqueries, so a unit's report is one pass over its cards.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import IO, Any

from django.db.models import Count, DecimalField, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.core.errors import NotFoundError
from kefu.core.models import AuditLog
from kefu.core.services import audit_record
from kefu.org.choices import Capability
from kefu.org.models import OrgUnit
from kefu.org.scope import for_user, has_capability, require, unit_in_scope

from .models import CardPurchase, MeterWriteBack, PrepaidCard, PrepaidEvent
from .prepaid import STEP, finding_text, m3, sequences_text
from .prepaid_choices import CardState, Finding, ValveState

CHUNK = 500
HISTORY = (Finding.SEQUENCE_BACKWARDS, Finding.USED_BACKWARDS, Finding.TAMPER)
VOLUME: DecimalField[Decimal, Decimal] = DecimalField(max_digits=16, decimal_places=2)


# Cards ------------------------------------------------------------------------------------------

def may_view_cards(user: Any) -> bool:
    return has_capability(user, Capability.CARD_SELL) or has_capability(user, Capability.READING_REVIEW)


def require_card_view(user: Any) -> None:
    if not may_view_cards(user):
        require(user, Capability.CARD_SELL)  # raises the 403 naming the action


def card_scope(user: Any) -> QuerySet[PrepaidCard]:
    """Cards of the user's units, whatever the role: a card elsewhere is a 404, the role a 403."""
    return for_user(PrepaidCard.objects.all(), user)


def card_list(user: Any, *, q: str = "", state: str = "") -> QuerySet[PrepaidCard]:
    qs = card_scope(user) if may_view_cards(user) else PrepaidCard.objects.none()
    text = (q or "").strip()
    if text:
        qs = qs.filter(Q(number__iexact=text) | Q(account__number=text) | Q(meter__serial=text))
    if state:
        qs = qs.filter(state=state)
    return qs.select_related("meter", "account", "unit").order_by("-id")


def card_get(user: Any, pk: int | None) -> PrepaidCard | None:
    if not pk:
        return None
    return (card_scope(user).select_related("meter", "account__premise", "account__customer", "unit", "replaces")
            .filter(pk=pk).first())


def card_by_number(user: Any, number: str) -> PrepaidCard | None:
    text = (number or "").strip().upper()
    if not text:
        return None
    return card_scope(user).select_related("meter", "account__premise", "unit").filter(number=text).first()


def card_purchases(card: PrepaidCard) -> QuerySet[CardPurchase]:
    return CardPurchase.objects.filter(card=card).select_related("cashier", "tariff").order_by("-sequence")


def card_write_backs(card: PrepaidCard) -> QuerySet[MeterWriteBack]:
    return MeterWriteBack.objects.filter(card=card).select_related("purchase", "actor").order_by("-read_at", "-id")


def card_events(card: PrepaidCard) -> QuerySet[PrepaidEvent]:
    return PrepaidEvent.objects.filter(card=card).select_related("actor").order_by("-at", "-id")


# Reconciliation ---------------------------------------------------------------------------------

@dataclass
class CardRow:
    card_id: int
    number: str
    state: str
    account: str
    meter: str
    unit: str
    last_sold: int
    sold: int
    last_loaded: int | None
    awaiting: int
    read_at: datetime | None
    total_bought: Decimal | None
    expected_bought: Decimal | None
    total_used: Decimal | None
    remaining: Decimal | None
    valve: str
    findings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def state_label(self) -> str:
        return str(CardState(self.state).label)

    @property
    def codes(self) -> list[str]:
        return [f["code"] for f in self.findings]

    def texts(self) -> list[str]:
        return [finding_text(f) for f in self.findings]


@dataclass
class Reconciliation:
    unit: OrgUnit | None
    cards: int = 0
    rows: list[CardRow] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    truncated: bool = False
    flagged: int = 0  # cards with findings, listed or not


def _sub(qs: QuerySet[Any], expr: Any, output: Any) -> Coalesce:
    # One aggregate per outer card; order_by() so the model's ordering does not enter the GROUP BY.
    return Coalesce(Subquery(qs.order_by().values("card").annotate(v=expr).values("v")[:1], output_field=output),
                    0 if isinstance(output, IntegerField) else Decimal(0), output_field=output)


def _annotated(qs: QuerySet[PrepaidCard]) -> QuerySet[PrepaidCard]:
    purchases = CardPurchase.objects.filter(card=OuterRef("pk"))
    backs = MeterWriteBack.objects.filter(card=OuterRef("pk"))
    latest = backs.order_by("-read_at", "-id")
    return qs.annotate(
        sold=_sub(purchases, Count("id"), IntegerField()),
        wb_seq=Subquery(latest.values("sequence")[:1]),
        wb_last_sold=Subquery(latest.values("last_sold")[:1]),
        wb_bought=Subquery(latest.values("total_bought")[:1]),
        wb_used=Subquery(latest.values("total_used")[:1]),
        wb_remaining=Subquery(latest.values("remaining")[:1]),
        wb_valve=Subquery(latest.values("valve")[:1]),
        wb_read_at=Subquery(latest.values("read_at")[:1]),
        history=_sub(backs.filter(Q(used_backwards=True) | Q(sequence_backwards=True) | Q(tampered=True)),
                     Count("id"), IntegerField()),
    ).annotate(
        loaded=_sub(purchases.filter(sequence__lte=OuterRef("wb_seq")), Sum("volume"), VOLUME),
    )


FIELDS = ("id", "number", "state", "account__number", "meter__serial", "unit__name", "last_sequence",
          "opening_sequence", "opening_bought", "sold", "wb_seq", "wb_last_sold", "wb_bought", "wb_used",
          "wb_remaining", "wb_valve", "wb_read_at", "history", "loaded")


def _q(value: Decimal | None) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(STEP)


def _row(v: dict[str, Any]) -> tuple[CardRow, bool]:
    """The card's current findings, and whether its history or missing numbers must be looked up."""
    seq = v["wb_seq"]
    expected = (v["opening_bought"] + v["loaded"]) if seq is not None else None
    row = CardRow(
        card_id=v["id"], number=v["number"], state=v["state"], account=v["account__number"],
        meter=v["meter__serial"], unit=v["unit__name"], last_sold=v["last_sequence"], sold=v["sold"],
        last_loaded=seq, awaiting=v["last_sequence"] - (v["wb_last_sold"] if seq is not None
                                                        else v["opening_sequence"]),
        read_at=v["wb_read_at"], total_bought=_q(v["wb_bought"]), expected_bought=_q(expected),
        total_used=_q(v["wb_used"]), remaining=_q(v["wb_remaining"]), valve=v["wb_valve"] or "")
    gap = v["sold"] != v["last_sequence"] - v["opening_sequence"]
    if seq is not None:
        if seq < v["wb_last_sold"]:
            row.findings.append({"code": Finding.NOT_LOADED.value, "loaded": seq,
                                 "numbers": sequences_text(range(seq + 1, v["wb_last_sold"] + 1))})
        if v["wb_bought"] != expected:
            row.findings.append({"code": Finding.BOUGHT_MISMATCH.value, "meter": m3(v["wb_bought"]),
                                 "expected": m3(expected)})
        balance = v["wb_bought"] - v["wb_used"]
        if balance < 0 or v["wb_remaining"] != balance:
            row.findings.append({"code": Finding.REMAINING_MISMATCH.value, "remaining": m3(v["wb_remaining"]),
                                 "expected": m3(balance)})
        if v["wb_valve"] == ValveState.CLOSED and v["wb_remaining"] > 0:
            row.findings.append({"code": Finding.VALVE_CLOSED_WITH_CREDIT.value,
                                 "remaining": m3(v["wb_remaining"])})
    return row, gap or v["history"] > 0


def _chunks(items: list[CardRow], size: int = CHUNK) -> Iterator[list[CardRow]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _add_details(rows: list[CardRow], opening: dict[int, int]) -> None:
    """Missing sequence numbers and the history findings, for the cards that have them."""
    for chunk in _chunks(rows):
        by_id = {r.card_id: r for r in chunk}
        sold: dict[int, set[int]] = {}
        for card_id, seq in CardPurchase.objects.filter(card_id__in=by_id).values_list("card_id", "sequence"):
            sold.setdefault(card_id, set()).add(seq)
        history: dict[int, list[dict[str, Any]]] = {}
        flags: dict[int, set[str]] = {}
        backs = (MeterWriteBack.objects.filter(card_id__in=by_id)
                 .filter(Q(used_backwards=True) | Q(sequence_backwards=True) | Q(tampered=True))
                 .order_by("card_id", "read_at", "id").values_list("card_id", "findings", "tamper_flags"))
        for card_id, found, tamper in backs:
            history.setdefault(card_id, []).extend(
                f for f in found if f.get("code") in (Finding.SEQUENCE_BACKWARDS, Finding.USED_BACKWARDS))
            flags.setdefault(card_id, set()).update(tamper or [])
        for card_id, row in by_id.items():
            missing = set(range(opening[card_id] + 1, row.last_sold + 1)) - sold.get(card_id, set())
            extra: list[dict[str, Any]] = []
            if missing:
                extra.append({"code": Finding.SOLD_GAP.value, "numbers": sequences_text(missing)})
            extra += history.get(card_id, [])
            if flags.get(card_id):
                extra.append({"code": Finding.TAMPER.value, "flags": sorted(flags[card_id])})
            row.findings = extra + row.findings


def _flush(batch: list[tuple[CardRow, int | None]]) -> list[CardRow]:
    needing = [(row, opening) for row, opening in batch if opening is not None]
    if needing:
        _add_details([row for row, _o in needing], {row.card_id: opening for row, opening in needing})
    return [row for row, _o in batch]


def reconcile(cards: QuerySet[PrepaidCard]) -> Iterator[CardRow]:
    """Every card of ``cards`` with its findings (an empty list when all reconciles), in chunks."""
    batch: list[tuple[CardRow, int | None]] = []
    for values in _annotated(cards).order_by("number").values(*FIELDS).iterator(chunk_size=2000):
        row, needs_detail = _row(values)
        batch.append((row, values["opening_sequence"] if needs_detail else None))
        if len(batch) >= CHUNK:
            yield from _flush(batch)
            batch = []
    yield from _flush(batch)


def card_reconciliation(card: PrepaidCard) -> CardRow:
    return next(reconcile(PrepaidCard.objects.filter(pk=card.pk)))


def reconciliation(user: Any, *, unit: OrgUnit, limit: int | None = None) -> Reconciliation:
    """The unit's cards (and those below it) that do not reconcile, with counts per finding."""
    require(user, Capability.READING_REVIEW)
    if not unit_in_scope(user, unit):
        raise NotFoundError(_("No such unit in your area."))
    cards = card_scope(user).filter(unit__path__startswith=unit.path)
    report = Reconciliation(unit=unit, counts={code: 0 for code in Finding.values})
    flagged = 0
    for row in reconcile(cards):
        report.cards += 1
        if not row.findings:
            continue
        flagged += 1
        for code in set(row.codes):
            report.counts[code] += 1
        if limit is None or len(report.rows) < limit:
            report.rows.append(row)
        else:
            report.truncated = True
    report.flagged = flagged
    return report


# Excel ------------------------------------------------------------------------------------------

def _columns() -> list[str]:
    return [_("Card"), _("State"), _("Account"), _("Meter"), _("Unit"), _("Last purchase sold"),
            _("Last purchase loaded"), _("Awaiting the meter"), _("Read at"), _("Bought on the meter (m³)"),
            _("Bought per purchases (m³)"), _("Used (m³)"), _("Remaining (m³)"), _("Valve"), _("Findings"),
            _("Details")]


def _cells(row: CardRow) -> list[str]:
    def text(value: Any) -> str:
        return "" if value is None else str(value)
    read_at = timezone.localtime(row.read_at).strftime("%Y-%m-%d %H:%M") if row.read_at else ""
    return [row.number, str(CardState(row.state).label), row.account, row.meter, row.unit, str(row.last_sold),
            text(row.last_loaded), str(row.awaiting), read_at, text(row.total_bought), text(row.expected_bought),
            text(row.total_used), text(row.remaining), str(ValveState(row.valve).label) if row.valve else "",
            "; ".join(str(Finding(c).label) for c in row.codes), " ".join(row.texts())]


def write_xlsx(report: Reconciliation, rows: Iterable[CardRow], out: IO[bytes]) -> int:
    """A summary sheet of counts per finding and one row per card that does not reconcile. Every
    cell is text, so card and meter numbers keep their leading zeros."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    summary = book.create_sheet(_("Summary"))
    summary.append([_("Unit"), report.unit.name if report.unit else ""])
    summary.append([_("Cards checked"), str(report.cards)])
    for code in Finding.values:
        summary.append([str(Finding(code).label), str(report.counts.get(code, 0))])
    sheet = book.create_sheet(_("Cards"))
    sheet.append(_columns())
    count = 0
    for row in rows:
        sheet.append(_cells(row))
        count += 1
    book.save(out)
    return count


def reconciliation_export(*, actor: Any, unit: OrgUnit, out: IO[bytes], ip: str | None = None) -> int:
    """Write the unit's reconciliation as Excel; recorded in the audit log."""
    report = reconciliation(actor, unit=unit)
    count = write_xlsx(report, report.rows, out)
    audit_record(actor=actor, action=AuditLog.Action.EXPORT, instance=unit, ip=ip,
                 detail={"what": "prepaid_reconciliation", "unit": unit.code, "format": "xlsx", "rows": count})
    return count
