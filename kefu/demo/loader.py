"""Load, detect and wipe the demo. The management command is a thin wrapper around ``demo_load``.

Idempotence: a completed load leaves a marker (the ``demo:customers`` number sequence holds the
customer count). A run that finds the marker does nothing but print the logins; a run that finds
demo units without the marker (a crashed load) wipes them and loads again.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from kefu.core.models import NumberSequence
from kefu.core.services import sequence_next, sequence_raise_to
from kefu.customers.services import ACCOUNT_SEQUENCE_KEY
from kefu.demo.generate import CHUNK, CustomerDraft, DemoGenerator
from kefu.demo.orderload import ORDER_SEQUENCE_KEY, ORDERS_MARKER_KEY
from kefu.demo.orgplan import ADMIN_USERNAME, ROOT_CODES, admin_ensure, demo_unit_ids, org_build
from kefu.demo.writer import (
    Writer,
    account_sequences_rewind,
    demo_orders_delete,
    demo_rows_delete,
    order_sequence_rewind,
    writer_for_connection,
)
from kefu.org.models import OrgUnit, Staff

MARKER_KEY = "demo:customers"


@dataclass
class LoadResult:
    loaded: bool  # False: the demo was there already
    customers: int
    seconds: float = 0.0
    rows: dict[str, int] = field(default_factory=dict)
    admin_created: bool = False


def demo_loaded_count() -> int | None:
    marker = NumberSequence.objects.filter(key=MARKER_KEY).first()
    return marker.last_value if marker else None


def demo_wipe() -> dict[str, int]:
    """Delete every demo unit with its staff, work orders and customers; give back the numbers."""
    unit_ids = demo_unit_ids()
    with transaction.atomic():
        deleted = demo_orders_delete(unit_ids)  # orders first: they point at customers, staff and units
        deleted.update(demo_rows_delete(unit_ids))
        # Staff are few: the ORM delete clears their roles, tokens and references properly.
        deleted["org.Staff"] = Staff.objects.filter(unit_id__in=unit_ids).delete()[0]
        units = OrgUnit.objects.filter(id__in=unit_ids)
        for depth in sorted(set(units.values_list("depth", flat=True)), reverse=True):  # children first
            OrgUnit.objects.filter(id__in=unit_ids, depth=depth).delete()
        deleted["org.OrgUnit"] = len(unit_ids)
        account_sequences_rewind()
        order_sequence_rewind(ORDER_SEQUENCE_KEY)
        NumberSequence.objects.filter(key__in=[MARKER_KEY, ORDERS_MARKER_KEY]).delete()
    return deleted


def demo_load(
    *,
    customers: int,
    seed: int,
    reset: bool = False,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> LoadResult:
    loaded = demo_loaded_count()
    if loaded is not None and not reset:
        return LoadResult(loaded=False, customers=loaded)
    if reset or OrgUnit.objects.filter(code__in=ROOT_CODES).exists():
        started = time.monotonic()
        deleted = demo_wipe()
        if any(deleted.values()):
            log(f"Removed the previous demo data in {time.monotonic() - started:.1f} s: "
                + ", ".join(f"{k} {v}" for k, v in deleted.items() if v))
    started = time.monotonic()
    with transaction.atomic():
        org = org_build(seed=seed)
        admin_created = admin_ensure(password_hash=org.password_hash)
    generator = DemoGenerator(seed=seed, stations=org.stations)
    writer = writer_for_connection()
    totals: dict[str, int] = {}
    now = timezone.now()
    bar = tqdm(total=customers, unit=" customers", unit_scale=True, disable=not progress, smoothing=0.1)
    chunks = list(enumerate(range(0, customers, CHUNK)))

    def draft(i: int) -> list[CustomerDraft]:
        chunk, first = chunks[i]
        return generator.chunk_draft(chunk=chunk, first=first, count=min(CHUNK, customers - first))

    # While the database digests one chunk (COPY / executemany release the GIL), a thread drafts
    # the next one: the load then uses both the Python process and the database server.
    with ThreadPoolExecutor(max_workers=1) as pool:
        upcoming = pool.submit(draft, 0) if chunks else None
        for i in range(len(chunks)):
            assert upcoming is not None
            drafts = upcoming.result()
            upcoming = pool.submit(draft, i + 1) if i + 1 < len(chunks) else None
            _chunk_write(generator, writer, drafts, now, totals)
            bar.update(len(drafts))
    bar.close()
    writer.finish()
    sequence_raise_to(key=MARKER_KEY, value=customers)
    if customers == 0:  # raise_to leaves 0 alone; the marker row exists either way
        NumberSequence.objects.get_or_create(key=MARKER_KEY)
    return LoadResult(loaded=True, customers=customers, seconds=time.monotonic() - started, rows=totals,
                      admin_created=admin_created)


def _chunk_write(generator: DemoGenerator, writer: Writer, drafts: list[CustomerDraft], now: dt.datetime,
                 totals: dict[str, int]) -> None:
    """One chunk, one transaction: reserve ids and account numbers, write every table."""
    with transaction.atomic():
        writer.lock()
        ids = writer.next_ids()
        first_seq = {
            utility: sequence_next(key=ACCOUNT_SEQUENCE_KEY.format(utility=utility), count=n) if n else 0
            for utility, n in generator.account_counts(drafts).items()
        }
        rows = generator.chunk_rows(drafts, ids=ids, first_seq=first_seq, now=now, empty_json=writer.empty_json)
        writer.write(rows)
        writer.after_write(rows)
    for model, data in rows.by_model.items():
        totals[model._meta.label] = totals.get(model._meta.label, 0) + len(data)


def admin_is_demo() -> bool:
    return Staff.objects.filter(username=ADMIN_USERNAME, unit__code__in=ROOT_CODES).exists()
