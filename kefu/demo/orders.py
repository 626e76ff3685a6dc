"""Demo work orders: a year of hotline traffic for the demo accounts, laid out as plain row tuples.

``OrderGenerator.chunk_rows`` makes one chunk of orders with their events (and, for open orders,
their clocks) for the demo writer: COPY on PostgreSQL, executemany on SQLite. Orders come in time
order, so ids and numbers rise with the acceptance time as they do in real data; every random choice
is seeded by the seed and the chunk number, and times are offsets from the ``now`` of the load.

- Traffic: a year ending at ``now``; more calls in summer, fewer at weekends and at night.
- Content: the hotline's type mix and channels (``ordertexts``); accounts picked at random among the
  demo accounts, a share of callers without one (their order belongs to the accepting unit).
- Life: stages follow the transition table with believable delays, a few returns, transfers, urges,
  repeat calls, cancellations and merges. The chance that an order is still open falls with its age
  (a few per cent of all orders are open, in every status).
- Open orders carry their clocks, computed with ``workorders.clocks`` from the policies in force,
  and the warning / overdue events the watcher would have written by ``now``. Closed orders carry
  their events but no clock rows.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings

from kefu.core.choices import UtilityKind
from kefu.customers.choices import Importance
from kefu.demo import ordertexts as tx
from kefu.demo.dice import Dice
from kefu.demo.generate import Rows
from kefu.workorders import clocks as clockwork
from kefu.workorders.choices import ClockKind, ClockState, EventKind, Status, TimeState
from kefu.workorders.models import OrderClock, OrderEvent, OrderType, SlaPolicy, WorkOrder

ORDER_CHUNK = 20_000  # part of the seed: changing it changes the data
DAYS = 365

ORDER_FIELDS: dict[type[Any], tuple[str, ...]] = {
    WorkOrder: ("id", "number", "order_type_id", "utility", "channel", "status", "suspended_from", "customer_id",
                "account_id", "premise_id", "caller_name", "caller_phone", "address", "content", "region_class",
                "importance", "unit_id", "handling_unit_id", "assignee_id", "accepted_by_id", "accepted_unit_id",
                "accepted_at", "intake_key", "dispatched_at", "acknowledged_at", "contacted_at", "arrived_at",
                "handled_at", "replied_at", "called_back_at", "closed_at", "result", "reply", "satisfaction",
                "cancel_reason", "merged_into_id", "due_at", "next_warning_at", "time_state", "urge_count",
                "repeat_count", "return_count", "transfer_count", "reopen_count", "supervised", "supervise_due_at",
                "supervised_by_id", "version"),
    OrderEvent: ("id", "order_id", "kind", "from_status", "to_status", "actor_id", "actor_unit_id", "text", "data",
                 "at"),
    OrderClock: ("id", "order_id", "kind", "basis", "policy_id", "starts_on", "working", "budget_seconds", "amount",
                 "unit", "levels", "warned", "state", "started_at", "paused_at", "paused_seconds", "due_at",
                 "next_warning_at", "stopped_at"),
}
ORDER_MODELS: tuple[type[Any], ...] = tuple(ORDER_FIELDS)

# Calls per hour of the day (local time), relative: quiet at night, peaks mid-morning and afternoon.
HOUR_WEIGHTS = (0.5, 0.3, 0.2, 0.2, 0.3, 0.6, 1.5, 3.5, 6.0, 7.5, 7.5, 6.5,
                5.0, 5.5, 6.5, 6.5, 6.0, 5.5, 5.0, 5.5, 5.0, 4.0, 2.5, 1.0)
HOUR_CUM = tuple(accumulate(HOUR_WEIGHTS))

S = Status
# Status after each action (None: unchanged); RESUME is not generated.
AFTER: dict[str, str | None] = {
    "dispatch": S.DISPATCHED, "acknowledge": S.ACKNOWLEDGED, "return": S.RETURNED, "transfer": S.DISPATCHED,
    "contact": None, "arrive": S.ON_SITE, "handle": S.HANDLED, "suspend": S.SUSPENDED, "reply": S.REPLIED,
    "callback": S.CALLED_BACK, "archive": S.ARCHIVED, "cancel": S.CANCELLED, "merge": S.MERGED, "urge": None,
    "supervise": None, "repeat_call": None,
}
CLOSING = frozenset({"archive", "cancel", "merge"})
# Where old open orders are stuck (weights by the status the order has reached).
STUCK_WEIGHTS: dict[str, float] = {
    S.ACCEPTED: 1.0, S.RETURNED: 2.0, S.DISPATCHED: 4.0, S.ACKNOWLEDGED: 8.0, S.ON_SITE: 3.0, S.HANDLED: 15.0,
    S.REPLIED: 35.0,
}


@dataclass(frozen=True)
class Person:
    id: int
    unit_id: int


@dataclass
class Place:
    """A station with the units above it and the people who work its orders."""

    station_id: int
    county_id: int
    team_id: int
    utility: str
    region_class: str
    weight: float
    station_handlers: list[Person] = field(default_factory=list)
    county_handlers: list[Person] = field(default_factory=list)
    crew: list[Person] = field(default_factory=list)
    clerks: list[Person] = field(default_factory=list)


@dataclass
class OrderWorld:
    """What the generator needs to know about the demo org, read once per load (see orderload.py)."""

    types: dict[str, OrderType]
    places: dict[int, Place]  # by station unit id
    agents: dict[str, list[Person]]  # by utility: the hotline's agents
    leaders: dict[str, list[Person]]
    unit_names: dict[int, str]
    unit_regions: dict[int, str]
    leader_levels: dict[str, bool]  # warning fraction -> notify shift leaders
    account_range: tuple[int, int] | None


@dataclass(frozen=True, slots=True)
class Acct:
    id: int
    customer_id: int
    premise_id: int
    unit_id: int
    utility: str
    importance: str
    region_class: str
    address: str
    name: str
    phone: str


def _weighted(pairs: Sequence[tuple[Any, float]]) -> tuple[list[Any], list[float]]:
    return [p for p, _ in pairs], list(accumulate(w for _, w in pairs))


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _json(value: Any) -> str:
    return _ENCODER.encode(value) if value else "{}"


class Timeline:
    """Acceptance time of the g-th of ``total`` orders over the year before ``now``.

    Days get a share of the orders by weight (season, weekday); inside a day the i-th of k orders is
    drawn from the i-th of k equal slices of the hour profile, so times rise with g without sorting.
    """

    def __init__(self, *, total: int, now: dt.datetime, tz: ZoneInfo, span: dt.timedelta | None = None) -> None:
        self.tz = tz
        self.now = now.astimezone(tz)
        self.total = total
        self.span = span  # a short window instead of the year: even spread, no daily profile (benchmarks)
        today = self.now.date()
        self.days = [today - dt.timedelta(days=DAYS - 1 - i) for i in range(DAYS)]
        seconds_today = (self.now - self._start(today)).total_seconds()
        self.today_limit = self._hour_cdf(seconds_today / 3600) / HOUR_CUM[-1]
        weights = []
        for day in self.days:
            season = 1.0 + 0.2 * math.cos(2 * math.pi * (day.timetuple().tm_yday - 205) / 365.25)
            weights.append(season * (0.85 if day.weekday() >= 5 else 1.0))
        weights[-1] *= self.today_limit
        cum = list(accumulate(weights))
        self.ends = [round(total * c / cum[-1]) for c in cum]  # orders before the end of each day

    def _start(self, day: dt.date) -> dt.datetime:
        return dt.datetime(day.year, day.month, day.day, tzinfo=self.tz)

    @staticmethod
    def _hour_cdf(hours: float) -> float:
        h = min(int(hours), 23)
        before = HOUR_CUM[h - 1] if h else 0.0
        return before + HOUR_WEIGHTS[h] * min(1.0, hours - h)

    def at(self, g: int, u: float) -> dt.datetime:
        if self.span is not None:
            return (self.now - self.span * (1 - (g + u) / self.total)).astimezone(dt.UTC)
        d = bisect_right(self.ends, g)
        first = self.ends[d - 1] if d else 0
        k = self.ends[d] - first
        q = (g - first + u) / k * HOUR_CUM[-1]
        if d == len(self.days) - 1:
            q *= self.today_limit
        h = bisect_right(HOUR_CUM, q)
        before = HOUR_CUM[h - 1] if h else 0.0
        seconds = (h + (q - before) / HOUR_WEIGHTS[h]) * 3600
        # In UTC: the writers store UTC, and arithmetic on the result keeps that zone.
        return min(self._start(self.days[d]) + dt.timedelta(seconds=int(seconds)), self.now).astimezone(dt.UTC)


@dataclass
class Draft:
    """One order while its life is being played: the row as a dict, its events, its clocks."""

    row: dict[str, Any]
    events: list[tuple[str, str, str, int | None, int | None, str, str, dt.datetime]] = field(default_factory=list)
    clocks: list[OrderClock] = field(default_factory=list)
    merge_into: Draft | None = None


class OrderGenerator:
    """Options for benchmarks: ``span`` squeezes the orders into a short window before ``now``,
    ``open_share`` replaces the age rule (1.0: every order open), ``type_weights`` the type mix."""

    def __init__(self, *, seed: int, world: OrderWorld, total: int, now: dt.datetime,
                 span: dt.timedelta | None = None, open_share: float | None = None,
                 type_weights: dict[str, tuple[tuple[str, float], ...]] | None = None) -> None:
        self.seed = seed
        self.world = world
        self.tz = ZoneInfo(settings.TIME_ZONE)
        self.now = now
        self.open_share = open_share
        self.timeline = Timeline(total=total, now=now, tz=self.tz, span=span)
        self.type_pick = {u: _weighted([(c, w) for c, w in pairs if c in world.types])
                          for u, pairs in (type_weights or tx.TYPE_WEIGHTS).items()}
        self.channels = _weighted(tx.CHANNEL_WEIGHTS)
        self.complaint_channels = _weighted(tx.COMPLAINT_CHANNEL_WEIGHTS)
        self.satisfaction = _weighted(tx.SATISFACTION_WEIGHTS)
        self.cancel_reasons = _weighted(tx.CANCEL_REASON_WEIGHTS)
        self.handler_levels = {k: _weighted(v) for k, v in tx.HANDLER_LEVEL.items()}
        self.places_by_utility: dict[str, tuple[list[Place], list[float]]] = {}
        for utility in (UtilityKind.POWER, UtilityKind.GAS):
            places = sorted((p for p in world.places.values() if p.utility == utility), key=lambda p: p.station_id)
            self.places_by_utility[utility] = (places, list(accumulate(p.weight for p in places)))
        self._policies: dict[tuple[str, ...], list[SlaPolicy]] = {}
        self._no_order = WorkOrder()  # clocks are built on it; the rows carry the real order id

    # -- accounts ----------------------------------------------------------------------------------
    def account_picks(self, rng: Dice, count: int) -> list[int | None]:
        lo_hi = self.world.account_range
        picks: list[int | None] = []
        for _ in range(count):
            if lo_hi is None or rng.random() < tx.NO_ACCOUNT_SHARE:
                picks.append(None)
            else:
                picks.append(rng.between(*lo_hi))
        return picks

    # -- one chunk ---------------------------------------------------------------------------------
    def chunk_rows(self, *, chunk: int, first: int, count: int, ids: dict[type[Any], int], first_seq: int,
                   accounts: dict[int, Acct], picks: list[int | None], rng: Dice) -> Rows:
        """Orders ``first`` .. ``first + count - 1`` of the load; ``picks`` from ``account_picks``
        with the same ``rng``, ``accounts`` their details (missing ids: no account)."""
        drafts: list[Draft] = []
        oid = ids[WorkOrder]
        for i, g in enumerate(range(first, first + count)):
            pick = picks[i]
            acct = accounts.get(pick) if pick is not None else None
            drafts.append(self._order(rng, oid + i, first_seq + i, self.timeline.at(g, rng.random()), acct, drafts))
        orders: list[tuple[Any, ...]] = []
        events: list[tuple[Any, ...]] = []
        clocks: list[tuple[Any, ...]] = []
        eid, kid = ids[OrderEvent], ids[OrderClock]
        names = ORDER_FIELDS[WorkOrder]
        for d in drafts:
            row = d.row
            orders.append(tuple(row[n] for n in names))
            for kind, src, dst, actor, unit, text, data, at in sorted(d.events, key=lambda e: e[7]):
                events.append((eid, row["id"], kind, src, dst, actor, unit, text, data, at))
                eid += 1
            for c in d.clocks:
                clocks.append((kid, row["id"], c.kind, c.basis, c.policy_id, c.starts_on, c.working,
                               c.budget_seconds, c.amount, c.unit, _json(c.levels), c.warned, c.state, c.started_at,
                               c.paused_at, c.paused_seconds, c.due_at, c.next_warning_at, c.stopped_at))
                kid += 1
        return Rows({WorkOrder: orders, OrderEvent: events, OrderClock: clocks})

    def _order(self, rng: Dice, oid: int, seq: int, at: dt.datetime, acct: Acct | None,
               earlier: list[Draft]) -> Draft:
        w = self.world
        utility = acct.utility if acct else (UtilityKind.POWER if rng.random() < 0.8 else UtilityKind.GAS)
        code = rng.weighted(*self.type_pick[utility])
        otype = w.types[code]
        group = tx.GROUP.get(code, "office")
        complaint = code.startswith("complaint") or code == "report"
        channel = rng.weighted(*(self.complaint_channels if complaint else self.channels))
        if acct is not None:
            place = w.places[acct.unit_id]
        else:
            places, cum = self.places_by_utility[utility]
            place = rng.weighted(places, cum)
        agents = w.agents[utility]
        taker = rng.pick(place.clerks) if channel == "counter" and place.clerks else rng.pick(agents)
        unit_id = acct.unit_id if acct else taker.unit_id
        number = f"{at.astimezone(self.tz):%y%m%d}{seq:08d}"
        row: dict[str, Any] = {
            "id": oid, "number": number, "order_type_id": otype.pk, "utility": utility, "channel": channel,
            "status": S.ACCEPTED, "suspended_from": "", "customer_id": acct.customer_id if acct else None,
            "account_id": acct.id if acct else None, "premise_id": acct.premise_id if acct else None,
            "caller_name": acct.name if acct else rng.pick(tx.NO_ACCOUNT_NAMES),
            "caller_phone": acct.phone if acct else f"+861{rng.pick('35789')}{rng.below(10**9):09d}",
            "address": acct.address if acct else "", "content": rng.pick(tx.CONTENT.get(code, ("客户来电。",))),
            "region_class": acct.region_class if acct else w.unit_regions.get(taker.unit_id, place.region_class),
            "importance": acct.importance if acct else Importance.NORMAL, "unit_id": unit_id,
            "handling_unit_id": None, "assignee_id": None, "accepted_by_id": taker.id,
            "accepted_unit_id": taker.unit_id, "accepted_at": at, "intake_key": None, "dispatched_at": None,
            "acknowledged_at": None, "contacted_at": None, "arrived_at": None, "handled_at": None,
            "replied_at": None, "called_back_at": None, "closed_at": None, "result": "", "reply": "",
            "satisfaction": "", "cancel_reason": "", "merged_into_id": None, "due_at": None, "next_warning_at": None,
            "time_state": TimeState.NONE, "urge_count": 0, "repeat_count": 0, "return_count": 0,
            "transfer_count": 0, "reopen_count": 0, "supervised": False, "supervise_due_at": None,
            "supervised_by_id": None, "version": 1,
        }
        draft = Draft(row)
        draft.events.append((EventKind.ACCEPTED, "", S.ACCEPTED, taker.id, taker.unit_id, row["content"],
                             _json({"channel": channel}), at))
        plan = self._plan(rng, group, code, otype, place, row["region_class"])
        age_days = (self.now - at).total_seconds() / 86400
        p_open = math.exp(-age_days / tx.OPEN_DAYS[group]) + (tx.STUCK_SHARE if age_days < tx.STUCK_DAYS else 0.0)
        if self.open_share is not None:
            p_open = self.open_share
        is_open = rng.random() < p_open
        if not is_open:
            roll = rng.random()
            if roll < 0.012:
                plan = [*plan[:1 if plan[0][0] == "dispatch" and rng.random() < 0.5 else 0], ("cancel", 2, 60)]
            elif roll < 0.018:
                draft.merge_into = self._survivor(earlier, utility, at)
                if draft.merge_into is not None:
                    plan = [("merge", 2, 30)]
        times = self._times(rng, at, plan)
        if is_open:
            keep = self._open_cut(rng, plan, times, age_days)
            plan, times = plan[:keep], times[:keep]
        elif times and times[-1] > self.now:  # a young closed order: squeeze its life into its age
            span = (times[-1] - at).total_seconds()
            room = (self.now - at).total_seconds() * 0.98
            times = [at + dt.timedelta(seconds=(t - at).total_seconds() * room / span) for t in times]
        handler = self._handler(rng, place, code, group)
        self._play(rng, draft, plan, times, taker, handler, place, otype, group, is_open, earlier)
        if is_open:
            self._clocks(draft, otype, plan, times)
        elif self._policies_for(otype, row):
            row["time_state"] = TimeState.NORMAL  # its clocks ran and were stopped at the end
        return draft

    # -- the plan: which actions, in which order -----------------------------------------------------
    def _plan(self, rng: Dice, group: str, code: str, otype: OrderType, place: Place,
              region: str) -> list[tuple[str, float, float]]:
        """(action, low, high minutes after the previous step) up to the closing action."""
        delays = tx.DELAYS[group]
        steps: list[str]
        if group == "desk" and rng.random() < tx.ON_CALL_SHARE:
            steps = ["handle", "reply"]
        else:
            steps = ["dispatch"]
            if rng.random() < 0.03:
                steps += ["return", "dispatch"]
            steps.append("acknowledge")
            if rng.random() < 0.015:
                steps += ["transfer", "acknowledge"]
            if group in ("office", "project") or rng.random() < 0.4:
                steps.append("contact")
            if otype.field_work:
                steps.append("arrive")
            steps += ["handle", "reply"]
        if otype.callback_required:
            steps.append("callback")
        steps.append("archive")
        plan: list[tuple[str, float, float]] = []
        for step in steps:
            low, high = delays.get(step, (10, 240))
            if step == "arrive" and group == "field":
                low, high = tx.GAS_LEAK_ARRIVAL if code == "gas_leak" else tx.ARRIVAL_DELAYS[region]
            elif step == "return":
                low, high = 10, 120
            elif step == "transfer":
                low, high = 10, 240
            plan.append((step, low, high))
        if "dispatch" in steps and rng.random() < 0.04:  # the customer calls again to hurry it up
            plan.insert(steps.index("dispatch") + 1, ("urge", 30, 600))
        if rng.random() < 0.03:
            plan.insert(1 if len(plan) > 2 else 0, ("repeat_call", 10, 720))
        return plan

    def _times(self, rng: Dice, at: dt.datetime, plan: list[tuple[str, float, float]]) -> list[dt.datetime]:
        times: list[dt.datetime] = []
        t = at
        for _action, low, high in plan:
            minutes = low * (high / low) ** rng.random()
            t = t + dt.timedelta(seconds=int(minutes * 60) + 1)
            times.append(t)
        return times

    def _open_cut(self, rng: Dice, plan: list[tuple[str, float, float]], times: list[dt.datetime],
                  age_days: float) -> int:
        """How many steps an open order has taken: only steps already in the past, never the last.
        Old open orders are stuck where orders get stuck: waiting for the callback, the reply."""
        fits = [k for k in range(len(times)) if k == 0 or times[k - 1] <= self.now]
        if age_days < 3:
            return rng.pick(fits)
        statuses = [str(S.ACCEPTED)]
        for action, _low, _high in plan:
            statuses.append(AFTER.get(action) or statuses[-1])
        cum = list(accumulate(STUCK_WEIGHTS.get(statuses[k], 1.0) for k in fits))
        return rng.weighted(fits, cum)

    def _handler(self, rng: Dice, place: Place, code: str, group: str) -> tuple[int, Person]:
        """The unit an order would be dispatched to and the person there who works it."""
        complaint = code.startswith("complaint") or code == "report"
        key = code if code in tx.HANDLER_LEVEL else "complaint" if complaint else group
        level = rng.weighted(*self.handler_levels[key])
        if level == "team" and place.crew:
            return place.team_id, rng.pick(place.crew)
        if level == "station" and place.station_handlers:
            return place.station_id, rng.pick(place.station_handlers)
        return place.county_id, rng.pick(place.county_handlers or place.station_handlers or place.crew)

    @staticmethod
    def _survivor(earlier: list[Draft], utility: str, at: dt.datetime) -> Draft | None:
        """A recent order of the same utility still before its result when this one is merged into it
        (a merge follows the intake by at most half an hour)."""
        limit = at + dt.timedelta(minutes=31)
        for back in range(1, min(30, len(earlier)) + 1):
            r = earlier[-back].row
            if (r["utility"] == utility and r["merged_into_id"] is None and r["cancel_reason"] == ""
                    and (r["handled_at"] is None or r["handled_at"] > limit)
                    and (r["closed_at"] is None or r["closed_at"] > limit)):
                return earlier[-back]
        return None

    # -- playing the plan ----------------------------------------------------------------------------
    def _play(self, rng: Dice, draft: Draft, plan: list[tuple[str, float, float]], times: list[dt.datetime],
              taker: Person, handler: tuple[int, Person], place: Place, otype: OrderType, group: str,
              is_open: bool, earlier: list[Draft]) -> None:
        row = draft.row
        w = self.world
        unit_id, person = handler
        agents = w.agents[row["utility"]]
        desk = taker if taker in agents else rng.pick(agents)  # clerks reply their own orders too
        replier = taker if taker not in agents or rng.random() < 0.5 else rng.pick(agents)
        for (action, _low, _high), t in zip(plan, times, strict=True):
            before = row["status"]
            actor = person
            text = ""
            data: dict[str, Any] = {}
            if action == "dispatch":
                actor = desk
                row.update(handling_unit_id=unit_id, assignee_id=None, dispatched_at=t)
                data = {"unit": unit_id, "unit_name": w.unit_names.get(unit_id, "")}
            elif action == "acknowledge":
                row.update(assignee_id=person.id, acknowledged_at=t)
            elif action == "return":
                text = rng.pick(tx.RETURN_REASONS)
                data = {"from_unit": row["handling_unit_id"]}
                row.update(assignee_id=None, return_count=row["return_count"] + 1)
            elif action == "transfer":
                actor = desk
                target = place.county_id if unit_id != place.county_id else place.station_id
                text = "非本单位职责范围，转派处理。"
                data = {"from_unit": unit_id, "unit": target, "unit_name": w.unit_names.get(target, "")}
                unit_id = target
                person = rng.pick(place.county_handlers if target == place.county_id and place.county_handlers
                                  else place.station_handlers or place.county_handlers)
                row.update(handling_unit_id=target, assignee_id=None, dispatched_at=t,
                           transfer_count=row["transfer_count"] + 1)
            elif action == "contact":
                row["contacted_at"] = t
            elif action == "arrive":
                row["arrived_at"] = t
                row["contacted_at"] = row["contacted_at"] or t
            elif action == "handle":
                if row["handling_unit_id"] is None:
                    actor = taker
                text = rng.pick(tx.RESULT[group])
                row.update(result=text, handled_at=t, contacted_at=row["contacted_at"] or t,
                           assignee_id=row["assignee_id"] or actor.id)
            elif action == "reply":
                actor = replier
                text = rng.pick(tx.REPLY[group])
                row.update(reply=text, replied_at=t)
            elif action == "callback":
                actor = replier
                satisfaction = rng.weighted(*self.satisfaction)
                text = "客户对处理结果不满意，已记录意见。" if satisfaction == "unsatisfied" else ""
                data = {"satisfaction": satisfaction}
                row.update(satisfaction=satisfaction, called_back_at=t)
            elif action == "archive":
                actor = replier
                row["closed_at"] = t
            elif action == "cancel":
                actor = desk
                reason = rng.weighted(*self.cancel_reasons)
                data = {"reason": reason}
                row.update(cancel_reason=reason, closed_at=t)
            elif action == "merge":
                actor = desk
                survivor = draft.merge_into
                assert survivor is not None
                s = survivor.row
                data = {"into": s["id"], "into_number": s["number"]}
                row.update(merged_into_id=s["id"], closed_at=t)
                s["repeat_count"] += 1
                s["version"] += 1
                survivor.events.append((EventKind.MERGED_IN, "", "", actor.id, actor.unit_id, "",
                                        _json({"from": row["id"], "from_number": row["number"]}), t))
            elif action == "urge":
                actor = rng.pick(agents)
                text = rng.pick(tx.URGE_REASONS)
                row["urge_count"] += 1
                data = {"count": row["urge_count"]}
            elif action == "repeat_call":
                row["repeat_count"] += 1
                draft.events.append((EventKind.REPEAT_CALL, "", "", taker.id, taker.unit_id, "",
                                     _json({"phone": row["caller_phone"], "key": "", "count": row["repeat_count"]}),
                                     t))
                row["version"] += 1
                continue
            after = AFTER[action]
            if after is not None:
                row["status"] = after
            row["version"] += 1
            draft.events.append((action, before, row["status"] if row["status"] != before else "", actor.id,
                                 actor.unit_id, text, _json(data), t))
        if is_open:
            self._open_extras(rng, draft, times, person, place)

    def _open_extras(self, rng: Dice, draft: Draft, times: list[dt.datetime], person: Person,
                     place: Place) -> None:
        """Suspensions and supervision, only on open orders (closed ones would need a resume)."""
        row = draft.row
        last = times[-1] if times else row["accepted_at"]
        room = (self.now - last).total_seconds()
        if room < 120:
            return
        old = (self.now - row["accepted_at"]).days >= 3
        if row["status"] in (S.DISPATCHED, S.ACKNOWLEDGED, S.ON_SITE) and rng.random() < (0.35 if old else 0.05):
            t = last + dt.timedelta(seconds=60 + rng.below(int(min(room, 86400 * 3)) - 60))
            draft.events.append(("suspend", row["status"], S.SUSPENDED, person.id, person.unit_id,
                                 rng.pick(tx.SUSPEND_REASONS), "{}", t))
            row.update(suspended_from=row["status"], status=S.SUSPENDED, version=row["version"] + 1)
            last = t
            room = (self.now - last).total_seconds()
        leaders = self.world.leaders[row["utility"]]
        if leaders and room >= 120 and rng.random() < (0.04 if old else 0.01):
            leader = rng.pick(leaders)
            t = last + dt.timedelta(seconds=60 + rng.below(int(min(room, 86400)) - 60))
            deadline = t + dt.timedelta(hours=rng.between(8, 72))
            draft.events.append(("supervise", "", "", leader.id, leader.unit_id, rng.pick(tx.SUPERVISE_REASONS),
                                 _json({"deadline": deadline.isoformat()}), t))
            row.update(supervised=True, supervise_due_at=deadline, supervised_by_id=leader.id,
                       version=row["version"] + 1)

    # -- clocks of open orders -------------------------------------------------------------------------
    def _policies_for(self, otype: OrderType, row: dict[str, Any]) -> list[SlaPolicy]:
        key = (otype.code, row["utility"], row["region_class"], row["importance"], row["channel"])
        found = self._policies.get(key)
        if found is None:
            facts = clockwork.Facts(type_chain=clockwork.type_chain(otype), utility=row["utility"],
                                    region_class=row["region_class"], importance=row["importance"],
                                    channel=row["channel"], on=self.now.astimezone(self.tz).date())
            found = self._policies[key] = clockwork.matching_policies(facts)
        return found

    def _clocks(self, draft: Draft, otype: OrderType, plan: list[tuple[str, float, float]],
                times: list[dt.datetime]) -> None:
        """Start the clocks at intake and replay the order's actions on them, raising each warning
        level at the moment it was reached, as the watcher would have."""
        row = draft.row
        clocks = [clockwork.clock_from_policy(self._no_order, p, row["accepted_at"])
                  for p in self._policies_for(otype, row)]
        steps = [(a, t) for (a, _l, _h), t in zip(plan, times, strict=True)]
        steps += [(kind, at) for kind, _f, _t, _a, _u, _x, _d, at in draft.events if kind in ("suspend", "supervise")]
        steps.sort(key=lambda s: s[1])
        for action, t in steps:
            self._warn(draft, clocks, t)
            if action == "suspend":
                for c in clocks:
                    clockwork.clock_pause(c, t)
            elif action == "supervise":
                for c in clocks:
                    if c.kind == ClockKind.SUPERVISION:
                        clockwork.clock_stop(c, t, closing=True)
                clocks.append(clockwork.supervision_clock(self._no_order, t, row["supervise_due_at"]))
            else:
                clockwork.clocks_on_action(clocks, action, t)
        self._warn(draft, clocks, self.now)
        draft.clocks = clocks
        row["due_at"], row["next_warning_at"], row["time_state"] = clockwork.order_summary(clocks)

    def _warn(self, draft: Draft, clocks: list[OrderClock], until: dt.datetime) -> None:
        for c in clocks:
            while c.state == ClockState.RUNNING and c.next_warning_at is not None and c.next_warning_at <= until:
                reached_at = c.next_warning_at
                levels = c.levels or [1.0]
                c.warned += 1
                c.next_warning_at = (clockwork.advance_to_level(c, levels[c.warned]) if c.warned < len(levels)
                                     else None)
                fraction = levels[c.warned - 1]
                kind = EventKind.OVERDUE if fraction >= 1.0 else EventKind.WARNING
                data = {"clock": c.kind, "level": c.warned, "fraction": fraction,
                        "due_at": c.due_at.isoformat() if c.due_at else "",
                        "leaders": self.world.leader_levels.get(str(float(fraction)), True)}
                draft.events.append((kind, "", "", None, None, "", _json(data), reached_at))
