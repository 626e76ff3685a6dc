"""Load the demo work orders (``kefu demo --orders N``): set-based, chunk by chunk, idempotent.

A completed load leaves a marker (the ``demo:orders`` number sequence holds the order count), apart
from the customers' marker, so orders can be added to a demo loaded earlier and reloaded on their
own (``--reset-orders``). A run that finds demo orders without the marker (a crashed load) removes
them and loads again. Order numbers come from the ``workorder`` sequence the intake service uses.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone
from tqdm import tqdm

from kefu.core.choices import UtilityKind
from kefu.core.models import NumberSequence
from kefu.core.services import sequence_next, sequence_raise_to
from kefu.customers.models import Account, Contact
from kefu.demo.dice import Dice
from kefu.demo.orders import ORDER_CHUNK, ORDER_FIELDS, Acct, OrderGenerator, OrderWorld, Person, Place
from kefu.demo.orgplan import GAS_ROOT_CODE, POWER_ROOT_CODE, REGION_WEIGHT, demo_unit_ids, staff_ensure
from kefu.demo.personas import persona_orders
from kefu.demo.writer import demo_orders_delete, order_sequence_rewind, writer_for_connection
from kefu.org.choices import Role, UnitLevel
from kefu.org.models import OrgUnit, Staff
from kefu.workorders.choices import OPEN_STATUSES
from kefu.workorders.clocks import policy_cache_clear
from kefu.workorders.models import OrderType, SlaPolicy, WarningLevel, WorkOrder
from kefu.workorders.seed import catalogue_seed

ORDERS_MARKER_KEY = "demo:orders"
ORDER_SEQUENCE_KEY = "workorder"  # the key workorders.services hands order numbers out from
FETCH = 5000


@dataclass
class OrdersResult:
    loaded: bool  # False: the orders were there already
    orders: int
    seconds: float = 0.0
    rows: dict[str, int] = field(default_factory=dict)
    open: int = 0
    personas: dict[str, int] = field(default_factory=dict)  # username -> open orders made for them
    staff_added: list[str] = field(default_factory=list)


def demo_orders_count() -> int | None:
    marker = NumberSequence.objects.filter(key=ORDERS_MARKER_KEY).first()
    return marker.last_value if marker else None


def demo_orders_wipe() -> dict[str, int]:
    """Delete the work orders of the demo units (with events, clocks, handovers, queued messages)."""
    with transaction.atomic():
        deleted = demo_orders_delete(demo_unit_ids())
        order_sequence_rewind(ORDER_SEQUENCE_KEY)
        NumberSequence.objects.filter(key=ORDERS_MARKER_KEY).delete()
    return deleted


def order_world_load() -> OrderWorld:
    """The demo org as the order generator sees it: stations, their units above, who works there."""
    roots = {u.code: u for u in OrgUnit.objects.filter(code__in=(POWER_ROOT_CODE, GAS_ROOT_CODE))}
    units: dict[int, OrgUnit] = {}
    root_utility: dict[int, str] = {}
    for code, utility in ((POWER_ROOT_CODE, UtilityKind.POWER), (GAS_ROOT_CODE, UtilityKind.GAS)):
        if code in roots:
            for unit in OrgUnit.objects.subtree(roots[code]):
                units[unit.pk] = unit
                root_utility[unit.pk] = utility
    by_code = {u.code: u for u in units.values()}
    places: dict[int, Place] = {}
    for unit in sorted(units.values(), key=lambda u: u.pk):
        parent = units.get(unit.parent_id) if unit.parent_id else None
        if unit.level != UnitLevel.STATION or parent is None or parent.level != UnitLevel.COUNTY:
            continue
        team = by_code.get(f"{parent.code}-QX", parent)
        places[unit.pk] = Place(station_id=unit.pk, county_id=parent.pk, team_id=team.pk,
                                utility=root_utility[unit.pk], region_class=unit.region_class,
                                weight=REGION_WEIGHT.get(unit.region_class, 1.0))
    agents: dict[str, list[Person]] = {UtilityKind.POWER: [], UtilityKind.GAS: []}
    leaders: dict[str, list[Person]] = {UtilityKind.POWER: [], UtilityKind.GAS: []}
    by_county: dict[int, list[Place]] = {}
    by_team: dict[int, list[Place]] = {}
    for p in places.values():
        by_county.setdefault(p.county_id, []).append(p)
        by_team.setdefault(p.team_id, []).append(p)
    root_ids = {r.pk for r in roots.values()}
    staff = (Staff.objects.filter(unit_id__in=list(units), is_active=True)
             .values_list("id", "unit_id", "roles__role").order_by("id"))
    for staff_id, unit_id, role in staff:
        person = Person(staff_id, unit_id)
        if unit_id in root_ids and role == Role.AGENT:
            agents[root_utility[unit_id]].append(person)
        elif unit_id in root_ids and role == Role.SHIFT_LEADER:
            leaders[root_utility[unit_id]].append(person)
        elif role == Role.HANDLER and unit_id in places:
            places[unit_id].station_handlers.append(person)
        elif role == Role.HANDLER and unit_id in by_county:
            for p in by_county[unit_id]:
                p.county_handlers.append(person)
        elif role == Role.CREW and unit_id in by_team:
            for p in by_team[unit_id]:
                p.crew.append(person)
        elif role == Role.CLERK and unit_id in by_county:
            for p in by_county[unit_id]:
                p.clerks.append(person)
    for kind, people in agents.items():
        if not people and any(p.utility == kind for p in places.values()):
            raise RuntimeError(f"the demo has no {kind} agents at its root unit")
    for p in places.values():
        if not (p.county_handlers or p.station_handlers or p.crew):
            p.county_handlers = list(agents[p.utility])  # nobody there: the hotline handles it
    bounds = Account.objects.filter(unit_id__in=list(places)).aggregate(lo=Min("id"), hi=Max("id"))
    levels = {str(float(f)): n for f, n in WarningLevel.objects.values_list("fraction", "notify_shift_leader")}
    return OrderWorld(
        types={t.code: t for t in OrderType.objects.filter(is_active=True).select_related("parent")},
        places=places, agents=agents, leaders=leaders, unit_names={u.pk: u.name for u in units.values()},
        unit_regions={u.pk: u.region_class for u in units.values()}, leader_levels=levels,
        account_range=(bounds["lo"], bounds["hi"]) if bounds["lo"] is not None else None,
    )


def accounts_fetch(ids: list[int | None], places: dict[int, Place]) -> dict[int, Acct]:
    """The picked accounts with what an order copies from them (caller = the primary contact)."""
    wanted = sorted({i for i in ids if i is not None})
    out: dict[int, Acct] = {}
    for start in range(0, len(wanted), FETCH):
        part = wanted[start:start + FETCH]
        rows = list(Account.objects.filter(id__in=part).values_list(
            "id", "customer_id", "premise_id", "unit_id", "utility", "importance", "premise__region_class",
            "premise__address", "customer__name"))
        phones = dict(Contact.objects.filter(customer_id__in={r[1] for r in rows}, is_primary=True)
                      .order_by("-id").values_list("customer_id", "phone"))
        for aid, cid, pid, uid, utility, importance, region, address, name in rows:
            if uid in places:
                out[aid] = Acct(aid, cid, pid, uid, utility, importance, region, address, name, phones.get(cid, ""))
    return out


def orders_write(generator: OrderGenerator, *, world: OrderWorld, orders: int, seed: int,
                 progress: bool = False) -> tuple[dict[str, int], int]:
    """Generate and write ``orders`` orders chunk by chunk, one transaction each. Returns the rows
    written per model and how many orders are open."""
    writer = writer_for_connection(ORDER_FIELDS)
    totals: dict[str, int] = {}
    open_count = 0
    status_at = ORDER_FIELDS[WorkOrder].index("status")
    bar = tqdm(total=orders, unit=" orders", unit_scale=True, disable=not progress, smoothing=0.1)
    for chunk, first in enumerate(range(0, orders, ORDER_CHUNK)):
        count = min(ORDER_CHUNK, orders - first)
        rng = Dice(f"orders:{seed}:{chunk}")
        picks = generator.account_picks(rng, count)
        accounts = accounts_fetch(picks, world.places)
        with transaction.atomic():
            writer.lock()
            ids = writer.next_ids()
            first_seq = sequence_next(key=ORDER_SEQUENCE_KEY, count=count)
            rows = generator.chunk_rows(chunk=chunk, first=first, count=count, ids=ids, first_seq=first_seq,
                                        accounts=accounts, picks=picks, rng=rng)
            writer.write(rows)
            writer.after_write(rows)
        open_count += sum(1 for r in rows.by_model[WorkOrder] if r[status_at] in OPEN_STATUSES)
        for model, data in rows.by_model.items():
            totals[model._meta.label] = totals.get(model._meta.label, 0) + len(data)
        bar.update(count)
    bar.close()
    writer.finish()
    return totals, open_count


def demo_orders_load(
    *,
    orders: int,
    seed: int,
    reset: bool = False,
    progress: bool = True,
    log: Callable[[str], None] = print,
    now: dt.datetime | None = None,
    personas: bool = True,
) -> OrdersResult:
    loaded = demo_orders_count()
    if loaded is not None and not reset:
        return OrdersResult(loaded=False, orders=loaded)
    started = time.monotonic()
    catalogue_seed(type_model=OrderType, policy_model=SlaPolicy, level_model=WarningLevel)
    policy_cache_clear()
    added = staff_ensure(seed=seed)
    unit_ids = demo_unit_ids()
    if reset or (loaded is None and WorkOrder.objects.filter(unit_id__in=unit_ids).exists()):
        deleted = demo_orders_wipe()
        if any(deleted.values()):
            log(f"Removed the previous demo orders in {time.monotonic() - started:.1f} s: "
                + ", ".join(f"{k} {v:,}" for k, v in deleted.items() if v))
    started = time.monotonic()
    now = (now or timezone.now()).replace(second=0, microsecond=0)
    world = order_world_load()
    generator = OrderGenerator(seed=seed, world=world, total=orders, now=now)
    totals, open_count = orders_write(generator, world=world, orders=orders, seed=seed, progress=progress)
    made = persona_orders(now=timezone.now()) if personas and orders else {}
    sequence_raise_to(key=ORDERS_MARKER_KEY, value=orders)
    if orders == 0:
        NumberSequence.objects.get_or_create(key=ORDERS_MARKER_KEY)
    return OrdersResult(loaded=True, orders=orders, seconds=time.monotonic() - started, rows=totals,
                        open=open_count, personas=made, staff_added=added)
