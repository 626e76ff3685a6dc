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
from django.db.models import Max
from django.db.models.functions import Length

from kefu.core.models import NumberSequence
from kefu.customers.models import Account, AccountEvent, Contact, Customer, Premise, ServicePoint
from kefu.customers.services import ACCOUNT_PREFIX, ACCOUNT_SEQUENCE_KEY
from kefu.demo.generate import FIELDS, MODELS, Rows

# SQL text built here holds only model table names and integer ids (hence the S608 noqa marks).


def _table(model: type[Any]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _columns(model: type[Any]) -> list[str]:
    return [model._meta.get_field(name).column for name in FIELDS[model]]  # get_field knows attnames


class Writer:
    """Backend-specific parts of a chunk load. Use inside ``transaction.atomic()``."""

    empty_json: Any = {}

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
            cur.execute(f"LOCK TABLE {', '.join(_table(m) for m in MODELS)} IN EXCLUSIVE MODE")

    def next_ids(self) -> dict[type[Any], int]:
        out: dict[type[Any], int] = {}
        with connection.cursor() as cur:
            for model in MODELS:
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
            for model in MODELS:
                data = rows.by_model[model]
                if not data:
                    continue
                sql = f"COPY {_table(model)} ({', '.join(_columns(model))}) FROM STDIN"
                with cur.copy(sql) as copy:
                    for row in data:
                        copy.write_row(row)

    def after_write(self, rows: Rows) -> None:
        with connection.cursor() as cur:
            for model in MODELS:
                data = rows.by_model[model]
                if data:
                    cur.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)",
                                [model._meta.db_table, data[-1][0]])


    def finish(self) -> None:
        # Fresh planner statistics: right after a bulk load autovacuum may not have analysed yet.
        with connection.cursor() as cur:
            cur.execute(f"ANALYZE {', '.join(_table(m) for m in MODELS)}")


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
            for model in MODELS:
                cur.execute(f"SELECT max(id) FROM {_table(model)}")  # noqa: S608
                max_id = cur.fetchone()[0] or 0
                # AUTOINCREMENT never reuses ids of deleted rows; explicit ids must not either.
                cur.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [model._meta.db_table])
                row = cur.fetchone()
                out[model] = max(max_id, row[0] if row else 0) + 1
        return out

    def write(self, rows: Rows) -> None:
        with connection.cursor() as cur:
            for model in MODELS:
                data = rows.by_model[model]
                if not data:
                    continue
                fields = [model._meta.get_field(name) for name in FIELDS[model]]
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
        _last_datetime[:] = [value, str(value.astimezone(dt.UTC).replace(tzinfo=None))]
    return _last_datetime[1]


def _prepared(row: tuple[Any, ...], prep: list[tuple[int, Callable[[Any], str]]]) -> tuple[Any, ...]:
    out = list(row)
    for i, convert in prep:
        out[i] = convert(out[i])
    return tuple(out)


def writer_for_connection() -> Writer:
    if connection.vendor == "postgresql":
        return PostgresWriter()
    if connection.vendor == "sqlite":
        return SqliteWriter()
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
