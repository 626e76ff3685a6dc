"""Demo topology: every demo service point hangs on a leaf of its own unit and utility, the paths are
consistent, and running the demo again adds nothing."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from kefu.customers.models import Account, ServicePoint
from kefu.demo.grid import GRID_MARKER_KEY, grid_demo_count
from kefu.grid.choices import PATH_STEP, NodeKind
from kefu.grid.models import Attachment, GridNode
from kefu.grid.selectors import accounts_under, path_to_root

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fast_hasher(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def demo(*flags: str) -> str:
    out = StringIO()
    call_command("demo", "--customers", "300", "--orders", "50", "--no-progress", *flags, stdout=out)
    return out.getvalue()


def test_demo_attaches_every_service_point_to_its_own_unit_and_a_second_run_adds_nothing() -> None:
    out = demo()
    assert "Built the demo network topology" in out
    nodes = {n.pk: n for n in GridNode.objects.all()}
    attachments = list(Attachment.objects.select_related("service_point__premise"))
    sps = ServicePoint.objects.count()
    assert sps > 0 and len(attachments) == sps == grid_demo_count()
    leaves = {NodeKind.TRANSFORMER_AREA, NodeKind.BUILDING}
    for a in attachments:
        node = nodes[a.node_id]
        assert node.utility == a.service_point.utility
        assert node.unit_id == a.service_point.premise.unit_id
        assert node.kind in leaves

    # Each node's path is its parent's path plus its own id; depth follows.
    for node in nodes.values():
        parent_path = nodes[node.parent_id].path if node.parent_id else ""
        assert node.path == parent_path + f"{node.pk:0{PATH_STEP}d}."
        assert node.depth == (nodes[node.parent_id].depth + 1 if node.parent_id else 0)

    # Power: substations → 10 kV feeders → transformer areas, a few dedicated; gas: station → zone → building.
    kinds = {(n.kind, nodes[n.parent_id].kind if n.parent_id else None) for n in nodes.values()}
    assert {(NodeKind.SUBSTATION, None), (NodeKind.FEEDER, NodeKind.SUBSTATION),
            (NodeKind.TRANSFORMER_AREA, NodeKind.FEEDER), (NodeKind.GAS_STATION, None),
            (NodeKind.PRESSURE_ZONE, NodeKind.GAS_STATION), (NodeKind.BUILDING, NodeKind.PRESSURE_ZONE)} == kinds
    feeders = [n for n in nodes.values() if n.kind == NodeKind.FEEDER]
    assert all(n.name.startswith("10kV ") and n.name.endswith("线") for n in feeders)
    per_unit: dict[int, int] = {}
    for n in nodes.values():
        if n.kind == NodeKind.SUBSTATION:
            per_unit[n.unit_id] = per_unit.get(n.unit_id, 0) + 1
    assert per_unit and all(2 <= c <= 3 for c in per_unit.values())
    dedicated = [n for n in nodes.values() if n.dedicated]
    assert dedicated and all(n.kind == NodeKind.TRANSFORMER_AREA for n in dedicated)
    for n in dedicated:  # a 专变 serves one non-residential customer
        accounts = list(accounts_under(n))
        assert accounts and all("ded" in a.customer_class or "key" in a.customer_class for a in accounts)

    # The outage question: the accounts under a feeder are the accounts of its transformer areas.
    feeder = max(feeders, key=lambda f: accounts_under(f).count())
    under = set(accounts_under(feeder).values_list("id", flat=True))
    ta_ids = [n.pk for n in nodes.values() if n.parent_id == feeder.pk]
    sp_ids = Attachment.objects.filter(node_id__in=ta_ids).values_list("service_point_id", flat=True)
    expected = Account.objects.filter(service_point_id__in=list(sp_ids)).values_list("id", flat=True)
    assert under and under == set(expected)
    some = attachments[0]
    chain = path_to_root(some.service_point_id)
    assert [n.pk for n in chain] == list(reversed(nodes[some.node_id].ancestor_ids()))

    before = (GridNode.objects.count(), Attachment.objects.count())
    again = demo()
    assert "already built" in again
    assert (GridNode.objects.count(), Attachment.objects.count()) == before


def test_reset_rebuilds_the_topology_for_the_new_customers() -> None:
    demo()
    first = Attachment.objects.count()
    out = demo("--reset")
    assert "Built the demo network topology" in out
    assert Attachment.objects.count() == ServicePoint.objects.count() == first
    assert not GridNode.objects.exclude(unit__code__startswith="ZJDL").exclude(unit__code__startswith="HZRQ").exists()
    from kefu.core.models import NumberSequence

    assert NumberSequence.objects.get(key=GRID_MARKER_KEY).last_value == first
