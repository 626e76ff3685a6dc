"""Shared test personas (architecture rule 4): who sees what is proven against these people.

Tree:  省公司 P ─┬─ 城市A CA ─┬─ 县A1 A1
                 │            └─ 县A2 A2
                 └─ 城市B CB ─── 县B1 B1
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher

from kefu.customers.models import Account
from kefu.customers.tests.factories import make_account
from kefu.org.models import OrgUnit, Staff
from kefu.org.tests.factories import PASSWORD, make_staff, make_unit


class FastArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2 with the smallest cost: same format and code path, a millisecond instead of ~100 ms."""

    time_cost = 1
    memory_cost = 64
    parallelism = 1


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["conftest.FastArgon2PasswordHasher"]


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
    password: str = PASSWORD


@pytest.fixture
def world(db: None) -> World:
    province = make_unit("省公司", code="P", level="group", utility="both")
    city_a = make_unit("城市A供电公司", code="CA", parent=province, level="city")
    county_a1 = make_unit("县A1供电公司", code="A1", parent=city_a, level="county", region_class="rural")
    county_a2 = make_unit("县A2供电公司", code="A2", parent=city_a, level="county")
    city_b = make_unit("城市B燃气公司", code="CB", parent=province, level="city", utility="gas")
    county_b1 = make_unit("B1服务中心", code="B1", parent=city_b, level="station", utility="gas")
    return World(
        province=province, city_a=city_a, county_a1=county_a1, county_a2=county_a2, city_b=city_b,
        county_b1=county_b1,
        admin=make_staff("admin_p", unit=province, roles=["admin"]),
        supervisor=make_staff("director_ca", unit=city_a, roles=["director", "shift_leader"]),
        agent_a1=make_staff("agent_a1", unit=county_a1, roles=["agent"], extension="8001"),
        agent_a2=make_staff("agent_a2", unit=county_a2, roles=["agent"]),
        outsider=make_staff("agent_b1", unit=county_b1, roles=["agent"]),
        crew_a1=make_staff("crew_a1", unit=county_a1, roles=["crew"]),
        manager_a1=make_staff("manager_a1", unit=county_a1, roles=["manager_full"]),
        account_a1=make_account(unit=county_a1, name="王小明", phone="13800001111"),
        account_a2=make_account(unit=county_a2, name="李大华", phone="13800002222"),
        account_b1=make_account(unit=county_b1, name="赵燃气", phone="13800003333", utility="gas"),
    )


@pytest.fixture
def artifacts_dir() -> Path:
    """Where tests leave files a person may want to look at (screenshots)."""
    path = Path(__file__).resolve().parent / "test-output"
    path.mkdir(exist_ok=True)
    return path
