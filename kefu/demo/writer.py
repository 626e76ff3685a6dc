"""Set-based writes for the demo: COPY on PostgreSQL, bulk_create on SQLite, and a set-based wipe.

Every chunk runs in one transaction that first takes the tables' write lock, reads the next free
ids and reserves them by writing rows with explicit ids; on PostgreSQL the identity sequences are
then moved past them. Readers are never blocked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.db import connection, models
from django.db.models import BigIntegerField, Max
from django.db.models.functions import Cast, Length, Substr

from kefu.core.models import NumberSequence, OutboxMessage
from kefu.customers.models import Account, AccountEvent, Contact, Customer, Premise, ServicePoint
from kefu.customers.services import ACCOUNT_PREFIX, ACCOUNT_SEQUENCE_KEY
from kefu.demo.generate import FIELDS, Rows
from kefu.workorders.models import HandoverItem, OrderClock, OrderEvent, ShiftHandover, WorkOrder

# SQL text built here holds only model table names and integer ids (hence the S608 noqa marks).


def _table(model: type[Any]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


class Writer:
    """Backend-specific parts of a chunk load. Use inside ``transaction.atomic()``.

    ``fields``: the tables written (in foreign-key order) and their column order as attnames.
    """

    empty_json: Any = {}

    def __init__(self, fields: dict[type[Any], tuple[str, ...]] | None = None) -> None:
        self.fields = fields or FIELDS
        self.models: tuple[type[Any], ...] = tuple(self.fields)

    def _columns(self, model: type[Any]) -> list[str]:
        return [model._meta.get_field(name).column for name in self.fields[model]]  # get_field knows attnames

    def lock(self) -> None:
        """Keep other writers out of the demo tables until the chunk commits."""

    def next_ids(self) -> dict[type[Any], int]:
        raise NotImplementedError

    def write(self, rows: Rows) -> None:
        raise NotImplementedError

    def after_write(self, rows: Rows) -> None:
        """Make automatic ids continue after the explicit ids just written."""

    def finish(self) -> None:
        """After the last chunk."""


class PostgresWriter(Writer):
    empty_json = "{}"  # COPY text format: jsonb parses it

    def lock(self) -> None:
        with connection.cursor() as cur:
            cur.execute(f"LOCK TABLE {', '.join(_table(m) for m in self.models)} IN EXCLUSIVE MODE")

    def next_ids(self) -> dict[type[Any], int]:
        out: dict[type[Any], int] = {}
        with connection.cursor() as cur:
            for model in self.models:
                # nextval covers ids handed out and rolled back; max(id) covers rows copied with ids.
                sql = f"SELECT nextval(pg_get_serial_sequence(%s, 'id')), (SELECT max(id) FROM {_table(model)})"  # noqa: S608
                cur.execute(sql, [model._meta.db_table])
                seq_next, max_id = cur.fetchone()
                out[model] = max(seq_next, (max_id or 0) + 1)
        return out

    def write(self, rows: Rows) -> None:
        connection.ensure_connection()
        raw = connection.connection
        with raw.cursor() as cur:
            for model in self.models:
                data = rows.by_model[model]
                if not data:
                    continue
                sql = f"COPY {_table(model)} ({', '.join(self._columns(model))}) FROM STDIN"
                with cur.copy(sql) as copy:
                    for row in data:
                        copy.write_row(row)

    def after_write(self, rows: Rows) -> None:
        with connection.cursor() as cur:
            for model in self.models:
                data = rows.by_model[model]
                if data:
                    cur.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)",
                                [model._meta.db_table, data[-1][0]])


    def finish(self) -> None:
        # Fresh planner statistics: right after a bulk load autovacuum may not have analysed yet.
        # VACUUM also sets the visibility map, so that index-only scans (the queue pages' first
        # step) need not visit the table; it cannot run inside a transaction.
        command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
        with connection.cursor() as cur:
            cur.execute(f"{command} {', '.join(_table(m) for m in self.models)}")


class SqliteWriter(Writer):
    """executemany of one INSERT per table; the chunk's BEGIN IMMEDIATE holds the write lock.

    bulk_create costs ~100 µs a row here (model instances, pre_save and per-field preparation of
    every value): 12+ minutes for a million customers. The same INSERT through executemany, with
    datetimes formatted the way Django stores them, costs a small fraction of that.
    """

    empty_json = "{}"
    cache_kib = 512 * 1024  # random-key index inserts (names, phones, ID numbers) need a big page cache

    def lock(self) -> None:
        with connection.cursor() as cur:
            cur.execute(f"PRAGMA cache_size = -{self.cache_kib}")  # this connection only

    def next_ids(self) -> dict[type[Any], int]:
        out: dict[type[Any], int] = {}
        with connection.cursor() as cur:
            for model in self.models:
                cur.execute(f"SELECT max(id) FROM {_table(model)}")  # noqa: S608
                max_id = cur.fetchone()[0] or 0
                # AUTOINCREMENT never reuses ids of deleted rows; explicit ids must not either.
                cur.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [model._meta.db_table])
                row = cur.fetchone()
                out[model] = max(max_id, row[0] if row else 0) + 1
        return out

    def finish(self) -> None:
        # Planner statistics (sqlite_stat1): without them SQLite guesses that any indexed value is
        # rare, and fetched a province's orders through the unit index to sort them for one page.
        with connection.cursor() as cur:
            for model in self.models:
                cur.execute(f"ANALYZE {_table(model)}")

    def write(self, rows: Rows) -> None:
        with connection.cursor() as cur:
            for model in self.models:
                data = rows.by_model[model]
                if not data:
                    continue
                fields = [model._meta.get_field(name) for name in self.fields[model]]
                prep: list[tuple[int, Callable[[Any], str]]] = [
                    (i, _sqlite_datetime if isinstance(f, models.DateTimeField) else str)
                    for i, f in enumerate(fields) if isinstance(f, models.DateField)]
                if prep:
                    data = [_prepared(row, prep) for row in data]
                marks = ", ".join(["%s"] * len(fields))
                sql = f"INSERT INTO {_table(model)} ({', '.join(f.column for f in fields)}) VALUES ({marks})"  # noqa: S608
                cur.executemany(sql, data)


_last_datetime: list[Any] = [None, None]


def _sqlite_datetime(value: dt.datetime) -> str:
    """What Django's SQLite backend stores for an aware datetime: naive UTC text."""
    if value is not _last_datetime[0]:  # created_at and updated_at repeat one value
        utc = value if value.tzinfo is dt.UTC else value.astimezone(dt.UTC)
        _last_datetime[:] = [value, str(utc)[:-6]]  # without "+00:00"
    return _last_datetime[1]


