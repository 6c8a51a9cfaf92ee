"""A real browser for the tests: Debian's chromium driven by Playwright's Python API.

Use the `browser` fixture (registered for every test by tests/conftest.py), open pages with
`open_page` at a desktop or phone width, serve aiohttp routes with `serve_in_thread`, and keep
what the visitor saw with `screenshot` (PNG files under tests/artifacts/, ignored by git).
Without chromium (or Playwright) the browser tests are skipped with a message saying how to
install it; under CI=true they fail instead, as PostgreSQL tests do (tests/db_helpers.py).
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from aiohttp import web

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = os.environ.get("CIBOT_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
DESKTOP = (1280, 900)
PHONE = (375, 740)


def require_chromium(why: str = "skipping browser tests") -> None:
    """Skip the test, saying `why`, when chromium or Playwright is missing; under CI=true, fail."""
    problem = ""
    if not os.access(CHROMIUM, os.X_OK):
        problem = f"no chromium at {CHROMIUM} (apt-get install -y chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "Playwright is not installed (pip install -e '.[dev]' --constraint constraints.txt)"
    if not problem:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"A browser is required under CI: {problem}")
    pytest.skip(f"{problem}; {why}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless chromium (the system's, never a downloaded build), shared by one test module."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


@contextmanager
def open_page(browser: Browser, url: str, size: tuple[int, int] = DESKTOP) -> Iterator[Page]:
    """A fresh page at `size` (width, height) CSS pixels, JavaScript off as for a visitor without it,
    showing `url`; raises if the page does not answer 200."""
    context = browser.new_context(viewport={"width": size[0], "height": size[1]}, java_script_enabled=False)
    try:
        page = context.new_page()
        response = page.goto(url)
        if response is not None and url.startswith("http"):
            assert response.status == 200, f"{url} answered {response.status}"
        yield page
    finally:
        context.close()


def screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """Save a PNG of `page` (the whole page, or what the viewport shows) as tests/artifacts/NAME.png;
    print where it went."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    page.screenshot(path=str(path), full_page=full_page)
    print(f"screenshot: {path}")  # noqa: T201 - the path is the artifact's address
    return path


def horizontal_overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than its viewport (0: no horizontal scroll)."""
    width = page.viewport_size["width"] if page.viewport_size else 0
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    return max(0, int(scroll_width) - width)


@contextmanager
def serve_in_thread(route_defs: list[web.RouteDef]) -> Iterator[str]:
    """Serve aiohttp `route_defs` on 127.0.0.1 (a free port) from a background thread with its own
    event loop (Playwright's sync API keeps one running in the test's thread); yields the base URL."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    runner: list[web.AppRunner] = []

    async def start() -> None:
        app = web.Application()
        app.add_routes(route_defs)
        runner.append(web.AppRunner(app, access_log=None))
        await runner[0].setup()
        await web.TCPSite(runner[0], "127.0.0.1", 0).start()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        started.set()
        loop.run_forever()
        loop.run_until_complete(runner[0].cleanup())
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(timeout=10), "the test server did not start"
    try:
        yield f"http://127.0.0.1:{runner[0].addresses[0][1]}"
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
