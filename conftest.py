"""Shared test personas (architecture rule 4): who sees what is proven against these people.

Tree:  省公司 P ─┬─ 城市A CA ─┬─ 县A1 A1 ─── (供电所 S1: the ``station`` fixture)
                 │            └─ 县A2 A2
                 └─ 城市B CB ─── 县B1 B1

Work orders: one open repair order per county (order_a1 by agent_a1 for account_a1, ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher

from kefu.core.calendar import calendar_invalidate
from kefu.customers.models import Account
from kefu.customers.tests.factories import make_account
from kefu.org.models import OrgUnit, Staff
from kefu.org.tests.factories import PASSWORD, make_staff, make_unit
from kefu.workorders.clocks import policy_cache_clear
from kefu.workorders.models import WorkOrder
from kefu.workorders.services import workorder_intake


class FastArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2 with the smallest cost: same format and code path, a millisecond instead of ~100 ms."""

    time_cost = 1
    memory_cost = 64
    parallelism = 1


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["conftest.FastArgon2PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_policy_caches() -> None:
    # Calendar and policy rows are cached per process; each test's database starts from the seed.
    calendar_invalidate()
    policy_cache_clear()


@dataclass
class World:
    province: OrgUnit
    city_a: OrgUnit
    county_a1: OrgUnit
    county_a2: OrgUnit
    city_b: OrgUnit
    county_b1: OrgUnit
    admin: Staff  # administrator at the province: sees everything
    supervisor: Staff  # director at city A: sees A1 and A2
    agent_a1: Staff  # agent at county A1
    agent_a2: Staff  # agent at county A2 (a peer: must not see A1)
    outsider: Staff  # agent at county B1 (other city)
    crew_a1: Staff  # crew member at A1: may look, may not edit
    manager_a1: Staff  # full-time customer manager at A1
    account_a1: Account
    account_a2: Account
    account_b1: Account
    order_a1: WorkOrder  # open repair order for account_a1, accepted by agent_a1
    order_a2: WorkOrder
    order_b1: WorkOrder  # gas repair order for account_b1
    password: str = PASSWORD


@pytest.fixture
def world(db: None) -> World:
    province = make_unit("省公司", code="P", level="group", utility="both")
    city_a = make_unit("城市A供电公司", code="CA", parent=province, level="city")
    county_a1 = make_unit("县A1供电公司", code="A1", parent=city_a, level="county", region_class="rural")
    county_a2 = make_unit("县A2供电公司", code="A2", parent=city_a, level="county")
    city_b = make_unit("城市B燃气公司", code="CB", parent=province, level="city", utility="gas")
    county_b1 = make_unit("B1服务中心", code="B1", parent=city_b, level="station", utility="gas")
    agent_a1 = make_staff("agent_a1", unit=county_a1, roles=["agent"], extension="8001")
    agent_a2 = make_staff("agent_a2", unit=county_a2, roles=["agent"])
    outsider = make_staff("agent_b1", unit=county_b1, roles=["agent"])
    account_a1 = make_account(unit=county_a1, name="王小明", phone="13800001111")
    account_a2 = make_account(unit=county_a2, name="李大华", phone="13800002222")
    account_b1 = make_account(unit=county_b1, name="赵燃气", phone="13800003333", utility="gas")

    def order(agent: Staff, account: Account, kind: str) -> WorkOrder:
        return workorder_intake(actor=agent, order_type=kind, channel="phone", account=account,
                                content="家里停电了 / no power at home").order

    return World(
        province=province, city_a=city_a, county_a1=county_a1, county_a2=county_a2, city_b=city_b,
        county_b1=county_b1,
        admin=make_staff("admin_p", unit=province, roles=["admin"]),
        supervisor=make_staff("director_ca", unit=city_a, roles=["director", "shift_leader"]),
        agent_a1=agent_a1, agent_a2=agent_a2, outsider=outsider,
        crew_a1=make_staff("crew_a1", unit=county_a1, roles=["crew"]),
        manager_a1=make_staff("manager_a1", unit=county_a1, roles=["manager_full"]),
        account_a1=account_a1, account_a2=account_a2, account_b1=account_b1,
        order_a1=order(agent_a1, account_a1, "repair"),
        order_a2=order(agent_a2, account_a2, "repair"),
        order_b1=order(outsider, account_b1, "gas_repair"),
    )


@dataclass
class Station:
    """A service station below county A1 with its handler, and A1's shift leader (work-order tests)."""

    unit: OrgUnit
    handler: Staff
    leader: Staff


@pytest.fixture
def station(world: World) -> Station:
    unit = make_unit("城关供电所", code="S1", parent=world.county_a1, level="station", region_class="urban")
    return Station(
        unit=unit,
        handler=make_staff("handler_s1", unit=unit, roles=["handler"], phone="13900001111"),
        leader=make_staff("leader_a1", unit=world.county_a1, roles=["shift_leader"], phone="13900002222"),
    )


@pytest.fixture
def artifacts_dir() -> Path:
    """Where tests leave files a person may want to look at (screenshots)."""
    path = Path(__file__).resolve().parent / "test-output"
    path.mkdir(exist_ok=True)
    return path
