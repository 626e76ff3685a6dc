"""Factories for customers: one call gives a customer with premise, account and contact."""

from __future__ import annotations

import itertools
from typing import Any

from kefu.core.validators import resident_id_check_char
from kefu.customers.models import Account
from kefu.customers.services import ContactInput, customer_register
from kefu.org.models import OrgUnit

_seq = itertools.count(1)


def valid_resident_id(n: int) -> str:
    body = f"330106198{(n % 10)}0101{n % 1000:03d}"
    return body + resident_id_check_char(body)


def make_account(
    *,
    unit: OrgUnit,
    name: str | None = None,
    phone: str | None = None,
    utility: str = "power",
    customer_class: str | None = None,
    **account: Any,
) -> Account:
    n = next(_seq)
    return customer_register(
        actor=None,
        unit=unit,
        customer={"kind": "person", "name": name or f"客户{n}", "id_type": "resident_id",
                  "id_number": valid_resident_id(n)},
        premise={"province": "浙江省", "city": "杭州市", "district": "西湖区", "street": "文三路",
                 "community": "学院社区", "building": str(n % 30 + 1), "entrance": "1", "room": f"{n % 900 + 101}"},
        account={"utility": utility,
                 "customer_class": customer_class or ("p_pub_residential" if utility == "power" else "g_residential"),
                 **account},
        contacts=[ContactInput(name=name or f"客户{n}", phone=phone or f"139{n:08d}")],
    )
