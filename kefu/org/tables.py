"""Row shapes and keyset paging for the org pages.

No table library: a page is a list of rows plus the cursor of the next page. Keyset paging
(``WHERE key > cursor ORDER BY key LIMIT n``) costs the same on the last page as on the first,
which OFFSET paging does not on large staff tables.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db.models import Model, QuerySet

from kefu.org.models import OrgUnit

M = TypeVar("M", bound=Model)

# Units are few (hundreds to a few thousand); staff can be tens of thousands.
UNIT_PAGE_SIZE = 200
STAFF_PAGE_SIZE = 50

_PATH_CURSOR = re.compile(r"^[0-9.]{1,255}$")
_MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class KeysetPage(Generic[M]):
    rows: list[M]
    next_after: str | None  # cursor for the "next" link; None on the last page
    is_first: bool


def keyset_page(qs: QuerySet[M], *, key: str, after: Any | None, size: int) -> KeysetPage[M]:
    """One page of ``qs`` ordered by ``key``, starting after ``after``; fetches one extra row to
    know whether a next page exists without a COUNT."""
    if after is not None:
        qs = qs.filter(**{f"{key}__gt": after})
    rows = list(qs.order_by(key)[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    next_after = str(getattr(rows[-1], key)) if more and rows else None
    return KeysetPage(rows=rows, next_after=next_after, is_first=after is None)


def parse_id(raw: str | None) -> int | None:
    """A positive id from the query string (cursor, pre-selected unit); anything odd is None, not an error."""
    if not raw or not (raw.isascii() and raw.isdigit()) or len(raw) > 19:
        return None
    value = int(raw)
    return value if 0 < value <= _MAX_ID else None


def parse_path_cursor(raw: str | None) -> str | None:
    if not raw or not _PATH_CURSOR.match(raw):
        return None
    return raw


def base_depth(user: Any) -> int:
    """Depth of the top of the user's tree, so their own unit is drawn flush left."""
    if getattr(user, "is_superuser", False):
        return 0
    unit = getattr(user, "unit", None)
    return unit.depth if unit is not None else 0


def indent_rem(depth: int, base: int) -> str:
    # A string, so the template never localises the decimal separator.
    return f"{max(depth - base, 0) * 1.5:.1f}"


@dataclass(frozen=True)
class UnitRow:
    unit: OrgUnit
    indent: str


def unit_rows(units: Iterable[OrgUnit], *, base: int) -> list[UnitRow]:
    return [UnitRow(unit=u, indent=indent_rem(u.depth, base)) for u in units]
