"""What meter readers find on their rounds besides the reading (guide §2.3): safety hazards (gas: at
indoor meters, where the customer signs the hazard notice; power: meter boxes and wiring) and
suspected theft (窃电 / 窃气, above all at master meters) become work orders.

``field_note_report`` turns one note about one meter and month into one work order of the type that
fits (``workorders.seed``: the ``meter_round_*`` types), for the account and address of the meter's
service point, taken in through the ``field`` channel and dispatched at once to the unit that owns the
service point's premise. The same note for the same meter, month and kind never makes a second order:
the order carries an intake key made of the three, looked up whoever reported it, under a lock on
the meter row. Another text for the same meter, month and kind goes onto that order's timeline.

Who acts: a meter reader holds ``reading.enter`` but neither ``order.intake`` nor ``order.dispatch``,
and their note is not a customer's request for an agent to take. So this service takes the order in
and dispatches it on the reader's behalf. The reader is recorded as who accepted it (first
responsibility) and as the actor of its events, and the channel says it came from the field. The two
order rights are lent for those two calls only, for an order type the service picks itself, about a
meter the reader may read. A file imported from the command line (no staff member) reports as the
route's reader.

``reading_report`` is one reading from a page or the API with what the reader noted: the reading, its
orders and the settling of a missing-reading exception, in one transaction.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from kefu.core.choices import UtilityKind
from kefu.core.errors import InvalidInput, NotFoundError
from kefu.customers.models import Account, ServicePoint
from kefu.org.choices import Capability
from kefu.org.scope import capabilities, require, unit_in_scope
from kefu.workorders.choices import Channel, EventKind
from kefu.workorders.models import WorkOrder
from kefu.workorders.services import workorder_annotate, workorder_dispatch, workorder_intake

from . import services
from .choices import Location, MeterKind, MeterState, Source
from .models import Meter, Route
from .plans import missing_settle, qualifying_accounts

MAX_NOTE = 500


class NoteKind(models.TextChoices):
    HAZARD = "hazard", _lazy("Safety hazard")
    THEFT = "theft", _lazy("Suspected theft")


# (kind, utility) → order type code (kefu/workorders/seed.py).
ORDER_TYPES: dict[tuple[str, str], str] = {
    (NoteKind.HAZARD, UtilityKind.GAS): "meter_round_gas_hazard",
    (NoteKind.HAZARD, UtilityKind.POWER): "meter_round_power_hazard",
    (NoteKind.THEFT, UtilityKind.GAS): "meter_round_gas_theft",
    (NoteKind.THEFT, UtilityKind.POWER): "meter_round_power_theft",
}

# The rights lent to the reporter for taking in and dispatching the order (see the module text).
LENT_RIGHTS = frozenset({Capability.ORDER_INTAKE, Capability.ORDER_DISPATCH})


@dataclass(frozen=True)
class Raised:
    """The order a note made (``created``), or the one an earlier report of it made."""

    order: WorkOrder
    kind: str
    meter: str
    created: bool


def intake_key(meter: Meter, period: date, kind: str) -> str:
    return f"meter-round:{meter.pk}:{period:%Y-%m}:{kind}"


def note_text(kind: str, text: str | None) -> str:
    """The note as stored, or the error under the kind's field (``hazard`` / ``theft``)."""
    if kind not in NoteKind.values:
        raise InvalidInput({"kind": [_("A note is a safety hazard or suspected theft.")]})
    cleaned = " ".join((text or "").split())
    if kind == NoteKind.HAZARD and not cleaned:
        raise InvalidInput({kind: [_("Describe the hazard.")]})
    if len(cleaned) > MAX_NOTE:
        raise InvalidInput({kind: [_("The note is too long (at most %(n)d characters).") % {"n": MAX_NOTE}]})
    return cleaned


def _reporter(actor: Any, route: Route | None) -> Any:
    if getattr(actor, "pk", None) and getattr(actor, "unit", None) is not None:
        return actor
    reader = route.reader if route is not None else None
    if reader is not None and reader.is_active and reader.unit_id is not None:
        return reader
    raise InvalidInput({"hazard": [_("A hazard or theft order needs a staff member who reports it: import as a "
                                     "named staff member, or give the route its reader.")]})


def _with_lent_rights(reporter: Any) -> Any:
    """A copy of the reporter that also holds the order rights this service needs (scope unchanged)."""
    acting = copy.copy(reporter)
    acting.__dict__["_kefu_caps"] = capabilities(reporter) | LENT_RIGHTS
    return acting


def _account(reporter: Any, sp: ServicePoint, utility: str, period: date) -> Account | None:
    """The account read at the service point (a qualifying one first), if the reporter's area has it."""
    for qs in (qualifying_accounts(utility, period), Account.objects.filter(utility=utility)):
        account = qs.filter(service_point=sp).select_related("unit").order_by("-id").first()
        if account is not None:
            return account if unit_in_scope(reporter, account.unit) else None
    return None


