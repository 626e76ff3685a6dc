"""Reads of the agent desk: the live call and its customer cards (with the known outages over them),
the call log, the callback queue and the IVR's self-service answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Max, Min, Q, QuerySet
from django.http import Http404
from django.utils import dateformat, timezone, translation
from django.utils.translation import gettext as _

from kefu.core.api import parse_id
from kefu.core.validators import try_parse_phone
from kefu.customers.models import Account, Contact, Customer
from kefu.customers.selectors import account_qs, customer_qs
from kefu.org.choices import Capability
from kefu.org.scope import for_user
from kefu.outages.choices import LIVE, STATUS_COLOURS
from kefu.outages.models import AffectedAccount, Outage
from kefu.outages.selectors import BANNER_HORIZON, live_for_accounts
from kefu.workorders.choices import OPEN_STATUSES
from kefu.workorders.models import WorkOrder
from kefu.workorders.selectors import workorder_qs

from .choices import CallbackStatus, CallState
from .models import Call, CallOrder, Extension

WRAP_UP = timedelta(minutes=30)  # an ended call stays on the desk this long until its result is recorded
RECENT_ORDERS = 10
RECENT_CALLS = 5
BANNER_ACCOUNTS = 50  # candidate accounts looked up for outages (as kefu.outages.selectors.live_for_accounts)
BANNER_OUTAGES = 5


def call_qs(user: Any) -> QuerySet[Call]:
    """Calls of the units in the user's scope (an agent's own calls are always in their unit)."""
    return for_user(Call.objects.all(), user, capability=Capability.DESK)


def extension_of(user: Any) -> Extension | None:
    return Extension.objects.filter(agent=user).first()


def desk_call(user: Any, *, now: datetime | None = None) -> Call | None:
    """The call on the agent's desk: the live one at their extension, else the last ended one still
    waiting for its result (wrap-up)."""
    live = Call.objects.filter(agent=user, state__in=[CallState.RINGING, CallState.TALKING]).order_by(
        "-started_at").first()
    if live is not None:
        return live
    since = (now or timezone.now()) - WRAP_UP
    return Call.objects.filter(agent=user, result="", ended_at__gte=since,
                               state=CallState.COMPLETED).order_by("-ended_at").first()


def desk_stamp(user: Any) -> str:
    """A short token that changes whenever the desk's call changes: the poll returns nothing new
    while it stays the same."""
    call = desk_call(user)
    return f"{call.pk}.{call.version}" if call else "none"


@dataclass
class CandidateCard:
    customer: Customer
    accounts: list[Account]
    open_orders: list[WorkOrder] = field(default_factory=list)
    recent_orders: list[WorkOrder] = field(default_factory=list)

    @property
    def in_arrears(self) -> bool:
        return any(a.arrears_amount > 0 for a in self.accounts)

    @property
    def importance(self) -> str:
        """The highest importance grade among the customer's accounts (its label)."""
        grades = [a for a in self.accounts if a.importance != "normal"]
        return grades[0].get_importance_display() if grades else ""

    @property
    def managers(self) -> list[Any]:
        return list({a.manager_id: a.manager for a in self.accounts if a.manager_id}.values())


def moment_text(value: datetime) -> str:
    """A moment as an agent or the IVR reads it out: 12月1日 18:00 in Chinese, Dec 1 18:00 in English."""
    local = timezone.localtime(value)
    if (translation.get_language() or "").lower().startswith("zh"):
        return f"{local.month}月{local.day}日 {local:%H:%M}"
    return dateformat.format(local, "M j H:i")


@dataclass
class OutageBanner:
    """A live outage over some of the candidate accounts: the banner at the top of the call card."""

    outage: Outage
    accounts: list[Account]  # the candidate accounts it cuts off
    now: datetime

    @property
    def in_force(self) -> bool:
        return self.outage.planned_start <= self.now

    @property
    def status_colour(self) -> str:
        return STATUS_COLOURS.get(self.outage.status, "danger")

    @property
    def start_text(self) -> str:
        return moment_text(self.outage.planned_start)

    @property
    def end_text(self) -> str:
        return moment_text(self.outage.planned_end)

    @property
    def say(self) -> str:
        """The sentence the agent reads to the caller."""
        if self.in_force:
            return _("Known outage: supply expected to be restored at %(end)s.") % {"end": self.end_text}
        return _("Announced outage from %(start)s: supply expected to be restored at %(end)s.") % {
            "start": self.start_text, "end": self.end_text}


