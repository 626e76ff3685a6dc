"""Writes for the customer registry. Each service is one transaction; changes keep history."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.core.choices import UtilityKind
from kefu.core.errors import Conflict, IllegalTransition, InvalidInput
from kefu.core.services import history_record, sequence_next, snapshot
from kefu.core.validators import (
    luhn_check_digit,
    luhn_valid,
    parse_phone,
    validate_resident_id,
    validate_uscc,
)
from kefu.customers.choices import (
    CLASS_UTILITY,
    INITIAL_STATUS,
    STATUS_TRANSITIONS,
    AccountEventKind,
    AccountStatus,
    CustomerKind,
    IdType,
    Importance,
)
from kefu.customers.models import Account, AccountEvent, Contact, Customer, Premise, ServicePoint
from kefu.org.choices import MANAGER_ROLES, Capability
from kefu.org.models import OrgUnit, Staff
from kefu.org.scope import require, unit_in_scope

CUSTOMER_FIELDS = ("kind", "name", "id_type", "id_number", "unit", "note")
PREMISE_FIELDS = ("province", "city", "district", "street", "community", "building", "entrance", "room",
                  "detail", "region_class", "unit")
ACCOUNT_FIELDS = ("customer_class", "importance", "unit", "premise")
CONTACT_FIELDS = ("name", "relation", "phone", "extension", "is_primary", "note")

# Account numbers: utility digit, 8-digit sequence, Luhn check digit (catches typos on the phone).
ACCOUNT_PREFIX: dict[str, str] = {UtilityKind.POWER: "1", UtilityKind.GAS: "2"}
ACCOUNT_SEQUENCE_KEY = "account:{utility}"


def account_number_make(*, utility: str, seq: int) -> str:
    body = f"{ACCOUNT_PREFIX[utility]}{seq:08d}"
    return body + luhn_check_digit(body)


def account_number_valid(number: str) -> bool:
    """True for numbers this system issued (check digit) — used to route a search to the number."""
    return len(number) == 10 and number[0] in "12" and luhn_valid(number)


def _account_number_issue(utility: str) -> str:
    """Next free number of the sequence; skips any taken by an import or a bulk load."""
    while True:
        seq = sequence_next(key=ACCOUNT_SEQUENCE_KEY.format(utility=utility))
        number = account_number_make(utility=utility, seq=seq)
        if not Account.objects.filter(number=number).exists():
            return number


def _validation_messages(exc: ValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {k: [str(m) for m in v.messages] if isinstance(v, ValidationError) else [str(x) for x in v]
                for k, v in exc.message_dict.items()}
    return {"__all__": [str(m) for m in exc.messages]}


def _full_clean(instance: Any, *, exclude: list[str] | None = None) -> None:
    try:
        instance.full_clean(exclude=exclude, validate_unique=False)
    except ValidationError as exc:
        raise InvalidInput(_validation_messages(exc)) from exc


def _check_unit(actor: Any, unit: OrgUnit | None, field: str = "unit") -> None:
    if unit is None:
        raise InvalidInput({field: [_("Org unit is required.")]})
    if actor is not None and not unit_in_scope(actor, unit):
        raise InvalidInput({field: [_("Unknown org unit.")]})


def _clean_identity(*, kind: str, id_type: str, id_number: str) -> str:
    if kind not in CustomerKind.values:
        raise InvalidInput({"kind": [_("Unknown customer kind.")]})
    if id_type not in IdType.values:
        raise InvalidInput({"id_type": [_("Unknown ID type.")]})
    if kind == CustomerKind.PERSON and id_type == IdType.USCC:
        raise InvalidInput({"id_type": [_("A person is identified by an ID card or passport, not a credit code.")]})
    if kind == CustomerKind.ORGANISATION and id_type == IdType.RESIDENT_ID:
        raise InvalidInput({"id_type": [_("An organisation is identified by its unified social credit code.")]})
    try:
        if id_type == IdType.RESIDENT_ID:
            return validate_resident_id(id_number)
        if id_type == IdType.USCC:
            return validate_uscc(id_number)
    except ValidationError as exc:
        raise InvalidInput({"id_number": [str(m) for m in exc.messages]}) from exc
    number = id_number.strip().upper()
    if not 5 <= len(number) <= 32:
        raise InvalidInput({"id_number": [_("Document number must be 5 to 32 characters.")]})
    return number


@transaction.atomic
def customer_create(
    *, kind: str, name: str, id_type: str, id_number: str, unit: OrgUnit, actor: Any | None, note: str = ""
) -> Customer:
    if actor is not None:
        require(actor, Capability.CUSTOMER_EDIT)
    _check_unit(actor, unit)
    number = _clean_identity(kind=kind, id_type=id_type, id_number=id_number)
    customer = Customer(kind=kind, name=name.strip(), id_type=id_type, id_number=number, unit=unit, note=note)
    _full_clean(customer)
    customer.save()
    return customer


@transaction.atomic
def customer_update(*, customer: Customer, actor: Any, version: int | None = None, **changes: Any) -> Customer:
    require(actor, Capability.CUSTOMER_EDIT)
    unknown = set(changes) - set(CUSTOMER_FIELDS)
    if unknown:
        raise InvalidInput({f: [_("This field cannot be changed here.")] for f in sorted(unknown)})
    if "unit" in changes:
        _check_unit(actor, changes["unit"])
    current = Customer.objects.select_for_update().get(pk=customer.pk)
    if version is not None and current.version != version:
        raise Conflict(_("This customer was changed by someone else meanwhile. Reload and try again."))
    before = snapshot(current, CUSTOMER_FIELDS)
    for key, value in changes.items():
        setattr(current, key, value.strip() if isinstance(value, str) else value)
    current.id_number = _clean_identity(kind=current.kind, id_type=current.id_type, id_number=current.id_number)
    _full_clean(current)
    current.version = F("version") + 1
    current.save()
    current.refresh_from_db()
    history_record(instance=current, before=before, after=snapshot(current, CUSTOMER_FIELDS), actor=actor)
    return current


@transaction.atomic
def premise_create(*, actor: Any | None, unit: OrgUnit, **fields: Any) -> Premise:
    if actor is not None:
        require(actor, Capability.CUSTOMER_EDIT)
    _check_unit(actor, unit)
    unknown = set(fields) - set(PREMISE_FIELDS)
    if unknown:
        raise InvalidInput({f: [_("Unknown field.")] for f in sorted(unknown)})
    premise = Premise(unit=unit, **{k: (v.strip() if isinstance(v, str) else v) for k, v in fields.items()})
    premise.address = premise.compose_address()
    _full_clean(premise)
    premise.save()
    return premise


@transaction.atomic
def premise_update(*, premise: Premise, actor: Any, **changes: Any) -> Premise:
    require(actor, Capability.CUSTOMER_EDIT)
    unknown = set(changes) - set(PREMISE_FIELDS)
    if unknown:
        raise InvalidInput({f: [_("This field cannot be changed here.")] for f in sorted(unknown)})
    if "unit" in changes:
        _check_unit(actor, changes["unit"])
    current = Premise.objects.select_for_update().get(pk=premise.pk)
    before = snapshot(current, PREMISE_FIELDS)
    for key, value in changes.items():
        setattr(current, key, value.strip() if isinstance(value, str) else value)
    current.address = current.compose_address()
    _full_clean(current)
    current.save()
    history_record(instance=current, before=before, after=snapshot(current, PREMISE_FIELDS), actor=actor)
    return current


def _event(account: Account, *, kind: str, actor: Any, at: dt.datetime, **kw: Any) -> AccountEvent:
    return AccountEvent.objects.create(
        account=account, kind=kind, actor=actor if getattr(actor, "pk", None) else None, at=at, **kw
    )


@transaction.atomic
def account_open(
    *,
    customer: Customer,
    premise: Premise,
    utility: str,
    customer_class: str,
    actor: Any | None,
    unit: OrgUnit | None = None,
    importance: str = Importance.NORMAL,
    number: str | None = None,
    opened_on: dt.date | None = None,
) -> Account:
    """Open an account. ``number`` may be given (legacy import); otherwise one is issued."""
    if actor is not None:
        require(actor, Capability.CUSTOMER_EDIT)
    unit = unit or premise.unit
    _check_unit(actor, unit)
    errors: dict[str, list[str]] = {}
    if utility not in UtilityKind.values:
        errors["utility"] = [_("Unknown utility kind.")]
    elif CLASS_UTILITY.get(customer_class) != utility:
        errors["customer_class"] = [_("This customer class does not belong to the chosen utility kind.")]
    if importance not in Importance.values:
        errors["importance"] = [_("Unknown importance grade.")]
    if number is not None:
        number = number.strip()
        if not number.isdigit() or not 6 <= len(number) <= 20:
            errors["number"] = [_("Account number must be 6 to 20 digits.")]
        elif Account.objects.filter(number=number).exists():
            errors["number"] = [_("Account number %(number)s already exists.") % {"number": number}]
        elif account_number_valid(number):
            # The issued format is reserved for the sequence: a hand-typed one would collide later.
            errors["number"] = [_("Account number %(number)s has the format of numbers this system issues; "
                                  "legacy numbers must use another length or prefix.") % {"number": number}]
    if errors:
        raise InvalidInput(errors)
    if number is None:
        number = _account_number_issue(utility)
    now = timezone.now()
    account = Account(
        number=number, customer=customer, premise=premise, utility=utility,
        customer_class=customer_class, importance=importance, status=INITIAL_STATUS[utility],
        status_changed_at=now, unit=unit, opened_on=opened_on or timezone.localdate(),
    )
    _full_clean(account, exclude=["service_point"])
    try:
        with transaction.atomic():
            account.service_point = ServicePoint.objects.create(premise=premise, utility=utility, code=f"SP{number}")
            account.save()
    except IntegrityError as exc:
        raise InvalidInput({"number": [_("Account number %(number)s already exists.") % {"number": number}]}) from exc
    _event(account, kind=AccountEventKind.OPENED, actor=actor, at=now, to_status=account.status)
    return account


@transaction.atomic
def account_update(*, account: Account, actor: Any, **changes: Any) -> Account:
    require(actor, Capability.CUSTOMER_EDIT)
    unknown = set(changes) - set(ACCOUNT_FIELDS)
    if unknown:
        raise InvalidInput({f: [_("This field cannot be changed here.")] for f in sorted(unknown)})
    if "unit" in changes:
        _check_unit(actor, changes["unit"])
    current = Account.objects.select_for_update().get(pk=account.pk)
    before = snapshot(current, ACCOUNT_FIELDS)
    for key, value in changes.items():
        setattr(current, key, value)
    if CLASS_UTILITY.get(current.customer_class) != current.utility:
        raise InvalidInput({"customer_class": [_("This customer class does not belong to the chosen utility kind.")]})
    _full_clean(current)
    current.version = F("version") + 1
    current.save()
    current.refresh_from_db()
    after = snapshot(current, ACCOUNT_FIELDS)
    rows = history_record(instance=current, before=before, after=after, actor=actor)
    if rows:
        _event(current, kind=AccountEventKind.UPDATED, actor=actor, at=timezone.now(),
               data={r.field: [r.old_value, r.new_value] for r in rows})
    return current


def account_allowed_statuses(account: Account) -> list[str]:
    return sorted(STATUS_TRANSITIONS[account.utility].get(account.status, frozenset()))


@transaction.atomic
def account_change_status(*, account: Account, to_status: str, actor: Any, reason: str = "") -> Account:
    """Move an account along its transition table. Concurrent moves: the loser gets a conflict."""
    require(actor, Capability.ACCOUNT_STATUS)
    if to_status not in AccountStatus.values:
        raise InvalidInput({"to_status": [_("Unknown account status.")]})
    if len(reason) > 200:
        raise InvalidInput({"reason": [_("Reason is too long (at most %(n)d characters).") % {"n": 200}]})
    table = STATUS_TRANSITIONS[account.utility]
    from_status = account.status
    if to_status not in table.get(from_status, frozenset()):
        raise IllegalTransition(
            _("Account %(number)s cannot go from “%(src)s” to “%(dst)s”.") % {
                "number": account.number,
                "src": AccountStatus(from_status).label,
                "dst": AccountStatus(to_status).label,
            },
            field="to_status",
        )
    now = timezone.now()
    # Conditional update: only succeeds if nobody moved the account since we read it.
    moved = Account.objects.filter(pk=account.pk, status=from_status).update(
        status=to_status, status_changed_at=now, version=F("version") + 1, updated_at=now
    )
    if not moved:
        raise Conflict(_("Account %(number)s was changed by someone else meanwhile. Reload and try again.")
                       % {"number": account.number})
    _event(account, kind=AccountEventKind.STATUS, actor=actor, at=now, from_status=from_status,
           to_status=to_status, reason=reason)
    account.refresh_from_db()
    return account


@transaction.atomic
def account_assign_manager(*, account: Account, manager: Staff | None, actor: Any, reason: str = "") -> Account:
    require(actor, Capability.ACCOUNT_MANAGER)
    if manager is not None:
        if not manager.has_role(*MANAGER_ROLES):
            raise InvalidInput({"manager": [_("%(name)s is not a customer manager.") % {"name": manager}]})
        if manager.unit is None or not (
            account.unit.path.startswith(manager.unit.path) or manager.unit.path.startswith(account.unit.path)
        ):
            raise InvalidInput({"manager": [_("The manager must work in the account's unit or a unit above it.")]})
        if not unit_in_scope(actor, manager.unit) and not unit_in_scope(actor, account.unit):
            raise InvalidInput({"manager": [_("Unknown staff member.")]})
    old = account.manager_id
    if old == (manager.pk if manager else None):
        return account
    now = timezone.now()
    # Conditional update: if someone else assigned a manager since we read the account, we lose.
    moved = Account.objects.filter(pk=account.pk, manager_id=old).update(
        manager=manager, version=F("version") + 1, updated_at=now
    )
    if not moved:
        raise Conflict(_("Account %(number)s was changed by someone else meanwhile. Reload and try again.")
                       % {"number": account.number})
    account.manager = manager
    _event(account, kind=AccountEventKind.MANAGER, actor=actor, at=now, reason=reason,
           data={"from": old, "to": manager.pk if manager else None})
    history_record(instance=account, before={"manager": str(old or "")},
                   after={"manager": str(manager.pk if manager else "")}, actor=actor, reason=reason)
    return account


@dataclass(frozen=True)
class ContactInput:
    name: str
    phone: str
    relation: str = "self"
    is_primary: bool = False
    note: str = ""


@transaction.atomic
def contact_add(*, customer: Customer, actor: Any | None, name: str, phone: str, relation: str = "self",
                is_primary: bool = False, note: str = "") -> Contact:
    if actor is not None:
        require(actor, Capability.CUSTOMER_EDIT)
    try:
        parsed = parse_phone(phone)
    except ValidationError as exc:
        raise InvalidInput({"phone": [str(m) for m in exc.messages]}) from exc
    contact = Contact(customer=customer, name=name.strip(), relation=relation, phone=parsed.e164,
                      phone_kind=parsed.kind, extension=parsed.extension[:10], is_primary=is_primary, note=note)
    _full_clean(contact)
    if is_primary:
        Contact.objects.filter(customer=customer, is_primary=True).update(is_primary=False)
    contact.save()
    if actor is not None:  # loaders without an actor record no history for first states
        fields = ("customer", *CONTACT_FIELDS)
        history_record(instance=contact, before={}, after=snapshot(contact, fields), actor=actor, reason="added")
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, actor: Any, **changes: Any) -> Contact:
    require(actor, Capability.CUSTOMER_EDIT)
    unknown = set(changes) - set(CONTACT_FIELDS)
    if unknown:
        raise InvalidInput({f: [_("This field cannot be changed here.")] for f in sorted(unknown)})
    before = snapshot(contact, CONTACT_FIELDS)
    if "phone" in changes:
        try:
            parsed = parse_phone(changes.pop("phone"))
        except ValidationError as exc:
            raise InvalidInput({"phone": [str(m) for m in exc.messages]}) from exc
        contact.phone, contact.phone_kind = parsed.e164, parsed.kind
        contact.extension = parsed.extension[:10] or changes.pop("extension", "")
    for key, value in changes.items():
        setattr(contact, key, value)
    _full_clean(contact)
    if contact.is_primary:
        Contact.objects.filter(customer=contact.customer_id, is_primary=True).exclude(pk=contact.pk).update(
            is_primary=False
        )
    contact.save()
    history_record(instance=contact, before=before, after=snapshot(contact, CONTACT_FIELDS), actor=actor)
    return contact


@transaction.atomic
def contact_remove(*, contact: Contact, actor: Any) -> None:
    require(actor, Capability.CUSTOMER_EDIT)
    fields = ("customer", *CONTACT_FIELDS)
    history_record(instance=contact, before=snapshot(contact, fields),
                   after={f: "" for f in fields}, actor=actor, reason="removed")
    contact.delete()


@transaction.atomic
def customer_register(
    *,
    actor: Any | None,
    unit: OrgUnit,
    customer: dict[str, Any],
    premise: dict[str, Any],
    account: dict[str, Any],
    contacts: list[ContactInput],
) -> Account:
    """New customer with premise, first account and contacts, all or nothing.

    Errors of every part are collected, prefixed with the part ("premise.city"), so a form can show
    them all at once.
    """
    errors: dict[str, list[str]] = {}

    def collect(prefix: str, exc: InvalidInput) -> None:
        for key, msgs in exc.errors.items():
            errors.setdefault(f"{prefix}.{key}", []).extend(msgs)

    new_customer: Customer | None = None
    new_premise: Premise | None = None
    sid = transaction.savepoint()
    try:
        new_customer = customer_create(actor=actor, unit=unit, **customer)
    except InvalidInput as exc:
        collect("customer", exc)
    try:
        new_premise = premise_create(actor=actor, unit=unit, **premise)
    except InvalidInput as exc:
        collect("premise", exc)
    if not contacts:
        errors["contacts.0.phone"] = [_("At least one contact phone is required.")]
    for i, c in enumerate(contacts):
        try:
            parse_phone(c.phone)
        except ValidationError as exc:
            errors.setdefault(f"contacts.{i}.phone", []).extend(str(m) for m in exc.messages)
        if not c.name.strip():
            errors.setdefault(f"contacts.{i}.name", []).append(_("Contact name is required."))
    if errors or new_customer is None or new_premise is None:
        transaction.savepoint_rollback(sid)
        raise InvalidInput(errors)
    try:
        opened = account_open(actor=actor, customer=new_customer, premise=new_premise, unit=unit, **account)
    except InvalidInput as exc:
        transaction.savepoint_rollback(sid)
        collect("account", exc)
        raise InvalidInput(errors) from exc
    for i, c in enumerate(contacts):
        contact_add(customer=new_customer, actor=actor, name=c.name, phone=c.phone, relation=c.relation,
                    is_primary=c.is_primary or i == 0, note=c.note)
    transaction.savepoint_commit(sid)
    return opened
