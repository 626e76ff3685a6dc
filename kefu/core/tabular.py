"""Helpers shared by every file import (topology, readings, …): the clerk's message about a
file's columns."""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext as _


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
