"""Factories for org units and staff. Units go through the service so paths are right."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

from kefu.org.models import OrgUnit, Staff
from kefu.org.services import orgunit_create, staff_create

_seq = itertools.count(1)
PASSWORD = "Kefu-Test-2026!"


def make_unit(name: str | None = None, *, parent: OrgUnit | None = None, **kw: Any) -> OrgUnit:
    n = next(_seq)
    return orgunit_create(
        name=name or f"单位{n}", code=kw.pop("code", f"U{n:05d}"), parent=parent, actor=None, **kw
    )


def make_staff(
    username: str | None = None, *, unit: OrgUnit, roles: Iterable[str] = ("agent",), **kw: Any
) -> Staff:
    n = next(_seq)
    return staff_create(
        username=username or f"user{n}", password=kw.pop("password", PASSWORD), unit=unit, roles=roles,
        actor=None, validate=False, full_name=kw.pop("full_name", f"员工{n}"), **kw,
    )
