"""The public progress page in a real browser (Debian's chromium via Playwright), as a visitor sees it.

Served by the `/p/SLUG` route and opened from the files `cibot publish` writes, at a
desktop and a phone width, with JavaScript off. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.engine import Engine

from bot.http_routes import routes
from bot.initiative_file import load_initiative
from bot.publish.site import write_site
from storage.db import session_scope
from tests.browser import DESKTOP, PHONE, horizontal_overflow, open_page, screenshot, serve_in_thread
from tests.conftest import START
from tests.process_helpers import EXAMPLE, ROOT
from tests.publish_helpers import WITHHELD, publishing_world

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the page, not the database, is tested

# Relative luminance contrast of text against its background, per WCAG 2.x, for every text element.
CONTRAST_PROBLEMS = """() => {
  const lum = (rgb) => {
    const [r, g, b] = rgb.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number).map(v => v / 255)
      .map(c => c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4));
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const bg = getComputedStyle(el).backgroundColor;
      if (bg && !bg.endsWith(', 0)') && bg !== 'transparent') return bg;
    }
    return 'rgb(255, 255, 255)';
  };
  const problems = [];
  for (const el of document.querySelectorAll('h1, h2, h3, p, li, dt, dd, th, td, caption, figcaption, a, span')) {
    if (!el.textContent.trim() || el.getClientRects().length === 0) continue;
    const [fg, bg] = [lum(getComputedStyle(el).color), lum(background(el))];
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    if (ratio < 4.5) problems.push(el.tagName + ': ' + el.textContent.trim().slice(0, 40) + ' ' + ratio.toFixed(2));
  }
  return problems;
}"""


def accessibility_problems(page: Page) -> list[str]:
    """What a basic accessibility check finds wrong on `page`: language, landmarks, headings, names, contrast."""
    problems = []
    if page.get_attribute("html", "lang") != "en":
        problems.append("no lang attribute")
    for role in ("banner", "navigation", "main", "contentinfo"):
        if page.get_by_role(role).count() != 1:
            problems.append(f"{page.get_by_role(role).count()} {role} landmarks")
    levels = [int(tag[1]) for tag in page.eval_on_selector_all("h1, h2, h3, h4, h5, h6",
                                                                  "els => els.map(e => e.tagName)")]
    if levels[:1] != [1] or levels.count(1) != 1:
        problems.append(f"the page does not start with its one h1: {levels}")
    problems += [f"heading level jumps from h{a} to h{b}"
                 for a, b in zip(levels, levels[1:], strict=False) if b > a + 1]
    for chart in page.locator("svg").all():
        named = chart.get_attribute("role") == "img" and chart.locator("title").count() == 1
        if not named or not (chart.locator("desc").text_content() or "").strip():
            problems.append("a chart without role=img, title and description")
    if page.locator("table:not(:has(caption))").count():
        problems.append("a table without a caption")
    if page.locator("img:not([alt])").count():
        problems.append("an image without alt text")
    problems += page.evaluate(CONTRAST_PROBLEMS)
    return problems


def check_visitor_view(page: Page, name: str) -> None:
    """What every visitor must get, at any width: the page whole, readable and nothing withheld."""
    assert page.get_by_role("heading", level=1).inner_text() == "Riverbend Early Childhood Collective"
    assert horizontal_overflow(page) == 0, f"{name}: the page scrolls sideways"
    assert accessibility_problems(page) == [], name
    html = page.content()
    assert [w for w in WITHHELD if w in html] == [], name
    screenshot(page, name)


def test_a_visitor_reads_the_served_page_on_a_desktop_and_a_phone(browser: Browser, engine: Engine) -> None:
    publishing_world(engine)
    with serve_in_thread(routes(engine)) as base:
        for size, name in ((DESKTOP, "publish-desktop"), (PHONE, "publish-phone")):
            with open_page(browser, f"{base}/p/riverbend", size) as page:
                check_visitor_view(page, name)
                readiness = page.locator("#indicator-readiness")
                assert "63.5%" in readiness.locator("dl").inner_text()
                assert readiness.locator("svg").is_visible()
                assert readiness.get_by_role("table").first.is_visible()
                chart_box = readiness.locator("svg").bounding_box()
                assert chart_box is not None and chart_box["width"] <= size[0]
                assert "Adopt the readiness measure" in page.locator("#decisions").inner_text()
        served = browser.new_page().goto(f"{base}/p/riverbend")
        assert served is not None and "script-src" not in served.headers["content-security-policy"]
        assert served.headers["content-security-policy"].startswith("default-src 'none'")
        response = browser.new_page().goto(f"{base}/p/somewhere-else")
        assert response is not None and response.status == 404


def test_the_written_site_opens_from_the_file_system(browser: Browser, engine: Engine, tmp_path: Path) -> None:
    publishing_world(engine)
    index = write_site(engine, "riverbend", tmp_path / "site", START)
    moved = tmp_path / "elsewhere"
    shutil.copytree(index.parent, moved)  # relative to nothing: it works wherever it is copied
    with open_page(browser, (moved / "index.html").as_uri(), PHONE) as page:
        fetched: list[str] = []
        page.on("request", lambda request: fetched.append(request.url))
        page.reload()
        assert fetched == [(moved / "index.html").as_uri()]  # no stylesheet, script or image to fetch
        banner = page.get_by_role("banner")
        assert banner.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(11, 61, 102)"  # the CSS applies
        check_visitor_view(page, "publish-file")


def test_the_example_initiative_publishes_its_public_data(browser: Browser, engine: Engine) -> None:
    """What `make demo` loads: the readiness total of two partners stays withheld; the README's screenshot."""
    with session_scope(engine) as s:
        load_initiative(s, EXAMPLE)
    with serve_in_thread(routes(engine)) as base, open_page(browser, f"{base}/p/riverbend", DESKTOP) as page:
        prek = page.locator("#indicator-prek-enrolled")
        assert "1,370" in prek.locator("dl").inner_text() and prek.locator("svg").is_visible()
        readiness = page.locator("#indicator-readiness").inner_text()
        assert "No figure can be published yet" in readiness and "withheld: fewer than 3 partners" in readiness
        for value in ("61.5%", "63.5%", "62.5%", "60.5%"):  # partner values and their two-partner totals
            assert value not in page.content()
        assert page.locator("#glossary dt").count() > 20 and page.locator("#meetings li").count() > 0
        assert "Room 4" not in page.content() and "meet.example.org" not in page.content()  # no place, no video link
        assert accessibility_problems(page) == []
        screenshot(page, "publish-example")
        page.set_viewport_size({"width": 1280, "height": 1500})
        shot = screenshot(page, "publish-example-top", full_page=False)  # copied to docs/public-page.png
    assert shot.stat().st_size > 10_000
    assert (ROOT / "docs" / "public-page.png").exists()  # the page as the README shows it
