"""Topology API: scope, filters, the path to the root, accounts under a node, writes with versions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from kefu.customers.tests.factories import make_account
from kefu.grid.models import GridNode
from kefu.grid.services import attach
from kefu.grid.tests.test_views import Tree, build_tree, sp
from kefu.org.tests.apiclient import API, client_for, ids

if TYPE_CHECKING:
    from conftest import World

pytestmark = pytest.mark.django_db
NODES = f"{API}/grid/nodes/"


@pytest.fixture
def tree(world: World) -> Tree:
    return build_tree(world)


def test_list_is_scoped_and_filtered(world: World, tree: Tree) -> None:
    director = client_for(tree.director)
    assert ids(director.get(NODES)) == {tree.sub.pk, tree.f1.pk, tree.t1.pk, tree.f2.pk}
    assert ids(client_for(world.agent_a1).get(NODES)) == {tree.f1.pk, tree.t1.pk}
    assert ids(client_for(world.outsider).get(NODES)) == set()
    assert ids(director.get(NODES, {"kind": "feeder"})) == {tree.f1.pk, tree.f2.pk}
    assert ids(director.get(NODES, {"parent": tree.f1.pk})) == {tree.t1.pk}
    assert ids(director.get(NODES, {"q": "t1"})) == {tree.t1.pk}
    assert ids(director.get(NODES, {"utility": "gas"})) == set()
    assert director.get(NODES, {"kind": "volcano"}).status_code == 400
    assert director.get(NODES, {"parent": "abc"}).status_code == 400


def test_list_pages_by_keyset(world: World, tree: Tree) -> None:
    first = client_for(tree.director).get(NODES, {"page_size": 3}).json()
    assert len(first["results"]) == 3 and first["next"]
    rest = client_for(tree.director).get(first["next"]).json()
    assert {r["id"] for r in first["results"] + rest["results"]} == {tree.sub.pk, tree.f1.pk, tree.t1.pk, tree.f2.pk}


def test_detail_has_path_from_root(world: World, tree: Tree) -> None:
    body = client_for(tree.director).get(f"{NODES}{tree.t1.pk}/").json()
    assert [step["code"] for step in body["path"]] == ["SUB1", "F1", "T1"]
    assert body["parent_code"] == "F1" and body["dedicated"] is True and body["kind_label"]
    assert client_for(world.agent_a2).get(f"{NODES}{tree.t1.pk}/").status_code == 404
    assert client_for(tree.director).get(f"{NODES}abc/").status_code == 404


def test_accounts_under_node(world: World, tree: Tree) -> None:
    vip = make_account(unit=world.county_a1, name="重要客户", importance="grade1")
    attach(actor=tree.director, service_point=sp(world.account_a1), node=tree.t1)
    attach(actor=tree.director, service_point=sp(vip), node=tree.t1)
    attach(actor=tree.director, service_point=sp(world.account_a2), node=tree.f2)
    director = client_for(tree.director)
    rows = director.get(f"{NODES}{tree.f1.pk}/accounts/").json()["results"]
    assert {r["number"] for r in rows} == {world.account_a1.number, vip.number}
    assert {r["customer_name"] for r in rows} >= {"重要客户"}
    assert ids(director.get(f"{NODES}{tree.sub.pk}/accounts/")) == {world.account_a1.pk, world.account_a2.pk, vip.pk}
    assert client_for(world.outsider).get(f"{NODES}{tree.f1.pk}/accounts/").status_code == 404


def test_service_point_path(world: World, tree: Tree) -> None:
    point = sp(world.account_a1)
    path_url = f"{API}/grid/service-points/{point}/path/"
    assert client_for(world.agent_a1).get(path_url).json() == {"service_point": point, "nodes": []}
    attach(actor=tree.director, service_point=point, node=tree.t1)
    body = client_for(world.agent_a1).get(path_url).json()
    assert [n["code"] for n in body["nodes"]] == ["T1", "F1", "SUB1"]
    assert client_for(world.outsider).get(path_url).status_code == 404
    assert client_for(world.agent_a1).get(f"{API}/grid/service-points/99999999/path/").status_code == 404


def payload(world: World, **over: Any) -> dict[str, Any]:
    return {"code": "T9", "name": "九号台区", "kind": "ta", "utility": "power", "unit": world.county_a2.pk, **over}


def test_create_and_move_with_version(world: World, tree: Tree) -> None:
    director = client_for(tree.director)
    created = director.post(NODES, payload(world, parent=tree.f2.pk), format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert [s["code"] for s in body["path"]] == ["SUB1", "F2", "T9"]
    moved = director.patch(f"{NODES}{tree.f1.pk}/", {"version": 1, "parent": tree.f2.pk}, format="json")
    assert moved.status_code == 200 and moved.json()["version"] == 2
    tree.t1.refresh_from_db()
    assert tree.t1.depth == 3
    stale = director.patch(f"{NODES}{tree.f1.pk}/", {"version": 1, "name": "旧版本"}, format="json")
    assert stale.status_code == 409 and stale.json()["code"] == "conflict"
    renamed = director.patch(f"{NODES}{tree.f1.pk}/", {"version": 2, "name": "新名"}, format="json")
    assert renamed.json()["name"] == "新名" and renamed.json()["parent_code"] == "F2"  # parent kept


def test_bad_writes_are_400_naming_the_field(world: World, tree: Tree) -> None:
    director = client_for(tree.director)
    cycle = director.patch(f"{NODES}{tree.sub.pk}/", {"version": 1, "parent": tree.t1.pk}, format="json")
    assert cycle.status_code == 400 and "parent" in cycle.json()["errors"]
    dup = director.post(NODES, payload(world, code="F1"), format="json")
    assert dup.status_code == 400 and "code" in dup.json()["errors"]
    wrong = director.post(NODES, payload(world, kind="riser"), format="json")
    assert wrong.status_code == 400 and "kind" in wrong.json()["errors"]
    junk = director.post(NODES, payload(world, parent="x", colour="red"), format="json")
    assert junk.status_code == 400 and {"parent", "colour"} <= junk.json()["errors"].keys()
    no_version = director.patch(f"{NODES}{tree.f1.pk}/", {"name": "x"}, format="json")
    assert no_version.status_code == 400 and "version" in no_version.json()["errors"]
    assert not GridNode.objects.filter(code="T9").exists()


def test_without_grid_edit_writes_are_403(world: World, tree: Tree) -> None:
    agent = client_for(world.agent_a1)
    assert agent.post(NODES, payload(world, unit=world.county_a1.pk), format="json").status_code == 403
    assert agent.patch(f"{NODES}{tree.f1.pk}/", {"version": 1, "name": "x"}, format="json").status_code == 403
    tree.f1.refresh_from_db()
    assert tree.f1.name == "F1 name" and not GridNode.objects.filter(code="T9").exists()
