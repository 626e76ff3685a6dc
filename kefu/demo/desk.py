"""Demo data for the agent desk (part of ``kefu demo``): extensions, the telephone system's account,
a few days of past calls, and arrears on a few per cent of the accounts.

Set-based and idempotent like the rest of the demo: a completed step leaves the ``demo:desk`` marker
(the number of calls made) and does nothing when run again. Calls are written with ``bulk_create``
with their telephone events, order links and activities, in the states the telephone events would
have left them in (``desk.services._derive``): completed with a result, missed or abandoned and
waiting in the callback queue (or called back already), served by the IVR.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import accumulate
from typing import Any

from django.db import transaction
from django.db.models import Case, DecimalField, F, IntegerField, Max, Min, Q, Value, When
from django.db.models.functions import Cast, Mod
from django.utils import timezone

from kefu.core.models import NumberSequence
from kefu.core.validators import try_parse_phone
from kefu.customers.models import Account, Contact
from kefu.demo.dice import Dice
from kefu.demo.orders import HOUR_WEIGHTS
from kefu.demo.orgplan import GAS_ROOT_CODE, POWER_ROOT_CODE, demo_unit_ids
from kefu.desk.choices import (
    ActivityKind,
    CallbackOutcome,
    CallbackStatus,
    CallResult,
    CallState,
    CtiKind,
    EndReason,
    OrderRelation,
)
from kefu.desk.models import Call, CallActivity, CallOrder, CtiEvent, Extension
from kefu.org.choices import Role
from kefu.org.models import OrgUnit, Staff, StaffRole
from kefu.workorders.choices import OPEN_STATUSES
from kefu.workorders.models import WorkOrder

DESK_MARKER_KEY = "demo:desk"
CALL_ID_PREFIX = "DEMO-"
CTI_USERNAME = "cti"
# Published on purpose, like the demo password: the telephone system's demo token (40 characters).
DEMO_CTI_TOKEN = "kefudemo0cti0token000000000000000000cti1"  # noqa: S105
SIGNED_IN = {"agent1": "8001", "gas_agent1": "9001"}
HOTLINES = {POWER_ROOT_CODE: "95598", GAS_ROOT_CODE: "96777"}
DAYS = 3
ARREARS_MODULUS = 29  # one account in 29 (3.4 %) owes money
# (days overdue, base amount in yuan) per arrears bucket
ARREARS_BUCKETS = ((8, 35), (21, 60), (37, 90), (66, 150), (95, 260), (160, 480))
IVR_CHOICES = ("1 电费查询", "2 停电信息", "3 业务办理进度", "4 燃气安全", "5 营业网点", "0 人工服务")
RESULT_NOTES: dict[str, tuple[str, ...]] = {
    CallResult.ANSWERED: ("已告知客户本月电费明细及缴费方式。", "已解释阶梯电价计算方法，客户表示理解。",
                          "已告知最近营业厅地址和营业时间。", "已告知计划停电时间及恢复时间。"),
    CallResult.TRANSFERRED: ("客户咨询燃气业务，已转96777。", "已转值班长处理。"),
    CallResult.WRONG_NUMBER: ("客户拨错电话。", "无声电话。"),
    CallResult.DROPPED: ("通话中断，客户未再来电。",),
}
# Share of calls per outcome; those needing orders fall back to "answered" when there are none.
OUTCOMES = (("answered", 38.0), ("order_created", 14.0), ("order_linked", 5.0), ("urged", 4.0),
            ("transferred", 3.0), ("wrong_number", 2.0), ("dropped", 1.0), ("self_served", 12.0),
            ("abandoned", 13.0), ("missed", 8.0))


@dataclass
class DeskResult:
    loaded: bool  # False: the desk data was there already
    calls: int
    extensions: int = 0
    callbacks: int = 0  # caller numbers waiting in the callback queue
    arrears: int = 0
    token: str = ""
    seconds: float = 0.0
    rows: dict[str, int] = field(default_factory=dict)


def desk_demo_count() -> int | None:
    marker = NumberSequence.objects.filter(key=DESK_MARKER_KEY).first()
    return marker.last_value if marker else None


def cti_token() -> str:
    from rest_framework.authtoken.models import Token

    return Token.objects.filter(user__username=CTI_USERNAME).values_list("key", flat=True).first() or ""


def desk_demo_wipe(*, orders_only: bool = False) -> dict[str, int]:
    """Remove what ties the desk to demo data about to be reloaded. ``orders_only`` (``--reset-orders``):
    the demo calls and every call's links to demo orders; else also every call and extension of the
    demo units (they hold protected references to the units, customers and orders being wiped)."""
    units = demo_unit_ids()
    orders = WorkOrder.objects.filter(Q(unit_id__in=units) | Q(accepted_unit_id__in=units)
                                      | Q(handling_unit_id__in=units))
    deleted: dict[str, int] = {}
    with transaction.atomic():
        deleted["desk.CallOrder"] = CallOrder.objects.filter(order_id__in=orders.values("id")).delete()[0]
        calls = Call.objects.filter(call_id__startswith=CALL_ID_PREFIX)
        if not orders_only:
            calls = Call.objects.filter(Q(unit_id__in=units) | Q(call_id__startswith=CALL_ID_PREFIX))
            # Calls elsewhere that point at demo customers keep the call, lose the customer.
            Call.objects.filter(customer__unit_id__in=units).update(customer=None, account=None)
            deleted["desk.Extension"] = Extension.objects.filter(unit_id__in=units).delete()[0]
        deleted["desk.Call"] = calls.delete()[1].get("desk.Call", 0)
        NumberSequence.objects.filter(key=DESK_MARKER_KEY).delete()
    return deleted


def desk_demo_load(*, seed: int = 7, calls: int = 300, now: dt.datetime | None = None) -> DeskResult:
    """Make the desk's demo data unless the marker says it is there. Needs the demo org (and, for the
    order links, the demo orders) loaded first."""
    loaded = desk_demo_count()
    if loaded is not None:
        return DeskResult(loaded=False, calls=loaded, token=cti_token())
    centers = {u.code.removesuffix("-KF"): u for u in OrgUnit.objects.filter(
        code__in=[f"{root}-KF" for root in HOTLINES])}
    if not centers:
        return DeskResult(loaded=False, calls=0)
    started = time.monotonic()
    now = now or timezone.now()
    with transaction.atomic():
        extensions = _extensions(centers, now)
        token = _cti_account(centers)
        # A crashed earlier run leaves calls without the marker: start over.
        Call.objects.filter(call_id__startswith=CALL_ID_PREFIX).delete()
        rows = CallMaker(seed=seed, now=now, centers=centers).make(calls)
        arrears = _arrears(seed, now)
        NumberSequence.objects.update_or_create(key=DESK_MARKER_KEY, defaults={"last_value": calls})
    waiting = (Call.objects.filter(callback_status__in=[CallbackStatus.PENDING, CallbackStatus.CLAIMED])
               .values("caller_e164").distinct().count())
    return DeskResult(loaded=True, calls=calls, extensions=extensions, callbacks=waiting, arrears=arrears,
                      token=token, seconds=time.monotonic() - started, rows=rows)


def _extensions(centers: dict[str, OrgUnit], now: dt.datetime) -> int:
    """An extension per demo agent and shift leader (their staff record names it), at the hotline
    center of their company; agent1 and gas_agent1 are signed in."""
    staff = list(Staff.objects.filter(unit__code__in=list(centers), roles__role__in=[Role.AGENT, Role.SHIFT_LEADER])
                 .exclude(extension="").values_list("username", "extension", "unit__code").distinct())
    Extension.objects.bulk_create(
        [Extension(number=ext, unit=centers[root]) for _name, ext, root in staff], ignore_conflicts=True)
    users = {s.username: s for s in Staff.objects.filter(username__in=list(SIGNED_IN))}
    for username, number in SIGNED_IN.items():
        user = users.get(username)
        if user is not None and not Extension.objects.filter(agent=user).exists():
            Extension.objects.filter(number=number, agent__isnull=True).update(agent=user, signed_in_at=now)
    return len(staff)


def _cti_account(centers: dict[str, OrgUnit]) -> str:
    """The telephone system's integration account at the 95598 center, with an API token."""
    from rest_framework.authtoken.models import Token

    center = centers.get(POWER_ROOT_CODE) or next(iter(centers.values()))
    user = Staff.objects.filter(username=CTI_USERNAME).first()
    if user is None:
        user = Staff(username=CTI_USERNAME, unit=center, full_name="95598 电话系统")
        user.set_unusable_password()
        user.save()
    StaffRole.objects.get_or_create(staff=user, role=Role.TELEPHONY)
    token = Token.objects.filter(user=user).first()
    if token is None:
        taken = Token.objects.filter(key=DEMO_CTI_TOKEN).exists()
        token = Token.objects.create(user=user, key=None if taken else DEMO_CTI_TOKEN)
    return str(token.key)


