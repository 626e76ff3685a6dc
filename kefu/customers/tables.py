"""Rows for the customer pages: search results and history (personal data masked), manager coverage."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Prefetch, prefetch_related_objects
from django.utils.translation import gettext_lazy as _

from kefu.core.models import FieldChange
from kefu.core.validators import Phone, mask_id_number, mask_phone
from kefu.customers.choices import STATUS_COLOURS
from kefu.customers.models import Account, Contact, Customer
from kefu.customers.selectors import CoverageRow, SearchResult, account_qs
from kefu.org.models import OrgUnit, Staff
from kefu.org.tables import indent_rem

MATCH_LABELS = {
    "account": _("Account number"),
    "phone": _("Phone"),
    "id_number": _("ID number"),
    "name": _("Name"),
    "address": _("Address"),
}
# Fields whose values are personal data: masked in every table, history included.
PERSONAL_FIELDS = {("customers.customer", "id_number"), ("customers.contact", "phone")}


def status_colour(status: str) -> str:
    return STATUS_COLOURS.get(status, "secondary")


@dataclass
class AccountCell:
    account: Account
    colour: str


@dataclass
class SearchRow:
    customer: Customer
    phone: str
    id_number: str
    accounts: list[AccountCell]


def search_rows(result: SearchResult, *, user: Any) -> list[SearchRow]:
    """Two extra queries for the whole page (accounts, contacts), never one per row."""
    customers = result.customers
    prefetch_related_objects(
        customers,
        # Only the accounts the user may see: a customer can hold accounts in several units.
        Prefetch("accounts", queryset=account_qs(user).select_related("premise").order_by("utility", "number")),
        Prefetch("contacts", queryset=Contact.objects.order_by("-is_primary", "id")),
    )
    rows = []
    for customer in customers:
        contacts = list(customer.contacts.all())
        rows.append(SearchRow(
            customer=customer,
            phone=mask_phone(contacts[0].phone) if contacts else "",
            id_number=mask_id_number(customer.id_number),
            accounts=[AccountCell(a, status_colour(a.status)) for a in customer.accounts.all()],
        ))
    return rows


@dataclass
class HistoryRow:
    change: FieldChange
    record: str
    field: str
    old: str
    new: str


def _field(label: str, name: str) -> models.Field | None:
    try:
        model = apps.get_model(label)
        field = model._meta.get_field(name)
    except (LookupError, ValueError, FieldDoesNotExist):
        return None
    return field if isinstance(field, models.Field) else None


def history_rows(changes: Iterable[FieldChange]) -> list[HistoryRow]:
    """Readable history: model and field names, choice labels, unit and staff names, masked personal data."""
    changes = list(changes)
    unit_ids: set[int] = set()
    staff_ids: set[int] = set()
    for c in changes:
        target = {"unit": unit_ids, "manager": staff_ids}.get(c.field)
        if target is not None:
            target.update(int(v) for v in (c.old_value, c.new_value) if v.isdigit())
    units = dict(OrgUnit.objects.filter(pk__in=unit_ids).values_list("pk", "name")) if unit_ids else {}
    staff = {s.pk: s.display_name() for s in Staff.objects.filter(pk__in=staff_ids)} if staff_ids else {}

    def show(label: str, name: str, value: str) -> str:
        if not value:
            return ""
        if (label, name) in PERSONAL_FIELDS:
            return mask_phone(value) if name == "phone" else mask_id_number(value)
        if name == "unit" and value.isdigit():
            return units.get(int(value), value)
        if name == "manager" and value.isdigit():
            return staff.get(int(value), value)
        field = _field(label, name)
        if field is not None and field.choices:
            return str(dict(field.flatchoices).get(value, value))
        return value

    rows = []
    for c in changes:
        field = _field(c.model, c.field)
        try:
            record = str(apps.get_model(c.model)._meta.verbose_name)
        except (LookupError, ValueError):
            record = c.model
        rows.append(HistoryRow(
            change=c, record=record, field=str(field.verbose_name) if field is not None else c.field,
            old=show(c.model, c.field, c.old_value), new=show(c.model, c.field, c.new_value),
        ))
    return rows


def contact_phone(contact: Contact, *, revealed: bool) -> str:
    """The phone as people write it (13812345678, 057187654321), masked unless revealed."""
    if not revealed:
        return mask_phone(contact.phone)
    return Phone(e164=contact.phone, kind=contact.phone_kind, extension="").national


def contact_rows(contacts: Iterable[Contact], *, revealed: bool) -> list[tuple[Contact, str]]:
    return [(c, contact_phone(c, revealed=revealed)) for c in contacts]


# ---- customer-manager coverage ---------------------------------------------------------------

# Share thresholds for the bar colour: a unit under 60 % needs attention, 90 % is the usual target.
_GOOD_SHARE = 0.9
_FAIR_SHARE = 0.6


@dataclass(frozen=True)
class CoverageLine:
    unit: OrgUnit
    accounts: int
    managed: int
    percent: str  # "87.5"
    bar_class: str
    indent: str


def coverage_bar_class(row: CoverageRow) -> str:
    if row.accounts == 0:
        return "bg-secondary"
    if row.share >= _GOOD_SHARE:
        return "bg-success"
    if row.share >= _FAIR_SHARE:
        return "bg-warning"
    return "bg-danger"


def coverage_lines(rows: Iterable[CoverageRow], *, base: int) -> list[CoverageLine]:
    """Table lines for manager_coverage rows, indented relative to depth ``base``."""
    return [
        CoverageLine(
            unit=row.unit, accounts=row.accounts, managed=row.managed, percent=f"{row.share * 100:.1f}",
            bar_class=coverage_bar_class(row), indent=indent_rem(row.unit.depth, base),
        )
        for row in rows
    ]
