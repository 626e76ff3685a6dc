"""The order lifecycle, exhaustively: every action from every status, for field and office types, and
who may act. The expected table below is written out from the closed loop of guide §2.2
(accepted → dispatched → handled → replied → called back → archived) and the rules around it, not
read from the code; the first test checks the code's table against it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from kefu.core.errors import IllegalTransition, PermissionDeniedError
from kefu.org.models import OrgUnit, Staff
from kefu.org.tests.factories import make_staff, make_unit
from kefu.workorders import rules
from kefu.workorders import services as svc
from kefu.workorders.choices import TRANSITIONS, Action, Status
from kefu.workorders.models import WorkOrder
from kefu.workorders.tests.factories import force_status, intake, snapshot

pytestmark = pytest.mark.django_db

OPEN = {"accepted", "returned", "dispatched", "acknowledged", "on_site", "suspended", "handled", "replied",
        "called_back"}
ALL = OPEN | {"archived", "cancelled", "merged"}
BEFORE_RESULT = {"accepted", "returned", "dispatched", "acknowledged", "on_site", "suspended"}

# action: (statuses it may start from, status it leads to; "" = unchanged, "back" = where it was suspended)
EXPECTED: dict[str, tuple[set[str], str]] = {
    "dispatch": ({"accepted", "returned"}, "dispatched"),
    "acknowledge": ({"dispatched"}, "acknowledged"),
    "return": ({"dispatched", "acknowledged"}, "returned"),
    "transfer": ({"dispatched", "acknowledged"}, "dispatched"),
    "contact": ({"acknowledged", "on_site"}, ""),
    "arrive": ({"acknowledged"}, "on_site"),
    "handle": ({"accepted", "acknowledged", "on_site"}, "handled"),
    "suspend": ({"dispatched", "acknowledged", "on_site"}, "suspended"),
    "resume": ({"suspended"}, "back"),
    "reply": ({"handled"}, "replied"),
    "callback": ({"replied"}, "called_back"),
    "reopen": ({"called_back"}, "dispatched"),
    "archive": ({"called_back", "replied"}, "archived"),
    "cancel": ({"accepted", "returned", "dispatched", "acknowledged", "suspended"}, "cancelled"),
    "urge": (BEFORE_RESULT, ""),
    "supervise": (OPEN, ""),
    "merge": (BEFORE_RESULT, "merged"),
    "note": (ALL, ""),
}

# repair: field work, callback required; complaint_service: office work, callback required;
# enquiry: office work, no callback.
TYPES = ["repair", "complaint_service", "enquiry"]
FIELD = {"repair": True, "complaint_service": False, "enquiry": False}
CALLBACK = {"repair": True, "complaint_service": True, "enquiry": False}


def expected_allowed(action: str, status: str, order_type: str) -> bool:
    """The documented extra conditions on top of the table (the callback was unsatisfied in these orders)."""
    sources, _target = EXPECTED[action]
    if status not in sources:
        return False
    if action == "arrive" and not FIELD[order_type]:
        return False  # only field types have a visit on site
    if action == "handle" and status == "accepted" and FIELD[order_type]:
        return False  # a field order must go to a unit first
    return not (action == "archive" and status == "replied" and CALLBACK[order_type])


@dataclass
class Ctx:
    world: Any
    station: Any
    admin: Staff
    other_unit: OrgUnit

    def order(self, order_type: str, status: str, **fields: Any) -> WorkOrder:
        account = self.world.account_a1
        fresh = intake(self.world.agent_a1, account, order_type)
        extra: dict[str, Any] = {}
        if status != "accepted":
            extra["handling_unit"] = self.station.unit
        if status == "called_back":
            extra["satisfaction"] = "unsatisfied"
        if status in ("archived", "cancelled", "merged"):
            extra["closed_at"] = timezone.now()
        extra.update(fields)
        return force_status(fresh, status, **extra)


@pytest.fixture
def ctx(world: Any, station: Any) -> Ctx:
    return Ctx(world=world, station=station, admin=world.admin, other_unit=world.county_a1)


def call_service(ctx: Ctx, action: str, actor: Staff, order: WorkOrder) -> WorkOrder:
    """Each action through its service, with valid input, so that only status and role can refuse it."""
    calls: dict[str, Callable[[], WorkOrder]] = {
        "dispatch": lambda: svc.workorder_dispatch(actor=actor, order=order, unit=ctx.station.unit),
        "acknowledge": lambda: svc.workorder_acknowledge(actor=actor, order=order),
        "return": lambda: svc.workorder_return(actor=actor, order=order, reason="不属于本所辖区"),
        "transfer": lambda: svc.workorder_transfer(actor=actor, order=order, unit=ctx.other_unit, reason="转县公司"),
        "contact": lambda: svc.workorder_contact(actor=actor, order=order, note="已电话联系客户"),
        "arrive": lambda: svc.workorder_arrive(actor=actor, order=order),
        "handle": lambda: svc.workorder_handle(actor=actor, order=order, result="已更换熔断器, 恢复供电"),
        "suspend": lambda: svc.workorder_suspend(actor=actor, order=order, reason="客户要求改约"),
        "resume": lambda: svc.workorder_resume(actor=actor, order=order),
        "reply": lambda: svc.workorder_reply(actor=actor, order=order, reply="已向客户说明处理结果"),
        "callback": lambda: svc.workorder_callback(actor=actor, order=order, satisfaction="satisfied"),
        "reopen": lambda: svc.workorder_reopen(actor=actor, order=order, reason="客户仍不满意"),
        "archive": lambda: svc.workorder_archive(actor=actor, order=order),
        "cancel": lambda: svc.workorder_cancel(actor=actor, order=order, reason="mistaken"),
        "urge": lambda: svc.workorder_urge(actor=actor, order=order, reason="客户来电催办"),
        "supervise": lambda: svc.workorder_supervise(actor=actor, order=order, reason="重要客户",
                                                     deadline=timezone.now() + timedelta(days=1)),
        "merge": lambda: svc.workorder_merge(actor=actor, order=order,
                                             into=ctx.order(order.order_type.code, "accepted")),
        "note": lambda: svc.workorder_note(actor=actor, order=order, text="客户补充了地址"),
    }
    return calls[action]()


def test_the_code_table_is_the_documented_table():
    assert set(TRANSITIONS) == {a.value for a in Action} == set(EXPECTED)
    for action, (sources, target) in TRANSITIONS.items():
        want_sources, want_target = EXPECTED[action]
        assert set(sources) == want_sources, action
        if want_target == "back":
            assert target is None, action  # resume returns to the status it was suspended from
        else:
            assert (target or "") == want_target, action


@pytest.mark.parametrize("order_type", TYPES)
def test_refusal_allows_exactly_the_table(ctx: Ctx, order_type: str):
    for status in sorted(ALL):
        order = ctx.order(order_type, status)
        allowed = {a for a in Action if rules.refusal(ctx.admin, order, a) is None}
        want = {a for a in EXPECTED if expected_allowed(a, status, order_type)}
        assert allowed == want, (order_type, status)
        assert set(rules.allowed_actions(ctx.admin, order)) == want


@pytest.mark.parametrize("order_type", TYPES)
def test_every_allowed_move_goes_where_the_table_says(ctx: Ctx, order_type: str):
    for status in sorted(ALL):
        for action in sorted(a for a in EXPECTED if expected_allowed(a, status, order_type)):
            order = ctx.order(order_type, status)
            _status, before_version, before_events, _unit = snapshot(order)
            done = call_service(ctx, action, ctx.admin, order)
            target = EXPECTED[action][1]
            want = {"": status, "back": "acknowledged"}.get(target, target)
            row = WorkOrder.objects.get(pk=order.pk)
            assert (row.status, done.status) == (want, want), (order_type, status, action)
            assert row.version == before_version + 1, (order_type, status, action)
            assert snapshot(order)[2] == before_events + 1, (order_type, status, action)


@pytest.mark.parametrize("order_type", TYPES)
def test_every_refused_move_raises_and_changes_nothing(ctx: Ctx, order_type: str):
    for status in sorted(ALL):
        order = ctx.order(order_type, status)
        before = snapshot(order)
        for action in sorted(a for a in EXPECTED if not expected_allowed(a, status, order_type)):
            with pytest.raises((IllegalTransition, PermissionDeniedError)):
                call_service(ctx, action, ctx.admin, order)
            assert snapshot(order) == before, (order_type, status, action)


def test_reopen_needs_an_unsatisfied_callback(ctx: Ctx):
    for satisfaction in ("satisfied", "basic", "unreachable", ""):
        order = ctx.order("complaint_service", "called_back", satisfaction=satisfaction)
        refused = rules.refusal(ctx.admin, order, Action.REOPEN)
        assert refused is not None and refused[0] == "state"
        before = snapshot(order)
        with pytest.raises(IllegalTransition):
            svc.workorder_reopen(actor=ctx.admin, order=order, reason="再处理")
        assert snapshot(order) == before


def test_archive_from_replied_only_without_a_required_callback(ctx: Ctx):
    with_callback = ctx.order("complaint_service", "replied")
    without = ctx.order("enquiry", "replied")
    with pytest.raises(IllegalTransition):
        svc.workorder_archive(actor=ctx.admin, order=with_callback)
    assert svc.workorder_archive(actor=ctx.admin, order=without).status == Status.ARCHIVED


def test_handle_straight_from_accepted_only_by_centre_roles(world: Any, station: Any):
    enquiry = intake(world.agent_a1, world.account_a1, "enquiry")
    handler_a1 = make_staff("handler_a1", unit=world.county_a1, roles=["handler"])
    refused = rules.refusal(handler_a1, enquiry, Action.HANDLE)
    assert refused is not None and refused[0] == "role"
    before = snapshot(enquiry)
    with pytest.raises(PermissionDeniedError):
        svc.workorder_handle(actor=handler_a1, order=enquiry, result="答复了")
    assert snapshot(enquiry) == before
    # The agent answers it on the call.
    assert svc.workorder_handle(actor=world.agent_a1, order=enquiry, result="已解答电价问题").status == Status.HANDLED


# ------------------------------------------------------------------------------------------ roles


def test_crew_and_handlers_cannot_dispatch(world: Any, station: Any):
    order = world.order_a1
    handler_a1 = make_staff("handler_a1", unit=world.county_a1, roles=["handler"])
    for person in (world.crew_a1, handler_a1, station.handler):
        assert rules.refusal(person, order, Action.DISPATCH) is not None
        before = snapshot(order)
        with pytest.raises(PermissionDeniedError):
            svc.workorder_dispatch(actor=person, order=order, unit=station.unit)
        assert snapshot(order) == before
    assert svc.workorder_dispatch(actor=world.agent_a1, order=order, unit=station.unit).status == Status.DISPATCHED


def test_an_agent_cannot_acknowledge(world: Any, station: Any):
    order = svc.workorder_dispatch(actor=world.agent_a1, order=world.order_a1, unit=station.unit)
    refused = rules.refusal(world.agent_a1, order, Action.ACKNOWLEDGE)
    assert refused is not None and refused[0] == "role"
    before = snapshot(order)
    with pytest.raises(PermissionDeniedError):
        svc.workorder_acknowledge(actor=world.agent_a1, order=order)
    assert snapshot(order) == before


def test_only_the_handling_unit_acknowledges(world: Any, station: Any):
    order = svc.workorder_dispatch(actor=world.agent_a1, order=world.order_a1, unit=station.unit)
    sibling = make_unit("东郊供电所", code="S2", parent=world.county_a1, level="station")
    sibling_handler = make_staff("handler_s2", unit=sibling, roles=["handler"])
    far_handler = make_staff("handler_a2", unit=world.county_a2, roles=["handler"])
    for stranger in (sibling_handler, far_handler):
        assert rules.refusal(stranger, order, Action.ACKNOWLEDGE) is not None
        before = snapshot(order)
        with pytest.raises(PermissionDeniedError):
            svc.workorder_acknowledge(actor=stranger, order=order)
        assert snapshot(order) == before
    done = svc.workorder_acknowledge(actor=station.handler, order=order)
    assert done.status == Status.ACKNOWLEDGED
    assert done.assignee == station.handler


def test_handling_unit_actions_need_the_order_at_the_unit(world: Any, station: Any):
    """A handler of the county above the station may act (the station is in their area); once the
    order has moved to another unit, the station's handler may not."""
    order = svc.workorder_dispatch(actor=world.agent_a1, order=world.order_a1, unit=station.unit)
    order = svc.workorder_transfer(actor=world.agent_a1, order=order, unit=world.county_a1, reason="县公司处理")
    before = snapshot(order)
    with pytest.raises(PermissionDeniedError):
        svc.workorder_acknowledge(actor=station.handler, order=order)
    assert snapshot(order) == before
    handler_a1 = make_staff("handler_a1", unit=world.county_a1, roles=["handler"])
    assert svc.workorder_acknowledge(actor=handler_a1, order=order).status == Status.ACKNOWLEDGED


