"""A handful of readable open orders for the demo personas, made through the work-order services.

The bulk orders fill the queues; these are the ones a person trying the demo opens first: the agent
(``agent1``) has orders waiting for dispatch, returned, awaiting a callback and one overdue; the
station handler (``station_handler1``) has orders to acknowledge, one urged and one overdue; the shift
leader (``leader1``) supervises a complaint. Going through the services gives them everything a real
order has: clocks, events, notifications, and the watcher raises their warnings at the end.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.db.models import Q

from kefu.customers.choices import AccountStatus, CustomerClass
from kefu.customers.models import Account
from kefu.org.choices import Role
from kefu.org.models import OrgUnit, Staff
from kefu.workorders import services as wo
from kefu.workorders.models import WorkOrder
from kefu.workorders.watcher import workorder_watch

POWER_STATION = "ZJDL-HZ-XH-WX"  # 文新供电所, where station_handler1 works
POWER_COUNTY = "ZJDL-HZ-XH"
GAS_STATION = "HZRQ-TRQ-CX-XX"  # 西溪服务中心
GAS_TEAM = "HZRQ-TRQ-CX-QX"


def _account(station: str, utility: str, offset: int) -> Account | None:
    usable = Q(status=AccountStatus.ACTIVE) | Q(status=AccountStatus.GAS_ON)
    resident = (CustomerClass.POWER_PUBLIC_RESIDENTIAL if utility == "power" else CustomerClass.GAS_RESIDENTIAL)
    qs = Account.objects.filter(usable, unit__code=station, utility=utility, customer_class=resident).order_by("id")
    return qs[offset:offset + 1].first()


def persona_orders(*, now: dt.datetime) -> dict[str, int]:
    """Make the persona orders; returns, per username, how many open orders involve them."""
    staff = {s.username: s for s in Staff.objects.select_related("unit").filter(username__in=[
        "agent1", "agent2", "leader1", "station_handler1", "gas_agent1", "gas_crew1", "gas_station_handler1"])}
    units = {u.code: u for u in OrgUnit.objects.filter(code__in=[POWER_STATION, POWER_COUNTY, GAS_STATION, GAS_TEAM])}
    county_handler = (Staff.objects.select_related("unit").filter(unit__code=POWER_COUNTY, roles__role=Role.HANDLER)
                      .order_by("id").first())
    made: list[int] = []

    def ago(**kw: float) -> dt.datetime:
        return now - dt.timedelta(**kw)

    def intake(actor: str, kind: str, content: str, account: Account | None, when: dt.datetime,
               utility: str = "power") -> WorkOrder:
        order = wo.workorder_intake(
            actor=staff[actor], order_type=kind, channel="phone", content=content, account=account,
            utility=utility, caller_phone="" if account else "13857101234", caller_name="" if account else "赵先生",
            address="" if account else "浙江省杭州市西湖区文新街道文鼎社区3幢2单元501室", now=when,
        ).order
        made.append(order.pk)
        return order

    def step(fn: Callable[..., WorkOrder], actor: str, order: WorkOrder, when: dt.datetime,
             **kw: Any) -> WorkOrder:
        return fn(actor=staff[actor], order=order, now=when, **kw)

    power = {"agent1", "agent2", "leader1", "station_handler1"} <= set(staff) and {POWER_STATION, POWER_COUNTY} <= set(
        units)
    if power:
        station, county = units[POWER_STATION], units[POWER_COUNTY]
        acct = [_account(POWER_STATION, "power", i) for i in range(5)]
        # 1. A repair dispatched to the station and acknowledged, nobody on site after 50 minutes: overdue.
        o = intake("agent1", "repair", "家中突然停电，邻居家也没电，家里有老人，请尽快派人处理。", acct[0],
                   ago(minutes=50))
        o = step(wo.workorder_dispatch, "agent1", o, ago(minutes=48), unit=station)
        step(wo.workorder_acknowledge, "station_handler1", o, ago(minutes=40))
        # 2. An enquiry just taken, not answered yet: waits in the agent's own queue.
        intake("agent1", "enquiry", "咨询峰谷电价办理条件，客户要求核实户号后回电。", acct[1], ago(minutes=6))
        # 3. A meter complaint at the station, not acknowledged yet, and the customer called again.
        o = intake("agent2", "service_meter", "电表走得特别快，家里没人时也在走。", acct[2], ago(hours=3))
        o = step(wo.workorder_dispatch, "agent2", o, ago(hours=2, minutes=50), unit=station)
        step(wo.workorder_urge, "agent1", o, ago(minutes=20), reason="客户再次来电催办，要求今天上门。")
        # 4. A service complaint at the county company, supervised by the shift leader.
        o = intake("agent1", "complaint_service", "抢修人员态度恶劣，不解释停电原因，客户要求道歉。", acct[3],
                   ago(hours=26))
        o = step(wo.workorder_dispatch, "agent1", o, ago(hours=25), unit=county)
        if county_handler is not None:
            staff[county_handler.username] = county_handler
            o = step(wo.workorder_acknowledge, county_handler.username, o, ago(hours=24))
            o = step(wo.workorder_contact, county_handler.username, o, ago(hours=20),
                     note="已电话联系客户，约定上门致歉。")
        step(wo.workorder_supervise, "leader1", o, ago(hours=2), deadline=now + dt.timedelta(hours=22),
             reason="涉及服务态度，值班长督办，限时办结。")
        # 5. A reading query the station sent back: waits for dispatch again.
        o = intake("agent1", "service_reading", "本月电量比平时高出三倍，怀疑抄表有误。", acct[4], ago(hours=5))
        o = step(wo.workorder_dispatch, "agent1", o, ago(hours=4, minutes=50), unit=station)
        step(wo.workorder_return, "station_handler1", o, ago(hours=4), reason="户号与地址不符，请核实后重新派发。")
        # 6. A repair done yesterday and replied: the agent owes the customer a callback.
        o = intake("agent1", "repair", "家里跳闸后合不上，总开关一合就跳。", None, ago(hours=26))
        o = step(wo.workorder_dispatch, "agent1", o, ago(hours=25, minutes=55), unit=station)
        o = step(wo.workorder_acknowledge, "station_handler1", o, ago(hours=25, minutes=50))
        o = step(wo.workorder_arrive, "station_handler1", o, ago(hours=25, minutes=20))
        o = step(wo.workorder_handle, "station_handler1", o, ago(hours=24, minutes=40),
                 result="户内漏电保护器损坏，已更换，恢复供电。")
        step(wo.workorder_reply, "agent1", o, ago(hours=24), reply="已回复客户：故障已处理，供电恢复。")
    if {"gas_agent1", "gas_crew1", "gas_station_handler1"} <= set(staff) and {GAS_STATION, GAS_TEAM} <= set(units):
        acct = [_account(GAS_STATION, "gas", i) for i in range(2)]
        # 7. A gas repair at the county's repair team, on its way.
        o = intake("gas_agent1", "gas_repair", "燃气灶打不着火，表有气。", acct[0], ago(minutes=35), utility="gas")
        o = step(wo.workorder_dispatch, "gas_agent1", o, ago(minutes=33), unit=units[GAS_TEAM])
        step(wo.workorder_acknowledge, "gas_crew1", o, ago(minutes=30))
        # 8. A gas meter fault waiting at the service centre.
        o = intake("gas_agent1", "gas_meter", "燃气表电池没电，显示关阀。", acct[1], ago(hours=1), utility="gas")
        step(wo.workorder_dispatch, "gas_agent1", o, ago(minutes=55), unit=units[GAS_STATION])
    # Raise the warnings that are due by now (persona order 1 is overdue; others may be, too).
    workorder_watch(now=now, batch=1000)
    return _involved(made, staff)


def _involved(order_ids: list[int], staff: dict[str, Staff]) -> dict[str, int]:
    """Per persona, how many of the orders they accepted, work, supervise or hold at their unit."""
    orders = list(WorkOrder.objects.filter(pk__in=order_ids).select_related("handling_unit"))
    out: dict[str, int] = {}
    for name in ("agent1", "station_handler1", "leader1", "gas_agent1", "gas_station_handler1"):
        user = staff.get(name)
        if user is None:
            continue
        n = sum(1 for o in orders if user.pk in (o.accepted_by_id, o.assignee_id, o.supervised_by_id)
                or (o.handling_unit_id is not None and o.handling_unit_id == user.unit_id))
        if n:
            out[name] = n
    return out
