"""The 95598 loop in a real browser: an agent accepts a repair call from the customer card and dispatches
it, the service station acknowledges, arrives and records the result, the agent replies, calls back and
archives. And a stale page: two tabs dispatch the same order, the second is refused.

Chinese labels of the work-order strings may not be in the catalogue yet, so the pages are driven by
ids, names, values and URLs; where a label is checked, the expected text is the label as the server
renders it (the zh-Hans translation if there is one, else the English msgid).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import reverse
from django.utils import translation

from kefu.workorders.choices import TRANSITIONS, Action, ClockKind, ClockState, EventKind, Status
from kefu.workorders.models import OrderClock, OrderEvent, OrderType, WorkOrder

pytestmark = pytest.mark.browser

UI_LANGUAGE = "zh-hans"


@pytest.fixture(autouse=True)
def _patient_expect() -> Iterator[None]:
    """Each step waits for a server round trip and a page load: allow what the context allows actions."""
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)
    yield
    expect.set_options(timeout=5_000)


def ui(label: Any) -> str:
    """A lazy label as the pages show it to a zh-CN browser."""
    with translation.override(UI_LANGUAGE):
        return str(label)


def log_in(page: Any, base_url: str, username: str, password: str) -> None:
    from playwright.sync_api import expect

    page.goto(base_url + reverse("login"))
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.keyboard.press("Enter")
    expect(page).not_to_have_url(re.compile(r"/login/"))


def log_out(page: Any) -> None:
    from playwright.sync_api import expect

    page.locator(f"form[action='{reverse('logout')}'] button").click()
    expect(page).to_have_url(re.compile(r"/login/"))


def expect_status(page: Any, order: WorkOrder, status: Status) -> None:
    """The page shows the new status (it waits for the reload after an action), and the database agrees."""
    from playwright.sync_api import expect

    badge = page.locator("#order-status")
    expect(badge).to_be_visible()
    expect(badge).to_have_text(ui(status.label))
    expect(page).to_have_url(re.compile(reverse("workorders:detail", args=[order.pk]) + "$"))
    assert WorkOrder.objects.get(pk=order.pk).status == status


def open_action(page: Any, action: str) -> Any:
    """Click an action button; its form is loaded into the action panel. Returns the form."""
    from playwright.sync_api import expect

    page.locator(f"#action-buttons [data-action='{action}']").click()
    form = page.locator(f"#action-panel form[action$='/act/{action}/']")
    expect(form).to_be_visible()
    return form


def submit(form: Any, action: str) -> None:
    """The form's own button, named after the action (its other control is a "back" link)."""
    form.get_by_role("button", name=ui(Action(action).label), exact=True).click()


def run_action(page: Any, order: WorkOrder, action: str, status: Status, **fields: str) -> None:
    """Open an action's form, fill its text fields, submit, and wait for the order's new status."""
    form = open_action(page, action)
    for name, value in fields.items():
        form.locator(f"[name='{name}']").fill(value)
    submit(form, action)
    expect_status(page, order, status)