def _prepared(row: tuple[Any, ...], prep: list[tuple[int, Callable[[Any], str]]]) -> tuple[Any, ...]:
    out = list(row)
    for i, convert in prep:
        if out[i] is not None:
            out[i] = convert(out[i])
    return tuple(out)


def writer_for_connection(fields: dict[type[Any], tuple[str, ...]] | None = None) -> Writer:
    if connection.vendor == "postgresql":
        return PostgresWriter(fields)
    if connection.vendor == "sqlite":
        return SqliteWriter(fields)
    raise NotImplementedError(f"kefu demo supports PostgreSQL and SQLite, not {connection.vendor}")


def demo_rows_delete(unit_ids: list[int]) -> dict[str, int]:
    """Delete the customer rows of the given units with one DELETE per table (no row-by-row cascade)."""
    if not unit_ids:
        return {}
    # Only model table names and integer ids are put into the SQL text.
    units = ", ".join(str(int(u)) for u in unit_ids)
    in_units = "SELECT id FROM {table} WHERE unit_id IN (" + units + ")"  # noqa: S608
    statements = [
        (AccountEvent, "account_id IN (" + in_units.format(table=_table(Account)) + ")"),
        (Contact, "customer_id IN (" + in_units.format(table=_table(Customer)) + ")"),
        (Account, "unit_id IN (" + units + ")"),
        (ServicePoint, "premise_id IN (" + in_units.format(table=_table(Premise)) + ")"),
        (Premise, "unit_id IN (" + units + ")"),
        (Customer, "unit_id IN (" + units + ")"),
    ]
    deleted: dict[str, int] = {}
    with connection.cursor() as cur:
        for model, where in statements:
            cur.execute("DELETE FROM " + _table(model) + " WHERE " + where)  # noqa: S608
            deleted[model._meta.label] = cur.rowcount
    return deleted


def account_sequences_rewind() -> None:
    """After a wipe, hand the demo's account numbers out again unless a remaining account uses them.

    This is what makes ``--reset`` reproduce the same numbers for the same seed.
    """
    for utility, prefix in ACCOUNT_PREFIX.items():
        top = (Account.objects.filter(number__startswith=prefix).annotate(n=Length("number")).filter(n=10)
               .aggregate(top=Max("number"))["top"])
        last = int(top[1:9]) if top else 0
        NumberSequence.objects.filter(key=ACCOUNT_SEQUENCE_KEY.format(utility=utility),
                                      last_value__gt=last).update(last_value=last)


def demo_orders_delete(unit_ids: list[int]) -> dict[str, int]:
    """Delete the work orders that touch the given units (area, accepting or handling unit) with their
    events, clocks, handover entries and queued messages: one DELETE per table, no row-by-row cascade."""
    if not unit_ids:
        return {}
    units = ", ".join(str(int(u)) for u in unit_ids)
    touching = f"unit_id IN ({units}) OR accepted_unit_id IN ({units}) OR handling_unit_id IN ({units})"
    orders = "SELECT id FROM " + _table(WorkOrder) + " WHERE " + touching  # noqa: S608
    events = "SELECT id FROM " + _table(OrderEvent) + " WHERE order_id IN (" + orders + ")"  # noqa: S608
    handovers = "SELECT id FROM " + _table(ShiftHandover) + " WHERE unit_id IN (" + units + ")"  # noqa: S608
    # Merged orders point at their survivor: clear those links first so the order of deletion is free.
    unlink = "UPDATE " + _table(WorkOrder) + " SET merged_into_id = NULL WHERE merged_into_id IN (" + orders + ")"  # noqa: S608
    statements = [
        (OutboxMessage, "source_model = 'workorders.orderevent' AND source_id IN (" + events + ")"),
        (HandoverItem, "order_id IN (" + orders + ") OR handover_id IN (" + handovers + ")"),
        (ShiftHandover, "unit_id IN (" + units + ")"),
        (OrderEvent, "order_id IN (" + orders + ")"),
        (OrderClock, "order_id IN (" + orders + ")"),
        (WorkOrder, touching),
    ]
    deleted: dict[str, int] = {}
    with connection.cursor() as cur:
        cur.execute(unlink)
        for model, where in statements:
            cur.execute("DELETE FROM " + _table(model) + " WHERE " + where)  # noqa: S608
            deleted[model._meta.label] = cur.rowcount
    return deleted


def order_sequence_rewind(key: str) -> None:
    """After a wipe, hand the demo's order numbers out again unless a remaining order uses them."""
    top = (WorkOrder.objects.annotate(seq=Cast(Substr("number", 7), BigIntegerField()))
           .aggregate(top=Max("seq"))["top"])
    NumberSequence.objects.filter(key=key, last_value__gt=top or 0).update(last_value=top or 0)
