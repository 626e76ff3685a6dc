"""Policy data an administrator maintains: order types, time limits, warning levels, the business calendar.
Services first (rules, history, caches), then the pages (who may open them, what they refuse)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kefu.core import calendar
from kefu.core.errors import InvalidInput, PermissionDeniedError
from kefu.core.models import CalendarDay, FieldChange
from kefu.workorders.choices import ClockKind
from kefu.workorders.models import OrderType, SlaPolicy, WarningLevel
from kefu.workorders.policy import (
    calendarday_delete,
    calendarday_save,
    ordertype_create,
    ordertype_update,
    slapolicy_create,
    slapolicy_update,
    warninglevel_create,
    warninglevel_delete,
    warninglevel_update,
)
from kefu.workorders.services import workorder_intake

if TYPE_CHECKING:
    from conftest import World

pytestmark = pytest.mark.django_db

TUESDAY = date(2030, 3, 5)
SATURDAY = date(2030, 3, 9)


@pytest.fixture(autouse=True)
def english(settings: Any) -> None:
    settings.LANGUAGE_CODE = "en"


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def kind(code: str) -> OrderType:
    return OrderType.objects.get(code=code)


def intake(world: World, order_type: Any) -> Any:
    return workorder_intake(actor=world.agent_a1, order_type=order_type, channel="phone", account=world.account_a1,
                            content="测试").order


def errors_of(call: Any) -> dict[str, list[str]]:
    with pytest.raises(InvalidInput) as caught:
        call()
    return caught.value.errors


# --- order types --------------------------------------------------------------------------------


def test_a_new_sub_type_takes_over_intake_from_its_parent(world: World) -> None:
    praise = kind("praise")
    sub = ordertype_create(actor=world.admin, code="praise_staff", name="表扬员工", name_en="Praise: staff",
                           parent=praise, callback_required=False)
    assert sub.parent == praise and sub.utility == ""
    with pytest.raises(InvalidInput):
        intake(world, praise)  # a heading now: choose a sub-type
    assert intake(world, sub).order_type == sub
    assert FieldChange.objects.filter(model="workorders.ordertype", object_id=sub.pk, field="name",
                                      new_value="表扬员工").exists()


def test_a_sub_type_inherits_its_parents_utility_and_may_not_contradict_it(world: World) -> None:
    sub = ordertype_create(actor=world.admin, code="repair_line", name="线路故障", name_en="Line fault",
                           parent=kind("repair"))
    assert sub.utility == "power"
    problems = errors_of(lambda: ordertype_create(actor=world.admin, code="repair_gas", name="燃气", name_en="Gas",
                                                  parent=kind("repair"), utility="gas"))
    assert "utility" in problems


@pytest.mark.parametrize(("code", "parent", "field"), [
    ("Bad Code", None, "code"),
    ("repair", None, "code"),  # taken
    ("too_deep", "complaint_service", "parent"),  # sub-types go one level deep
])
def test_type_creation_is_checked(world: World, code: str, parent: str | None, field: str) -> None:
    problems = errors_of(lambda: ordertype_create(actor=world.admin, code=code, name="名称", name_en="Name",
                                                  parent=kind(parent) if parent else None))
    assert field in problems


def test_type_edits_keep_history_and_refuse_an_orphaning_deactivation(world: World) -> None:
    complaint = kind("complaint")
    ordertype_update(actor=world.admin, order_type=complaint, name="客户投诉", duplicate_window_hours=48)
    assert FieldChange.objects.filter(model="workorders.ordertype", object_id=complaint.pk, field="name",
                                      old_value="投诉", new_value="客户投诉", actor=world.admin).exists()
    assert "is_active" in errors_of(lambda: ordertype_update(actor=world.admin, order_type=complaint,
                                                             is_active=False))
    assert "duplicate_window_hours" in errors_of(lambda: ordertype_update(
        actor=world.admin, order_type=complaint, duplicate_window_hours=-1))
    assert "code" in errors_of(lambda: ordertype_update(actor=world.admin, order_type=complaint, code="x"))


# --- time-limit policies ------------------------------------------------------------------------


def policy_args(**kw: Any) -> dict[str, Any]:
    return {"order_type": kind("praise"), "clock": ClockKind.REPLY, "amount": 3, "unit": "working_days",
            "effective_from": date(2025, 1, 1), **kw}


def test_a_new_policy_applies_to_the_next_order_at_once(world: World) -> None:
    before = intake(world, "praise")
    assert not before.clocks.exists()
    slapolicy_create(actor=world.admin, **policy_args(source="内部规定"))
    after = intake(world, "praise")
    clock = after.clocks.get()
    assert clock.kind == ClockKind.REPLY and clock.amount == 3 and clock.working
    assert not before.clocks.exists()


@pytest.mark.parametrize(("changes", "field"), [
    ({"amount": 0}, "amount"),
    ({"amount": -5}, "amount"),
    ({"effective_to": date(2024, 12, 31)}, "effective_to"),
    ({"effective_to": date(2025, 1, 1)}, "effective_to"),
    ({"utility": "gas", "order_type": "repair"}, "utility"),
    ({"clock": "supervision"}, "clock"),
    ({"unit": "fortnights"}, "unit"),
])
def test_policy_input_is_checked(world: World, changes: dict[str, Any], field: str) -> None:
    if "order_type" in changes:
        changes["order_type"] = kind(changes["order_type"])
    assert field in errors_of(lambda: slapolicy_create(actor=world.admin, **policy_args(**changes)))
    assert not SlaPolicy.objects.filter(order_type=kind("praise")).exists()


def test_the_same_policy_twice_is_refused(world: World) -> None:
    slapolicy_create(actor=world.admin, **policy_args())
    assert "effective_from" in errors_of(lambda: slapolicy_create(actor=world.admin, **policy_args(amount=4)))


def test_editing_a_policy_leaves_open_orders_alone(world: World) -> None:
    clock = world.order_a1.clocks.get(kind=ClockKind.ARRIVAL)
    policy = clock.policy
    assert policy is not None
    old_due, old_amount = clock.due_at, clock.amount
    slapolicy_update(actor=world.admin, policy=policy, amount=old_amount * 2)
    clock.refresh_from_db()
    assert (clock.amount, clock.due_at) == (old_amount, old_due)
    fresh = intake(world, "repair").clocks.get(kind=ClockKind.ARRIVAL)
    assert fresh.amount == old_amount * 2
    assert FieldChange.objects.filter(model="workorders.slapolicy", object_id=policy.pk, field="amount",
                                      old_value=str(old_amount), new_value=str(old_amount * 2)).exists()


# --- warning levels -----------------------------------------------------------------------------


def level(fraction: str) -> WarningLevel:
    return WarningLevel.objects.get(fraction=Decimal(fraction))


def test_warning_levels_stay_between_five_percent_and_overdue(world: World) -> None:
    first = level("0.50")
    assert "fraction" in errors_of(lambda: warninglevel_update(actor=world.admin, level=first, fraction="0.01",
                                                               name="太早", notify_shift_leader=False))
    assert "fraction" in errors_of(lambda: warninglevel_update(actor=world.admin, level=first, fraction="1.20",
                                                               name="太晚", notify_shift_leader=False))
    assert "fraction" in errors_of(lambda: warninglevel_update(actor=world.admin, level=first, fraction="0.80",
                                                               name="重复", notify_shift_leader=False))
    moved = warninglevel_update(actor=world.admin, level=first, fraction="0.6", name="一级预警",
                                notify_shift_leader=False)
    assert moved.fraction == Decimal("0.60")
    assert FieldChange.objects.filter(model="workorders.warninglevel", object_id=first.pk, field="fraction",
                                      old_value="0.50", new_value="0.60").exists()
    # New clocks copy the levels at once.
    clock = intake(world, "repair").clocks.get(kind=ClockKind.ARRIVAL)
    assert clock.levels == [0.6, 0.8, 1.0]


def test_the_overdue_level_cannot_move_or_go(world: World) -> None:
    overdue = level("1.00")
    assert "fraction" in errors_of(lambda: warninglevel_update(actor=world.admin, level=overdue, fraction="0.95",
                                                               name="超时", notify_shift_leader=True))
    assert "fraction" in errors_of(lambda: warninglevel_delete(actor=world.admin, level=overdue))
    renamed = warninglevel_update(actor=world.admin, level=overdue, fraction="1.00", name="已超时",
                                  notify_shift_leader=True)
    assert renamed.name == "已超时"
    added = warninglevel_create(actor=world.admin, fraction="0.95", name="三级预警")
    warninglevel_delete(actor=world.admin, level=added)
    assert not WarningLevel.objects.filter(fraction=Decimal("0.95")).exists()


# --- business calendar --------------------------------------------------------------------------


def test_a_weekday_holiday_and_a_worked_saturday(world: World) -> None:
    assert calendar.is_workday(TUESDAY) and not calendar.is_workday(SATURDAY)
    calendarday_save(actor=world.admin, day=TUESDAY, is_workday=False, name="特别假日")
    calendarday_save(actor=world.admin, day=SATURDAY, is_workday=True, name="调休上班")
    assert not calendar.is_workday(TUESDAY) and calendar.is_workday(SATURDAY)  # no stale cache
    assert FieldChange.objects.filter(model="core.calendarday", object_id=20300305, field="name",
                                      new_value="特别假日").exists()
    assert calendarday_delete(actor=world.admin, day=TUESDAY)
    assert calendar.is_workday(TUESDAY)
    assert not calendarday_delete(actor=world.admin, day=TUESDAY)


def test_a_day_that_changes_nothing_is_refused_with_a_reason(world: World) -> None:
    problems = errors_of(lambda: calendarday_save(actor=world.admin, day=SATURDAY, is_workday=False))
    assert "weekend day and already off" in problems["is_workday"][0]
    problems = errors_of(lambda: calendarday_save(actor=world.admin, day=TUESDAY, is_workday=True))
    assert "weekday and already a working day" in problems["is_workday"][0]
    assert not CalendarDay.objects.filter(date__in=[TUESDAY, SATURDAY]).exists()


@pytest.mark.parametrize("write", [
    lambda w: ordertype_update(actor=w.agent_a1, order_type=kind("repair"), name="x"),
    lambda w: slapolicy_create(actor=w.supervisor, **policy_args()),
    lambda w: warninglevel_update(actor=w.agent_a1, level=level("0.50"), fraction="0.5", name="x",
                                  notify_shift_leader=True),
    lambda w: calendarday_save(actor=w.supervisor, day=TUESDAY, is_workday=False),
])
def test_only_administrators_write_policy(world: World, write: Any) -> None:
    with pytest.raises(PermissionDeniedError):
        write(world)


# --- pages --------------------------------------------------------------------------------------

POLICY_PAGES = ["workorders:type-list", "workorders:type-create", "workorders:sla-list", "workorders:sla-create",
                "workorders:calendar", "workorders:level-list"]


@pytest.mark.parametrize("name", POLICY_PAGES)
@pytest.mark.parametrize("persona", ["agent_a1", "supervisor", "crew_a1"])
def test_policy_pages_refuse_everyone_but_administrators(world: World, name: str, persona: str) -> None:
    response = login(getattr(world, persona)).get(reverse(name))
    assert response.status_code == 403
    assert "Your role does not allow this action" in response.content.decode()


@pytest.mark.parametrize("name", POLICY_PAGES)
def test_policy_pages_open_for_administrators(world: World, name: str) -> None:
    assert login(world.admin).get(reverse(name)).status_code == 200


def test_the_menu_offers_policy_only_to_administrators(world: World) -> None:
    assert reverse("workorders:type-list") in login(world.admin).get(reverse("home")).content.decode()
    assert reverse("workorders:type-list") not in login(world.agent_a1).get(reverse("home")).content.decode()


def test_type_pages_show_the_tree_and_validate(world: World) -> None:
    client = login(world.admin)
    html = client.get(reverse("workorders:type-list")).content.decode()
    assert "complaint_service" in html and "Add sub-type" in html
    response = client.post(reverse("workorders:type-create"), {
        "code": "praise_staff", "parent": kind("praise").pk, "name": "表扬员工", "name_en": "Praise: staff",
        "utility": "", "duplicate_window_hours": 72, "sort": 81, "is_active": "on"})
    assert response.status_code == 302 and kind("praise_staff").parent == kind("praise")
    repair = kind("repair")
    response = client.post(reverse("workorders:type-edit", args=[repair.pk]), {
        "name": "故障报修", "name_en": "Fault repair", "field_work": "on", "callback_required": "on",
        "duplicate_window_hours": 99999, "sort": 10, "is_active": "on"})
    html = response.content.decode()
    assert response.status_code == 400 and "Enter a number from 0 to 720" in html
    assert kind("repair").duplicate_window_hours == 72


def test_policy_pages_validate_and_say_open_orders_are_kept(world: World) -> None:
    client = login(world.admin)
    praise = kind("praise")
    data = {"order_type": praise.pk, "clock": "reply", "basis": "public", "amount": 0, "unit": "working_days",
            "starts_on": "accepted", "effective_from": "2025-01-01", "effective_to": "2024-01-01", "source": ""}
    response = client.post(reverse("workorders:sla-create"), data)
    html = response.content.decode()
    assert response.status_code == 400
    assert "The limit must be more than zero." in html and "The end date must be after the start date." in html
    assert "Open orders keep the limits they were given at intake" in html
    response = client.post(reverse("workorders:sla-create"), data | {"amount": 3, "effective_to": ""})
    policy = SlaPolicy.objects.get(order_type=praise)
    assert response.status_code == 302 and f"type={praise.pk}" in response["Location"]
    listing = client.get(response["Location"]).content.decode()
    assert reverse("workorders:sla-edit", args=[policy.pk]) in listing and "3 Working days" in listing
    response = client.post(reverse("workorders:sla-edit", args=[policy.pk]), data | {"amount": 4, "effective_to": ""})
    assert response.status_code == 302
    policy.refresh_from_db()
    assert policy.amount == 4
    edit = client.get(reverse("workorders:sla-edit", args=[policy.pk])).content.decode()
    assert "Change history" in edit and "Open orders keep the limits" in edit


def test_calendar_pages(world: World) -> None:
    client = login(world.admin)
    this_year = timezone.localdate().year
    CalendarDay.objects.filter(date__year__gt=this_year).delete()
    CalendarDay.objects.get_or_create(date=date(this_year, 12, 31), defaults={"is_workday":
                                      date(this_year, 12, 31).weekday() >= 5, "name": "测试"})
    calendar.calendar_invalidate()
    html = client.get(reverse("workorders:calendar")).content.decode()
    assert f"{this_year + 1} has no holidays entered yet" in html
    # A holiday on a Saturday changes nothing: refused with the reason, nothing saved.
    response = client.post(reverse("workorders:calendar"), {"date": SATURDAY.isoformat(), "kind": "holiday",
                                                            "name": "周六"})
    assert response.status_code == 400 and "weekend day and already off" in response.content.decode()
    response = client.post(reverse("workorders:calendar"), {"date": TUESDAY.isoformat(), "kind": "holiday",
                                                            "name": "特别假日", "source": "通知"}, follow=True)
    html = response.content.decode()
    assert "2030-03-05 saved." in html and "特别假日" in html and 'id="calendar-year">2030<' in html
    url = reverse("workorders:calendar-day", args=[TUESDAY.isoformat()])
    response = client.post(url, {"kind": "holiday", "name": "改名假日", "source": "通知"})
    assert response.status_code == 302 and CalendarDay.objects.get(date=TUESDAY).name == "改名假日"
    assert "改名假日" in client.get(url).content.decode()
    client.post(reverse("workorders:calendar-delete", args=[TUESDAY.isoformat()]))
    assert not CalendarDay.objects.filter(date=TUESDAY).exists()
    assert client.get(reverse("workorders:calendar-day", args=["2030-02-30"])).status_code == 404
    CalendarDay.objects.create(date=date(this_year + 1, 1, 1), is_workday=False, name="元旦")
    calendar.calendar_invalidate()
    assert "has no holidays entered yet" not in client.get(reverse("workorders:calendar")).content.decode()


def test_level_pages(world: World) -> None:
    client = login(world.admin)
    overdue = level("1.00")
    response = client.post(reverse("workorders:level-edit", args=[overdue.pk]),
                           {"fraction": "0.90", "name": "超时", "notify_shift_leader": "on"})
    assert response.status_code == 400 and "it must stay at 1.00" in response.content.decode()
    response = client.post(reverse("workorders:level-list"), {"fraction": "0.95", "name": "三级预警"}, follow=True)
    assert "Warning level 0.95 added." in response.content.decode()
    response = client.post(reverse("workorders:level-delete", args=[overdue.pk]), follow=True)
    assert "cannot be removed" in response.content.decode() and WarningLevel.objects.filter(pk=overdue.pk).exists()
