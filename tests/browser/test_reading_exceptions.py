"""A reading exception from the queue to the corrected reading, in a real browser: a meter on an A1
account read 1,000 in January and 980 in February (below the previous one, so it waits in the
exceptions queue instead of going to billing). County A1's data analyst signs in, opens the queue from
the menu, sees the row with the reading, the previous value and the negative consumption, corrects the
reading to 1,080 with the reason, and the queue is empty; the reading keeps the original value and the
reason in its correction."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from kefu.metering.choices import ReadingState, Resolution, Rule
from kefu.metering.models import Reading, ReadingCorrection, ReadingException
from kefu.metering.tests.factories import install, make_meter, read
from kefu.org.tests.factories import make_staff
from tests.browser.test_order_loop import _patient_expect, log_in  # noqa: F401  (autouse fixture)

pytestmark = pytest.mark.browser

REASON = "抄表员少看一位, 现场照片为1080"


def test_analyst_corrects_a_reading_from_the_queue(browser, page, live_server, world, artifacts_dir):
    from playwright.sync_api import expect

    base = live_server.url
    analyst = make_staff("analyst_a1", unit=world.county_a1, roles=["analyst"])
    reader = make_staff("reader_a1", unit=world.county_a1, roles=["reader"])
    meter = make_meter(unit=world.county_a1, serial="A1-0000123")
    install(actor=world.manager_a1, meter=meter, to=world.account_a1, on=date(2025, 12, 1), initial_reading=900)
    assert read(actor=reader, meter=meter, month="2026-01", value="1000").exceptions == []
    got = read(actor=reader, meter=meter, month="2026-02", value="980")
    assert [e.rule for e in got.exceptions] == [Rule.BELOW_PREVIOUS]
    exc = got.exceptions[0]

    # 1. The analyst opens the queue from the menu.
    log_in(page, base, analyst.username, world.password)
    page.locator("#menu-metering").click()
    page.locator(f"a.dropdown-item[href='{reverse('metering:exceptions')}']").click()
    row = page.locator(f"#exc-{exc.pk}")
    expect(row).to_be_visible()
    expect(row).to_contain_text(meter.serial)
    expect(row).to_contain_text("2026-02")
    expect(row.locator("[data-col='value']")).to_contain_text("980.00")
    expect(row.locator("[data-col='previous']")).to_have_text("1000.00")
    expect(row.locator("[data-col='consumption']")).to_have_text("-20.00")
    page.screenshot(path=str(artifacts_dir / "reading-exceptions-queue.png"), full_page=True)

    # 2. A correction without a reason is refused beside the field; nothing changes.
    row.locator("[name='value']").fill("1080")
    row.locator("[data-decision='corrected']").click()
    row = page.locator(f"#exc-{exc.pk}")
    expect(row.locator("[data-field='reason']")).to_be_visible()
    assert ReadingException.objects.get(pk=exc.pk).resolution == Resolution.OPEN

    # 3. With the reason the reading is corrected and leaves the queue.
    row.locator("[name='value']").fill("1080")
    row.locator("[name='reason']").fill(REASON)
    row.locator("[data-decision='corrected']").click()
    expect(page.locator("#queue-empty")).to_be_visible()
    expect(page.locator(".alert-success")).to_contain_text(meter.serial)
    expect(page.locator(f"#exc-{exc.pk}")).to_have_count(0)
    page.screenshot(path=str(artifacts_dir / "reading-exceptions.png"), full_page=True)

    # The database: the exception decided by the analyst, the reading corrected, the original kept.
    exc.refresh_from_db()
    assert (exc.resolution, exc.resolved_by_id, exc.note) == (Resolution.CORRECTED, analyst.pk, REASON)
    reading = Reading.objects.get(pk=exc.reading_id)
    assert (reading.value, reading.consumption, reading.state) == (Decimal("1080.00"), Decimal("80.00"),
                                                                     ReadingState.CORRECTED)
    correction = ReadingCorrection.objects.get(reading=reading)
    assert (correction.old_value, correction.new_value, correction.reason, correction.actor_id) == (
        Decimal("980.00"), Decimal("1080.00"), REASON, analyst.pk)

    # The meter page shows the correction with the original value.
    page.goto(base + reverse("metering:meter", args=[meter.pk]))
    expect(page.locator(f"[data-correction='{correction.pk}']")).to_contain_text("980.00")
    expect(page.locator(f"[data-correction='{correction.pk}']")).to_contain_text(REASON)