def _arrears(seed: int, now: dt.datetime) -> int:
    """One UPDATE: an amount and an overdue date on one account in ``ARREARS_MODULUS``."""
    today = timezone.localdate(now)
    n = len(ARREARS_BUCKETS)
    bucket = Mod(F("id") / ARREARS_MODULUS, n)  # integer division: ids in the chosen residue, spread
    money: DecimalField[Decimal, Decimal] = DecimalField(max_digits=12, decimal_places=2)
    amount = Case(*[When(b=i, then=Cast(Mod(F("id") * 7919, 40000), money) / Value(Decimal(100), money)
                         + Value(Decimal(base), money))
                    for i, (_days, base) in enumerate(ARREARS_BUCKETS)], output_field=money)
    since = Case(*[When(b=i, then=Value(today - dt.timedelta(days=days))) for i, (days, _b) in
                   enumerate(ARREARS_BUCKETS)])
    chosen = (Account.objects.filter(unit_id__in=demo_unit_ids(), arrears_amount=0)
              .annotate(r=Mod("id", ARREARS_MODULUS), b=Cast(bucket, IntegerField()))
              .filter(r=seed % ARREARS_MODULUS))
    return chosen.update(arrears_amount=amount, arrears_since=since)


@dataclass
class Caller:
    phone: str  # as the telephone system sends it
    e164: str
    customers: list[int]
    account_id: int | None = None


