"""Demo outages: what the demo shows (a planned outage announced in time, a fault in force over the
number the desk simulator rings from, restored outages with reliability figures, an open proposal),
made once however often the demo runs, and wiped cleanly before a reload."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from kefu.core.models import NumberSequence, OutboxMessage
from kefu.core.validators import parse_phone
from kefu.customers.models import Account, Contact
from kefu.demo.grid import grid_demo_load
from kefu.demo.loader import demo_load
from kefu.demo.orgplan import POWER_ROOT_CODE
from kefu.demo.outages import DEMO_CALLER, OUTAGES_MARKER_KEY, outages_demo_load, outages_demo_wipe
from kefu.org.models import OrgUnit
from kefu.outages.choices import LIVE, OutageClass, ProposalStatus, Status
from kefu.outages.models import AffectedAccount, FaultCall, FaultProposal, Outage
from kefu.outages.reliability import reliability
from kefu.outages.selectors import live_for_accounts
from kefu.workorders.tests.factories import reseed

pytestmark = pytest.mark.django_db(transaction=True)
NOW = dt.datetime(2026, 11, 20, 6, 30, tzinfo=dt.UTC)  # 14:30 in Asia/Shanghai


@pytest.fixture(autouse=True)
def fast_hasher(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def counts() -> dict[str, int]:
    return {"outages": Outage.objects.count(), "affected": AffectedAccount.objects.count(),
            "proposals": FaultProposal.objects.count(), "calls": FaultCall.objects.count(),
            "sms": OutboxMessage.objects.filter(source_model="outages.outage").count(),
            "contacts": Contact.objects.count()}


def test_demo_outages_show_where_the_demo_looks_and_are_made_once() -> None:
    reseed()  # an earlier transaction=True test may have flushed the seed data away
    demo_load(customers=400, seed=7, progress=False)
    grid_demo_load(seed=7)
    with time_machine.travel(NOW):
        first = outages_demo_load(seed=7, now=NOW)
    assert first.loaded and first.outages == 8 and first.restored == 6 and first.proposal_calls == 3

    # A planned outage of a whole feeder, announced now for 8 days ahead: no rule broken, no override.
    planned = Outage.objects.get(number=first.planned)
    assert (planned.outage_class, planned.status) == (OutageClass.PLANNED, Status.PUBLISHED)
    assert timezone.localdate(planned.planned_start) == timezone.localdate(NOW) + dt.timedelta(days=8)
    assert not planned.override_reason and planned.affected_count > 0
    assert OutboxMessage.objects.filter(source_model="outages.outage", source_id=planned.pk).exists()

    # The number the desk simulator rings from belongs to a customer inside the fault in force now.
    live = Outage.objects.get(number=first.live)
    assert live.status in LIVE and live.planned_start <= NOW < live.planned_end
    callers = Contact.objects.filter(phone=parse_phone(DEMO_CALLER).e164).values("customer_id")
    accounts = list(Account.objects.filter(customer_id__in=callers).values_list("id", flat=True))
    assert live_for_accounts(accounts, now=NOW) == [live]
    # Its two repair calls wait on it instead of going to a crew.
    assert FaultCall.objects.filter(outage=live).count() == 2

    # Three calls under one transformer area wait for a dispatcher as one proposal.
    proposal = FaultProposal.objects.get(status=ProposalStatus.OPEN)
    assert proposal.call_count == 3 and proposal.node.kind == "ta"
    assert FaultCall.objects.filter(proposal=proposal, outage__isnull=True).count() == 3

    # Restored outages over the past months give the reliability page figures.
    restored = Outage.objects.filter(status=Status.RESTORED)
    assert restored.count() == 6
    assert all(o.actual_end and o.actual_end < NOW - dt.timedelta(days=7) for o in restored)
    root = OrgUnit.objects.get(code=POWER_ROOT_CODE)
    year = reliability(unit=root, start=timezone.localdate(NOW) - dt.timedelta(days=200),
                       end=timezone.localdate(NOW) - dt.timedelta(days=1), now=NOW)
    assert year.outages == 6 and year.interruptions > 0 and year.saidi > 0 and year.rs1 < 100

    # A second run makes nothing new.
    before = counts()
    with time_machine.travel(NOW + dt.timedelta(days=1)):
        again = outages_demo_load(seed=7)
    assert not again.loaded and again.outages == 8
    assert counts() == before

    # The wipe (before a reload) takes it all away; the added contact stays with its customer.
    outages_demo_wipe()
    assert counts() == {**dict.fromkeys(before, 0), "contacts": before["contacts"]}
    assert not NumberSequence.objects.filter(key=OUTAGES_MARKER_KEY).exists()
