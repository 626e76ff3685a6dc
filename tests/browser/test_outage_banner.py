"""An outage from the draft form to the agent's screen, in a real browser: a dispatcher drafts a
planned outage on feeder F1 (finding the feeder with the node search), reviews it and publishes it two
hours ahead, which breaks the seven-day notice rule, so the director gives the override reason the page
asks for; the outage page shows it published with its affected accounts. Then a customer on that feeder
calls: the agent's desk pops the caller with the outage banner, so the agent can answer "known outage"
at once.

The telephone system's events go through the real API (see test_desk.py).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from kefu.customers.models import Contact
from kefu.desk.models import Extension
from kefu.org.tests.factories import make_staff
from kefu.outages.choices import Status
from kefu.outages.models import Outage
from kefu.outages.tests.factories import make_grid
from tests.browser.test_desk import Telephone
from tests.browser.test_order_loop import _patient_expect, log_in  # noqa: F401  (autouse fixture)

pytestmark = pytest.mark.browser

CALL_ID = "outage-banner-0001"


def local(moment) -> str:
    """As a datetime-local input takes it (the server's local time)."""
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def test_published_outage_shows_on_the_agent_desk(browser, page, live_server, world, artifacts_dir):
    from playwright.sync_api import expect

    base = live_server.url
    grid = make_grid(world)
    dispatcher = world.supervisor  # director and shift leader of city A: may publish and override
    caller = grid.accounts["TA1"][0]
    phone = Contact.objects.filter(customer_id=caller.customer_id).values_list("phone", flat=True)[0]
    start = timezone.now().replace(second=0, microsecond=0) + timedelta(hours=2)

    # 1. The dispatcher drafts the outage on feeder F1, found by its name.
    log_in(page, base, dispatcher.username, world.password)
    page.goto(base + reverse("outages:list"))
    page.locator("#new-outage").click()
    expect(page).to_have_url(re.compile(reverse("outages:create") + "$"))
    form = page.locator("#outage-form")
    form.locator("#id_utility").select_option("power")
    form.locator("#id_outage_class").select_option("planned")
    form.locator("#id_area").fill("文三路1号、2号台区")
    form.locator("#id_reason").fill("10kV城东线设备检修")
    form.locator("#id_planned_start").fill(local(start))
    form.locator("#id_planned_end").fill(local(start + timedelta(hours=6)))
    form.locator("#node-q").fill("城东线")
    add_f1 = page.locator("#node-hits [data-add-node='F1']")
    expect(add_f1).to_be_visible()
    add_f1.click()
    expect(form.locator("#id_nodes")).to_have_value("F1")
    form.locator("#save-outage").click()

    expect(page.locator("#outage-status")).to_have_attribute("data-status", "draft")
    outage = Outage.objects.get()
    expect(page).to_have_url(re.compile(reverse("outages:detail", args=[outage.pk]) + "$"))
    expect(page.locator("#outage-counts [data-count='affected']")).to_have_text("5")
    expect(page.locator("#scope-nodes [data-node='F1']")).to_be_visible()

    # 2. Review.
    page.locator("#action-buttons [data-action='review']").click()
    review = page.locator("form[data-form='review']")
    expect(review).to_be_visible()
    review.get_by_role("button").click()
    expect(page.locator("#outage-status")).to_have_attribute("data-status", "reviewed")

    # 3. Publish: two hours ahead breaks the seven-day rule. The page says so before and after the
    # click; the director publishes with a reason.
    page.locator("#action-buttons [data-action='publish']").click()
    publish = page.locator("form[data-form='publish']")
    expect(page.locator("#panel-publish")).to_have_class(re.compile(r"\bshow\b"))
    expect(publish).to_be_visible()
    expect(page.locator("#publish-warnings")).to_be_visible()
    publish.get_by_role("button").click()
    expect(page.locator("#broken-rules li")).to_have_count(1)
    assert Outage.objects.get(pk=outage.pk).status == Status.REVIEWED
    publish = page.locator("form[data-form='publish']")
    expect(publish).to_be_visible()  # opened again, with the override field
    publish.locator("[name='override_reason']").fill("设备缺陷须尽快处理, 已电话告知重要客户")
    publish.get_by_role("button").click()

    expect(page.locator("#outage-status")).to_have_attribute("data-status", "published")
    expect(page.locator("#outage-counts [data-count='affected']")).to_have_text("5")
    expect(page.locator("#outage-counts [data-count='important']")).to_have_text("1")
    expect(page.locator("#override")).to_contain_text("设备缺陷须尽快处理")
    expect(page.locator(f"#affected-accounts [data-account='{caller.number}']")).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "outage-published.png"), full_page=True)
    outage.refresh_from_db()
    assert (outage.status, outage.affected_count, outage.override_by_id) == (Status.PUBLISHED, 5, dispatcher.pk)

    # 4. A customer on the feeder calls; the agent's desk shows the outage with the screen pop.
    desk_context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000})
    desk_context.set_default_timeout(15_000)
    try:
        desk = desk_context.new_page()
        Extension.objects.create(number="8001", unit=world.county_a1)
        telephone = Telephone(base, make_staff("cti_outage", unit=world.city_a, roles=["telephony"]))
        log_in(desk, base, world.agent_a1.username, world.password)
        desk.goto(base + reverse("desk:screen"))
        desk.locator("#id_number").focus()
        desk.keyboard.type("8001")
        desk.keyboard.press("Enter")
        expect(desk.locator("#my-extension")).to_have_attribute("data-number", "8001")

        telephone.send(event="ringing", call_id=CALL_ID, caller=phone, called="95598", extension="8001")
        expect(desk.locator("#caller")).to_have_text(phone)
        banner = desk.locator(f"[data-outage-banner='{outage.number}']")
        expect(banner).to_be_visible()
        expect(banner).to_contain_text(outage.number)
        expect(banner).to_contain_text(caller.number)
        desk.screenshot(path=str(artifacts_dir / "desk-outage-banner.png"), full_page=True)
    finally:
        desk_context.close()
