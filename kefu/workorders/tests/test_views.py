"""Work-order pages as people use them: queues, intake with duplicates, the order page and its actions."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kefu.core.models import AuditLog
from kefu.org.tests.factories import make_staff, make_unit
from kefu.workorders.choices import EventKind, Status
from kefu.workorders.models import OrderEvent, OrderType, WorkOrder
from kefu.workorders.services import workorder_dispatch, workorder_intake, workorder_supervise
from kefu.workorders.watcher import workorder_watch

if TYPE_CHECKING:
    from conftest import Station, World

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(settings: Any) -> None:
    # The assertions read the English msgids; the Chinese catalogue must not change them.
    settings.LANGUAGE_CODE = "en"


def login(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page(client: Client, name: str, *args: Any, **query: Any) -> str:
    response = client.get(reverse(name, args=args), query)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def act(client: Client, order: WorkOrder, action: str, **data: Any) -> Any:
    """Post an action form the way the order page does, with the version the page showed."""
    order.refresh_from_db()
    return client.post(reverse("workorders:act", args=[order.pk, action]), {"version": order.version, **data})


def buttons(html: str) -> set[str]:
    """The action buttons offered on an order page."""
    marker = 'data-action="'
    return {chunk.split('"', 1)[0] for chunk in html.split(marker)[1:]}


def new_order(agent: Any, account: Any, kind: str = "repair", **kw: Any) -> WorkOrder:
    return workorder_intake(actor=agent, order_type=kind, channel="phone", account=account,
                            content=kw.pop("content", "电表不走了 / meter stopped"), **kw).order


# --- queues -------------------------------------------------------------------------------------


def test_my_orders_lists_what_i_accepted_and_nothing_of_a_peer(world: World) -> None:
    html = page(login(world.agent_a1), "workorders:queue-mine")
    assert world.order_a1.number in html and "王小明" in html
    assert world.order_a2.number not in html and world.order_b1.number not in html
    html = page(login(world.agent_a2), "workorders:queue-mine")
    assert world.order_a2.number in html and world.order_a1.number not in html


def test_unit_queue_shows_orders_dispatched_to_the_station(world: World, station: Station) -> None:
    handler = login(station.handler)
    assert world.order_a1.number not in page(handler, "workorders:queue-unit")
    workorder_dispatch(actor=world.agent_a1, order=world.order_a1, unit=station.unit)
    html = page(handler, "workorders:queue-unit")
    assert world.order_a1.number in html and "Dispatched" in html
    assert world.order_a2.number not in html
    # A handler dispatches nothing: no such tab, and the page itself is refused.
    assert "To dispatch" not in html
    assert handler.get(reverse("workorders:queue-dispatch")).status_code == 403


def test_to_dispatch_queue_covers_the_supervisors_counties_only(world: World) -> None:
    html = page(login(world.supervisor), "workorders:queue-dispatch")
    assert world.order_a1.number in html and world.order_a2.number in html
    assert world.order_b1.number not in html


def test_warnings_queue_shows_overdue_orders_with_a_red_badge(world: World, station: Station) -> None:
    # A1 is rural: 90 minutes to arrive. Two hours later the watcher has marked order_a1 overdue.
    workorder_watch(now=timezone.now() + timedelta(hours=2))
    html = page(login(station.leader), "workorders:queue-warnings")
    assert world.order_a1.number in html and "Overdue" in html and "text-bg-danger" in html
    assert world.order_a2.number not in html


def test_supervised_queue_lists_supervised_orders(world: World) -> None:
    client = login(world.supervisor)
    assert world.order_a1.number not in page(client, "workorders:queue-supervised")
    workorder_supervise(actor=world.supervisor, order=world.order_a1, deadline=timezone.now() + timedelta(days=1),
                        reason="客户多次来电")
    html = page(client, "workorders:queue-supervised")
    assert world.order_a1.number in html and world.order_a2.number not in html


def test_filters_narrow_the_all_queue(world: World, station: Station) -> None:
    client = login(world.admin)
    html = page(client, "workorders:queue-all")
    assert all(o.number in html for o in (world.order_a1, world.order_a2, world.order_b1))
    html = page(client, "workorders:queue-all", number=world.order_a2.number)
    assert world.order_a2.number in html and world.order_a1.number not in html
    workorder_dispatch(actor=world.agent_a1, order=world.order_a1, unit=station.unit)
    html = page(client, "workorders:queue-all", status="dispatched")
    assert world.order_a1.number in html and world.order_a2.number not in html
    html = page(client, "workorders:queue-all", utility="gas")
    assert world.order_b1.number in html and world.order_a1.number not in html


def test_filter_change_swaps_only_the_table(world: World) -> None:
    response = login(world.agent_a1).get(reverse("workorders:queue-all"), {"number": world.order_a1.number},
                                         HTTP_HX_REQUEST="true", HTTP_HX_TARGET="order-table")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert 'id="order-table"' in html and world.order_a1.number in html
    assert "HX-Request" in response["Vary"]


def test_a_unit_outside_my_area_is_refused_as_a_filter(world: World) -> None:
    response = login(world.agent_a1).get(reverse("workorders:queue-all"), {"unit": world.county_b1.pk})
    html = response.content.decode()
    assert response.status_code == 400
    assert world.order_a1.number not in html and "Select a valid choice" in html


def test_next_page_continues_where_the_first_stopped(world: World, monkeypatch: Any) -> None:
    monkeypatch.setattr("kefu.workorders.views.queues.PAGE_SIZE", 2)
    extra = [new_order(world.agent_a1, world.account_a1, "enquiry", content=f"第{n}个问题") for n in range(3)]
    client = login(world.agent_a1)
    first = page(client, "workorders:queue-mine")
    newest_two = [extra[2].number, extra[1].number]
    assert all(n in first for n in newest_two) and extra[0].number not in first
    assert f"after={extra[1].pk}" in first and "Next page" in first
    second = page(client, "workorders:queue-mine", after=extra[1].pk)
    assert extra[0].number in second and world.order_a1.number in second
    assert not any(n in second for n in newest_two)
    assert "First page" in second and "Next page" not in second


def test_tabs_show_capped_counts_for_small_queues(world: World) -> None:
    html = page(login(world.agent_a1), "workorders:queue-all")
    assert 'id="tab-mine"' in html and 'id="tab-dispatch"' in html
    mine = html.split('id="tab-mine"', 1)[1].split("</a>", 1)[0]
    assert ">1</span>" in mine


# --- intake -------------------------------------------------------------------------------------


def test_intake_from_the_customer_card_creates_the_order(world: World) -> None:
    client = login(world.agent_a1)
    card = page(client, "customers:detail", world.account_a1.customer_id)
    new_url = reverse("workorders:create") + f"?account={world.account_a1.pk}"
    assert new_url in card
    form = client.get(new_url).content.decode()
    assert "王小明" in form and world.account_a1.number in form and 'name="intake_key"' in form
    key = form.split('name="intake_key" value="', 1)[1].split('"', 1)[0]
    assert len(key) == 32
    kind = world.order_a1.order_type_id
    response = client.post(reverse("workorders:create"), {
        "account": world.account_a1.pk, "order_type": kind, "channel": "phone", "content": "院子里的灯不亮",
        "intake_key": key,
    })
    order = WorkOrder.objects.get(accepted_by=world.agent_a1, intake_key=key)
    assert response.status_code == 302 and response["Location"] == reverse("workorders:detail", args=[order.pk])
    html = page(client, "workorders:detail", order.pk)
    assert "accepted" in html and order.number in html and "院子里的灯不亮" in html and "王小明" in html


def test_a_double_submit_gives_one_order(world: World) -> None:
    client = login(world.agent_a1)
    data = {"order_type": world.order_a1.order_type_id, "channel": "phone", "caller_name": "路人",
            "caller_phone": "139 1234 0000", "address": "文三路口", "content": "路灯倒了", "utility": "power",
            "intake_key": "k" * 32}
    before = WorkOrder.objects.count()
    first = client.post(reverse("workorders:create"), data)
    second = client.post(reverse("workorders:create"), data, follow=True)
    assert WorkOrder.objects.count() == before + 1
    assert second.redirect_chain[-1][0] == first["Location"]
    assert "already saved as order" in second.content.decode()


def test_bad_input_shows_field_errors_not_a_crash(world: World) -> None:
    client = login(world.agent_a1)
    before = WorkOrder.objects.count()
    response = client.post(reverse("workorders:create"), {"order_type": "", "channel": "phone",
                                                           "caller_phone": "12345", "content": ""})
    html = response.content.decode()
    assert response.status_code == 400
    assert 'data-field="content"' in html and 'data-field="order_type"' in html and "too short" in html
    # The form is fine, the service refuses: an enquiry serves both utilities, so one must be chosen.
    enquiry = OrderType.objects.get(code="enquiry")
    response = client.post(reverse("workorders:create"), {
        "order_type": enquiry.pk, "channel": "phone", "caller_phone": "13912340000", "content": "电价多少",
        "utility": "", "intake_key": "x1"})
    html = response.content.decode()
    assert response.status_code == 400 and "Choose power or gas." in html
    assert WorkOrder.objects.count() == before


def test_an_account_outside_my_area_cannot_be_prefilled(world: World) -> None:
    response = login(world.agent_a2).get(reverse("workorders:create"), {"account": world.account_a1.pk})
    assert response.status_code == 404


def test_duplicates_panel_lists_the_open_order_of_the_same_customer(world: World) -> None:
    client = login(world.agent_a1)
    form = page(client, "workorders:create", account=world.account_a1.pk)
    assert "Possible duplicates" in form and world.order_a1.number in form
    response = client.get(reverse("workorders:duplicates"), {
        "account": world.account_a1.pk, "order_type": world.order_a1.order_type_id}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert world.order_a1.number in html and "Link as repeat call" in html
    # Another customer: nothing to link.
    html = client.get(reverse("workorders:duplicates"), {"caller_phone": "13912345678"}).content.decode()
    assert "No open order" in html and world.order_a1.number not in html


def test_duplicates_match_the_callers_phone(world: World) -> None:
    order = new_order(world.agent_a1, None, "repair", caller_phone="13912345678", address="城东", utility="power")
    html = login(world.agent_a1).get(reverse("workorders:duplicates"),
                                     {"caller_phone": "139 1234 5678"}).content.decode()
    assert order.number in html and 'value="+8613912345678"' in html


def test_link_as_repeat_call_counts_on_the_open_order(world: World) -> None:
    client = login(world.agent_a1)
    response = client.post(reverse("workorders:link-repeat", args=[world.order_a1.pk]),
                           {"caller_phone": "", "intake_key": "abc"})
    assert response.status_code == 302
    world.order_a1.refresh_from_db()
    assert world.order_a1.repeat_count == 1
    html = page(client, "workorders:detail", world.order_a1.pk)
    assert "Repeat call" in html and "repeat calls 1" in html
    # The same button clicked twice (same key) is one repeat call.
    client.post(reverse("workorders:link-repeat", args=[world.order_a1.pk]), {"intake_key": "abc"})
    world.order_a1.refresh_from_db()
    assert world.order_a1.repeat_count == 1


# --- the order page -----------------------------------------------------------------------------


def test_each_person_sees_only_the_actions_they_may_take(world: World, station: Station) -> None:
    order = world.order_a1
    agent = buttons(page(login(world.agent_a1), "workorders:detail", order.pk))
    assert "dispatch" in agent and "acknowledge" not in agent and "cancel" in agent
    crew = buttons(page(login(world.crew_a1), "workorders:detail", order.pk))
    assert crew <= {"note"} and "dispatch" not in crew
    # The station cannot see the order before it is dispatched there.
    assert login(station.handler).get(reverse("workorders:detail", args=[order.pk])).status_code == 404
    assert act(login(world.agent_a1), order, "dispatch", unit=station.unit.pk).status_code == 302
    handler = buttons(page(login(station.handler), "workorders:detail", order.pk))
    assert "acknowledge" in handler and "return" in handler and "dispatch" not in handler
    assert "acknowledge" not in buttons(page(login(world.agent_a1), "workorders:detail", order.pk))
    # Crew of another station under the same county sees nothing of it.
    other = make_unit("北关供电所", code="S2", parent=world.county_a1, level="station")
    crew_s2 = make_staff("crew_s2", unit=other, roles=["crew"])
    assert login(crew_s2).get(reverse("workorders:detail", args=[order.pk])).status_code == 404


def test_out_of_scope_order_is_404(world: World) -> None:
    client = login(world.agent_a2)
    assert client.get(reverse("workorders:detail", args=[world.order_a1.pk])).status_code == 404
    assert act(client, world.order_a1, "note", text="偷看").status_code == 404


def test_a_stale_page_gets_the_conflict_message_and_changes_nothing(world: World, station: Station) -> None:
    order = world.order_a1
    seen = order.version
    # Someone else acts first.
    assert act(login(world.supervisor), order, "note", text="请尽快派单").status_code == 302
    events = OrderEvent.objects.filter(order=order).count()
    response = login(world.agent_a1).post(reverse("workorders:act", args=[order.pk, "dispatch"]),
                                          {"version": seen, "unit": station.unit.pk})
    html = response.content.decode()
    assert response.status_code == 409
    assert "changed by someone else" in html and "Reload the order" in html
    order.refresh_from_db()
    assert order.status == Status.ACCEPTED and order.handling_unit is None
    assert OrderEvent.objects.filter(order=order).count() == events


def test_action_form_loads_into_the_page_and_refuses_what_the_state_forbids(world: World) -> None:
    client = login(world.agent_a1)
    url = reverse("workorders:act", args=[world.order_a1.pk, "dispatch"])
    response = client.get(url, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert 'name="version"' in html and "县A1供电公司" in html
    # An accepted order cannot be archived: the form is not even offered.
    response = client.get(reverse("workorders:act", args=[world.order_a1.pk, "archive"]))
    assert response.status_code == 409 and "not possible while the order is" in response.content.decode()
    assert client.get(reverse("workorders:act", args=[world.order_a1.pk, "fly"])).status_code == 404


def test_an_htmx_action_redirects_the_whole_page(world: World) -> None:
    client = login(world.agent_a1)
    world.order_a1.refresh_from_db()
    response = client.post(reverse("workorders:act", args=[world.order_a1.pk, "urge"]),
                           {"version": world.order_a1.version, "reason": "客户催问"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response["HX-Redirect"] == reverse("workorders:detail", args=[world.order_a1.pk])
    world.order_a1.refresh_from_db()
    assert world.order_a1.urge_count == 1


def test_required_reasons_are_asked_for(world: World, station: Station) -> None:
    client = login(world.agent_a1)
    response = act(client, world.order_a1, "urge", reason="")
    assert response.status_code == 400 and 'data-field="reason"' in response.content.decode()
    act(client, world.order_a1, "dispatch", unit=station.unit.pk)
    handler = login(station.handler)
    act(handler, world.order_a1, "acknowledge")
    response = act(handler, world.order_a1, "handle", result="  ")
    assert response.status_code == 400 and 'data-field="result"' in response.content.decode()
    world.order_a1.refresh_from_db()
    assert world.order_a1.status == Status.ACKNOWLEDGED


def test_caller_phone_is_masked_until_revealed_and_the_reveal_is_recorded(world: World) -> None:
    order = new_order(world.agent_a1, None, "repair", caller_phone="13912345678", address="城东", utility="power")
    client = login(world.agent_a1)
    html = page(client, "workorders:detail", order.pk)
    assert "139****5678" in html and "13912345678" not in html
    response = client.post(reverse("workorders:reveal", args=[order.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "13912345678" in response.content.decode()
    assert AuditLog.objects.filter(actor=world.agent_a1, action="view_personal", object_id=order.pk).exists()


def test_merge_by_order_number(world: World) -> None:
    client = login(world.agent_a1)
    twin = new_order(world.agent_a1, world.account_a1, "repair", content="又停电了")
    response = act(client, twin, "merge", into="00000000")
    assert response.status_code == 400 and "No order with this number" in response.content.decode()
    response = act(client, twin, "merge", into=world.order_a2.number)  # a peer county's order: not mine to see
    assert response.status_code == 400
    assert act(client, twin, "merge", into=world.order_a1.number).status_code == 302
    html = page(client, "workorders:detail", twin.pk)
    assert "Merged into order" in html and world.order_a1.number in html
    html = page(client, "workorders:detail", world.order_a1.pk)
    assert "Orders merged into this one" in html and twin.number in html


def test_the_whole_loop_through_the_pages(world: World, station: Station) -> None:
    order = world.order_a1
    agent, handler = login(world.agent_a1), login(station.handler)
    steps: list[tuple[Client, str, dict[str, Any], str]] = [
        (agent, "dispatch", {"unit": station.unit.pk, "note": "请抢修"}, Status.DISPATCHED),
        (handler, "acknowledge", {}, Status.ACKNOWLEDGED),
        (handler, "arrive", {"note": "已到现场"}, Status.ON_SITE),
        (handler, "handle", {"result": "更换熔断器, 已恢复供电"}, Status.HANDLED),
        (agent, "reply", {"reply": "已为您恢复供电"}, Status.REPLIED),
        (agent, "callback", {"satisfaction": "satisfied", "note": "满意"}, Status.CALLED_BACK),
        (agent, "archive", {}, Status.ARCHIVED),
    ]
    for client, action, data, status in steps:
        response = act(client, order, action, **data)
        assert response.status_code == 302, (action, response.content.decode()[:2000])
        order.refresh_from_db()
        assert order.status == status, action
    html = page(agent, "workorders:detail", order.pk)
    assert 'id="order-status">Archived<' in html
    for label in ("Accepted", "Dispatched", "Acknowledged", "Arrived on site", "Result recorded",
                  "Replied to customer", "Called back", "Archived"):
        assert f">{label}</span>" in html, label
    assert "更换熔断器, 已恢复供电" in html and "城关供电所" in html and "Satisfied" in html
    assert "The order is closed." in html and buttons(html) <= {"note"}
    kinds = list(OrderEvent.objects.filter(order=order).values_list("kind", flat=True))
    assert kinds == [EventKind.ACCEPTED, "dispatch", "acknowledge", "arrive", "handle", "reply", "callback",
                     "archive"]


def test_an_unsatisfied_callback_needs_what_the_customer_said(world: World, station: Station) -> None:
    order = world.order_a1
    agent, handler = login(world.agent_a1), login(station.handler)
    act(agent, order, "dispatch", unit=station.unit.pk)
    act(handler, order, "acknowledge")
    act(handler, order, "handle", result="已处理")
    act(agent, order, "reply", reply="已处理")
    response = act(agent, order, "callback", satisfaction="unsatisfied", note="")
    assert response.status_code == 400 and "why the customer is unsatisfied" in response.content.decode()
    assert act(agent, order, "callback", satisfaction="unsatisfied", note="还是经常停电").status_code == 302
    assert "reopen" in buttons(page(agent, "workorders:detail", order.pk))


# --- home page ----------------------------------------------------------------------------------


def test_home_shows_the_queues_each_role_starts_from(world: World, station: Station) -> None:
    html = page(login(world.agent_a1), "home")
    assert "My open orders" in html and "To dispatch" in html and "Handovers awaiting" not in html
    workorder_dispatch(actor=world.agent_a1, order=world.order_a1, unit=station.unit)
    html = page(login(station.handler), "home")
    assert "My unit&#x27;s orders" in html and "My open orders" not in html
    unit_link = html.split("My unit&#x27;s orders", 1)[1].split("</a>", 1)[0]
    assert ">1</span>" in unit_link
    html = page(login(station.leader), "home")
    assert "Warnings and overdue" in html and "Handovers awaiting confirmation" in html
