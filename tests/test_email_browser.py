"""An emailed data prompt in a real browser (Debian's chromium via Playwright), as a partner on a phone uses it.

Lena (Parents Together) has only an email address: the prompt arrives at a real SMTP
server on 127.0.0.1, its link opens the form `cibot serve` serves, a wrong value is
refused beside its field, a right one is stored and shows up in the backbone's view.
Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import Browser
from sqlalchemy.engine import Engine

from bot.adapters.email.web import routes as email_pages
from bot.core.clock import ManualClock
from bot.core.core import Core
from tests.browser import DESKTOP, PHONE, horizontal_overflow, open_page, screenshot, serve_in_thread
from tests.chat import Chat, text_of
from tests.email_helpers import deliver, email_only, link, mailbox, parts, prompt
from tests.factories import seed
from tests.measures_factory import add_indicators
from tests.test_email import APR_1, LENA

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the page, not the database, is tested


def test_prompt_link_form_stored_progress_on_a_phone(
        engine: Engine, clock: ManualClock, core: Core, chat: Chat, browser: Browser,
        monkeypatch: pytest.MonkeyPatch) -> None:
    seeded = seed(engine)
    readiness = add_indicators(engine, seeded)["readiness"]
    email_only(engine, seeded, "lena", LENA)
    clock.set(APR_1)
    chat.as_("tom").say("/ci submit readiness 66.5 --period 2026-Q1")
    with serve_in_thread(email_pages(core)) as base:
        monkeypatch.setenv("CIBOT_PUBLIC_URL", base)
        prompt(engine, core.registry, readiness, "2026-Q1", APR_1)
        with mailbox() as box, ThreadPoolExecutor(1) as thread:  # Playwright's sync API holds this thread's loop
            thread.submit(asyncio.run, deliver(engine, clock, box.settings())).result()
            text, _html = parts(box.only())
        url = base + link(text, "/submit")
        assert f"<{url}>" in text  # the link points at this server

        with open_page(browser, url, PHONE) as page:
            assert page.get_by_role("heading", level=1).inner_text() == "Submit 2026-Q1"
            value = page.get_by_label("Kindergarten readiness (percent)")
            assert value.is_visible() and page.get_by_label("Race/ethnicity: White").is_visible()
            assert horizontal_overflow(page) == 0
            assert "66.5" not in page.content() and "Riverbend Unified" not in page.content()
            value.fill("140")
            page.get_by_role("button", name="Submit").click()
            error = page.locator(".error").first
            assert error.is_visible() and "140" in page.get_by_label("Kindergarten readiness (percent)").input_value()
            assert page.get_by_label("Kindergarten readiness (percent)").get_attribute("aria-invalid") == "true"
            screenshot(page, "email-form-phone-refused")
            page.get_by_label("Kindergarten readiness (percent)").fill("72.5")
            page.get_by_label("Note (optional)").fill("spring screening")
            page.get_by_role("button", name="Submit").click()
            assert page.get_by_role("heading", level=1).inner_text() == "Data received"
            assert "Recorded 72.5% as Kindergarten readiness for Parents Together, 2026-Q1" in page.inner_text("main")
            screenshot(page, "email-form-phone-recorded")
        with open_page(browser, url, DESKTOP) as page:  # the same link again: a correction now needs a reason
            assert page.get_by_label("Why is this being corrected?").is_visible()
            screenshot(page, "email-form-desktop-correction")
    said = text_of(chat.as_("maria").say("/ci submissions readiness"))
    assert "Parents Together" in said and "72.5%" in said and "spring screening" in said
    assert "2 of 3" in text_of(chat.as_("maria").say("/ci status"))
