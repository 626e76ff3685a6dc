"""Notification outbox: queue messages inside the caller's transaction, send them afterwards.

Senders (``kefu send_outbox``, any number of copies) claim due rows with a conditional UPDATE that
sets a lease; a row is sent by the one sender whose claim matched. A failed send is retried with
back-off until ``KEFU_OUTBOX_MAX_ATTEMPTS``; a sender that dies mid-send leaves a lease that expires,
and the next sender retries it, passing the row's ``dedup_key`` to the gateway as the message id so
that a gateway that already accepted it can drop the repeat.
"""

from __future__ import annotations

import json
import secrets
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from kefu.core.models import OutboxMessage

LEASE = timedelta(minutes=2)


@dataclass(frozen=True)
class Message:
    channel: str
    recipient: str
    subject: str
    body: str
    key: str


class Backend(Protocol):
    def send(self, message: Message) -> None: ...


class FileSmsBackend:
    """Default: append each SMS as a JSON line to ``KEFU_OUTBOX_LOG`` (no gateway needed)."""

    def send(self, message: Message) -> None:
        path = Path(settings.KEFU_OUTBOX_LOG)
        path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"id": message.key, "to": message.recipient, "text": message.body}, ensure_ascii=False)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")


class HttpSmsBackend:
    """POST ``{"id", "to", "text"}`` as JSON to ``KEFU_SMS_URL``; any non-2xx answer is a failure."""

    def send(self, message: Message) -> None:
        url = settings.KEFU_SMS_URL
        if not url.startswith(("http://", "https://")):
            raise RuntimeError("KEFU_SMS_URL must be an http(s) URL")
        data = json.dumps({"id": message.key, "to": message.recipient, "text": message.body}).encode()
        request = urllib.request.Request(url, data=data, method="POST")  # noqa: S310 - scheme checked above
        request.add_header("Content-Type", "application/json")
        request.add_header("Idempotency-Key", message.key)
        if settings.KEFU_SMS_TOKEN:
            request.add_header("Authorization", f"Bearer {settings.KEFU_SMS_TOKEN}")
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            if not 200 <= response.status < 300:
                raise RuntimeError(f"SMS gateway answered {response.status}")


class EmailBackend:
    def send(self, message: Message) -> None:
        send_mail(message.subject or message.body[:60], message.body, None, [message.recipient])


def backend_for(channel: str) -> Backend:
    if channel == OutboxMessage.Channel.EMAIL:
        return EmailBackend()
    if settings.KEFU_SMS_BACKEND == "http":
        return HttpSmsBackend()
    return FileSmsBackend()


def outbox_enqueue(
    *, channel: str, recipient: str, body: str, key: str, subject: str = "", source: Any = None
) -> OutboxMessage | None:
    """Queue one message. The same ``key`` twice queues it once (returns None the second time)."""
    if not recipient:
        return None
    row = OutboxMessage(
        channel=channel, recipient=recipient[:254], subject=subject[:200], body=body, dedup_key=key[:120],
        next_attempt_at=timezone.now(),
        source_model=source._meta.label_lower if source is not None else "",
        source_id=source.pk if source is not None else None,
    )
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:
        return None
    return row


def _claim(now: datetime, batch: int) -> list[OutboxMessage]:
    token = secrets.token_hex(8)
    due = list(
        OutboxMessage.objects.filter(state=OutboxMessage.State.PENDING, next_attempt_at__lte=now)
        .exclude(lease_until__gt=now)
        .order_by("next_attempt_at", "id")
        .values_list("id", "lease_until")[:batch]
    )
    claimed: list[int] = []
    for pk, lease in due:
        # Conditional update: only the sender whose view of the lease is still true gets the row (and
        # only while it is still due: a failure in between has moved its next attempt on).
        won = OutboxMessage.objects.filter(
            pk=pk, state=OutboxMessage.State.PENDING, lease_until=lease, next_attempt_at__lte=now
        ).update(lease_until=now + LEASE, lease_token=token)
        if won:
            claimed.append(pk)
    return list(OutboxMessage.objects.filter(pk__in=claimed, lease_token=token).order_by("id"))


def outbox_send_due(*, now: datetime | None = None, batch: int = 100) -> tuple[int, int]:
    """Send what is due. Returns (sent, failed attempts)."""
    now = now or timezone.now()
    sent = failed = 0
    for row in _claim(now, batch):
        message = Message(row.channel, row.recipient, row.subject, row.body, row.dedup_key)
        try:
            backend_for(row.channel).send(message)
        except Exception as exc:
            failed += 1
            row.attempts += 1
            give_up = row.attempts >= settings.KEFU_OUTBOX_MAX_ATTEMPTS
            OutboxMessage.objects.filter(pk=row.pk, lease_token=row.lease_token).update(
                attempts=row.attempts,
                last_error=str(exc)[:500],
                state=OutboxMessage.State.FAILED if give_up else OutboxMessage.State.PENDING,
                next_attempt_at=now + timedelta(seconds=min(3600, 30 * 2 ** (row.attempts - 1))),
                lease_until=None,
            )
            continue
        sent += 1
        OutboxMessage.objects.filter(pk=row.pk, lease_token=row.lease_token).update(
            state=OutboxMessage.State.SENT, sent_at=timezone.now(), attempts=row.attempts + 1, lease_until=None
        )
    return sent, failed