def _content(kind: str, text: str, meter: Meter, sp: ServicePoint, period: date, reporter: Any,
             route: Route | None) -> str:
    where = str(meter.get_location_display())
    if meter.kind == MeterKind.MASTER or meter.location == Location.MASTER:
        where = _("%(where)s, master meter") % {"where": where}
    parts = [_("%(kind)s noted on the meter round of %(month)s by %(reporter)s at meter %(serial)s (%(where)s), "
               "service point %(sp)s.") % {
        "kind": NoteKind(kind).label, "month": f"{period:%Y-%m}", "reporter": reporter, "serial": meter.serial,
        "where": where, "sp": sp.code}]
    if route is not None:
        parts.append(_("Route %(code)s.") % {"code": route.code})
    if text:
        parts.append(text)
    if kind == NoteKind.HAZARD and meter.utility == UtilityKind.GAS and meter.location == Location.INDOOR:
        parts.append(_("Indoor meter: the customer signs the hazard notice on site."))
    return " ".join(parts)


def field_note_report(*, actor: Any, meter: Meter, period: date, kind: str, text: str = "",
                      route: Route | None = None, now: datetime | None = None) -> Raised:
    """One reader's note about one meter and month → one work order (see the module text)."""
    require(actor, Capability.READING_ENTER)
    body = note_text(kind, text)
    if meter.service_point_id is None or meter.state != MeterState.INSTALLED:
        raise InvalidInput({kind: [_("Meter %(serial)s is not installed anywhere.") % {"serial": meter.serial}]})
    sp = ServicePoint.objects.select_related("premise__unit").get(pk=meter.service_point_id)
    premise = sp.premise
    if not unit_in_scope(actor, premise.unit):
        raise NotFoundError(_("No such meter in your area."))
    reporter = _reporter(actor, route)
    period = period.replace(day=1)
    key = intake_key(meter, period, kind)
    now = now or timezone.now()
    with transaction.atomic():
        # Two reports of the same meter wait for each other, so the second finds the first's order.
        Meter.objects.select_for_update().filter(pk=meter.pk).first()
        existing = WorkOrder.objects.select_related("order_type", "handling_unit").filter(intake_key=key) \
            .order_by("id").first()
        if existing is not None:
            if body and body not in existing.content and not existing.events.filter(
                    kind=EventKind.NOTE, data__meter_round=key, text=body).exists():
                workorder_annotate(order=existing, text=body, data={"meter_round": key}, actor=reporter, now=now)
            return Raised(existing, kind, meter.serial, created=False)
        account = _account(reporter, sp, meter.utility, period)
        phone = "" if account is not None else (getattr(reporter, "phone", "") or premise.unit.phone or "")
        if account is None and not phone:
            raise InvalidInput({kind: [_("Meter %(serial)s has no account in your area and your staff record has no "
                                         "phone number, so the order would have no one to call back.") % {
                "serial": meter.serial}]})
        acting = _with_lent_rights(reporter)
        taken = workorder_intake(
            actor=acting, order_type=ORDER_TYPES[(kind, meter.utility)], channel=Channel.FIELD,
            content=_content(kind, body, meter, sp, period, reporter, route), account=account,
            utility=meter.utility, caller_phone=phone, address=premise.address, intake_key=key, now=now)
        if not taken.created:
            return Raised(taken.order, kind, meter.serial, created=False)
        order = workorder_dispatch(actor=acting, order=taken.order, unit=premise.unit,
                                   note=_("Sent to the unit of the premise."), now=now)
    return Raised(order, kind, meter.serial, created=True)


# --------------------------------------------------------------------------- one reading with notes


@dataclass
class Reported:
    recorded: services.Recorded
    orders: list[Raised] = field(default_factory=list)


def reading_report(*, actor: Any, meter: Meter, value: Any, read_on: date, source: str = Source.ACTUAL,
                   register: int = 0, multiplier_given: Any = None, hazard: str = "", theft: bool = False,
                   theft_note: str = "", route: Route | None = None, now: datetime | None = None) -> Reported:
    """Record one reading with the reader's hazard note and theft flag, in one transaction: the
    reading (``services.reading_record``), one order per note, and a late reading settling the
    month's missing-reading exception."""
    require(actor, Capability.READING_ENTER)
    hazard_text = note_text(NoteKind.HAZARD, hazard) if (hazard or "").strip() else ""
    theft_text = note_text(NoteKind.THEFT, theft_note) if theft else ""
    now = now or timezone.now()
    with transaction.atomic():
        recorded = services.reading_record(actor=actor, meter=meter, value=value, read_on=read_on, source=source,
                                           register=register, multiplier_given=multiplier_given, now=now)
        period = recorded.reading.period
        reported = Reported(recorded)
        if hazard_text:
            reported.orders.append(field_note_report(actor=actor, meter=meter, period=period, kind=NoteKind.HAZARD,
                                                     text=hazard_text, route=route, now=now))
        if theft:
            reported.orders.append(field_note_report(actor=actor, meter=meter, period=period, kind=NoteKind.THEFT,
                                                     text=theft_text, route=route, now=now))
        missing_settle(meter_ids=[meter.pk], period=period, actor=actor, now=now)
    return reported
