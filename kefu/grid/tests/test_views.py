"""Topology pages as people use them: the tree, a node with what hangs below it, edits, import, export."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
from django.test import Client
from django.urls import reverse

from kefu.customers.tests.factories import make_account
from kefu.grid.models import GridNode
from kefu.grid.services import attach, node_create
from kefu.org.models import Staff
from kefu.org.tests.factories import make_staff

if TYPE_CHECKING:
    from conftest import World

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(settings: Any) -> None:
    settings.LANGUAGE_CODE = "en"


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@dataclass
class Tree:
    """Substation S (city A) ─┬─ feeder F1 (A1) ── area T1 (A1, dedicated)
                              └─ feeder F2 (A2)"""

    director: Staff
    sub: GridNode
    f1: GridNode
    t1: GridNode
    f2: GridNode


def node(director: Staff, code: str, kind: str, unit: Any, parent: GridNode | None = None, **extra: Any) -> GridNode:
    return node_create(actor=director, data={"code": code, "name": f"{code} name", "kind": kind,
                                             "utility": "power", **extra}, parent=parent, unit=unit)


def sp(account: Any) -> int:
    """The id of the service point an account is supplied at (every factory account has one)."""
    assert account.service_point_id is not None
    return int(account.service_point_id)


def build_tree(world: World) -> Tree:
    director = make_staff("grid_director", unit=world.city_a, roles=["director"])
    sub = node(director, "SUB1", "substation", world.city_a)
    f1 = node(director, "F1", "feeder", world.county_a1, sub)
    t1 = node(director, "T1", "ta", world.county_a1, f1, dedicated=True, region_class="rural")
    f2 = node(director, "F2", "feeder", world.county_a2, sub)
    return Tree(director=director, sub=sub, f1=f1, t1=t1, f2=f2)


@pytest.fixture
def tree(world: World) -> Tree:
    return build_tree(world)


def get(client: Client, name: str, *args: Any, **query: Any) -> str:
    response = client.get(reverse(name, args=args), query)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_tree_shows_roots_with_subtree_counts_and_expands(world: World, tree: Tree) -> None:
    attach(actor=tree.director, service_point=sp(world.account_a1), node=tree.t1)
    attach(actor=tree.director, service_point=sp(world.account_a2), node=tree.f2)
    client = login(tree.director)
    html = get(client, "grid:tree")
    assert 'data-node="SUB1"' in html and 'data-attached="2"' in html
    assert 'data-node="F1"' not in html  # children wait for the expand button
    kids = get(client, "grid:children", tree.sub.pk)
    assert 'data-node="F1"' in kids and 'data-node="F2"' in kids
    deeper = get(client, "grid:children", tree.f1.pk)
    assert 'data-node="T1"' in deeper and "Dedicated" in deeper and 'data-attached="1"' in deeper


def test_county_user_sees_own_nodes_as_roots(world: World, tree: Tree) -> None:
    html = get(login(world.agent_a1), "grid:tree")
    assert 'data-node="F1"' in html
    assert 'data-node="SUB1"' not in html and 'data-node="F2"' not in html


def test_search_by_code_or_name(world: World, tree: Tree) -> None:
    client = login(tree.director)
    html = get(client, "grid:tree", q="t1")
    assert 'data-node="T1"' in html and 'data-node="F2"' not in html
    html = get(client, "grid:tree", q="F2 name")
    assert 'data-node="F2"' in html
    assert "No node found." in get(client, "grid:tree", q="nothing-like-it")


def test_node_page_path_children_counts_and_accounts(world: World, tree: Tree) -> None:
    vip = make_account(unit=world.county_a1, name="重要客户", importance="grade1")
    attach(actor=tree.director, service_point=sp(world.account_a1), node=tree.t1)
    attach(actor=tree.director, service_point=sp(vip), node=tree.t1)
    attach(actor=tree.director, service_point=sp(world.account_a2), node=tree.f2)
    html = get(login(tree.director), "grid:node", tree.f1.pk)
    assert "SUB1 SUB1 name" in html and 'data-node="T1"' in html
    assert 'data-count="service_points">2<' in html
    assert 'data-count="accounts">2<' in html
    assert 'data-count="important">1<' in html
    assert world.account_a1.number in html and "重要客户" in html and world.account_a2.number not in html
    assert world.account_a1.premise.address in html
    assert "created" in html  # the history lists the creation event
    whole = get(login(tree.director), "grid:node", tree.sub.pk)
    assert 'data-count="service_points">3<' in whole


def test_out_of_scope_node_is_404(world: World, tree: Tree) -> None:
    assert login(world.agent_a2).get(reverse("grid:node", args=[tree.t1.pk])).status_code == 404
    assert login(world.outsider).get(reverse("grid:children", args=[tree.f1.pk])).status_code == 404
    assert login(world.agent_a1).get(reverse("grid:node-edit", args=[tree.f2.pk])).status_code == 404


def form_data(n: GridNode, **over: Any) -> dict[str, Any]:
    n.refresh_from_db()
    data = {"code": n.code, "name": n.name, "kind": n.kind, "utility": n.utility,
            "parent_code": n.parent.code if n.parent else "", "unit": n.unit_id, "region_class": n.region_class,
            "version": n.version}
    if n.dedicated:
        data["dedicated"] = "on"
    return {**data, **over}


def test_create_node_under_parent_by_code(world: World, tree: Tree) -> None:
    client = login(tree.director)
    assert "Parent node code" in get(client, "grid:node-create")
    response = client.post(reverse("grid:node-create"), {
        "code": "T2", "name": "二号台区", "utility": "power", "kind": "ta", "parent_code": "F2",
        "unit": world.county_a2.pk, "region_class": "urban"})
    assert response.status_code == 302
    created = GridNode.objects.get(code="T2")
    assert created.parent == tree.f2 and created.path.startswith(tree.f2.path)


def test_unknown_parent_code_is_a_field_message(world: World, tree: Tree) -> None:
    response = login(tree.director).post(reverse("grid:node-create"), {
        "code": "T3", "name": "x", "utility": "power", "kind": "ta", "parent_code": "NOPE",
        "unit": world.county_a1.pk, "region_class": "urban"})
    assert response.status_code == 400
    assert 'data-field="parent_code">No node with code NOPE' in response.content.decode()
    assert not GridNode.objects.filter(code="T3").exists()


def test_edit_moves_subtree(world: World, tree: Tree) -> None:
    response = login(tree.director).post(reverse("grid:node-edit", args=[tree.f1.pk]),
                                         form_data(tree.f1, parent_code="F2"))
    assert response.status_code == 302
    tree.t1.refresh_from_db()
    assert tree.t1.path.startswith(GridNode.objects.get(code="F2").path) and tree.t1.depth == 3


def test_edit_refuses_a_cycle_under_parent(world: World, tree: Tree) -> None:
    response = login(tree.director).post(reverse("grid:node-edit", args=[tree.f1.pk]),
                                         form_data(tree.f1, parent_code="T1"))
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-field="parent_code">A node cannot be moved under itself' in html
    tree.f1.refresh_from_db()
    assert tree.f1.parent_id == tree.sub.pk


def test_stale_version_is_409_with_a_reload_link(world: World, tree: Tree) -> None:
    client = login(tree.director)
    stale = form_data(tree.f1, name="新名字")
    assert client.post(reverse("grid:node-edit", args=[tree.f1.pk]), form_data(tree.f1, name="先改")).status_code == 302
    response = client.post(reverse("grid:node-edit", args=[tree.f1.pk]), stale)
    assert response.status_code == 409
    assert "Someone else changed this node" in response.content.decode()
    tree.f1.refresh_from_db()
    assert tree.f1.name == "先改"


def test_without_grid_edit_create_edit_import_are_403(world: World, tree: Tree) -> None:
    client = login(world.agent_a1)
    assert client.get(reverse("grid:node-create")).status_code == 403
    assert client.post(reverse("grid:node-create"), {"code": "X"}).status_code == 403
    assert client.get(reverse("grid:node-edit", args=[tree.f1.pk])).status_code == 403
    assert client.post(reverse("grid:node-edit", args=[tree.f1.pk]), form_data(tree.f1)).status_code == 403
    assert client.get(reverse("grid:import")).status_code == 403
    assert GridNode.objects.get(pk=tree.f1.pk).version == 1


def test_bad_input_never_500(world: World, tree: Tree) -> None:
    client = login(tree.director)
    assert client.post(reverse("grid:node-create"), {}).status_code == 400
    assert client.post(reverse("grid:node-edit", args=[tree.f1.pk]), {"version": "x"}).status_code == 400
    assert client.get(reverse("grid:node", args=[tree.f1.pk]), {"page": "zz"}).status_code == 200
    assert client.get(reverse("grid:node", args=[999999])).status_code == 404


def csv_file(text: str, name: str = "nodes.csv") -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


def test_import_page_dry_run_then_apply(world: World, tree: Tree) -> None:
    client = login(tree.director)
    assert "Upload" in get(client, "grid:import")
    text = "code,name,kind,utility,parent_code,unit\nT5,五号台区,ta,power,F2,A2\n"
    dry = client.post(reverse("grid:import"), {"what": "nodes", "dry_run": "on", "file": csv_file(text)})
    assert dry.status_code == 200 and 'data-created="1"' in dry.content.decode()
    assert not GridNode.objects.filter(code="T5").exists()
    done = client.post(reverse("grid:import"), {"what": "nodes", "file": csv_file(text)})
    assert done.status_code == 200 and "Imported." in done.content.decode()
    assert GridNode.objects.get(code="T5").parent == tree.f2


def test_import_page_shows_row_errors_and_applies_nothing(world: World, tree: Tree) -> None:
    text = "code,name,kind,utility,parent_code,unit\nT6,六号,ta,power,F2,A2\nT7,七号,ta,power,NOPE,A2\n"
    response = login(tree.director).post(reverse("grid:import"), {"what": "nodes", "file": csv_file(text)})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="row-errors"' in html and "<td class=\"kefu-num\">3</td>" in html
    assert not GridNode.objects.filter(code__in=["T6", "T7"]).exists()
    wrong_type = login(tree.director).post(reverse("grid:import"), {"what": "nodes", "file": csv_file("x", "a.txt")})
    assert wrong_type.status_code == 400 and "Upload a .csv or .xlsx file." in wrong_type.content.decode()


def test_export_downloads_scoped_csv(world: World, tree: Tree) -> None:
    assert "Download" in get(login(world.agent_a1), "grid:export")
    response = login(world.agent_a1).get(reverse("grid:export"), {"format": "csv", "what": "nodes"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    body = response.content.decode("utf-8-sig")
    codes = [line.split(",")[0] for line in body.splitlines()[1:]]
    assert codes == ["F1", "T1"]  # only the agent's own county: not SUB1 nor F2
    xlsx = login(tree.director).get(reverse("grid:export"), {"format": "xlsx", "what": "attachments", "root": "F1"})
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    bad = login(world.agent_a1).get(reverse("grid:export"), {"format": "pdf", "root": "F2"})
    assert bad.status_code == 400
