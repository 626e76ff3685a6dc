"""Set-based work over an outage's customers: computing the affected accounts from the scope and
queueing one SMS per contact phone. Each is one ``INSERT … SELECT`` (no Python loop over customers),
idempotent through unique keys, so a retried publish never queues a message twice."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone

from kefu.core.models import OutboxMessage
from kefu.customers.choices import AccountStatus, CustomerClass, Importance, PhoneKind
from kefu.customers.models import Account, Contact
from kefu.grid.models import Attachment, GridNode

from .models import AffectedAccount, Outage, OutageListedAccount, OutageNode

# Accounts that draw no supply are not cut off by an outage.
NOT_SUPPLIED = (AccountStatus.CLOSED, AccountStatus.REGISTERED, AccountStatus.AWAITING_IGNITION,
                AccountStatus.REMOVED)

DEDICATED_CLASSES = (CustomerClass.POWER_DEDICATED_INDUSTRIAL, CustomerClass.POWER_DEDICATED_INSTITUTION)


def _q(model: type, field: str | None = None) -> str:
    if field is None:
        return connection.ops.quote_name(model._meta.db_table)  # type: ignore[attr-defined]
    return connection.ops.quote_name(model._meta.get_field(field).column)  # type: ignore[attr-defined]


def affected_compute(outage: Outage) -> tuple[int, int, int]:
    """Rebuild the outage's affected accounts from its nodes and listed accounts; store and return
    the counts (accounts, important, dedicated)."""
    AffectedAccount.objects.filter(outage=outage).delete()
    aa, acct, att, node = (_q(AffectedAccount), _q(Account), _q(Attachment), _q(GridNode))
    skip = ", ".join(["%s"] * len(NOT_SUPPLIED))
    # Dedicated: the transformer serves this customer alone, by the topology or by the customer class.
    select = (
        "SELECT %s, a.id, CASE WHEN a.importance <> %s THEN TRUE ELSE FALSE END, "
        "CASE WHEN n.dedicated OR a.customer_class IN (%s, %s) THEN TRUE ELSE FALSE END "
    )
    head: list[Any] = [outage.pk, Importance.NORMAL, *DEDICATED_CLASSES]
    insert = f"INSERT INTO {aa} (outage_id, account_id, important, dedicated) "
    conflict = " ON CONFLICT (outage_id, account_id) DO NOTHING"
    with connection.cursor() as cursor:
        # One indexed prefix scan per scope node (a handful per outage).
        for path in GridNode.objects.filter(
            pk__in=OutageNode.objects.filter(outage=outage).values("node_id")
        ).values_list("path", flat=True):
            cursor.execute(
                insert + select
                + f"FROM {node} n JOIN {att} t ON t.node_id = n.id JOIN {acct} a ON a.service_point_id = "
                f"t.service_point_id WHERE n.path LIKE %s AND n.path >= %s AND n.path < %s AND a.utility = %s "
                f"AND a.status NOT IN ({skip})" + conflict,
                # LIKE uses PostgreSQL's pattern index; the range (paths end in ".", and "/" sorts right
                # after it) lets SQLite use the path index too, where LIKE alone scans every node.
                [*head, path + "%", path, path[:-1] + "/", outage.utility, *NOT_SUPPLIED],
            )
        cursor.execute(
            insert + select
            + f"FROM {_q(OutageListedAccount)} l JOIN {acct} a ON a.id = l.account_id "
            f"LEFT JOIN {att} t ON t.service_point_id = a.service_point_id LEFT JOIN {node} n ON n.id = t.node_id "
            f"WHERE l.outage_id = %s AND a.status NOT IN ({skip})" + conflict,
            [*head, outage.pk, *NOT_SUPPLIED],
        )
    counts = AffectedAccount.objects.filter(outage=outage).aggregate(
        total=Count("pk"), important=Count("pk", filter=Q(important=True)),
        dedicated=Count("pk", filter=Q(dedicated=True)),
    )
    outage.affected_count = counts["total"]
    outage.important_count = counts["important"]
    outage.dedicated_count = counts["dedicated"]
    return outage.affected_count, outage.important_count, outage.dedicated_count


def sms_queue(outage: Outage, *, body: str, key: str, important_only: bool = False,
              send_at: datetime | None = None, extra_phones: list[str] | None = None) -> int:
    """Queue ``body`` once per mobile phone of the affected customers' contacts (and ``extra_phones``,
    such as the callers of linked repair orders). The dedup key is ``key`` plus the phone, so a phone
    shared by several affected accounts gets one message and a retry queues nothing new.
    Returns how many messages were queued now."""
    # Raw SQL skips the ORM's conversion: SQLite wants naive UTC text, PostgreSQL takes the datetime.
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    when = connection.ops.adapt_datetimefield_value(send_at) if send_at else now
    box, aa, acct, contact = _q(OutboxMessage), _q(AffectedAccount), _q(Account), _q(Contact)
    columns = ("channel, recipient, subject, body, dedup_key, state, attempts, next_attempt_at, lease_token, "
               "last_error, created_at, source_model, source_id")
    head = f"INSERT INTO {box} ({columns}) "
    values = "SELECT DISTINCT %s, c.phone, '', %s, %s || c.phone, %s, 0, %s, '', '', %s, %s, %s "
    params = [OutboxMessage.Channel.SMS, body, key, OutboxMessage.State.PENDING, when, now, "outages.outage",
              outage.pk]
    where = "WHERE aa.outage_id = %s AND c.phone_kind = %s" + (" AND aa.important" if important_only else "")
    with connection.cursor() as cursor:
        cursor.execute(
            head + values
            + f"FROM {aa} aa JOIN {acct} a ON a.id = aa.account_id JOIN {contact} c ON c.customer_id = a.customer_id "
            + where + " ON CONFLICT (dedup_key) DO NOTHING",
            [*params, outage.pk, PhoneKind.MOBILE],
        )
        queued = max(cursor.rowcount, 0)
        for phone in sorted(set(extra_phones or ())):
            cursor.execute(
                head + "VALUES (%s, %s, '', %s, %s, %s, 0, %s, '', '', %s, %s, %s) "
                "ON CONFLICT (dedup_key) DO NOTHING",
                [OutboxMessage.Channel.SMS, phone, body, key + phone, OutboxMessage.State.PENDING, when, now,
                 "outages.outage", outage.pk],
            )
            queued += max(cursor.rowcount, 0)
    return queued


def sms_withdraw(outage: Outage, *, key: str) -> int:
    """Drop messages of ``key`` not yet sent (a reminder for a start that moved or was cancelled)."""
    return OutboxMessage.objects.filter(
        dedup_key__startswith=key, state=OutboxMessage.State.PENDING, lease_until__isnull=True,
        source_model="outages.outage", source_id=outage.pk,
    ).delete()[0]