def test_repair_order_full_loop(page, live_server, world, station, artifacts_dir):
    from playwright.sync_api import expect

    base = live_server.url
    agent, handler, account = world.agent_a1, station.handler, world.account_a1
    repair = OrderType.objects.get(code="repair")

    # 1. The agent takes the call: finds the caller by phone, opens the card, starts a new order.
    log_in(page, base, agent.username, world.password)
    expect(page.locator("#search-title")).to_be_visible()
    page.keyboard.type("13800001111")
    page.keyboard.press("Enter")
    expect(page.locator("#results-table")).to_contain_text(account.number)
    page.get_by_role("link", name="王小明").click()
    expect(page.locator("#customer-name")).to_have_text("王小明")

    page.locator(f"#accounts a[data-new-order='{account.number}']").click()
    expect(page).to_have_url(re.compile(reverse("workorders:create") + rf"\?account={account.pk}$"))
    intake = page.locator("#intake-form")
    type_select = intake.locator("#id_order_type")
    type_select.select_option(value=str(repair.pk))
    expect(type_select.locator("option:checked")).to_have_text("故障报修")  # type names are data, in Chinese
    intake.locator("#id_channel").select_option(value="phone")
    intake.locator("#id_content").fill("整栋楼停电, 邻居家也没电。")
    # Choosing the type refreshes the duplicates panel: the county's open repair order for this customer.
    expect(page.locator("#duplicate-list")).to_contain_text(world.order_a1.number)
    intake.get_by_role("button").click()  # its only button; "cancel" is a link

    order_url = re.compile(re.escape(reverse("workorders:index")) + r"(\d+)/$")
    expect(page).to_have_url(order_url)
    match = order_url.search(page.url)
    assert match is not None
    order = WorkOrder.objects.get(pk=int(match.group(1)))
    assert order.pk != world.order_a1.pk  # a new order, not the duplicate
    assert (order.order_type_id, order.channel, order.account_id) == (repair.pk, "phone", account.pk)
    assert order.accepted_by_id == agent.pk
    expect(page.locator("#order-number")).to_have_text(order.number)
    expect_status(page, order, Status.ACCEPTED)
    expect(page.locator("#first-responsible")).to_contain_text(agent.display_name())
    expect(page.locator("section[aria-labelledby='request-title']")).to_contain_text("整栋楼停电, 邻居家也没电。")
    arrival = page.locator("#clocks tbody tr").filter(has_text=ui(ClockKind.ARRIVAL.label))
    expect(arrival).to_have_count(1)
    expect(arrival).to_contain_text(ui(ClockState.RUNNING.label))
    assert OrderClock.objects.filter(order=order, kind=ClockKind.ARRIVAL, state=ClockState.RUNNING).count() == 1

    # 2. Dispatch to the service station.
    form = open_action(page, Action.DISPATCH)
    form.locator("#id_unit").select_option(value=str(station.unit.pk))
    form.locator("#id_note").fill("请尽快到现场。")
    page.screenshot(path=str(artifacts_dir / "order_dispatch.png"), full_page=True)
    submit(form, Action.DISPATCH)
    expect_status(page, order, Status.DISPATCHED)
    expect(page.locator("#handling-unit")).to_have_text(station.unit.name)
    log_out(page)

    # 3. The station handler finds it in the unit's queue and works it.
    log_in(page, base, handler.username, world.password)
    page.goto(base + reverse("workorders:queue-unit"))
    expect(page.locator("#tab-unit")).to_have_attribute("aria-current", "page")
    page.locator("#orders").get_by_role("link", name=order.number).click()
    expect(page.locator("#order-number")).to_have_text(order.number)
    expect_status(page, order, Status.DISPATCHED)
    run_action(page, order, Action.ACKNOWLEDGE, Status.ACKNOWLEDGED)
    run_action(page, order, Action.ARRIVE, Status.ON_SITE, note="已到达现场。")
    run_action(page, order, Action.HANDLE, Status.HANDLED, result="更换熔断器, 已恢复供电。")
    expect(page.locator("#order-result")).to_have_text("更换熔断器, 已恢复供电。")
    log_out(page)

    # 4. Back at the center: the agent replies, calls the customer back and archives.
    log_in(page, base, agent.username, world.password)
    page.goto(base + reverse("workorders:queue-mine"))
    page.locator("#orders").get_by_role("link", name=order.number).click()
    expect_status(page, order, Status.HANDLED)
    form = open_action(page, Action.REPLY)
    expect(form.locator("[name='reply']")).to_have_value("更换熔断器, 已恢复供电。")  # the result, to reword
    form.locator("[name='reply']").fill("您好, 故障已排除, 已恢复供电。")
    submit(form, Action.REPLY)
    expect_status(page, order, Status.REPLIED)

    form = open_action(page, Action.CALLBACK)
    form.locator("input[name='satisfaction'][value='satisfied']").check()
    form.locator("[name='note']").fill("客户表示满意。")
    submit(form, Action.CALLBACK)
    expect_status(page, order, Status.CALLED_BACK)

    run_action(page, order, Action.ARCHIVE, Status.ARCHIVED)

    order.refresh_from_db()
    assert order.closed_at is not None
    assert order.satisfaction == "satisfied"
    assert order.reply == "您好, 故障已排除, 已恢复供电。"
    loop = [EventKind.ACCEPTED, EventKind.DISPATCH, EventKind.ACKNOWLEDGE, EventKind.ARRIVE, EventKind.HANDLE,
            EventKind.REPLY, EventKind.CALLBACK, EventKind.ARCHIVE]
    assert list(OrderEvent.objects.filter(order=order).values_list("kind", flat=True)) == loop

    timeline = page.locator("#timeline > li")
    expect(timeline).to_have_count(len(loop))
    assert [timeline.nth(i).get_attribute("data-kind") for i in range(len(loop))] == loop
    for i, kind in enumerate(loop):
        expect(timeline.nth(i).locator(".badge").first).to_have_text(ui(kind.label))
    expect(timeline.nth(1)).to_contain_text(station.unit.name)
    expect(timeline.nth(3)).to_contain_text("已到达现场。")
    expect(timeline.nth(7)).to_contain_text(agent.display_name())

    # Closed: only what an archived order still allows (a note) is offered.
    on_archived = {a for a, (sources, _target) in TRANSITIONS.items() if Status.ARCHIVED in sources}
    buttons = page.locator("#action-buttons [data-action]")
    expect(buttons.first).to_be_visible()
    offered = set(buttons.evaluate_all("els => els.map(e => e.dataset.action)"))
    assert offered == {Action.NOTE}
    assert offered <= on_archived
    page.screenshot(path=str(artifacts_dir / "order_loop.png"), full_page=True)


