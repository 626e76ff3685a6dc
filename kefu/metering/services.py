"""Writes for metering: meters and their installation history, single readings (page, API, head-end)
with validation, corrections that keep the original, and the analyst's decisions on exceptions.
Each write is one transaction; a reading that breaks a rule is stored in the exceptions queue and
never reaches billing until the analyst decides."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.core.errors import Conflict, IllegalTransition, InvalidInput, NotFoundError
from kefu.customers.models import ServicePoint
from kefu.org.choices import Capability
from kefu.org.scope import require, unit_in_scope

from . import validation
from .choices import BILLABLE, MeterEventKind, MeterState, ReadingState, Resolution, Rule, Source
from .models import Meter, MeterEvent, Reading, ReadingCorrection, ReadingException
from .selectors import meter_at

MAX_VALUE = Decimal("999999999999.99")


def month_of(day: date) -> date:
    return day.replace(day=1)


def parse_value(raw: Any, field: str) -> Decimal:
    """A non-negative register value with at most two decimals, or a clear error."""
    text = str(raw if raw is not None else "").strip().replace(",", "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise InvalidInput({field: [_("Enter the reading as a number, e.g. 1234.5.")]}) from None
    if not value.is_finite():
        raise InvalidInput({field: [_("Enter the reading as a number, e.g. 1234.5.")]})
    if value < 0:
        raise InvalidInput({field: [_("A reading cannot be negative.")]})
    if value > MAX_VALUE or value != value.quantize(Decimal("0.01")):
        raise InvalidInput({field: [_("A reading has at most 12 digits and 2 decimals.")]})
    return value


# Meters ----------------------------------------------------------------------------------------

def meter_install(*, actor: Any, meter: Meter, service_point: ServicePoint, on: date,
                  initial_reading: Decimal = Decimal("0")) -> MeterEvent:
    """Hang a meter in stock on a service point that has none."""
    require(actor, Capability.METER_EDIT)
    with transaction.atomic():
        locked = Meter.objects.select_for_update().get(pk=meter.pk)
        if locked.state != MeterState.IN_STOCK:
            raise IllegalTransition(_("Meter %(serial)s is not in stock.") % {"serial": locked.serial})
        if locked.utility != service_point.utility:
            raise InvalidInput({"meter": [_("A %(utility)s meter cannot measure this service point.") % {
                "utility": locked.get_utility_display()}]})
        if meter_at(service_point, on) is not None:
            raise IllegalTransition(_("The service point already has a meter; replace it instead."))
        event = MeterEvent.objects.create(service_point=service_point, meter=locked, kind=MeterEventKind.INSTALL,
                                          installed_on=on, initial_reading=initial_reading, actor=actor)
        locked.state, locked.service_point = MeterState.INSTALLED, service_point
        locked.version += 1
        locked.save(update_fields=["state", "service_point", "version"])
    return event


def meter_remove(*, actor: Any, service_point: ServicePoint, on: date, final_reading: Decimal) -> MeterEvent:
    require(actor, Capability.METER_EDIT)
    with transaction.atomic():
        event = (MeterEvent.objects.select_for_update().select_related("meter")
                 .filter(service_point=service_point, removed_on__isnull=True).order_by("-installed_on").first())
        if event is None:
            raise IllegalTransition(_("The service point has no meter to remove."))
        if on < event.installed_on:
            raise InvalidInput({"on": [_("The removal date is before the installation.")]})
        event.removed_on, event.final_reading = on, final_reading
        event.save(update_fields=["removed_on", "final_reading"])
        meter = event.meter
        meter.state, meter.service_point = MeterState.REMOVED, None
        meter.version += 1
        meter.save(update_fields=["state", "service_point", "version"])
    return event


def meter_replace(*, actor: Any, service_point: ServicePoint, new_meter: Meter, on: date, final_reading: Decimal,
                  initial_reading: Decimal = Decimal("0")) -> MeterEvent:
    """Old meter out with its final reading, new one in with its initial reading, on one day."""
    with transaction.atomic():
        meter_remove(actor=actor, service_point=service_point, on=on, final_reading=final_reading)
        event = meter_install(actor=actor, meter=new_meter, service_point=service_point, on=on,
                              initial_reading=initial_reading)
        event.kind = MeterEventKind.REPLACE
        event.save(update_fields=["kind"])
    return event


# Readings --------------------------------------------------------------------------------------

def history(meter: Meter, period: date, register: int) -> validation.History:
    """The meter's past for the rules: its last billable reading (however old), the year before
    this month for the averages, and its installation when it was never read."""
    rows = list(Reading.objects.filter(meter=meter, register=register, period__lt=period,
                                       period__gte=date(period.year - 1, period.month, 1))
                .order_by("-period").values_list("period", "value", "consumption", "source", "state"))
    billable = [r for r in rows if r[4] in BILLABLE]
    h = validation.History()
    if billable:
        h.previous = billable[0][1]
    else:
        last = (Reading.objects.filter(meter=meter, register=register, period__lt=period, state__in=BILLABLE)
                .order_by("-period").values_list("value", flat=True).first())
        if last is not None:
            h.previous = last
        else:
            event = MeterEvent.objects.filter(meter=meter).order_by("-installed_on").first()
            if event is not None:
                h.previous, h.replaced = event.initial_reading, True
    h.consumptions = [r[2] for r in billable if r[2] is not None]
    h.sources = [r[3] for r in rows]
    year_ago = date(period.year - 1, period.month, 1)
    h.last_year = next((r[2] for r in billable if r[0] == year_ago), None)
    return h


@dataclass
class Recorded:
    reading: Reading
    exceptions: list[ReadingException]
    created: bool


def reading_record(*, actor: Any, meter: Meter, value: Any, read_on: date, source: str = Source.ACTUAL,
                   register: int = 0, period: date | None = None, multiplier_given: Any = None,
                   registers_given: int | None = None, batch: Any = None, now: datetime | None = None,
                   meter_found: str = "") -> Recorded:
    """Enter one register reading. The same value again is a no-op (a retried request); another
    value for a month already read goes to the queue as a duplicate, never over the first."""
    require(actor, Capability.READING_ENTER)
    now = now or timezone.now()
    amount = parse_value(value, "value")
    if source not in Source.values:
        raise InvalidInput({"source": [_("Unknown reading source.")]})
    if read_on > timezone.localdate(now):
        raise InvalidInput({"read_on": [_("A reading cannot be dated in the future.")]})
    if meter.service_point_id is None or meter.state != MeterState.INSTALLED:
        raise InvalidInput({"meter": [_("Meter %(serial)s is not installed anywhere.") % {"serial": meter.serial}]})
    sp = ServicePoint.objects.select_related("premise__unit").get(pk=meter.service_point_id)
    if not unit_in_scope(actor, sp.premise.unit):
        raise NotFoundError(_("No such meter in your area."))
    given_multiplier = None
    if multiplier_given not in (None, ""):
        try:
            given_multiplier = Decimal(str(multiplier_given))
        except InvalidOperation:
            raise InvalidInput({"multiplier": [_("The multiplier must be a number.")]}) from None
    month = period or month_of(read_on)
    with transaction.atomic():
        existing = Reading.objects.select_for_update().filter(meter=meter, period=month, register=register).first()
        if existing is not None and existing.state == ReadingState.SUPERSEDED:
            return _reread(existing, actor=actor, meter=meter, amount=amount, read_on=read_on, source=source,
                           batch=batch, now=now)
        if existing is not None:
            if existing.value == amount:
                return Recorded(existing, [], created=False)
            detail = _("A second reading %(new)s for a month already read (%(old)s).") % {
                "new": amount, "old": existing.value}
            dup = _raise(existing, meter, month, Rule.DUPLICATE, detail,
                         {"value": str(amount), "read_on": read_on.isoformat()}, now)
            return Recorded(existing, [dup] if dup else [], created=False)
        candidate = validation.Candidate(
            value=amount, period=month, source=source, rollover=meter.rollover, multiplier=meter.multiplier,
            registers_given=registers_given or meter.registers, registers_expected=meter.registers,
            multiplier_given=given_multiplier, serial=meter.serial, serial_found=meter_found)
        hist = history(meter, month, register)
        used, findings = validation.check(candidate, hist, validation.Thresholds.load())
        reading = Reading.objects.create(
            meter=meter, service_point=sp, period=month, register=register, value=amount, consumption=used,
            previous=hist.previous,
            read_on=read_on, source=source, state=ReadingState.EXCEPTION if findings else ReadingState.VALID,
            reader=actor if getattr(actor, "pk", None) else None, batch=batch, unit=sp.premise.unit, created_at=now)
        raised = [e for f in findings if (e := _raise(reading, meter, month, f.rule, f.detail, f.data, now))]
    return Recorded(reading, raised, created=True)


def _reread(existing: Reading, *, actor: Any, meter: Meter, amount: Decimal, read_on: date, source: str,
            batch: Any, now: datetime) -> Recorded:
    """The new value of a month sent back for a re-read takes the set-aside reading's place; the
    old value stays as a correction."""
    candidate = validation.Candidate(value=amount, period=existing.period, source=source, rollover=meter.rollover,
                                     multiplier=meter.multiplier, registers_expected=meter.registers,
                                     registers_given=meter.registers)
    hist = history(meter, existing.period, existing.register)
    used, findings = validation.check(candidate, hist, validation.Thresholds.load())
    ReadingCorrection.objects.create(reading=existing, old_value=existing.value, new_value=amount,
                                     old_source=existing.source, reason=_("Re-read"), actor=actor
                                     if getattr(actor, "pk", None) else None, at=now)
    existing.value, existing.consumption, existing.previous = amount, used, hist.previous
    existing.read_on, existing.source, existing.batch = read_on, source, batch
    existing.reader = actor if getattr(actor, "pk", None) else None
    existing.state = ReadingState.EXCEPTION if findings else ReadingState.VALID
    existing.save(update_fields=["value", "consumption", "previous", "read_on", "source", "batch", "reader",
                                 "state"])
    # The rules were judged again on the new value: earlier decisions on this month stay as they were.
    raised = []
    for f in findings:
        exc, _created = ReadingException.objects.update_or_create(
            meter=meter, period=existing.period, rule=f.rule,
            defaults={"reading": existing, "detail": f.detail[:300], "data": f.data, "unit": existing.unit,
                      "raised_at": now, "resolution": Resolution.OPEN, "note": "", "resolved_by": None,
                      "resolved_at": None})
        raised.append(exc)
    return Recorded(existing, raised, created=False)


def _raise(reading: Reading, meter: Meter, month: date, rule: str, detail: str, data: dict[str, str],
           now: datetime) -> ReadingException | None:
    exc, created = ReadingException.objects.get_or_create(
        meter=meter, period=month, rule=rule,
        defaults={"reading": reading, "detail": detail[:300], "data": data, "unit": reading.unit, "raised_at": now})
    return exc if created else None


def reading_correct(*, actor: Any, reading: Reading, value: Any, reason: str, source: str | None = None,
                    now: datetime | None = None) -> Reading:
    """A new value with the reason; the original stays in ``ReadingCorrection``."""
    require(actor, Capability.READING_REVIEW)
    text = (reason or "").strip()
    if not text:
        raise InvalidInput({"reason": [_("Say why the reading is corrected.")]})
    amount = parse_value(value, "value")
    now = now or timezone.now()
    with transaction.atomic():
        locked = Reading.objects.select_for_update().select_related("meter").get(pk=reading.pk)
        if not unit_in_scope(actor, locked.unit):
            raise NotFoundError(_("No such reading in your area."))
        ReadingCorrection.objects.create(reading=locked, old_value=locked.value, new_value=amount,
                                         old_source=locked.source, reason=text[:200], actor=actor, at=now)
        h = history(locked.meter, locked.period, locked.register)
        used, _wrapped = validation.consumption(validation.Candidate(
            value=amount, period=locked.period, source=source or locked.source, rollover=locked.meter.rollover,
            multiplier=locked.meter.multiplier), h)
        locked.value, locked.consumption = amount, used
        locked.source = source or locked.source
        locked.state = ReadingState.CORRECTED
        locked.save(update_fields=["value", "consumption", "source", "state"])
    return locked


def exception_lock(actor: Any, exception: ReadingException) -> ReadingException:
    """The exception, locked for a decision inside the caller's transaction: in the actor's area
    (404 otherwise) and still open (409 otherwise)."""
    locked = ReadingException.objects.select_for_update().filter(pk=exception.pk).first()
    if locked is None or not unit_in_scope(actor, locked.unit):
        raise NotFoundError(_("No such exception in your area."))
    if locked.resolution != Resolution.OPEN:
        raise Conflict(_("This exception was already decided."))
    return locked


RESOLUTIONS = frozenset({Resolution.ACCEPTED, Resolution.CORRECTED, Resolution.ESTIMATED, Resolution.REREAD})


def exception_resolve(*, actor: Any, exception: ReadingException, resolution: str, value: Any = None,
                      note: str = "", now: datetime | None = None) -> ReadingException:
    """The analyst's decision: accept the reading, correct it (with the reason), replace it by an
    estimate, or send the meter back for a re-read (the reading is set aside)."""
    require(actor, Capability.READING_REVIEW)
    if resolution not in RESOLUTIONS:
        raise InvalidInput({"resolution": [_("Choose accept, correct, estimate or re-read.")]})
    text = (note or "").strip()
    if resolution != Resolution.ACCEPTED and not text:
        raise InvalidInput({"note": [_("Give the reason for this decision.")]})
    now = now or timezone.now()
    with transaction.atomic():
        locked = exception_lock(actor, exception)
        reading = locked.reading
        if resolution in (Resolution.CORRECTED, Resolution.ESTIMATED):
            if reading is None:
                raise IllegalTransition(_("There is no reading to correct; enter one instead."))
            source = Source.ESTIMATED if resolution == Resolution.ESTIMATED else None
            reading_correct(actor=actor, reading=reading, value=value, reason=text, source=source, now=now)
        elif reading is not None:
            still_open = (ReadingException.objects.filter(reading=reading, resolution=Resolution.OPEN)
                          .exclude(pk=locked.pk).exists())
            if resolution == Resolution.REREAD:
                Reading.objects.filter(pk=reading.pk).update(state=ReadingState.SUPERSEDED)
            elif not still_open and reading.state == ReadingState.EXCEPTION:
                Reading.objects.filter(pk=reading.pk).update(state=ReadingState.ACCEPTED)
        locked.resolution, locked.note, locked.resolved_by, locked.resolved_at = resolution, text[:300], actor, now
        locked.save(update_fields=["resolution", "note", "resolved_by", "resolved_at"])
    return locked
