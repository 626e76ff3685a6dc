"""Helpers shared by every file import (topology, readings, …): reading the uploaded file and the
clerk's message about its columns."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from django.utils.translation import gettext as _
from openpyxl import load_workbook

from kefu.core.errors import InvalidInput


def column_message(known: dict[str, str], required: Iterable[str], unknown: list[str], missing: list[str],
                   doubled: list[str]) -> str:
    """What is wrong with the header row, and the columns expected (Chinese name with the English key;
    optional ones starred)."""
    needed = set(required)
    parts = []
    if missing:
        parts.append(_("missing columns: %(cols)s") % {"cols": ", ".join(missing)})
    if unknown:
        parts.append(_("unknown columns: %(cols)s") % {"cols": ", ".join(unknown)})
    if doubled:
        parts.append(_("columns given twice: %(cols)s") % {"cols": ", ".join(doubled)})
    expected = ", ".join(f"{zh}({canon})" + ("" if canon in needed else "*") for canon, zh in known.items())
    return _("Wrong columns (%(problems)s). Expected columns: %(expected)s (* optional).") % {
        "problems": "; ".join(parts), "expected": expected}


def csv_text(data: bytes) -> str:
    """The text of a CSV file in UTF-8 (with or without a BOM) or GBK, or a clerk's error."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("gb18030")  # Chinese Excel saves CSV in GBK; GB18030 is its superset
        except UnicodeDecodeError as exc:
            raise InvalidInput({"file": [_("The file is neither UTF-8 nor GBK text.")]}) from exc


def file_rows(file: str | Path | bytes | IO[bytes], filename: str = "") -> list[list[Any]]:
    """The raw rows of an uploaded .csv (UTF-8, UTF-8 with BOM or GBK) or .xlsx file (first sheet);
    a clerk's error for any other file."""
    if isinstance(file, (str, Path)):
        filename = filename or str(file)
        data = Path(file).read_bytes()
    elif isinstance(file, bytes):
        data = file
    else:
        data = file.read()
    suffix = Path(filename).suffix.lower()
    if suffix == ".csv":
        return [list(r) for r in csv.reader(io.StringIO(csv_text(data), newline=""))]
    if suffix in (".xlsx", ".xlsm"):
        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
            raise InvalidInput({"file": [_("The file is not a readable Excel (.xlsx) workbook.")]}) from exc
        try:
            return [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
        finally:
            book.close()
    raise InvalidInput({"file": [_("Upload a .csv or .xlsx file.")]})
