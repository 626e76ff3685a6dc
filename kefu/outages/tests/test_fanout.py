"""SMS fan-out: one message per mobile phone of the affected customers, landlines skipped, retries
harmless, the text rendered from the template in Chinese date format; a broken template refuses the
step that needs it and leaves nothing half done; template edits are checked."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest

from kefu.core.errors import InvalidInput, PermissionDeniedError
from kefu.core.models import OutboxMessage
from kefu.customers.services import account_open, contact_add
from kefu.customers.tests.factories import make_account
from kefu.grid.services import attach
from kefu.outages import fanout
from kefu.outages import services as svc
from kefu.outages.choices import Action, MessageKind, Status
from kefu.outages.models import MessageTemplate, Outage, OutageEvent
from kefu.outages.notices import render
from kefu.outages.tests.factories import START, Grid, outage_data

if TYPE_CHECKING:
    from conftest import World

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("in_english")]

SHANGHAI = ZoneInfo("Asia/Shanghai")
EARLY = START - timedelta(days=8)


def reviewed(world: World, data: dict[str, Any] | None = None) -> Outage:
    outage = svc.outage_create(actor=world.supervisor, data=data or outage_data(), now=EARLY)
    return svc.outage_review(actor=world.supervisor, outage=outage, now=EARLY)


def published(world: World, data: dict[str, Any] | None = None) -> Outage:
    return svc.outage_publish(actor=world.supervisor, outage=reviewed(world, data), now=EARLY)


def fresh(outage: Outage) -> Outage:
    return Outage.objects.get(pk=outage.pk)


def sms(outage: Outage, prefix: str = "") -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(source_model="outages.outage", source_id=outage.pk,
                                             dedup_key__startswith=f"outage:{outage.pk}:{prefix}")
                 .order_by("recipient"))


def phone_of(account: Any) -> str:
    return str(account.customer.contacts.order_by("id").first().phone)


def hang(world: World, grid: Grid, **kw: Any) -> Any:
    account = make_account(unit=world.county_a1, **kw)
    attach(actor=world.supervisor, service_point=account.service_point_id or 0, node=grid.ta1)
    return account


# One message per mobile phone ---------------------------------------------------------------------

def test_one_message_per_phone_of_the_affected_customers(world: World, grid: Grid) -> None:
    outage = published(world, outage_data(nodes=("F1",)))
    messages = sms(outage, "published:")
    assert sorted(m.recipient for m in messages) == sorted(phone_of(a) for a in grid.under("TA1", "TA2"))
    assert {m.channel for m in messages} == {OutboxMessage.Channel.SMS}
    assert {m.state for m in messages} == {OutboxMessage.State.PENDING}
    assert not any(m.recipient == phone_of(grid.accounts["TA3"][0]) for m in messages)  # F2 is not cut off
    assert OutageEvent.objects.get(outage=outage, kind=Action.PUBLISH).data["sms"] == 5


def test_two_accounts_of_one_customer_get_one_message(world: World, grid: Grid) -> None:
    first = hang(world, grid, phone="13700001234")
    second = account_open(customer=first.customer, premise=first.premise, utility="power",
                          customer_class="p_pub_residential", actor=None, unit=world.county_a1)
    attach(actor=world.supervisor, service_point=second.service_point_id or 0, node=grid.ta1)
    outage = published(world)
    assert fresh(outage).affected_count == 5
    assert [m.recipient for m in sms(outage, "published:")].count("+8613700001234") == 1
    assert len(sms(outage, "published:")) == 4


def test_two_customers_sharing_a_phone_get_one_message(world: World, grid: Grid) -> None:
    hang(world, grid, phone="13700005678", name="张三")
    hang(world, grid, phone="137 0000 5678", name="张三的母亲")
    outage = published(world)
    assert fresh(outage).affected_count == 5
    assert [m.recipient for m in sms(outage, "published:")].count("+8613700005678") == 1
    assert len(sms(outage, "published:")) == 4


def test_landlines_are_skipped(world: World, grid: Grid) -> None:
    shop = hang(world, grid, phone="0571-88886666", name="文三路小卖部")
    family = hang(world, grid, phone="0571-88887777", name="李家")
    contact_add(customer=family.customer, actor=None, name="李家儿子", phone="13700009999")
    outage = published(world)
    recipients = [m.recipient for m in sms(outage, "published:")]
    assert fresh(outage).affected_count == 5
    assert "+8613700009999" in recipients and len(recipients) == 4
    assert not any(r in recipients for r in (phone_of(shop), phone_of(family)))


def test_a_retried_queue_adds_nothing(world: World, grid: Grid) -> None:
    outage = reviewed(world, outage_data(nodes=("F1",)))
    body = render(MessageKind.PUBLISHED, outage)
    assert fanout.sms_queue(outage, body=body, key="outage:retry:") == 5
    assert fanout.sms_queue(outage, body=body, key="outage:retry:") == 0
    assert fanout.sms_queue(outage, body=body, key="outage:retry:", extra_phones=[phone_of(grid.accounts["TA1"][0]),
                                                                               "+8613600000000"]) == 1
    assert OutboxMessage.objects.filter(dedup_key__startswith="outage:retry:").count() == 6


def test_important_only_and_a_later_send_time(world: World, grid: Grid) -> None:
    outage = reviewed(world, outage_data(nodes=("F1",)))
    at = START - timedelta(minutes=30)
    assert fanout.sms_queue(outage, body="提醒", key="outage:vip:", important_only=True, send_at=at) == 1
    [message] = OutboxMessage.objects.filter(dedup_key__startswith="outage:vip:")
    assert message.recipient == phone_of(grid.accounts["TA1"][2]) and message.next_attempt_at == at


def test_withdraw_drops_only_pending_messages_of_that_outage(world: World, grid: Grid) -> None:
    one = reviewed(world)
    other = reviewed(world)
    fanout.sms_queue(one, body="a", key=f"outage:{one.pk}:reminder:")
    fanout.sms_queue(other, body="b", key=f"outage:{other.pk}:reminder:")
    OutboxMessage.objects.filter(recipient=phone_of(grid.accounts["TA1"][0]),
                                 dedup_key__startswith=f"outage:{one.pk}:").update(state=OutboxMessage.State.SENT)
    assert fanout.sms_withdraw(one, key=f"outage:{one.pk}:reminder:") == 2
    assert [m.state for m in sms(one)] == [OutboxMessage.State.SENT]
    assert len(sms(other)) == 3


# The text ----------------------------------------------------------------------------------------

def test_the_message_is_rendered_from_the_template_in_chinese_format(world: World, grid: Grid) -> None:
    outage = published(world)
    bodies = {m.body for m in sms(outage, "published:")}
    assert bodies == {"【停电通知】尊敬的客户：因线路检修，文三路1号至3号将于12月08日 08:00至12月08日 16:00停电，"
                      "给您带来不便敬请谅解。如有疑问请致电95598。"}


def test_times_are_shown_in_beijing_time_whatever_the_input_zone(world: World, grid: Grid) -> None:
    utc_start = datetime(2026, 12, 8, 0, 0, tzinfo=ZoneInfo("UTC"))  # 08:00 in Beijing
    data = outage_data(planned_start=utc_start.isoformat(), planned_end="2026-12-08T09:30:00+00:00")
    outage = published(world, data)
    assert "将于12月08日 08:00至12月08日 17:30停电" in sms(outage, "published:")[0].body


@pytest.mark.parametrize("text", ["【停电通知】{area}将于{start}停电。", "【停电通知】{area}将于{start}至{end"])
def test_a_template_that_lost_a_field_refuses_the_publish_and_changes_nothing(world: World, grid: Grid,
                                                                              text: str) -> None:
    outage = reviewed(world)
    MessageTemplate.objects.filter(kind=MessageKind.PUBLISHED).update(text=text)  # edited behind the checks
    version = fresh(outage).version
    with pytest.raises(InvalidInput) as caught:
        svc.outage_publish(actor=world.supervisor, outage=outage, now=EARLY)
    assert list(caught.value.errors) == ["template"]
    assert caught.value.errors["template"][0].startswith("The SMS template “Outage notice” cannot be used:")
    again = fresh(outage)
    assert again.status == Status.REVIEWED and again.version == version and again.published_at is None
    assert not OutboxMessage.objects.filter(source_model="outages.outage").exists()
    assert not OutageEvent.objects.filter(outage=outage, kind=Action.PUBLISH).exists()


def test_a_missing_template_is_named(world: World, grid: Grid) -> None:
    outage = reviewed(world)
    MessageTemplate.objects.filter(kind=MessageKind.PUBLISHED).delete()
    with pytest.raises(InvalidInput) as caught:
        svc.outage_publish(actor=world.supervisor, outage=outage, now=EARLY)
    assert caught.value.errors == {"template": ["There is no SMS template for “Outage notice”."]}
    assert fresh(outage).status == Status.REVIEWED


def test_a_broken_cancellation_template_keeps_the_outage_and_its_reminder(world: World, grid: Grid) -> None:
    outage = published(world, outage_data(outage_class="temporary"))
    MessageTemplate.objects.filter(kind=MessageKind.CANCELLED).update(text="停电已取消")
    with pytest.raises(InvalidInput) as caught:
        svc.outage_cancel(actor=world.supervisor, outage=outage, reason="取消", now=EARLY + timedelta(days=1))
    assert "template" in caught.value.errors
    again = fresh(outage)
    assert again.status == Status.PUBLISHED and again.cancelled_at is None
    assert len(sms(outage, "reminder:")) == 1 and sms(outage, "cancelled:") == []


def test_a_broken_restoration_template_refuses_the_restore(world: World, grid: Grid) -> None:
    outage = published(world)
    MessageTemplate.objects.filter(kind=MessageKind.RESTORED).update(text="{area}已恢复供电")
    with pytest.raises(InvalidInput) as caught:
        svc.outage_restore(actor=world.supervisor, outage=outage, now=START + timedelta(hours=7))
    assert "{restored_at}" in caught.value.errors["template"][0]
    again = fresh(outage)
    assert again.status == Status.PUBLISHED and again.actual_end is None and sms(outage, "restored:") == []


# Editing templates -------------------------------------------------------------------------------

def test_template_update_accepts_a_good_text_and_is_used_next_time(world: World, grid: Grid) -> None:
    svc.template_update(actor=world.admin, kind=MessageKind.PUBLISHED,
                        text="  【停电】{area} {start}—{end}，{reason}。{hotline}  ")
    assert MessageTemplate.objects.get(kind="published").text == "【停电】{area} {start}—{end}，{reason}。{hotline}"
    outage = published(world)
    bodies = {m.body for m in sms(outage, "published:")}
    assert bodies == {"【停电】文三路1号至3号 12月08日 08:00—12月08日 16:00，线路检修。95598"}


@pytest.mark.parametrize(("text", "words"), [
    ("{area}{start}{end}{phone}", "Unknown field {phone}"),
    ("{area}{start}{end", "A brace { or } is not closed"),
    ("{area}{start}}{end}", "A brace { or } is not closed"),
    ("{area}{start:%H}{end}", "Write the field {start} without a format."),
    ("{area}{start!r}{end}", "Write the field {start} without a format."),
    ("{area}于{start}停电", "The message must contain the field {end}."),
    ("   ", "The text is empty."),
    ("{area}{start}{end}" + "字" * 500, "The text is too long (at most 500 characters)."),
], ids=["unknown field", "unclosed brace", "stray brace", "format spec", "conversion", "missing field", "empty",
        "too long"])
def test_template_update_refuses_a_broken_text(world: World, text: str, words: str) -> None:
    before = MessageTemplate.objects.get(kind="published").text
    with pytest.raises(InvalidInput) as caught:
        svc.template_update(actor=world.admin, kind=MessageKind.PUBLISHED, text=text)
    assert any(words in m for m in caught.value.errors["text"]), caught.value.errors
    assert MessageTemplate.objects.get(kind="published").text == before


def test_template_update_checks_the_english_text_and_the_kind_and_the_role(world: World) -> None:
    with pytest.raises(InvalidInput) as caught:
        svc.template_update(actor=world.admin, kind=MessageKind.RESTORED, text="{area}{restored_at}恢复",
                            text_en="{area} is back")
    assert caught.value.errors == {"text_en": ["The message must contain the field {restored_at}."]}
    with pytest.raises(InvalidInput) as caught:
        svc.template_update(actor=world.admin, kind="fax", text="{area}")
    assert "kind" in caught.value.errors
    with pytest.raises(PermissionDeniedError):
        svc.template_update(actor=world.supervisor, kind=MessageKind.RESTORED, text="{area}{restored_at}")
    assert MessageTemplate.objects.get(kind="restored").text.startswith("【恢复供电】")
