"""An agent takes a call: logs in, finds the caller by phone, opens the card."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser


def test_agent_finds_customer_by_phone_and_opens_card(page, live_server, world, artifacts_dir):
    from playwright.sync_api import expect

    account = world.account_a1
    page.goto(live_server.url + "/")
    expect(page).to_have_url(re.compile(r"/login/"))  # anonymous → login

    page.fill("#id_username", world.agent_a1.username)
    page.fill("#id_password", world.password)
    page.keyboard.press("Enter")
    expect(page.locator("#search-title")).to_be_visible()

    # The search box has the focus: the agent just types the number the caller gives and presses Enter.
    page.keyboard.type("138 0000 1111")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/customers/\?q="))
    table = page.locator("#results-table")
    expect(table).to_contain_text("王小明")
    expect(table).to_contain_text("138****1111")
    expect(table).to_contain_text(account.number)

    # Typing a new query refreshes the table in place (htmx), no page load needed.
    box = page.locator("#q")
    box.fill("")
    box.type("没有这个人")
    expect(table).to_have_count(0)
    box.fill("")
    box.type(account.number)
    expect(table).to_contain_text("王小明")
    expect(page).to_have_url(re.compile(account.number))  # the URL follows, so reload and back work
    page.screenshot(path=str(artifacts_dir / "agent_search.png"), full_page=True)

    page.get_by_role("link", name="王小明").click()
    expect(page.locator("#customer-name")).to_have_text("王小明")
    expect(page.locator("#accounts")).to_contain_text(account.number)
    expect(page.locator("#personal")).to_contain_text("138****1111")
    page.screenshot(path=str(artifacts_dir / "agent_lookup.png"), full_page=True)

    # Full numbers on request, in place.
    page.locator("#reveal-button").click()
    expect(page.locator("#personal")).to_contain_text("13800001111")
    expect(page.locator("#id-number")).to_have_text(account.customer.id_number)
