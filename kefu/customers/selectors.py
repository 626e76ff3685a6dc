"""Reads for the customer registry. Every list and detail is narrowed by the user's scope."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.http import Http404

from kefu.core.models import FieldChange
from kefu.core.validators import normalize_id_number, try_parse_phone
from kefu.customers.models import Account, AccountEvent, Contact, Customer, Premise
from kefu.org.choices import MANAGER_ROLES, Capability
from kefu.org.models import PATH_STEP, OrgUnit, Staff
from kefu.org.scope import for_user, has_capability
from kefu.org.selectors import staff_qs

_ID_LIKE = re.compile(r"^(\d{17}[\dXx]|[0-9A-HJ-NPQRTUWXY]{18})$")


def customer_qs(user: Any) -> QuerySet[Customer]:
    return for_user(Customer.objects.all(), user, capability=Capability.CUSTOMER_VIEW)


def account_qs(user: Any) -> QuerySet[Account]:
    return for_user(Account.objects.all(), user, capability=Capability.CUSTOMER_VIEW)


def premise_qs(user: Any) -> QuerySet[Premise]:
    return for_user(Premise.objects.all(), user, capability=Capability.CUSTOMER_VIEW)


def contact_qs(user: Any) -> QuerySet[Contact]:
    return for_user(Contact.objects.all(), user, field="customer__unit", capability=Capability.CUSTOMER_VIEW)


def _prefix(qs: QuerySet[Any], column: str, text: str) -> QuerySet[Any]:
    """Index-friendly prefix match: LIKE 'x%' on PostgreSQL (pattern_ops index), a range on SQLite."""
    if connection.vendor == "sqlite":
        return qs.filter(**{f"{column}__gte": text, f"{column}__lt": text + "\U0010ffff"})
    return qs.filter(**{f"{column}__startswith": text})


@dataclass
class SearchResult:
    kind: str  # what the query was taken as: account, phone, id_number, name, address, empty
    customers: list[Customer] = field(default_factory=list)
    has_more: bool = False


def customer_search(*, user: Any, query: str, limit: int = 20, after_id: int | None = None) -> SearchResult:
    """The agent's main lookup. Works out what the query is and uses the matching index.

    Digits that form an account number hit the unique number index; a phone number in any common
    spelling is normalised and matched exactly on the contact phone index; an 18-character ID number
    hits the ID index; other text is a name prefix, then address words.
    """
    text = " ".join(query.split())
    scoped = customer_qs(user).order_by("id")
    if not text:
        return SearchResult(kind="empty")
    kind, candidates = _search_candidates(scoped, text, premise_qs(user))
    if after_id:
        candidates = candidates.filter(id__gt=after_id)
    rows = list(candidates.select_related("unit")[: limit + 1])
    return SearchResult(kind=kind, customers=rows[:limit], has_more=len(rows) > limit)


def _search_candidates(
    scoped: QuerySet[Customer], text: str, scoped_premises: QuerySet[Premise]
) -> tuple[str, QuerySet[Customer]]:
    """Decide what the query is (independent of the page, so page 2 matches page 1)."""
    digits = re.sub(r"[\s\-]", "", text)
    if digits.isdigit():
        by_number = scoped.filter(accounts__number=digits)
        # Only an in-scope account counts: an out-of-scope number must not reveal that it exists.
        if by_number.exists():
            return "account", by_number
    if (phone := try_parse_phone(text)) is not None:
        return "phone", scoped.filter(id__in=Contact.objects.filter(phone=phone.e164).values("customer_id"))
    if _ID_LIKE.match(digits):
        return "id_number", scoped.filter(id_number=normalize_id_number(digits))
    by_name = _prefix(scoped, "name", text)
    if by_name.exists():
        return "name", by_name
    # Premises are narrowed to the user's units before the cap, so a busy street elsewhere cannot
    # crowd out the user's own customers.
    premises = scoped_premises
    for word in text.split():
        premises = premises.filter(address__contains=word)
    return "address", scoped.filter(accounts__premise__in=premises.order_by("id").values("id")[:500]).distinct()


def customer_get(*, user: Any, pk: int) -> Customer:
    customer = customer_qs(user).select_related("unit").filter(pk=pk).first()
    if customer is None:
        raise Http404
    return customer


def customer_lookup_phone(
    *, user: Any, phone: str, queryset: QuerySet[Customer] | None = None
) -> list[Customer]:
    """Customers with a contact on this phone (any spelling), in scope, at most 50.

    ``queryset`` lets a caller add its own select/prefetch so the lookup is one round of queries.
    """
    parsed = try_parse_phone(phone)
    if parsed is None:
        return []
    ids = Contact.objects.filter(phone=parsed.e164).values("customer_id")
    base = queryset if queryset is not None else customer_qs(user)
    return list(base.filter(id__in=ids).order_by("id")[:50])


def customer_lookup_account(
    *, user: Any, number: str, queryset: QuerySet[Customer] | None = None
) -> Customer | None:
    base = queryset if queryset is not None else customer_qs(user)
    return base.filter(accounts__number=number.strip()).first()


def _contact_ids_ever(customer: Customer) -> list[int]:
    """Contacts the customer has or had: removed ones live on only in their history rows."""
    current = list(customer.contacts.values_list("id", flat=True))
    removed = FieldChange.objects.filter(model="customers.contact", field="customer", old_value=str(customer.pk)
                                         ).values_list("object_id", flat=True)
    return current + list(removed)


@dataclass
class CustomerCard:
    customer: Customer
    accounts: list[Account]
    premises: list[Premise]
    contacts: list[Contact]
    events: list[AccountEvent]
    changes: list[FieldChange]
    can_see_personal: bool


def customer_card(*, user: Any, pk: int) -> CustomerCard:
    customer = customer_get(user=user, pk=pk)
    accounts = list(
        account_qs(user).filter(customer=customer)
        .select_related("premise", "premise__unit", "manager", "unit", "service_point")
        .order_by("utility", "number")
    )
    premises = list({a.premise_id: a.premise for a in accounts}.values())
    events = list(
        AccountEvent.objects.filter(account__in=[a.pk for a in accounts]).select_related("actor", "account")[:50]
    )
    changes = list(
        FieldChange.objects.filter(
            Q(model="customers.customer", object_id=customer.pk)
            | Q(model="customers.account", object_id__in=[a.pk for a in accounts])
            | Q(model="customers.premise", object_id__in=[p.pk for p in premises])
            | Q(model="customers.contact", object_id__in=_contact_ids_ever(customer))
        ).select_related("actor")[:50]
    )
    return CustomerCard(
        customer=customer,
        accounts=accounts,
        premises=premises,
        contacts=list(customer.contacts.all()),
        events=events,
        changes=changes,
        can_see_personal=has_capability(user, Capability.PERSONAL_DATA),
    )


@dataclass
class CoverageRow:
    unit: OrgUnit
    accounts: int
    managed: int

    @property
    def share(self) -> float:
        return self.managed / self.accounts if self.accounts else 0.0


def manager_coverage(*, user: Any, parent: OrgUnit | None = None) -> list[CoverageRow]:
    """Share of accounts with a customer manager, for each visible unit (its whole subtree).

    One grouped query counts accounts per unit; each count is then added to the unit and its
    ancestors by reading the ids off the unit's path (depth steps per unit, not units × units).
    """
    units = list(OrgUnit.objects.for_user(user))
    by_id = {u.pk: u for u in units}
    totals: dict[int, list[int]] = {u.pk: [0, 0] for u in units}
    accounts = account_qs(user)
    if parent is not None:
        accounts = accounts.filter(unit__path__startswith=parent.path)
    # Only active managers count: a deactivated manager looks after nobody.
    managed = Count("manager_id", filter=Q(manager__is_active=True))
    for row in accounts.values("unit_id").annotate(total=Count("id"), managed=managed):
        unit = by_id.get(row["unit_id"])
        if unit is None:
            continue
        for step in unit.path.split(".")[:-1]:
            bucket = totals.get(int(step))
            if bucket is not None:
                bucket[0] += row["total"]
                bucket[1] += row["managed"]
    if parent is not None:
        units = [u for u in units if u.parent_id == parent.pk or u.pk == parent.pk]
    return [CoverageRow(unit=u, accounts=totals[u.pk][0], managed=totals[u.pk][1]) for u in units]


def manager_candidates(*, user: Any, account: Account) -> QuerySet[Staff]:
    """Active customer managers the user can see who may take the account.

    The service accepts a manager in the account's unit, a unit above it, or a unit below it; the
    units above are the prefixes of the account unit's materialised path.
    """
    path = account.unit.path
    step = PATH_STEP + 1  # "000012." per level
    ancestors = [path[:end] for end in range(step, len(path) + 1, step)]
    return (
        staff_qs(user)
        .filter(is_active=True, roles__role__in=MANAGER_ROLES)
        .filter(Q(unit__path__in=ancestors) | Q(unit__path__startswith=path))
        .select_related("unit")
        .distinct()
        .order_by("unit__path", "full_name", "username")
    )


def accounts_managed_by(*, user: Any, manager: Staff) -> QuerySet[Account]:
    """A customer manager's portfolio, within what the viewer may see."""
    return account_qs(user).filter(manager=manager).select_related("customer", "premise").order_by("number")
