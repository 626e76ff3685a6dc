"""The notification outbox: queued once per key, sent once, retried with back-off, given up on."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone

from kefu.core import notify
from kefu.core.models import OutboxMessage
from kefu.core.notify import Message, outbox_enqueue, outbox_send_due
from kefu.workorders.tests.factories import run_together, shared_database

PHONE = "+8613900001111"


def enqueue(key: str = "k1", *, body: str = "工单 1 已派发", recipient: str = PHONE,
            channel: str = OutboxMessage.Channel.SMS) -> OutboxMessage | None:
    return outbox_enqueue(channel=channel, recipient=recipient, body=body, key=key)


def log_lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


class Broken:
    def send(self, message: Message) -> None:
        raise RuntimeError("gateway down")


@pytest.fixture
def outbox_log(settings: Any, tmp_path: Path) -> Path:
    path = tmp_path / "sms" / "outbox.log"
    settings.KEFU_OUTBOX_LOG = str(path)
    settings.KEFU_SMS_BACKEND = "file"
    return path


@pytest.mark.django_db
def test_same_key_twice_queues_one_message():
    first = enqueue("wo-ev1", body="first text")
    second = enqueue("wo-ev1", body="second text")
    assert first is not None
    assert second is None
    row = OutboxMessage.objects.get()
    assert row.body == "first text"
    assert row.state == OutboxMessage.State.PENDING


@pytest.mark.django_db
def test_no_recipient_queues_nothing():
    assert enqueue("k-empty", recipient="") is None
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db
def test_file_backend_sends_due_messages_once(outbox_log: Path):
    enqueue("a", body="您的报修已受理")
    enqueue("b", recipient="+8613900002222", body="工单超时")
    assert outbox_send_due() == (2, 0)
    lines = log_lines(outbox_log)
    assert lines == [
        {"id": "a", "to": PHONE, "text": "您的报修已受理"},
        {"id": "b", "to": "+8613900002222", "text": "工单超时"},
    ]
    for row in OutboxMessage.objects.all():
        assert row.state == OutboxMessage.State.SENT
        assert row.sent_at is not None
        assert row.attempts == 1
        assert row.lease_until is None
    # Nothing left to send: a second pass writes nothing.
    assert outbox_send_due() == (0, 0)
    assert len(log_lines(outbox_log)) == 2


@pytest.mark.django_db
def test_a_message_waits_for_its_time(outbox_log: Path):
    row = enqueue("later")
    assert row is not None
    soon = timezone.now() + timedelta(minutes=10)
    OutboxMessage.objects.filter(pk=row.pk).update(next_attempt_at=soon)
    assert outbox_send_due() == (0, 0)
    assert outbox_send_due(now=soon) == (1, 0)
    assert [line["id"] for line in log_lines(outbox_log)] == ["later"]


@pytest.mark.django_db
def test_email_goes_through_django_mail(settings: Any):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    enqueue("mail-1", recipient="station@example.com", body="请尽快处理工单", channel=OutboxMessage.Channel.EMAIL)
    assert outbox_send_due() == (1, 0)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["station@example.com"]
    assert mail.outbox[0].body == "请尽快处理工单"


@pytest.mark.django_db
def test_failing_backend_retries_later_then_gives_up(settings: Any, monkeypatch: pytest.MonkeyPatch):
    settings.KEFU_OUTBOX_MAX_ATTEMPTS = 3
    monkeypatch.setattr(notify, "backend_for", lambda channel: Broken())
    enqueue("flaky")
    now = timezone.now()

    assert outbox_send_due(now=now) == (0, 1)
    row = OutboxMessage.objects.get()
    assert row.state == OutboxMessage.State.PENDING
    assert row.attempts == 1
    assert row.next_attempt_at > now
    assert "gateway down" in row.last_error
    assert row.lease_until is None
    first_wait = row.next_attempt_at - now

    # Not retried before its time.
    assert outbox_send_due(now=now + first_wait - timedelta(seconds=1)) == (0, 0)
    assert OutboxMessage.objects.get().attempts == 1

    second_try = row.next_attempt_at
    assert outbox_send_due(now=second_try) == (0, 1)
    row = OutboxMessage.objects.get()
    assert row.state == OutboxMessage.State.PENDING
    assert row.attempts == 2
    assert row.next_attempt_at - second_try > first_wait  # the wait grows

    assert outbox_send_due(now=row.next_attempt_at) == (0, 1)
    row = OutboxMessage.objects.get()
    assert row.state == OutboxMessage.State.FAILED
    assert row.attempts == 3
    # Given up: no further attempts, however late.
    assert outbox_send_due(now=row.next_attempt_at + timedelta(days=1)) == (0, 0)
    assert OutboxMessage.objects.get().attempts == 3


@pytest.mark.django_db
def test_a_failure_does_not_stop_the_other_messages(outbox_log: Path, monkeypatch: pytest.MonkeyPatch):
    real = notify.backend_for

    class FailsForOne:
        def send(self, message: Message) -> None:
            if message.key == "bad":
                raise RuntimeError("rejected")
            real(OutboxMessage.Channel.SMS).send(message)

    monkeypatch.setattr(notify, "backend_for", lambda channel: FailsForOne())
    enqueue("bad")
    enqueue("good")
    assert outbox_send_due() == (1, 1)
    assert [line["id"] for line in log_lines(outbox_log)] == ["good"]
    states = dict(OutboxMessage.objects.values_list("dedup_key", "state"))
    assert states == {"bad": OutboxMessage.State.PENDING, "good": OutboxMessage.State.SENT}


@pytest.mark.django_db
def test_a_sender_that_died_leaves_a_lease_that_expires(outbox_log: Path):
    row = enqueue("orphan")
    assert row is not None
    now = timezone.now()
    # A sender claimed the row and died before sending.
    OutboxMessage.objects.filter(pk=row.pk).update(lease_until=now + notify.LEASE, lease_token="dead")
    assert outbox_send_due(now=now) == (0, 0)
    assert outbox_send_due(now=now + notify.LEASE + timedelta(seconds=1)) == (1, 0)
    assert [line["id"] for line in log_lines(outbox_log)] == ["orphan"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_senders_never_send_a_message_twice(monkeypatch: pytest.MonkeyPatch):
    sent: list[str] = []
    lock = threading.Lock()

    class Recorder:
        def send(self, message: Message) -> None:
            time.sleep(0.002)  # long enough for the other senders to try the same rows
            with lock:
                sent.append(message.key)

    monkeypatch.setattr(notify, "backend_for", lambda channel: Recorder())
    keys = [f"msg-{n:02d}" for n in range(40)]
    for key in keys:
        enqueue(key)
    with shared_database():
        outcome = run_together(*[lambda: outbox_send_due(batch=15) for _ in range(3)])
        assert outcome.errors == []
        reported = sum(sent_count for sent_count, _failed in outcome.results)
        while True:  # whatever the three batches left over
            more, _failed = outbox_send_due(batch=15)
            if not more:
                break
            reported += more
        assert sorted(sent) == keys  # every message once, none twice
        assert reported == len(keys)
        assert set(OutboxMessage.objects.values_list("state", flat=True)) == {OutboxMessage.State.SENT}


@pytest.mark.django_db
def test_a_message_another_sender_just_failed_waits_for_its_back_off(monkeypatch: pytest.MonkeyPatch):
    """Sender B lists a row as due; before B claims it, sender A tries it, fails and releases it with a
    later next attempt. B must not send it again at once."""
    attempts: list[str] = []

    class Recorder:
        def send(self, message: Message) -> None:
            attempts.append(message.key)

    monkeypatch.setattr(notify, "backend_for", lambda channel: Recorder())
    row = enqueue("raced")
    assert row is not None
    now = timezone.now()
    real_filter = OutboxMessage.objects.filter

    def filter_after_a_failed_elsewhere(*args: Any, **kwargs: Any) -> Any:
        if "pk" in kwargs and "lease_until" in kwargs:  # B's claim of a row it listed as due
            real_filter(pk=kwargs["pk"]).update(
                attempts=1, last_error="gateway down", next_attempt_at=now + timedelta(seconds=30)
            )
        return real_filter(*args, **kwargs)

    monkeypatch.setattr(OutboxMessage.objects, "filter", filter_after_a_failed_elsewhere)
    assert outbox_send_due(now=now) == (0, 0)
    assert attempts == []
    monkeypatch.undo()
    row.refresh_from_db()
    assert row.attempts == 1
    assert row.lease_until is None


class Gateway(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []
    status = 200

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        type(self).received.append({
            "path": self.path, "headers": dict(self.headers.items()),
            "body": json.loads(self.rfile.read(length).decode()),
        })
        self.send_response(type(self).status)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def gateway(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    Gateway.received = []
    Gateway.status = 200
    server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.KEFU_SMS_BACKEND = "http"
    settings.KEFU_SMS_URL = f"http://127.0.0.1:{server.server_address[1]}/sms/send"
    settings.KEFU_SMS_TOKEN = "gateway-token"
    yield Gateway
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.mark.django_db
def test_http_backend_posts_with_the_idempotency_key(gateway: Any):
    enqueue("wo-ev42-sms", body="工单已派发到城关供电所")
    assert outbox_send_due() == (1, 0)
    assert len(gateway.received) == 1
    request = gateway.received[0]
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert request["path"] == "/sms/send"
    assert headers["idempotency-key"] == "wo-ev42-sms"
    assert headers["authorization"] == "Bearer gateway-token"
    assert headers["content-type"] == "application/json"
    assert request["body"] == {"id": "wo-ev42-sms", "to": PHONE, "text": "工单已派发到城关供电所"}
    assert OutboxMessage.objects.get().state == OutboxMessage.State.SENT


@pytest.mark.django_db
def test_http_gateway_error_is_a_failed_attempt(gateway: Any):
    gateway.status = 503
    enqueue("wo-ev43-sms")
    assert outbox_send_due() == (0, 1)
    row = OutboxMessage.objects.get()
    assert row.state == OutboxMessage.State.PENDING
    assert row.attempts == 1
    assert "503" in row.last_error
    assert len(gateway.received) == 1  # it did reach the gateway
