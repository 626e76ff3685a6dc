"""Playwright (sync API) against pytest-django's live server. Chromium comes from the system."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from kefu.workorders.tests.factories import reseed

# The sync Playwright API runs an event loop in this thread; Django's ORM must still be allowed here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("KEFU_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(autouse=True)
def _seeded_database(transactional_db: None) -> None:
    """Put back the rows the data migrations seed (order types, time limits, calendar).

    The live server needs a transactional database, which is flushed after each test, seed rows included
    (other tests run inside a rolled-back transaction and keep them). Serialized rollback cannot restore
    them: once Playwright's event loop runs in this thread, Django keeps connections per context instead
    of per thread, and the test gets a connection object other than the one the serialized copy was kept
    on.
    """
    reseed()


@pytest.fixture
def page(browser, settings):
    # Reduced motion: Bootstrap then skips its transitions, so a click never lands on a panel that is
    # still opening (a source of flaky clicks on a loaded CI machine).
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 1000}, reduced_motion="reduce")
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()
