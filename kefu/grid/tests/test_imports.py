"""Import and export of the topology and of attachments, through real files on disk."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import translation
from openpyxl import Workbook

from kefu.core.errors import InvalidInput, PermissionDeniedError
from kefu.customers.models import ServicePoint
from kefu.customers.tests.factories import make_account
from kefu.grid.exports import export, topology_rows
from kefu.grid.imports import ImportReport, attachments_import, read_table, topology_import
from kefu.grid.models import Attachment, GridNode, NodeEvent
from kefu.grid.selectors import accounts_under, ancestors, path_to_root, service_points_under, subtree_nodes


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """The messages are checked in English, the language of the msgids (Chinese is the default)."""
    with translation.override("en"):
        yield

HEADER = ["code", "name", "kind", "utility", "parent_code", "unit_code", "region_class", "dedicated"]
TREE = [
    ["SS1", "城东变电站", "substation", "power", "", "A1", "urban", "0"],
    ["F1", "10kV城东线", "feeder", "power", "SS1", "A1", "urban", "0"],
    ["F2", "10kV城西线", "feeder", "power", "SS1", "A1", "rural", "0"],
    ["TA1", "城东1号台区", "ta", "power", "F1", "A1", "urban", "0"],
    ["TA2", "城东2号台区", "ta", "power", "F1", "A2", "urban", "1"],
    ["TA3", "城西1号台区", "ta", "power", "F2", "A1", "rural", "0"],
]


def write_csv(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8") -> Path:
    with open(path, "w", encoding=encoding, newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def run(actor: Any, path: Path, *, dry_run: bool = False, attachments: bool = False) -> ImportReport:
    rows = read_table(path, columns="attachments" if attachments else "topology")
    if attachments:
        return attachments_import(actor=actor, rows=rows, dry_run=dry_run)
    return topology_import(actor=actor, rows=rows, dry_run=dry_run)


def node(code: str) -> GridNode:
    return GridNode.objects.get(code=code)


def errors_of(report: ImportReport) -> set[tuple[int, str]]:
    return {(e.row, e.field) for e in report.errors}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_good_file_builds_the_tree_with_right_paths(world: Any, tmp_path: Path, fmt: str) -> None:
    writer = write_csv if fmt == "csv" else write_xlsx
    # Children before their parents in the file: the importer orders them itself.
    report = run(world.supervisor, writer(tmp_path / f"tree.{fmt}", HEADER, list(reversed(TREE))))
    assert report.ok and (report.created, report.updated, report.unchanged) == (6, 0, 0)
    ss1, f1, ta2 = node("SS1"), node("F1"), node("TA2")
    assert ta2.path == f"{ss1.pk:010d}.{f1.pk:010d}.{ta2.pk:010d}." and ta2.depth == 2
    assert [n.code for n in ancestors(ta2)] == ["SS1", "F1", "TA2"]
    assert set(subtree_nodes(f1).values_list("code", flat=True)) == {"F1", "TA1", "TA2"}
    assert ta2.unit == world.county_a2 and ta2.dedicated and node("F2").region_class == "rural"
    assert NodeEvent.objects.filter(kind="created").count() == 6


def test_dry_run_reports_but_saves_nothing(world: Any, tmp_path: Path) -> None:
    report = run(world.supervisor, write_csv(tmp_path / "t.csv", HEADER, TREE), dry_run=True)
    assert report.ok and report.created == 6 and not report.applied
    assert not GridNode.objects.exists()


def test_reimport_updates_in_place_and_moves_a_subtree(world: Any, tmp_path: Path) -> None:
    run(world.supervisor, write_csv(tmp_path / "t.csv", HEADER, TREE))
    ids = dict(GridNode.objects.values_list("code", "id"))
    changed = [list(r) for r in TREE]
    changed[1][1] = "10kV城东线(改)"  # F1 renamed
    changed[2][4] = "F1"  # F2 with TA3 below it moves under F1
    report = run(world.supervisor, write_xlsx(tmp_path / "t2.xlsx", HEADER, changed))
    assert report.ok and (report.created, report.updated, report.unchanged) == (0, 2, 4)
    assert dict(GridNode.objects.values_list("code", "id")) == ids  # same rows, updated in place
    f1, f2, ta3 = node("F1"), node("F2"), node("TA3")
    assert f1.name == "10kV城东线(改)" and f1.version == 2
    assert f2.parent == f1 and f2.depth == 2 and f2.path == f1.path + f"{f2.pk:010d}."
    assert ta3.depth == 3 and ta3.path == f2.path + f"{ta3.pk:010d}."
    assert [n.code for n in ancestors(ta3)] == ["SS1", "F1", "F2", "TA3"]
    assert set(subtree_nodes(f1).values_list("code", flat=True)) == {"F1", "TA1", "TA2", "F2", "TA3"}
    assert NodeEvent.objects.filter(node=f2, kind="changed").count() == 1


def test_reimport_may_swap_a_parent_and_its_child(world: Any, tmp_path: Path) -> None:
    run(world.supervisor, write_csv(tmp_path / "t.csv", HEADER, TREE))
    swapped = [list(r) for r in TREE]
    swapped[1][4] = ""  # F1 becomes a root ...
    swapped[0][4] = "F1"  # ... and SS1 (F1's old parent) hangs under it
    swapped[0][2] = "other"
    report = run(world.supervisor, write_csv(tmp_path / "s.csv", HEADER, swapped))
    assert report.ok, report.lines()
    f1, ss1, ta3 = node("F1"), node("SS1"), node("TA3")
    assert f1.depth == 0 and ss1.parent == f1
    assert [n.code for n in ancestors(ta3)] == ["F1", "SS1", "F2", "TA3"]


def assert_nothing_applied(before: dict[str, tuple[Any, ...]]) -> None:
    assert {n.code: (n.name, n.parent_id, n.path) for n in GridNode.objects.all()} == before


def snapshot() -> dict[str, tuple[Any, ...]]:
    return {n.code: (n.name, n.parent_id, n.path) for n in GridNode.objects.all()}


def test_bad_rows_are_all_reported_and_nothing_is_applied(world: Any, tmp_path: Path) -> None:
    run(world.supervisor, write_csv(tmp_path / "t.csv", HEADER, TREE))
    before = snapshot()
    rows = [
        ["F2", "改名不应生效", "feeder", "power", "SS1", "A1", "", ""],  # row 2: fine on its own
        ["X1", "未知上级", "ta", "power", "NOPE", "A1", "", ""],  # row 3
        ["X2", "重复", "ta", "power", "F1", "A1", "", ""],  # row 4
        ["X2", "重复", "ta", "power", "F1", "A1", "", ""],  # row 5: duplicate code
        ["G1", "气站", "gas_station", "gas", "", "A1", "", ""],  # row 6
        ["G2", "调压区", "pressure_zone", "gas", "SS1", "A1", "", ""],  # row 7: parent of the other utility
        ["X3", "燃气台区", "ta", "gas", "", "A1", "", ""],  # row 8: kind does not fit the utility
        ["X4", "外单位", "ta", "power", "F1", "B1", "", ""],  # row 9: unit outside the director's scope
        ["X5", "无此单位", "ta", "power", "F1", "ZZ", "", ""],  # row 10: unknown unit
        ["C1", "环1", "branch", "power", "C2", "A1", "", ""],  # row 11: C1 → C2 → C1
        ["C2", "环2", "branch", "power", "C1", "A1", "", ""],  # row 12
        ["SS1", "城东变电站", "substation", "power", "TA1", "A1", "", ""],  # row 13: under its own descendant
        ["", "无编码", "ta", "power", "F1", "A1", "", ""],  # row 14
        ["X6", "", "sofa", "water", "F1", "A1", "suburb", "maybe"],  # row 15
    ]
    report = run(world.supervisor, write_csv(tmp_path / "bad.csv", HEADER, rows))
    assert not report.ok and not report.applied
    found = errors_of(report)
    assert {(3, "parent_code"), (5, "code"), (7, "parent_code"), (8, "kind"), (9, "unit_code"),
            (10, "unit_code"), (11, "parent_code"), (12, "parent_code"), (13, "parent_code"), (14, "code"),
            (15, "name"), (15, "kind"), (15, "utility"), (15, "region_class"), (15, "dedicated")} <= found
    assert not any(row == 2 for row, _field in found)
    messages = {(e.row, e.field): e.message for e in report.errors}
    assert "NOPE" in messages[(3, "parent_code")]
    assert "C1" in messages[(11, "parent_code")] and "C2" in messages[(11, "parent_code")]
    assert "cycle" in messages[(13, "parent_code")].lower()
    assert_nothing_applied(before)
    assert "nothing was imported" in report.lines()[-1]


def test_depth_over_the_limit_is_refused(world: Any, tmp_path: Path) -> None:
    rows = [["D0", "d0", "substation", "power", "", "A1", "", ""]]
    rows += [[f"D{i}", f"d{i}", "branch", "power", f"D{i - 1}", "A1", "", ""] for i in range(1, 21)]
    report = run(world.admin, write_csv(tmp_path / "deep.csv", HEADER, rows))
    assert errors_of(report) == {(22, "parent_code")}  # D20 would be the 21st level
    assert not GridNode.objects.exists()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_wrong_or_missing_columns_is_one_clear_file_error(world: Any, tmp_path: Path, fmt: str) -> None:
    writer = write_csv if fmt == "csv" else write_xlsx
    path = writer(tmp_path / f"cols.{fmt}", ["code", "name", "kind", "colour", "unit_code"],
                  [["A", "b", "ta", "x", "A1"]])
    with pytest.raises(InvalidInput) as caught:
        read_table(path)
    message = caught.value.errors["file"][0]
    assert "utility" in message and "parent_code" in message and "colour" in message
    assert "上级编码(parent_code)" in message  # lists the expected columns


def test_not_a_table_file_is_refused_clearly(world: Any, tmp_path: Path) -> None:
    (tmp_path / "t.xlsx").write_bytes(b"not a workbook")
    with pytest.raises(InvalidInput) as caught:
        read_table(tmp_path / "t.xlsx")
    assert "file" in caught.value.errors
    (tmp_path / "t.txt").write_text("x")
    with pytest.raises(InvalidInput):
        read_table(tmp_path / "t.txt")


def test_gbk_csv_with_chinese_headers_and_labels(world: Any, tmp_path: Path) -> None:
    header = ["编码", "名称", "类型", "专业", "上级编码", "单位编码", "区域类别", "专变"]
    rows = [["SS1", "城东变电站", "变电站", "电力", "", "A1", "城区", "否"],
            ["F1", "城东线", "线路", "电", "SS1", "A1", "农村", "否"],
            ["TA1", "城东1号台区", "台区", "电力", "F1", "A1", "城区", "是"]]
    path = write_csv(tmp_path / "gbk.csv", header, rows, encoding="gbk")
    report = run(world.supervisor, path)
    assert report.ok, report.lines()
    ta1 = node("TA1")
    assert ta1.kind == "ta" and ta1.dedicated and node("F1").region_class == "rural"
    assert ta1.parent == node("F1")


def test_utf8_bom_csv_with_bilingual_headers(world: Any, tmp_path: Path) -> None:
    header = ["编码(code)", "名称(name)", "类型(kind)", "专业(utility)", "上级编码(parent_code)", "单位编码(unit_code)"]
    path = write_csv(tmp_path / "bom.csv", header, [r[:6] for r in TREE], encoding="utf-8-sig")
    assert run(world.supervisor, path).created == 6


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_then_import_changes_nothing(world: Any, tmp_path: Path, fmt: str) -> None:
    run(world.supervisor, write_csv(tmp_path / "t.csv", HEADER, TREE))
    out = tmp_path / f"export.{fmt}"
    with open(out, "wb") as f:
        assert export(world.supervisor, f, fmt=fmt) == 6
    report = run(world.supervisor, out)
    assert report.ok and (report.created, report.updated, report.unchanged) == (0, 0, 6)
    assert not NodeEvent.objects.filter(kind="changed").exists()
    if fmt == "csv":
        assert out.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel opens it as UTF-8


def test_export_shows_only_the_users_scope(world: Any, tmp_path: Path) -> None:
    run(world.supervisor, write_csv(tmp_path / "t.csv", HEADER, TREE))
    assert {r["code"] for r in topology_rows(world.agent_a2)} == {"TA2"}  # A2 sees its own node only
    assert list(topology_rows(world.outsider)) == []
    assert [r["code"] for r in topology_rows(world.admin, root=node("F2"))] == ["F2", "TA3"]


def test_user_without_grid_edit_is_refused(world: Any, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv", HEADER, TREE)
    with pytest.raises(PermissionDeniedError):
        run(world.agent_a1, path)
    with pytest.raises(PermissionDeniedError):
        run(world.crew_a1, path, dry_run=True)
    assert not GridNode.objects.exists()


def test_attachments_import_and_the_selectors_on_it(world: Any, tmp_path: Path) -> None:
    run(world.supervisor, write_csv(tmp_path / "t.csv", HEADER, TREE))
    sp_a1 = world.account_a1.service_point
    extra = make_account(unit=world.county_a1)
    path = write_xlsx(tmp_path / "att.xlsx", ["计量点编码", "户号", "节点编码"],
                      [[sp_a1.code, "", "TA1"], ["", extra.number, "TA3"], [world.account_a2.service_point.code, "",
                                                                             "TA2"]])
    report = run(world.supervisor, path, attachments=True)
    assert report.ok and report.created == 3, report.lines()
    assert set(service_points_under(node("SS1"))) == {sp_a1, extra.service_point, world.account_a2.service_point}
    assert set(accounts_under(node("F1"))) == {world.account_a1, world.account_a2}
    assert [n.code for n in path_to_root(sp_a1)] == ["TA1", "F1", "SS1"]
    # Moving one again updates in place; the rest is unchanged.
    path = write_csv(tmp_path / "att2.csv", ["service_point", "node_code"], [[sp_a1.code, "TA3"]])
    report = run(world.supervisor, path, attachments=True)
    assert (report.created, report.updated) == (0, 1)
    assert [n.code for n in path_to_root(sp_a1)] == ["TA3", "F2", "SS1"]
    assert Attachment.objects.count() == 3


def test_bad_attachment_rows_are_reported_and_nothing_applied(world: Any, tmp_path: Path) -> None:
    run(world.admin, write_csv(tmp_path / "t.csv", HEADER, TREE))
    sp_a1: ServicePoint = world.account_a1.service_point
    rows = [
        [sp_a1.code, "", "TA1"],  # 2: fine
        ["SP-NONE", "", "TA1"],  # 3: unknown service point
        ["", "9999999", "TA1"],  # 4: unknown account
        [world.account_a2.service_point.code, "", "NOPE"],  # 5: unknown node
        [world.account_b1.service_point.code, "", "TA1"],  # 6: gas point on a power node
        ["", world.account_a1.number, "TA2"],  # 7: the same service point again
    ]
    path = write_csv(tmp_path / "att.csv", ["service_point", "account", "node_code"], rows)
    report = run(world.admin, path, attachments=True)
    assert errors_of(report) == {(3, "service_point"), (4, "account"), (5, "node_code"), (6, "node_code"),
                                 (7, "service_point")}
    assert not Attachment.objects.exists()


def test_commands_export_and_import_a_file(world: Any, tmp_path: Path) -> None:
    from io import StringIO

    from django.core.management import CommandError, call_command

    run(world.admin, write_csv(tmp_path / "t.csv", HEADER, TREE))
    out = tmp_path / "all.xlsx"
    call_command("grid_export", str(out), "--format", "xlsx", stdout=StringIO())
    GridNode.objects.filter(code="TA3").update(name="旧名")
    printed = StringIO()
    call_command("grid_import", str(out), "--dry-run", stdout=printed)
    assert printed.getvalue().strip() and node("TA3").name == "旧名"  # dry run: reported, not saved
    call_command("grid_import", str(out), "--user", "director_ca", stdout=StringIO())
    assert node("TA3").name == "城西1号台区"
    bad = write_csv(tmp_path / "bad.csv", HEADER, [["Z", "z", "ta", "power", "NOPE", "A1", "", ""]])
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("grid_import", str(bad), stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("grid_import", str(out), "--user", "agent_a1", stdout=StringIO())
