"""Deterministic demo customers, one chunk at a time, as plain tuples ready for COPY or bulk_create.

Two steps per chunk: ``chunk_draft`` makes every random choice (seeded by seed and chunk number, so a
chunk is the same whatever else happens), then ``chunk_rows`` lays the drafts out with ids and
account numbers that the writer reserved. Phone, ID and credit-code numbers come from seeded
permutations of the customer's position, so they are unique without a lookup.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import accumulate
from types import SimpleNamespace
from typing import Any, cast
from zoneinfo import ZoneInfo

from django.conf import settings

from kefu.core.choices import RegionClass, UtilityKind
from kefu.core.validators import resident_id_check_char, uscc_check_char
from kefu.customers.choices import (
    INITIAL_STATUS,
    AccountEventKind,
    ContactRelation,
    CustomerClass,
    CustomerKind,
    IdType,
    Importance,
    PhoneKind,
)
from kefu.customers.choices import AccountStatus as S
from kefu.customers.models import Account, AccountEvent, Contact, Customer, Premise, ServicePoint
from kefu.customers.services import account_number_make
from kefu.demo import data
from kefu.demo.dice import Dice
from kefu.demo.orgplan import PROVINCE, Station, person_name, surname_pick

CHUNK = 20_000  # part of the seed: changing it changes the data
LAST_DAY = dt.date(2026, 6, 30)  # fixed, so the same seed gives the same dates on any day
FIRST_OPEN = dt.date(1995, 1, 1)
BIRTH_FIRST = dt.date(1946, 1, 1)
BIRTH_DAYS = (dt.date(2005, 12, 31) - BIRTH_FIRST).days + 1

ZERO = Decimal("0")  # arrears: billing sets them later (the desk demo marks a few accounts)

# Column order of every table, as model attnames; the tests check they match the models.
FIELDS: dict[type[Any], tuple[str, ...]] = {
    Customer: ("id", "created_at", "updated_at", "kind", "name", "id_type", "id_number", "unit_id", "note",
               "version"),
    Premise: ("id", "created_at", "updated_at", "province", "city", "district", "street", "community", "building",
              "entrance", "room", "detail", "address", "region_class", "unit_id"),
    ServicePoint: ("id", "created_at", "updated_at", "premise_id", "utility", "code", "description"),
    Account: ("id", "created_at", "updated_at", "number", "customer_id", "premise_id", "service_point_id",
              "utility", "customer_class", "importance", "status", "status_changed_at", "unit_id", "manager_id",
              "opened_on", "version", "arrears_amount", "arrears_since"),
    Contact: ("id", "created_at", "updated_at", "customer_id", "name", "relation", "phone", "phone_kind",
              "extension", "is_primary", "note"),
    AccountEvent: ("id", "account_id", "kind", "from_status", "to_status", "reason", "data", "actor_id", "at"),
}
MODELS: tuple[type[Any], ...] = tuple(FIELDS)  # insertion order respects the foreign keys

C = CustomerClass
CLASS_WEIGHTS: dict[str, tuple[tuple[str, float], ...]] = {
    UtilityKind.POWER: ((C.POWER_PUBLIC_RESIDENTIAL, 88.5), (C.POWER_PUBLIC_NONRESIDENTIAL, 7.5),
                        (C.POWER_DEDICATED_INDUSTRIAL, 2.0), (C.POWER_DEDICATED_INSTITUTION, 1.0),
                        (C.POWER_KEY_IMPORTANT, 0.3), (C.POWER_KEY_LARGE, 0.4), (C.POWER_KEY_FOCUS, 0.3)),
    UtilityKind.GAS: ((C.GAS_RESIDENTIAL, 90.0), (C.GAS_HEATING, 3.0), (C.GAS_COMMERCIAL, 5.5),
                      (C.GAS_INDUSTRIAL, 1.5)),
}
PERSON_CLASSES = frozenset({C.POWER_PUBLIC_RESIDENTIAL, C.GAS_RESIDENTIAL, C.GAS_HEATING})
INSTITUTION_CLASSES = frozenset({C.POWER_DEDICATED_INSTITUTION, C.POWER_KEY_IMPORTANT})
# Share of accounts with a customer manager: key and dedicated customers nearly all (seed 000).
MANAGED_SHARE: dict[str, float] = {
    C.POWER_KEY_IMPORTANT: 1.0, C.POWER_KEY_LARGE: 1.0, C.POWER_KEY_FOCUS: 1.0,
    C.POWER_DEDICATED_INDUSTRIAL: 0.95, C.POWER_DEDICATED_INSTITUTION: 0.95, C.POWER_PUBLIC_NONRESIDENTIAL: 0.8,
    C.POWER_PUBLIC_RESIDENTIAL: 0.65, C.GAS_COMMERCIAL: 0.9, C.GAS_INDUSTRIAL: 0.95, C.GAS_HEATING: 0.5,
    C.GAS_RESIDENTIAL: 0.4,
}
FULL_TIME_CLASSES = frozenset({C.POWER_KEY_IMPORTANT, C.POWER_KEY_LARGE, C.POWER_KEY_FOCUS,
                               C.POWER_DEDICATED_INDUSTRIAL, C.POWER_DEDICATED_INSTITUTION, C.GAS_COMMERCIAL,
                               C.GAS_INDUSTRIAL})
IMPORTANCE_WEIGHTS: dict[str, tuple[tuple[str, float], ...]] = {
    C.POWER_KEY_IMPORTANT: ((Importance.SPECIAL, 5), (Importance.GRADE1, 35), (Importance.GRADE2, 45),
                            (Importance.TEMPORARY, 15)),
    C.POWER_KEY_LARGE: ((Importance.GRADE2, 20), (Importance.NORMAL, 80)),
    C.POWER_KEY_FOCUS: ((Importance.TEMPORARY, 30), (Importance.NORMAL, 70)),
    C.POWER_DEDICATED_INSTITUTION: ((Importance.GRADE2, 5), (Importance.NORMAL, 95)),
    C.GAS_INDUSTRIAL: ((Importance.GRADE2, 10), (Importance.NORMAL, 90)),
}
# Final status and the path that leads there from the initial status (follows STATUS_TRANSITIONS).
STATUS_PATHS: dict[str, tuple[tuple[tuple[str, ...], float], ...]] = {
    UtilityKind.POWER: (((), 94.0), ((S.SUSPENDED,), 2.5), ((S.CLOSED,), 2.0), ((S.SUSPENDED, S.CLOSED), 1.5)),
    UtilityKind.GAS: (((S.AWAITING_IGNITION, S.GAS_ON), 86.0), ((), 1.5), ((S.AWAITING_IGNITION,), 2.0),
                      ((S.AWAITING_IGNITION, S.GAS_ON, S.VACANT), 4.0),
                      ((S.AWAITING_IGNITION, S.GAS_ON, S.SUSPENDED), 1.5),
                      ((S.AWAITING_IGNITION, S.GAS_ON, S.SEALED), 2.0),
                      ((S.AWAITING_IGNITION, S.GAS_ON, S.REMOVED), 1.5), ((S.CLOSED,), 1.5)),
}
SP_DESCRIPTION: dict[tuple[str, bool], str] = {
    (UtilityKind.POWER, True): "低压居民计量点", (UtilityKind.POWER, False): "计量点",
    (UtilityKind.GAS, True): "户内燃气表", (UtilityKind.GAS, False): "工商业燃气表",
}


def _weighted(pairs: tuple[tuple[Any, float], ...]) -> tuple[list[Any], list[float]]:
    return [p for p, _ in pairs], list(accumulate(w for _, w in pairs))


class Permutation:
    """i -> (a*i + b) mod size: a seeded bijection, so distinct positions give distinct numbers."""

    def __init__(self, size: int, rng: random.Random) -> None:
        a = rng.randrange(size // 3, size) | 1
        while math.gcd(a, size) != 1:
            a += 2
        self.size, self.a, self.b = size, a, rng.randrange(size)

    def __call__(self, i: int) -> int:
        return (self.a * i + self.b) % self.size


class Numbers:
    """Unique phone, ID and credit-code numbers for customer position ``g`` (and a slot per contact)."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(f"numbers:{seed}")
        self.mobile = Permutation(len(data.MOBILE_PREFIXES) * 10**8, rng)
        self.landline = Permutation(len(data.LANDLINE_FIRST) * 10**7, rng)
        self.birth = Permutation(BIRTH_DAYS * 1000, rng)
        self.org = Permutation(10**8, rng)

    def mobile_e164(self, g: int, slot: int) -> str:
        v = self.mobile(g * 3 + slot)
        return f"+86{data.MOBILE_PREFIXES[v // 10**8]}{v % 10**8:08d}"

    def landline_e164(self, g: int, slot: int, area_code: str) -> str:
        v = self.landline(g * 2 + slot)
        return f"+86{area_code[1:]}{data.LANDLINE_FIRST[v // 10**7]}{v % 10**7:07d}"

    def resident_id(self, g: int, region: str) -> tuple[str, dt.date, bool]:
        """18-digit ID number (GB 11643), birth date and sex (odd sequence digit = male)."""
        v = self.birth(g)
        born = BIRTH_FIRST + dt.timedelta(days=v // 1000)
        body = f"{region}{born:%Y%m%d}{v % 1000:03d}"
        return body + resident_id_check_char(body), born, v % 2 == 1

    def uscc(self, g: int, region: str, institution: bool) -> str:
        """Unified social credit code (GB 32100) whose organisation code has its GB 11714 check too."""
        org = f"{self.org(g):08d}"
        c = 11 - sum(int(d) * w for d, w in zip(org, (3, 7, 9, 10, 5, 8, 4, 2), strict=True)) % 11
        org += "X" if c == 10 else "0" if c == 11 else str(c)
        body = ("12" if institution else "91") + region + org
        return body + uscc_check_char(body)


@dataclass(slots=True)
class AccountDraft:
    utility: str
    customer_class: str
    importance: str
    status: str
    status_changed_at: dt.datetime
    manager_id: int | None
    opened_on: dt.date
    premise: tuple[str, ...]  # province .. detail, address (Premise field order)
    events: list[tuple[str, str, str, str, dt.datetime]]  # kind, from, to, reason, at


@dataclass(slots=True)
class CustomerDraft:
    kind: str
    name: str
    id_type: str
    id_number: str
    station: Station
    accounts: list[AccountDraft] = field(default_factory=list)
    contacts: list[tuple[str, str, str, str, str, bool]] = field(default_factory=list)


@dataclass
class Rows:
    """One chunk's rows per model, in FIELDS order."""

    by_model: dict[type[Any], list[tuple[Any, ...]]]

    def count(self, model: type[Any]) -> int:
        return len(self.by_model[model])


class DemoGenerator:
    def __init__(self, *, seed: int, stations: list[Station]) -> None:
        self.seed = seed
        self.stations = sorted(stations, key=lambda s: s.unit_id)
        self.station_cum = list(accumulate(s.weight for s in self.stations))
        self.numbers = Numbers(seed)
        self.tz = ZoneInfo(settings.TIME_ZONE)
        self.classes = {u: _weighted(w) for u, w in CLASS_WEIGHTS.items()}
        self.importance = {c: _weighted(w) for c, w in IMPORTANCE_WEIGHTS.items()}
        self.paths = {u: _weighted(w) for u, w in STATUS_PATHS.items()}

    # -- step 1: every random choice ---------------------------------------------------------------
    def chunk_draft(self, *, chunk: int, first: int, count: int) -> list[CustomerDraft]:
        rng = Dice(f"chunk:{self.seed}:{chunk}")
        drafts: list[CustomerDraft] = []
        recent: list[tuple[str, str, str]] = []  # (surname, name, mobile) of people, for shared phones
        for g in range(first, first + count):
            station = rng.weighted(self.stations, self.station_cum)
            classes, cum = self.classes[station.utility]
            cls = rng.weighted(classes, cum)
            if cls in PERSON_CLASSES:
                draft = self._person(rng, g, station, cls, recent)
            else:
                draft = self._organisation(rng, g, station, cls)
            drafts.append(draft)
        return drafts

    def _person(self, rng: Dice, g: int, station: Station, cls: str,
                recent: list[tuple[str, str, str]]) -> CustomerDraft:
        region = station.division if rng.random() < 0.8 else rng.pick(data.OTHER_REGION_CODES)
        id_number, born, male = self.numbers.resident_id(g, region)
        # Now and then a relative of an earlier customer: same surname, and the relative's phone is
        # on this record too, so one phone number finds both family accounts.
        relative = rng.pick(recent) if recent and rng.random() < 0.04 else None
        surname = relative[0] if relative else surname_pick(rng)
        name = person_name(rng, male=male, surname=surname)
        draft = CustomerDraft(CustomerKind.PERSON, name, IdType.RESIDENT_ID, id_number, station)
        if rng.random() < 0.88:
            phone, kind = self.numbers.mobile_e164(g, 0), PhoneKind.MOBILE
        else:
            phone, kind = self.numbers.landline_e164(g, 0, station.area_code), PhoneKind.LANDLINE
        draft.contacts.append((name, ContactRelation.SELF, phone, kind, "", True))
        if relative is not None:
            draft.contacts.append((relative[1], ContactRelation.FAMILY, relative[2], PhoneKind.MOBILE, "", False))
        elif rng.random() < 0.2:
            family = person_name(rng, male=not male, surname=surname if rng.random() < 0.5 else None)
            draft.contacts.append((family, ContactRelation.FAMILY, self.numbers.mobile_e164(g, 1),
                                   PhoneKind.MOBILE, "", False))
        if kind == PhoneKind.MOBILE:
            if len(recent) < 200:
                recent.append((surname, name, phone))
            else:
                recent[rng.below(200)] = (surname, name, phone)
        open_from = max(FIRST_OPEN.toordinal(), born.toordinal() + 20 * 365)
        for _ in range(2 if rng.random() < 0.07 else 1):
            draft.accounts.append(self._account(rng, station, cls, open_from, residential=True))
        return draft

    def _organisation(self, rng: Dice, g: int, station: Station, cls: str) -> CustomerDraft:
        street = rng.pick(station.communities)[0]
        values = {"city": station.city_short, "district": station.district, "street": street.removesuffix("街道"),
                  "trade": rng.pick(data.TRADE_NAMES), "cn": rng.pick(data.CHINESE_DIGITS)}
        if cls == C.POWER_KEY_IMPORTANT:
            name = rng.pick(data.KEY_IMPORTANT).format(**values)
        elif cls == C.POWER_KEY_LARGE:
            name = rng.pick(data.KEY_LARGE).format(**values)
        elif cls == C.POWER_KEY_FOCUS:
            name = rng.pick(data.KEY_FOCUS).format(**values)
        elif cls == C.POWER_DEDICATED_INSTITUTION:
            name = rng.pick(data.INSTITUTIONS).format(**values)
        elif cls == C.GAS_COMMERCIAL and rng.random() < 0.6:
            name = f"{station.district}{values['trade']}{rng.pick(data.GAS_SHOPS)}"
        elif cls in (C.POWER_DEDICATED_INDUSTRIAL, C.GAS_INDUSTRIAL):
            name = f"{station.city_short}{values['trade']}{rng.pick(data.INDUSTRIES)}{rng.pick(data.LEGAL_FORMS)}"
        else:
            name = f"{station.city_short}{values['trade']}{rng.pick(data.SHOP_TRADES)}{rng.pick(data.LEGAL_FORMS)}"
        uscc = self.numbers.uscc(g, station.division, cls in INSTITUTION_CLASSES)
        draft = CustomerDraft(CustomerKind.ORGANISATION, name, IdType.USCC, uscc, station)
        contact = person_name(rng, male=rng.random() < 0.6)
        relation = ContactRelation.ELECTRICIAN if station.utility == UtilityKind.POWER else ContactRelation.AGENT
        draft.contacts.append((contact, relation, self.numbers.mobile_e164(g, 0), PhoneKind.MOBILE, "", True))
        if rng.random() < 0.5:
            ext = str(rng.between(8001, 8099)) if rng.random() < 0.3 else ""
            draft.contacts.append((person_name(rng, male=rng.random() < 0.4), ContactRelation.FINANCE,
                                   self.numbers.landline_e164(g, 1, station.area_code), PhoneKind.LANDLINE, ext,
                                   False))
        roll = rng.random()
        for _ in range(3 if roll < 0.07 else 2 if roll < 0.25 else 1):
            draft.accounts.append(self._account(rng, station, cls, FIRST_OPEN.toordinal(), residential=False))
        return draft

    def _premise(self, rng: Dice, station: Station, residential: bool) -> tuple[str, ...]:
        street, community = rng.pick(station.communities)
        building = entrance = room = detail = ""
        if not residential:
            community = ""
            detail = f"{rng.pick(station.roads)}路{rng.between(1, 999)}号"
        elif station.region_class == RegionClass.URBAN:
            building, entrance = str(rng.between(1, 36)), str(rng.between(1, 4))
            room = f"{rng.between(1, 18)}{rng.between(1, 4):02d}"
        else:
            detail = f"{rng.between(1, 12)}组{rng.between(1, 150)}号"
        parts = SimpleNamespace(province=PROVINCE, city=station.city, district=station.district, street=street,
                                community=community, building=building, entrance=entrance, room=room, detail=detail)
        address = Premise.compose_address(cast(Premise, parts))  # the model's own rule, on a plain object
        return (PROVINCE, station.city, station.district, street, community, building, entrance, room, detail,
                address)

    def _account(self, rng: Dice, station: Station, cls: str, open_from: int, *,
                 residential: bool) -> AccountDraft:
        utility = station.utility
        last = LAST_DAY.toordinal() - 60
        opened_on = dt.date.fromordinal(rng.between(min(open_from, last), last))
        importance = Importance.NORMAL
        if cls in self.importance:
            values, cum = self.importance[cls]
            importance = rng.weighted(values, cum)
        manager_id = None
        if rng.random() < MANAGED_SHARE[cls]:
            pool = station.full_managers if cls in FULL_TIME_CLASSES else station.part_managers
            manager_id = rng.pick(pool) if pool else None
        paths, cum = self.paths[utility]
        path = rng.weighted(paths, cum)
        at = dt.datetime(opened_on.year, opened_on.month, opened_on.day, 8, 30, tzinfo=self.tz) + dt.timedelta(
            minutes=rng.below(540))
        status = INITIAL_STATUS[utility]
        events: list[tuple[str, str, str, str, dt.datetime]] = [(AccountEventKind.OPENED, "", status, "", at)]
        end = dt.datetime(LAST_DAY.year, LAST_DAY.month, LAST_DAY.day, 17, 0, tzinfo=self.tz)
        for target in path:
            if target == S.AWAITING_IGNITION:
                at += dt.timedelta(days=rng.between(1, 10), minutes=rng.below(600))
            elif target == S.GAS_ON:
                at += dt.timedelta(days=rng.between(1, 5), minutes=rng.below(600))
            else:
                at += dt.timedelta(minutes=int((end - at).total_seconds() / 60 * rng.random()))
            events.append((AccountEventKind.STATUS, status, target, data.STATUS_REASONS.get(target, ""), at))
            status = target
        return AccountDraft(utility, cls, importance, status, at, manager_id, opened_on,
                            self._premise(rng, station, residential), events)

    # -- step 2: ids and numbers -------------------------------------------------------------------
    @staticmethod
    def account_counts(drafts: list[CustomerDraft]) -> dict[str, int]:
        counts = {UtilityKind.POWER.value: 0, UtilityKind.GAS.value: 0}
        for d in drafts:
            for a in d.accounts:
                counts[a.utility] += 1
        return counts

    @staticmethod
    def chunk_rows(drafts: list[CustomerDraft], *, ids: dict[type[Any], int], first_seq: dict[str, int],
                   now: dt.datetime, empty_json: Any) -> Rows:
        """Lay the drafts out as rows. ``ids``: first free id per model; ``first_seq``: per utility."""
        customers: list[tuple[Any, ...]] = []
        premises: list[tuple[Any, ...]] = []
        points: list[tuple[Any, ...]] = []
        accounts: list[tuple[Any, ...]] = []
        contacts: list[tuple[Any, ...]] = []
        events: list[tuple[Any, ...]] = []
        cid, pid, sid, aid, kid, eid = (ids[m] for m in MODELS)
        seq = dict(first_seq)
        for d in drafts:
            st = d.station
            customers.append((cid, now, now, d.kind, d.name, d.id_type, d.id_number, st.unit_id, "", 1))
            for name, relation, phone, kind, ext, primary in d.contacts:
                contacts.append((kid, now, now, cid, name, relation, phone, kind, ext, primary, ""))
                kid += 1
            for a in d.accounts:
                number = account_number_make(utility=a.utility, seq=seq[a.utility])
                seq[a.utility] += 1
                premises.append((pid, now, now, *a.premise, st.region_class, st.unit_id))
                residential = a.customer_class in PERSON_CLASSES
                points.append((sid, now, now, pid, a.utility, f"SP{number}", SP_DESCRIPTION[a.utility, residential]))
                accounts.append((aid, now, now, number, cid, pid, sid, a.utility, a.customer_class, a.importance,
                                 a.status, a.status_changed_at, st.unit_id, a.manager_id, a.opened_on, 1,
                                 ZERO, None))
                for kind, src, dst, reason, at in a.events:
                    events.append((eid, aid, kind, src, dst, reason, empty_json, None, at))
                    eid += 1
                pid += 1
                sid += 1
                aid += 1
            cid += 1
        return Rows({Customer: customers, Premise: premises, ServicePoint: points, Account: accounts,
                     Contact: contacts, AccountEvent: events})