def outage_banners(accounts: list[Account], *, now: datetime | None = None) -> list[OutageBanner]:
    """The live outages over the accounts (in force, or starting within the banner horizon), nearest
    start first, each with the accounts it covers. One query: the same outages as
    ``kefu.outages.selectors.live_for_accounts`` (a test holds them equal), read from the affected
    accounts so that the desk also knows which of the caller's accounts each one cuts off."""
    by_id = {a.pk: a for a in accounts[:BANNER_ACCOUNTS]}
    if not by_id:
        return []
    now = now or timezone.now()
    rows = (
        AffectedAccount.objects.filter(account_id__in=list(by_id), outage__status__in=list(LIVE),
                                       outage__planned_start__lte=now + BANNER_HORIZON,
                                       outage__actual_end__isnull=True)
        .select_related("outage").order_by("outage__planned_start", "outage_id", "account_id")
        [: BANNER_ACCOUNTS * BANNER_OUTAGES]
    )
    banners: dict[int, OutageBanner] = {}
    for row in rows:
        banner = banners.get(row.outage_id)
        if banner is None:
            if len(banners) == BANNER_OUTAGES:
                continue
            banner = banners[row.outage_id] = OutageBanner(row.outage, [], now)
        banner.accounts.append(by_id[row.account_id])
    order = {pk: i for i, pk in enumerate(by_id)}
    for banner in banners.values():
        banner.accounts.sort(key=lambda a: order[a.pk])
    return list(banners.values())


@dataclass
class DeskCard:
    call: Call
    candidates: list[CandidateCard]
    recent_calls: list[Call]
    linked_orders: list[CallOrder]
    outages: list[OutageBanner] = field(default_factory=list)

    @property
    def unknown(self) -> bool:
        return not self.candidates


def desk_card(user: Any, call: Call) -> DeskCard:
    """Everything the screen pop shows, in a fixed number of queries whatever the number of
    candidates, accounts and outages (the outage banner is one query)."""
    ids = list(call.candidates or [])
    if call.customer_id and call.customer_id not in ids:
        ids.insert(0, call.customer_id)
    if call.customer_id:  # the identified customer first
        ids.sort(key=lambda pk: pk != call.customer_id)
    customers = customer_qs(user).in_bulk(ids)
    accounts = list(
        account_qs(user).filter(customer_id__in=list(customers))
        .select_related("premise", "manager", "unit").order_by("utility", "number")
    )
    by_customer: dict[int, list[Account]] = {}
    for account in accounts:
        by_customer.setdefault(account.customer_id, []).append(account)
    cards = {pk: CandidateCard(customers[pk], by_customer.get(pk, [])) for pk in ids if pk in customers}
    if cards:
        orders = (
            workorder_qs(user).filter(customer_id__in=list(cards))
            .select_related("order_type", "handling_unit").order_by("-accepted_at")
        )
        open_orders = list(orders.filter(status__in=list(OPEN_STATUSES))[:50])
        recent = list(orders.exclude(status__in=list(OPEN_STATUSES))[: RECENT_ORDERS * 2])
        for order in open_orders:
            cards[order.customer_id].open_orders.append(order)
        for order in recent:
            card = cards[order.customer_id]
            if len(card.recent_orders) < RECENT_ORDERS:
                card.recent_orders.append(order)
    recent_calls: list[Call] = []
    if call.caller_e164:
        recent_calls = list(
            Call.objects.filter(caller_e164=call.caller_e164).exclude(pk=call.pk)
            .select_related("agent").order_by("-started_at")[:RECENT_CALLS]
        )
    links = list(call.order_links.select_related("order", "order__order_type").order_by("at"))
    # The accounts of the customers shown, the identified account first.
    shown = sorted((a for card in cards.values() for a in card.accounts), key=lambda a: a.pk != call.account_id)
    return DeskCard(call, list(cards.values()), recent_calls, links, outage_banners(shown))


def call_get(user: Any, pk: int) -> Call:
    if parse_id(pk) is None:  # an id too big for the column is simply not there
        raise Http404
    call = call_qs(user).select_related("agent", "customer", "account", "unit").filter(pk=pk).first()
    if call is None:
        call = Call.objects.select_related("agent", "customer", "account", "unit").filter(pk=pk, agent=user).first()
    if call is None:
        raise Http404
    return call


