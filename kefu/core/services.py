"""Writes for the core building blocks: history rows, audit rows, number sequences."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import connection, models, transaction

from kefu.core.models import AuditLog, FieldChange, NumberSequence


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, models.Model):
        return str(value.pk)
    return str(value)


def snapshot(instance: models.Model, fields: Iterable[str]) -> dict[str, str]:
    """Text form of the named fields (FKs by id), for diffing before and after an update."""
    out: dict[str, str] = {}
    for name in fields:
        field = instance._meta.get_field(name)
        attname = getattr(field, "attname", name)
        out[name] = _as_text(getattr(instance, attname))
    return out


def history_record(
    *,
    instance: models.Model,
    before: Mapping[str, str],
    after: Mapping[str, str],
    actor: Any,
    reason: str = "",
) -> list[FieldChange]:
    """Append one FieldChange per field whose value differs between the two snapshots."""
    label = instance._meta.label_lower
    rows = [
        FieldChange(
            model=label,
            object_id=instance.pk,
            field=name,
            old_value=before.get(name, ""),
            new_value=after.get(name, ""),
            actor=actor if getattr(actor, "pk", None) else None,
            reason=reason[:200],
        )
        for name in after
        if before.get(name, "") != after[name]
    ]
    if rows:
        FieldChange.objects.bulk_create(rows)
    return rows


def audit_record(
    *,
    actor: Any,
    action: str,
    instance: models.Model | None = None,
    detail: dict[str, Any] | None = None,
    ip: str | None = None,
) -> AuditLog:
    return AuditLog.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        model=instance._meta.label_lower if instance is not None else "",
        object_id=instance.pk if instance is not None else None,
        detail=detail or {},
        ip=ip,
    )


def sequence_next(*, key: str, count: int = 1) -> int:
    """Reserve ``count`` numbers and return the first. Safe under concurrency on both databases:
    one ``UPDATE … RETURNING`` (PostgreSQL and SQLite 3.35+) holds the row lock only for itself."""
    table = connection.ops.quote_name(NumberSequence._meta.db_table)
    column = connection.ops.quote_name("key")
    sql = f"UPDATE {table} SET last_value = last_value + %s WHERE {column} = %s RETURNING last_value"  # noqa: S608
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [count, key])
        row = cursor.fetchone()
        if row is None:
            NumberSequence.objects.get_or_create(key=key)
            cursor.execute(sql, [count, key])
            row = cursor.fetchone()
    assert row is not None
    return int(row[0]) - count + 1


def sequence_raise_to(*, key: str, value: int) -> None:
    """Make sure the next number handed out is above ``value`` (after bulk loads)."""
    with transaction.atomic():
        NumberSequence.objects.get_or_create(key=key)
        NumberSequence.objects.filter(key=key, last_value__lt=value).update(last_value=value)