class CallMaker:
    """Plays out ``count`` calls over the last ``DAYS`` days and writes them with bulk_create."""

    def __init__(self, *, seed: int, now: dt.datetime, centers: dict[str, OrgUnit]) -> None:
        self.rng = Dice(f"desk:{seed}")
        self.now = now
        self.centers = centers
        self.seed = seed
        self.hour_cum = list(accumulate(HOUR_WEIGHTS))
        agents = (Staff.objects.filter(unit__code__in=list(centers), roles__role=Role.AGENT).exclude(extension="")
                  .values_list("id", "extension", "unit__code").order_by("id"))
        self.agents: dict[str, list[tuple[int, str]]] = {}
        for pk, ext, root in agents:
            self.agents.setdefault(root, []).append((pk, ext))

    def _time(self) -> dt.datetime:
        """A moment in the last DAYS days, following the hotline's hours, never in the future."""
        for _try in range(20):
            day = self.rng.below(DAYS)
            hour = self.rng.weighted(range(24), self.hour_cum)
            local = timezone.localtime(self.now).replace(hour=0, minute=0, second=0, microsecond=0)
            at = local - dt.timedelta(days=day) + dt.timedelta(hours=hour, seconds=self.rng.below(3600))
            if at < self.now - dt.timedelta(minutes=5):
                return at
        return self.now - dt.timedelta(minutes=30 + self.rng.below(600))

    def _callers(self, count: int) -> list[Caller]:
        """Numbers of demo customers (several customers may share one), some unknown, a few withheld."""
        bounds = Contact.objects.filter(customer__unit_id__in=demo_unit_ids()).aggregate(lo=Min("id"), hi=Max("id"))
        picked: list[tuple[str, int]] = []
        if bounds["lo"] is not None:
            ids = [self.rng.between(bounds["lo"], bounds["hi"]) for _ in range(count)]
            picked = list(Contact.objects.filter(id__in=ids).values_list("phone", "customer_id"))
        holders: dict[str, list[int]] = {}
        for phone, customer in Contact.objects.filter(phone__in={p for p, _c in picked}).values_list(
                "phone", "customer_id").order_by("customer_id"):
            holders.setdefault(phone, []).append(customer)
        out: list[Caller] = []
        for phone, _customer in picked:
            parsed = try_parse_phone(phone)
            if parsed is not None:
                out.append(Caller(parsed.national, parsed.e164, list(dict.fromkeys(holders[phone]))[:10]))
        while len(out) < count:
            if self.rng.random() < 0.1:
                out.append(Caller("", "", []))  # withheld number
            else:
                mobile = f"1{self.rng.pick('35789')}{self.rng.below(10**9):09d}"
                out.append(Caller(mobile, f"+86{mobile}", []))
        self.rng.rng.shuffle(out)
        return out

    def _orders(self) -> tuple[list[WorkOrder], list[WorkOrder]]:
        """Phone orders accepted in the window (made during a call) and open orders (urged, repeat calls)."""
        since = self.now - dt.timedelta(days=DAYS)
        units = demo_unit_ids()
        fields = ("id", "customer_id", "account_id", "caller_phone", "accepted_at", "accepted_by_id", "utility")
        recent = list(WorkOrder.objects.filter(unit_id__in=units, channel="phone", accepted_at__gte=since,
                                               accepted_at__lt=self.now).only(*fields).order_by("accepted_at"))
        open_ = list(WorkOrder.objects.filter(unit_id__in=units, status__in=list(OPEN_STATUSES),
                                              accepted_at__lt=since).only(*fields).order_by("-accepted_at")[:200])
        return recent, open_

    def make(self, count: int) -> dict[str, int]:
        rng = self.rng
        callers = self._callers(count)
        recent, open_ = self._orders()
        outcomes, cum = [o for o, _w in OUTCOMES], list(accumulate(w for _o, w in OUTCOMES))
        plans: list[dict[str, Any]] = []
        made_orders = iter(recent)
        for i in range(count):
            outcome = rng.weighted(outcomes, cum)
            caller = callers[i]
            order: WorkOrder | None = None
            at = self._time()
            if outcome == "order_created":
                order = next(made_orders, None)
                if order is not None:  # the call that made the order ended just before its acceptance time
                    at = order.accepted_at - dt.timedelta(seconds=120 + rng.below(300))
            elif outcome in ("order_linked", "urged") and open_:
                order = rng.pick(open_)
            if outcome in ("order_created", "order_linked", "urged") and order is None:
                outcome = "answered"
            if order is not None and order.caller_phone:
                parsed = try_parse_phone(order.caller_phone)
                if parsed is not None:
                    caller = Caller(parsed.national, parsed.e164, [order.customer_id] if order.customer_id else [],
                                    order.account_id)
            plans.append({"outcome": outcome, "caller": caller, "order": order, "at": at})
        # Some callers who could not get through tried again: a few repeated unanswered numbers.
        unanswered = [p for p in plans if p["outcome"] in ("abandoned", "missed") and p["caller"].e164]
        for p, q in zip(unanswered[::5], unanswered[1::5], strict=False):
            q["caller"] = p["caller"]
        plans.sort(key=lambda p: p["at"])
        return self._write(plans)

    def _write(self, plans: list[dict[str, Any]]) -> dict[str, int]:
        rng = self.rng
        calls: list[Call] = []
        extras: list[dict[str, Any]] = []
        for n, p in enumerate(plans):
            caller: Caller = p["caller"]
            order: WorkOrder | None = p["order"]
            outcome: str = p["outcome"]
            root = GAS_ROOT_CODE if (order is not None and order.utility == "gas") or (
                order is None and rng.random() < 0.2 and GAS_ROOT_CODE in self.centers) else POWER_ROOT_CODE
            root = root if root in self.centers else next(iter(self.centers))
            agents = self.agents.get(root, [])
            start: dt.datetime = p["at"]
            ivr_secs = 15 + rng.below(60)
            call = Call(call_id=f"{CALL_ID_PREFIX}{self.seed}-{n + 1:05d}", caller=caller.phone,
                        caller_e164=caller.e164, called=HOTLINES[root], unit=self.centers[root],
                        candidates=caller.customers, started_at=start,
                        customer_id=caller.customers[0] if len(caller.customers) == 1 else None,
                        account_id=caller.account_id, version=1)
            events: list[tuple[str, dt.datetime, dict[str, Any]]] = []
            extra: dict[str, Any] = {"order": order, "events": events, "activities": []}
            if outcome == "self_served" or rng.random() < 0.3:
                choice = (rng.pick(IVR_CHOICES[:5]) if outcome == "self_served" else IVR_CHOICES[-1])
                call.ivr_result = choice
                events.append((CtiKind.IVR, start + dt.timedelta(seconds=ivr_secs), {"ivr_choice": choice}))
            if outcome == "self_served":
                end = start + dt.timedelta(seconds=ivr_secs + 20 + rng.below(120))
                call.state, call.ended_at, call.duration_seconds = CallState.SELF_SERVED, end, 0
                events.append((CtiKind.ENDED, end, {"reason": EndReason.SELF_SERVICE}))
            elif outcome == "abandoned" or not agents:
                end = start + dt.timedelta(seconds=ivr_secs + 10 + rng.below(90))
                call.state, call.ended_at, call.duration_seconds = CallState.ABANDONED, end, 0
                events.append((CtiKind.ENDED, end, {"reason": EndReason.ABANDONED}))
            else:
                agent_id, ext = rng.pick(agents)
                if order is not None and outcome == "order_created" and order.accepted_by_id:
                    agent_id, ext = next(((a, e) for a, e in agents if a == order.accepted_by_id), (agent_id, ext))
                call.agent_id, call.extension = agent_id, ext
                ring = start + dt.timedelta(seconds=ivr_secs + rng.below(40))
                call.rang_at = ring
                events.append((CtiKind.RINGING, ring, {"caller": caller.phone, "called": HOTLINES[root],
                                                       "extension": ext}))
                if outcome == "missed":
                    end = ring + dt.timedelta(seconds=20 + rng.below(25))
                    call.state, call.ended_at, call.duration_seconds = CallState.MISSED, end, 0
                    events.append((CtiKind.ENDED, end, {"reason": EndReason.NO_ANSWER}))
                else:
                    answered = ring + dt.timedelta(seconds=3 + rng.below(12))
                    talk = 40 + rng.below(420)
                    end = answered + dt.timedelta(seconds=talk)
                    call.answered_at, call.ended_at, call.duration_seconds = answered, end, talk
                    call.state = CallState.COMPLETED
                    call.recording_ref = f"rec/{start:%Y%m%d}/{call.call_id}.wav"
                    events.append((CtiKind.ANSWERED, answered, {"extension": ext}))
                    events.append((CtiKind.ENDED, end, {"reason": EndReason.NORMAL, "duration": talk,
                                                        "recording": call.recording_ref}))
                    self._result(call, outcome, order, extra)
            call.started_at = min(e[1] for e in events) if events else start
            if call.state in (CallState.MISSED, CallState.ABANDONED) and call.caller_e164:
                self._callback(call, extra, agents)
            call.version = 1 + len(events) + len(extra["activities"])
            calls.append(call)
            extras.append(extra)
        return self._bulk(calls, extras)

    def _result(self, call: Call, outcome: str, order: WorkOrder | None, extra: dict[str, Any]) -> None:
        results: dict[str, str] = {"order_created": CallResult.ORDER_CREATED,
                                   "order_linked": CallResult.ORDER_LINKED, "urged": CallResult.URGED}
        result = results.get(outcome, outcome)
        assert call.ended_at is not None
        note = self.rng.pick(RESULT_NOTES[result]) if result in RESULT_NOTES else ""
        call.result, call.result_note = result, note
        at = call.ended_at + dt.timedelta(seconds=10 + self.rng.below(90))
        if order is not None:
            relations: dict[str, str] = {CallResult.ORDER_CREATED: OrderRelation.CREATED,
                                         CallResult.ORDER_LINKED: OrderRelation.LINKED}
            relation = relations.get(result, OrderRelation.URGED)
            link_at = order.accepted_at if relation == OrderRelation.CREATED else call.ended_at
            extra["link"] = (relation, link_at)
            extra["activities"].append((ActivityKind.ORDER, call.agent_id, "", {"order": order.pk,
                                                                                   "relation": relation}, link_at))
            at = max(at, link_at + dt.timedelta(seconds=5))
        extra["activities"].append((ActivityKind.RESULT, call.agent_id, note, {"result": result}, at))

    def _callback(self, call: Call, extra: dict[str, Any], agents: list[tuple[int, str]]) -> None:
        """Recent unanswered calls wait for a callback; older ones were mostly called back."""
        assert call.ended_at is not None
        age = (self.now - call.ended_at).total_seconds() / 3600
        if age < 18 or not agents or self.rng.random() < 0.25:
            call.callback_status = CallbackStatus.PENDING
            return
        by = self.rng.pick(agents)[0]
        attempts = 1 if self.rng.random() < 0.7 else 3
        at = call.ended_at
        for k in range(attempts):
            at = at + dt.timedelta(minutes=20 + self.rng.below(120))
            last = k == attempts - 1
            outcome = CallbackOutcome.REACHED if attempts == 1 else (CallbackOutcome.NO_ANSWER)
            note = ("已回拨，客户问题已解答。" if attempts == 1 else "三次回拨均无人接听。") if last else ""
            extra["activities"].append((ActivityKind.CALLBACK, by, note,
                                        {"outcome": outcome, "attempt": k + 1}, at))
        call.callback_status = CallbackStatus.DONE if attempts == 1 else CallbackStatus.FAILED
        call.callback_by_id, call.callback_attempts, call.callback_at = by, attempts, at

    def _bulk(self, calls: list[Call], extras: list[dict[str, Any]]) -> dict[str, int]:
        created = Call.objects.bulk_create(calls, batch_size=500)
        if any(c.pk is None for c in created):  # a backend without RETURNING: read the ids back
            ids = dict(Call.objects.filter(call_id__in=[c.call_id for c in calls]).values_list("call_id", "id"))
            for c in created:
                c.pk = ids[c.call_id]
        events: list[CtiEvent] = []
        links: list[CallOrder] = []
        activities: list[CallActivity] = []
        for call, extra in zip(created, extras, strict=True):
            for kind, at, payload in extra["events"]:
                events.append(CtiEvent(call=call, kind=kind, occurred_at=at, payload=payload))
            if "link" in extra:
                relation, at = extra["link"]
                links.append(CallOrder(call=call, order=extra["order"], relation=relation, actor_id=call.agent_id,
                                       at=at))
            for kind, actor, text, data, at in extra["activities"]:
                activities.append(CallActivity(call=call, kind=kind, actor_id=actor, text=text, data=data, at=at))
        CtiEvent.objects.bulk_create(events, batch_size=1000)
        # received_at is auto_now_add: make it the time the event happened, as if received live.
        CtiEvent.objects.filter(call__call_id__startswith=CALL_ID_PREFIX).update(received_at=F("occurred_at"))
        CallOrder.objects.bulk_create(links, batch_size=1000, ignore_conflicts=True)
        CallActivity.objects.bulk_create(activities, batch_size=1000)
        return {"desk.Call": len(created), "desk.CtiEvent": len(events), "desk.CallOrder": len(links),
                "desk.CallActivity": len(activities)}