def call_log(user: Any, *, state: str = "", phone: str = "", agent_id: int | None = None,
             since: datetime | None = None, until: datetime | None = None) -> QuerySet[Call]:
    """The call log, newest first, filtered; pages walk it by (started_at, id)."""
    qs = call_qs(user).select_related("agent", "customer").order_by("-started_at", "-id")
    if state:
        qs = qs.filter(state=state)
    if phone:
        parsed = try_parse_phone(phone)
        qs = qs.filter(caller_e164=parsed.e164) if parsed else qs.filter(caller__contains=phone.strip())
    if agent_id:
        qs = qs.filter(agent_id=agent_id)
    if since:
        qs = qs.filter(started_at__gte=since)
    if until:
        qs = qs.filter(started_at__lt=until)
    return qs


@dataclass
class CallbackItem:
    call: Call  # the latest waiting call from this number
    waiting: int  # how many unanswered calls from this number wait
    first_at: datetime


def callback_queue(user: Any, *, limit: int = 200) -> list[CallbackItem]:
    """Missed and abandoned calls to ring back, one line per caller number, longest waiting first."""
    waiting = call_qs(user).filter(callback_status__in=[CallbackStatus.PENDING, CallbackStatus.CLAIMED])
    groups = list(
        waiting.values("caller_e164").annotate(n=Count("id"), last=Max("id"), first=Min("started_at"))
        .order_by("first")[:limit]
    )
    calls = Call.objects.select_related("customer", "callback_by", "agent").in_bulk([g["last"] for g in groups])
    return [CallbackItem(calls[g["last"]], g["n"], g["first"]) for g in groups if g["last"] in calls]


@dataclass
class IvrOrder:
    number: str
    type_name: str
    status: str
    status_label: str
    accepted_at: datetime
    expected_by: datetime | None


@dataclass
class IvrOutage:
    number: str
    outage_class: str
    outage_class_label: str
    status: str
    status_label: str
    area: str
    start: datetime
    expected_restoration: datetime
    in_force: bool


@dataclass
class IvrAnswer:
    matched: bool
    customer_ids: list[int]
    open_orders: list[IvrOrder]
    outages: list[IvrOutage] = field(default_factory=list)

    @property
    def has_open_order(self) -> bool:
        return bool(self.open_orders)


IVR_ACCOUNTS = 50


def ivr_lookup(user: Any, *, caller: str = "", account_number: str = "",
               now: datetime | None = None) -> IvrAnswer:
    """What the IVR can tell a caller without an agent: their open orders and when each is expected
    to be done (the earliest running deadline), and the known outages over the account keyed in (else
    over every account of the customers with the calling number)."""
    customer_ids: list[int] = []
    phone = try_parse_phone(caller) if caller else None
    keyed: list[tuple[int, int]] = []
    if account_number:
        keyed = list(Account.objects.filter(number=account_number.strip()).values_list("pk", "customer_id"))
        customer_ids += [customer_id for _pk, customer_id in keyed]
    if phone is not None:
        customer_ids += list(Contact.objects.filter(phone=phone.e164).values_list("customer_id", flat=True)[:20])
    customer_ids = list(dict.fromkeys(customer_ids))
    match = Q(customer_id__in=customer_ids) if customer_ids else Q(pk__in=[])
    if phone is not None:
        match |= Q(caller_phone=phone.e164)
    del user  # the telephone system answers for every customer of the hotline
    orders = list(
        WorkOrder.objects.filter(match, status__in=list(OPEN_STATUSES)).select_related("order_type")
        .order_by("-accepted_at")[:10]
    )
    if keyed:
        account_ids = [pk for pk, _customer_id in keyed]
    elif customer_ids:
        account_ids = list(Account.objects.filter(customer_id__in=customer_ids).order_by("pk")
                           .values_list("pk", flat=True)[:IVR_ACCOUNTS])
    else:
        account_ids = []
    now = now or timezone.now()
    outages = live_for_accounts(account_ids, now=now)
    return IvrAnswer(
        matched=bool(customer_ids),
        customer_ids=customer_ids,
        open_orders=[IvrOrder(o.number, o.order_type.name, o.status, o.get_status_display(), o.accepted_at,
                              o.due_at) for o in orders],
        outages=[IvrOutage(o.number, o.outage_class, o.get_outage_class_display(), o.status, o.get_status_display(),
                           o.area, o.planned_start, o.planned_end, o.planned_start <= now) for o in outages],
    )
