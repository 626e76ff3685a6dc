from __future__ import annotations

import pytest

from kefu.core.errors import Conflict, IllegalTransition, InvalidInput, PermissionDeniedError
from kefu.core.models import FieldChange
from kefu.customers.models import Account, AccountEvent, Contact, Customer
from kefu.customers.services import (
    ContactInput,
    account_assign_manager,
    account_change_status,
    account_open,
    customer_register,
    customer_update,
)


def test_world_builds(world):
    assert world.account_a1.number.startswith("1")
    assert world.account_b1.status == "registered"
    assert Contact.objects.get(customer=world.account_a1.customer).phone == "+8613800001111"
