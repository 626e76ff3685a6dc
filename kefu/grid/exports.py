"""Export of the topology and of attachments in the layout the importer reads, so exporting and
importing the file again changes nothing. CSV carries a UTF-8 BOM so Excel opens it as Unicode."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import IO, Any

from .imports import ATTACHMENT_COLUMNS, TOPOLOGY_COLUMNS
from .models import Attachment, GridNode
from .selectors import node_qs


def topology_rows(user: Any, root: GridNode | None = None) -> Iterator[dict[str, str]]:
    """The nodes the user sees (under ``root`` if given), parents before children."""
    qs = node_qs(user)
    if root is not None:
        qs = qs.filter(path__startswith=root.path)
    values = qs.order_by("path").values_list("code", "name", "kind", "utility", "parent__code", "unit__code",
                                             "region_class", "dedicated")
    for code, name, kind, utility, parent, unit, region, dedicated in values.iterator(chunk_size=5000):
        yield {"code": code, "name": name, "kind": kind, "utility": utility, "parent_code": parent or "",
               "unit_code": unit, "region_class": region, "dedicated": "1" if dedicated else "0"}


def attachment_rows(user: Any, root: GridNode | None = None) -> Iterator[dict[str, str]]:
    """Service points hung on the nodes the user sees (under ``root`` if given)."""
    nodes = node_qs(user)
    if root is not None:
        nodes = nodes.filter(path__startswith=root.path)
    qs = Attachment.objects.filter(node__in=nodes.values("id")).order_by("node__path", "service_point__code")
    for sp_code, node_code in qs.values_list("service_point__code", "node__code").iterator(chunk_size=5000):
        yield {"service_point": sp_code, "node_code": node_code}


def _columns(attachments: bool) -> dict[str, str]:
    if attachments:
        return {k: v for k, v in ATTACHMENT_COLUMNS.items() if k != "account"}
    return TOPOLOGY_COLUMNS


def header(attachments: bool = False) -> list[str]:
    """Chinese name with the English code, e.g. "编码(code)": the importer accepts either part."""
    return [f"{zh}({canon})" for canon, zh in _columns(attachments).items()]


def write_csv(rows: Iterable[dict[str, str]], out: IO[bytes], *, attachments: bool = False) -> int:
    """Write rows as UTF-8 CSV with a BOM; returns the number of data rows."""
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow(header(attachments))
    keys = list(_columns(attachments))
    count = 0
    for row in rows:
        writer.writerow([row.get(k, "") for k in keys])
        count += 1
    text.flush()
    text.detach()  # leave ``out`` open for the caller
    return count


def write_xlsx(rows: Iterable[dict[str, str]], out: IO[bytes], *, attachments: bool = False) -> int:
    """Write rows to the first sheet of a new workbook, every cell as text (codes keep leading zeros)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("attachments" if attachments else "topology")
    sheet.append(header(attachments))
    keys = list(_columns(attachments))
    count = 0
    for row in rows:
        sheet.append([str(row.get(k, "")) for k in keys])
        count += 1
    book.save(out)
    return count


def export(user: Any, out: IO[bytes], *, fmt: str = "csv", attachments: bool = False,
           root: GridNode | None = None) -> int:
    rows = attachment_rows(user, root) if attachments else topology_rows(user, root)
    writer = write_xlsx if fmt == "xlsx" else write_csv
    return writer(rows, out, attachments=attachments)
