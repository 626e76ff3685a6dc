"""Demo outages (part of ``kefu demo``), made through the outage and work-order services as the demo
staff would make them:

- a planned outage of a whole 10 kV feeder, published now, starting in 8 days (the 7-day notice
  rule is kept);
- a grid-fault outage in force now on one transformer area, with two repair calls linked to it. The
  number the demo command suggests for ``kefu cti_simulate ring --caller 13800000000`` belongs to
  a customer there (a contact is added when no demo customer has it), so the desk shows the outage
  banner when that call rings;
- restored outages over the past months (planned, temporary and fault), published with ``now`` in
  the past so that no notice rule is broken, so the reliability page has figures;
- an open fault proposal: three repair calls under one transformer area within the grouping window.

Idempotent like the other demo steps: a completed step leaves the ``demo:outages`` marker (the
number of outages made) and does nothing when run again. ``outages_demo_wipe`` removes every
outage, proposal and fault call of the demo units; the demo command runs it before the topology,
the customers or the work orders it points at are reloaded.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from kefu.core.choices import UtilityKind
from kefu.core.models import NumberSequence, OutboxMessage
from kefu.core.validators import parse_phone
from kefu.customers.choices import AccountStatus, CustomerClass
from kefu.customers.models import Account, Contact
from kefu.customers.services import contact_add
from kefu.demo.dice import Dice
from kefu.demo.orgplan import POWER_ROOT_CODE, demo_unit_ids
from kefu.grid.choices import NodeKind
from kefu.grid.models import Attachment, GridNode
from kefu.org.choices import Role
from kefu.org.models import OrgUnit, Staff
from kefu.outages.models import FaultCall, FaultProposal, GroupingRule, MessageTemplate, NoticeRule, Outage
from kefu.outages.seed import outage_policy_seed
from kefu.outages.services import outage_create, outage_publish, outage_restore, outage_review
from kefu.workorders.choices import Channel
from kefu.workorders.services import workorder_intake

OUTAGES_MARKER_KEY = "demo:outages"
# What the demo command suggests: ``kefu cti_simulate ring --extension 8001 --caller 13800000000``.
DEMO_CALLER = "13800000000"
PLANNED_DAYS_AHEAD = 8
RESTORED = 6  # restored outages over the past months
REPAIR_TEXTS = ("家里突然停电了，整栋楼都没电。", "家里没电了，邻居家也停了，请尽快派人来看看。",
                "小区停电，电梯也停了，老人被困家中，请尽快处理。", "刚才听到一声响，然后整个单元都停电了。",
                "家里停电半小时了，冰箱里的东西要坏了，什么时候来电？")


@dataclass
class OutagesResult:
    loaded: bool  # False: the demo outages were there already (or there is no demo topology)
    outages: int
    planned: str = ""  # outage numbers, for the printout
    live: str = ""
    restored: int = 0
    proposal_calls: int = 0
    caller: str = ""  # the number to ring from to see the banner
    seconds: float = 0.0
    rows: dict[str, int] = field(default_factory=dict)


def outages_demo_count() -> int | None:
    marker = NumberSequence.objects.filter(key=OUTAGES_MARKER_KEY).first()
    return marker.last_value if marker else None


def outages_demo_wipe() -> dict[str, int]:
    """Remove the outages, fault proposals and fault calls of the demo units (they hold protected
    references to the demo nodes, accounts, orders and staff) and the SMS they queued."""
    units = demo_unit_ids()
    deleted: dict[str, int] = {}
    with transaction.atomic():
        outages = list(Outage.objects.filter(Q(unit_id__in=units) | Q(created_by__unit_id__in=units))
                       .values_list("pk", flat=True))
        deleted["core.OutboxMessage"] = OutboxMessage.objects.filter(
            source_model="outages.outage", source_id__in=outages).delete()[0]
        deleted["outages.FaultCall"] = FaultCall.objects.filter(
            Q(node__unit_id__in=units) | Q(order__unit_id__in=units) | Q(outage_id__in=outages)).delete()[0]
        deleted["outages.FaultProposal"] = FaultProposal.objects.filter(unit_id__in=units).delete()[0]
        deleted["outages.Outage"] = Outage.objects.filter(pk__in=outages).delete()[1].get("outages.Outage", 0)
        NumberSequence.objects.filter(key=OUTAGES_MARKER_KEY).delete()
    return deleted


def outages_demo_load(*, seed: int = 7, now: dt.datetime | None = None) -> OutagesResult:
    """Make the demo outages unless the marker says they are there. Needs the demo topology."""
    loaded = outages_demo_count()
    if loaded is not None:
        return OutagesResult(loaded=False, outages=loaded, caller=DEMO_CALLER)
    stations = _power_stations()
    leader = _staff(Role.SHIFT_LEADER)
    agent = _staff(Role.AGENT)
    if not stations or leader is None or agent is None:
        return OutagesResult(loaded=False, outages=0)
    started = time.monotonic()
    now = now or timezone.now()
    # The notice rules, grouping thresholds and SMS templates of the data migration (idempotent; as
    # the order step does with the order catalogue).
    outage_policy_seed(rule_model=NoticeRule, grouping_model=GroupingRule, template_model=MessageTemplate)
    maker = Maker(seed=seed, now=now, leader=leader, agent=agent, director=_staff(Role.DIRECTOR) or leader)
    with transaction.atomic():
        result = maker.make(stations)
        NumberSequence.objects.update_or_create(key=OUTAGES_MARKER_KEY, defaults={"last_value": result.outages})
    result.seconds = time.monotonic() - started
    return result


def _power_stations() -> list[OrgUnit]:
    """Stations with a demo power topology, in code order."""
    ids = (GridNode.objects.filter(unit_id__in=demo_unit_ids(), utility=UtilityKind.POWER,
                                   kind=NodeKind.TRANSFORMER_AREA).values("unit_id"))
    return list(OrgUnit.objects.filter(pk__in=ids).order_by("code"))


def _staff(role: str) -> Staff | None:
    """The first demo staff member with ``role`` at the power company (agent1, leader1, director1)."""
    return (Staff.objects.select_related("unit").filter(is_active=True, roles__role=role, unit__code=POWER_ROOT_CODE)
            .order_by("id").first())


# Residential power customers that draw supply: whom the demo outages and repair calls are about.
RESIDENTIAL = {"utility": UtilityKind.POWER, "status": AccountStatus.ACTIVE,
               "customer_class": CustomerClass.POWER_PUBLIC_RESIDENTIAL, "premise__isnull": False}


def _residential(ta: GridNode, count: int) -> list[Account]:
    """The first ``count`` residential accounts hung on the transformer area, by id."""
    attached = Attachment.objects.filter(node=ta).values("service_point_id")
    found = Account.objects.filter(service_point_id__in=attached, **RESIDENTIAL).select_related("customer")
    return sorted(found, key=lambda a: a.pk)[:count]


def _with_customers(station: OrgUnit, used: set[int]) -> QuerySet[Attachment]:
    """The station's attachments to public transformer areas on unused feeders, one row per residential
    account (read from the attachment side, so that each is found through its node index)."""
    residential = {f"service_point__accounts__{k}": v for k, v in RESIDENTIAL.items()}
    return (Attachment.objects.filter(node__unit=station, node__utility=UtilityKind.POWER,
                                      node__kind=NodeKind.TRANSFORMER_AREA, node__dedicated=False, **residential)
            .exclude(node__parent_id__in=used))


def _local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


class Maker:
    def __init__(self, *, seed: int, now: dt.datetime, leader: Staff, agent: Staff, director: Staff) -> None:
        self.rng = Dice(f"outages:{seed}")
        self.now = now
        self.leader, self.agent, self.director = leader, agent, director
        self.used: set[int] = set()  # feeders already given an outage

    # Choosing places ---------------------------------------------------------------------------

    def _area(self, station: OrgUnit, accounts: int) -> tuple[GridNode, list[Account]] | None:
        """The first public transformer area of the station, on a feeder not used yet, with at least
        ``accounts`` residential customers."""
        row = (_with_customers(station, self.used).values("node_id", "node__path")
               .annotate(n=Count("service_point__accounts")).filter(n__gte=accounts).order_by("node__path").first())
        if row is None:
            return None
        ta = GridNode.objects.get(pk=row["node_id"])
        if ta.parent_id is not None:
            self.used.add(ta.parent_id)
        return ta, _residential(ta, accounts)

    def _feeder(self, station: OrgUnit) -> GridNode | None:
        """The first unused feeder of the station with residential customers."""
        row = (_with_customers(station, self.used).values("node__parent_id", "node__parent__path")
               .annotate(n=Count("service_point__accounts")).order_by("node__parent__path").first())
        if row is None:
            return None
        self.used.add(row["node__parent_id"])
        return GridNode.objects.get(pk=row["node__parent_id"])

    def _handler(self, node: GridNode) -> Staff:
        """The handler nearest above the node's unit (the county dispatch), else the shift leader."""
        unit = OrgUnit.objects.get(pk=node.unit_id)
        handlers = (Staff.objects.select_related("unit").filter(is_active=True, roles__role=Role.HANDLER)
                    .order_by("-unit__depth", "id"))
        for staff in handlers:
            if staff.unit is not None and unit.path.startswith(staff.unit.path):
                return staff
        return self.leader

    # Steps -------------------------------------------------------------------------------------

    def make(self, stations: list[OrgUnit]) -> OutagesResult:
        result = OutagesResult(loaded=True, outages=0, caller=DEMO_CALLER)
        order = list(stations)
        live = self._live(order)
        if live is not None:
            result.live = live.number
            result.outages += 1
        result.proposal_calls = self._proposal(order[1:] + order[:1])
        planned = self._planned(order[2:] + order[:2])
        if planned is not None:
            result.planned = planned.number
            result.outages += 1
        result.restored = self._restored(order[3:] + order[:3])
        result.outages += result.restored
        result.rows = {"outages.Outage": result.outages, "outages.FaultProposal": int(result.proposal_calls > 0)}
        return result

    def _publish(self, outage: Outage, at: dt.datetime) -> Outage:
        outage = outage_review(actor=self.leader, outage=outage, note="已核对停电范围和受影响客户。",
                               now=at - dt.timedelta(minutes=2))
        return outage_publish(actor=self.leader, outage=outage, now=at)

    def _live(self, stations: list[OrgUnit]) -> Outage | None:
        """A fault on a transformer area, in force now; the demo caller is one of its customers."""
        for station in stations:
            found = self._area(station, 3)
            if found is not None:
                break
        else:
            return None
        ta, accounts = found
        caller_account = self._caller(accounts)
        start = self.now - dt.timedelta(minutes=50)
        handler = self._handler(ta)
        outage = outage_create(actor=handler, now=start + dt.timedelta(minutes=8), data={
            "utility": UtilityKind.POWER, "outage_class": "fault", "area": ta.name,
            "reason": "台区低压出线电缆故障，抢修人员已到场", "planned_start": start,
            "planned_end": self.now + dt.timedelta(hours=3), "nodes": [ta.code],
        })
        outage = self._publish(outage, start + dt.timedelta(minutes=12))
        # Two repair calls from customers of the area: linked to the outage, not dispatched again.
        others = [a for a in accounts if a.pk != caller_account.pk]
        for k, account in enumerate([caller_account, *others[:1]]):
            workorder_intake(actor=self.agent, order_type="repair", channel=Channel.PHONE, account=account,
                             caller_phone=DEMO_CALLER if account.pk == caller_account.pk else "",
                             content=REPAIR_TEXTS[k], now=start + dt.timedelta(minutes=20 + 10 * k))
        return outage

    def _caller(self, accounts: list[Account]) -> Account:
        """The account whose customer answers to DEMO_CALLER (a contact added if nobody there has it)."""
        e164 = parse_phone(DEMO_CALLER).e164
        holders = set(Contact.objects.filter(phone=e164).values_list("customer_id", flat=True))
        for account in accounts:
            if account.customer_id in holders:
                return account
        account = accounts[0]
        contact_add(customer=account.customer, actor=self.leader, name=account.customer.name, phone=DEMO_CALLER,
                    note="演示来电号码 (kefu cti_simulate ring --caller 13800000000)")
        return account

    def _proposal(self, stations: list[OrgUnit]) -> int:
        """Three repair calls under one transformer area within the grouping window."""
        rule = GroupingRule.objects.filter(utility=UtilityKind.POWER).first()
        calls = rule.area_calls if rule else 3
        window = rule.window_minutes if rule else 30
        for station in stations:
            found = self._area(station, calls)
            if found is not None:
                break
        else:
            return 0
        _ta, accounts = found
        step = max(1, min(8, (window - 2) // calls))
        first = self.now - dt.timedelta(minutes=step * calls)
        for k, account in enumerate(accounts[:calls]):
            workorder_intake(actor=self.agent, order_type="repair", channel=Channel.PHONE, account=account,
                             content=REPAIR_TEXTS[(k + 2) % len(REPAIR_TEXTS)],
                             now=first + dt.timedelta(minutes=step * k, seconds=self.rng.below(50)))
        return calls

    def _planned(self, stations: list[OrgUnit]) -> Outage | None:
        """A whole feeder, published now for a day PLANNED_DAYS_AHEAD days away."""
        feeder = next((f for f in (self._feeder(s) for s in stations) if f is not None), None)
        if feeder is None:
            return None
        day = timezone.localdate(self.now) + dt.timedelta(days=PLANNED_DAYS_AHEAD)
        outage = outage_create(actor=self._handler(feeder), now=self.now - dt.timedelta(minutes=30), data={
            "utility": UtilityKind.POWER, "outage_class": "planned", "area": f"{feeder.name}全线",
            "reason": "10kV线路检修及设备消缺", "planned_start": _local(day, 8), "planned_end": _local(day, 17),
            "nodes": [feeder.code],
        })
        return self._publish(outage, self.now - dt.timedelta(minutes=5))

    def _restored(self, stations: list[OrgUnit]) -> int:
        """Planned, temporary and fault outages over the past months, each published in time and restored."""
        today = timezone.localdate(self.now)
        made = 0
        for k in range(RESTORED):
            if not stations:
                break
            station = stations[k % len(stations)]
            day = today - dt.timedelta(days=12 + 27 * k + self.rng.below(9))
            kind = ("planned", "fault", "temporary")[k % 3]
            if kind == "planned":
                feeder = self._feeder(station)
                if feeder is None:
                    continue
                start = _local(day, 8)
                data = {"area": f"{feeder.name}全线", "reason": "线路改造及设备例行试验", "nodes": [feeder.code],
                        "planned_start": start, "planned_end": start + dt.timedelta(hours=9)}
                created, published = start - dt.timedelta(days=10), start - dt.timedelta(days=8)
                ended = start + dt.timedelta(hours=8, minutes=20 + self.rng.below(60))
                node = feeder
            else:
                found = self._area(station, 1)
                if found is None:
                    continue
                node = found[0]
                if kind == "fault":
                    start = _local(day, 9 + self.rng.below(10), self.rng.below(60))
                    data = {"area": node.name, "reason": "台区变压器故障", "nodes": [node.code],
                            "planned_start": start, "planned_end": start + dt.timedelta(hours=3)}
                    created, published = start + dt.timedelta(minutes=12), start + dt.timedelta(minutes=18)
                    ended = start + dt.timedelta(hours=1, minutes=30 + self.rng.below(90))
                else:
                    start = _local(day, 13, 30)
                    data = {"area": node.name, "reason": "配合市政道路施工临时停电", "nodes": [node.code],
                            "planned_start": start, "planned_end": start + dt.timedelta(hours=4)}
                    created, published = start - dt.timedelta(days=3), start - dt.timedelta(days=2)
                    ended = start + dt.timedelta(hours=3, minutes=self.rng.below(50))
            outage = outage_create(actor=self._handler(node), now=created,
                                   data={"utility": UtilityKind.POWER, "outage_class": kind, **data})
            outage = self._publish(outage, published)
            outage_restore(actor=self._handler(node), outage=outage, actual_start=start, actual_end=ended,
                           note="已恢复送电。", now=ended + dt.timedelta(minutes=10))
            made += 1
        return made
