"""Node services: create, edit, move with the subtree (never into itself), attach."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import translation

from kefu.core.errors import InvalidInput, NotFoundError, PermissionDeniedError
from kefu.grid.models import Attachment, GridNode, NodeEvent
from kefu.grid.selectors import accounts_under, ancestors, path_to_root, subtree_nodes
from kefu.grid.services import attach, node_create, node_update
from kefu.grid.tests.factories import make_node


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """The messages are checked in English, the language of the msgids (Chinese is the default)."""
    with translation.override("en"):
        yield


@pytest.fixture
def tree(world: Any) -> dict[str, GridNode]:
    a = world.supervisor
    ss = make_node(actor=a, unit=world.county_a1, code="SS")
    f1 = make_node(actor=a, unit=world.county_a1, parent=ss, code="F1")
    f2 = make_node(actor=a, unit=world.county_a1, parent=ss, code="F2")
    ta = make_node(actor=a, unit=world.county_a1, parent=f1, code="TA", kind="ta")
    return {"ss": ss, "f1": f1, "f2": f2, "ta": ta}


def fresh(node: GridNode) -> GridNode:
    return GridNode.objects.get(pk=node.pk)


def test_create_sets_path_and_depth(world: Any, tree: dict[str, GridNode]) -> None:
    ta = fresh(tree["ta"])
    assert ta.depth == 2 and ta.path == f"{tree['ss'].pk:010d}.{tree['f1'].pk:010d}.{ta.pk:010d}."
    assert [n.code for n in ancestors(ta)] == ["SS", "F1", "TA"]
    assert NodeEvent.objects.filter(node=ta, kind="created").exists()


def test_create_refuses_bad_fields_duplicate_code_and_other_utility_parent(world: Any,
                                                                          tree: dict[str, GridNode]) -> None:
    with pytest.raises(InvalidInput) as caught:
        node_create(actor=world.supervisor, unit=world.county_a1, data={"code": "", "name": "x", "kind": "riser",
                                                                         "utility": "power"})
    assert set(caught.value.errors) == {"code", "kind"}
    with pytest.raises(InvalidInput) as caught:
        node_create(actor=world.supervisor, unit=world.county_a1, data={"code": "SS", "name": "again",
                                                                         "kind": "substation", "utility": "power"})
    assert "code" in caught.value.errors
    with pytest.raises(InvalidInput) as caught:
        node_create(actor=world.supervisor, unit=world.county_a1, parent=tree["f1"],
                    data={"code": "G", "name": "gas", "kind": "building", "utility": "gas"})
    assert "parent" in caught.value.errors


def test_create_needs_a_unit_in_scope_and_grid_edit(world: Any) -> None:
    data = {"code": "N", "name": "n", "kind": "substation", "utility": "power"}
    with pytest.raises(InvalidInput) as caught:
        node_create(actor=world.supervisor, unit=world.county_b1, data=data)
    assert "unit" in caught.value.errors
    with pytest.raises(PermissionDeniedError):
        node_create(actor=world.agent_a1, unit=world.county_a1, data=data)
    assert not GridNode.objects.filter(code="N").exists()


def test_move_takes_the_subtree_along(world: Any, tree: dict[str, GridNode]) -> None:
    f1 = fresh(tree["f1"])
    moved = node_update(actor=world.supervisor, node_id=f1.pk, data={"name": "新名"}, parent=tree["f2"],
                        seen_version=f1.version)
    ta = fresh(tree["ta"])
    assert moved.depth == 2 and fresh(moved).path == tree["f2"].path + f"{f1.pk:010d}."
    assert ta.depth == 3 and ta.path == fresh(moved).path + f"{ta.pk:010d}."
    assert set(subtree_nodes(fresh(tree["f2"])).values_list("code", flat=True)) == {"F2", "F1", "TA"}
    assert fresh(moved).name == "新名" and fresh(moved).version == 2


def test_move_under_own_descendant_is_refused(world: Any, tree: dict[str, GridNode]) -> None:
    before = {n.pk: n.path for n in GridNode.objects.all()}
    for target in (tree["ta"], tree["ss"]):
        parent = fresh(target)
        with pytest.raises(InvalidInput) as caught:
            node_update(actor=world.supervisor, node_id=tree["ss"].pk, data={}, parent=parent)
        assert "cycle" in caught.value.errors["parent"][0]
    assert {n.pk: n.path for n in GridNode.objects.all()} == before


def test_stale_version_and_out_of_scope_are_refused(world: Any, tree: dict[str, GridNode]) -> None:
    from kefu.core.errors import Conflict

    with pytest.raises(Conflict):
        node_update(actor=world.supervisor, node_id=tree["f1"].pk, data={"name": "x"}, parent=tree["ss"],
                    seen_version=99)
    other = make_node(actor=world.admin, unit=world.county_b1, utility="gas", code="GS")
    with pytest.raises(NotFoundError):
        node_update(actor=world.supervisor, node_id=other.pk, data={"name": "x"}, parent=None)


def test_move_that_makes_the_subtree_too_deep_is_refused(world: Any) -> None:
    chain = [make_node(actor=world.admin, unit=world.county_a1, code="C0")]
    for i in range(1, 15):
        chain.append(make_node(actor=world.admin, unit=world.county_a1, parent=chain[-1], code=f"C{i}", kind="branch"))
    other = make_node(actor=world.admin, unit=world.county_a1, code="O0")
    for i in range(1, 10):
        other = make_node(actor=world.admin, unit=world.county_a1, parent=other, code=f"O{i}", kind="branch")
    # C1's subtree is 14 levels; under O9 (depth 9) its deepest node would be at depth 23.
    with pytest.raises(InvalidInput) as caught:
        node_update(actor=world.admin, node_id=chain[1].pk, data={}, parent=fresh(other))
    assert "parent" in caught.value.errors
    assert fresh(chain[-1]).depth == 14


def test_attach_and_path_to_root(world: Any, tree: dict[str, GridNode]) -> None:
    sp = world.account_a1.service_point
    attach(actor=world.supervisor, service_point=sp, node=tree["ta"])
    assert [n.code for n in path_to_root(sp)] == ["TA", "F1", "SS"]
    assert list(accounts_under(tree["ss"])) == [world.account_a1]
    attach(actor=world.supervisor, service_point=sp.pk, node=tree["f2"].pk)  # moving is an update
    assert Attachment.objects.get(service_point=sp).node == tree["f2"]
    assert list(accounts_under(tree["f1"])) == []


def test_attach_refuses_other_utility_and_out_of_scope(world: Any, tree: dict[str, GridNode]) -> None:
    with pytest.raises(InvalidInput) as caught:
        attach(actor=world.admin, service_point=world.account_b1.service_point, node=tree["ta"])
    assert "node" in caught.value.errors
    with pytest.raises(InvalidInput) as caught:
        attach(actor=world.supervisor, service_point=world.account_b1.service_point, node=tree["ta"])
    assert "service_point" in caught.value.errors
    with pytest.raises(PermissionDeniedError):
        attach(actor=world.crew_a1, service_point=world.account_a1.service_point, node=tree["ta"])
    assert not Attachment.objects.exists()