@pytest.mark.parametrize("role", ["analyst", "reader"])
def test_a_read_only_role_can_do_nothing(ctx: Ctx, role: str):
    watcher = make_staff(f"{role}_a1", unit=ctx.world.county_a1, roles=[role])
    for order_type in ("repair", "complaint_service"):
        for status in sorted(ALL):
            order = ctx.order(order_type, status)
            assert rules.allowed_actions(watcher, order) == [], (order_type, status)
            before = snapshot(order)
            for action in EXPECTED:
                with pytest.raises(PermissionDeniedError):
                    call_service(ctx, action, watcher, order)
                assert snapshot(order) == before, (order_type, status, action)


def test_someone_outside_the_area_cannot_touch_the_order(world: Any):
    order = world.order_a1
    before = snapshot(order)
    # The outsider (an agent in county B1) names a unit of their own area: the order is still not theirs.
    ctx = Ctx(world=world, station=None, admin=world.admin, other_unit=world.county_b1)
    for action in ("urge", "cancel", "note", "supervise", "handle"):
        with pytest.raises(PermissionDeniedError):
            call_service(ctx, action, world.outsider, order)
    with pytest.raises(PermissionDeniedError):
        svc.workorder_dispatch(actor=world.outsider, order=order, unit=world.county_b1)
    assert snapshot(order) == before