def test_stale_page_cannot_dispatch_twice(page, live_server, world, station):
    from playwright.sync_api import expect

    order = world.order_a1  # accepted, not dispatched yet
    version = order.version
    log_in(page, live_server.url, world.agent_a1.username, world.password)
    detail_url = live_server.url + reverse("workorders:detail", args=[order.pk])
    page.goto(detail_url)
    other = page.context.new_page()  # the same agent in a second tab
    other.goto(detail_url)

    # Both tabs open the dispatch form while the order is still "accepted".
    forms = []
    for tab in (page, other):
        form = open_action(tab, Action.DISPATCH)
        form.locator("#id_unit").select_option(value=str(station.unit.pk))
        forms.append(form)

    submit(forms[0], Action.DISPATCH)
    expect_status(page, order, Status.DISPATCHED)

    # The second tab still holds the old version: "changed by someone else", with a reload link.
    with other.expect_response(lambda r: r.request.method == "POST" and "/act/dispatch/" in r.url) as answer:
        submit(forms[1], Action.DISPATCH)
    assert answer.value.status == 409
    conflict = other.locator("#action-panel #conflict")
    expect(conflict).to_be_visible()
    expect(conflict).to_contain_text(order.number)
    expect(conflict.get_by_role("link")).to_have_attribute("href", reverse("workorders:detail", args=[order.pk]))

    # Its dispatch button is stale too: asking for the form again is refused as an illegal move.
    with other.expect_response(lambda r: r.request.method == "GET" and "/act/dispatch/" in r.url) as answer:
        other.locator("#action-buttons [data-action='dispatch']").click()
    assert answer.value.status == 409
    refused = other.locator("#action-panel [role='alert']")
    expect(refused).to_be_visible()
    expect(refused).to_contain_text(ui(Status.DISPATCHED.label))

    # Reloading shows the order as the first tab left it.
    other.reload()
    expect(other.locator("#order-status")).to_have_text(ui(Status.DISPATCHED.label))
    other.close()

    order.refresh_from_db()
    assert order.status == Status.DISPATCHED
    assert order.handling_unit_id == station.unit.pk
    assert order.version == version + 1
    assert OrderEvent.objects.filter(order=order, kind=EventKind.DISPATCH).count() == 1
