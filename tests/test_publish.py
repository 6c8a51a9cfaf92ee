"""The public progress page without a browser: what the backbone publishes, how, and what never reaches it.

The page is read as a visitor gets it (`public_page` + `render_page`, the `/p/SLUG` route,
the files `cibot publish` writes); the browser tests (tests/test_publish_browser.py) look
at the same page in chromium.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.http_routes import routes
from bot.initiative_file import InitiativeFileError, apply_initiative, parse_initiative
from bot.publish.page import public_page, render_page
from storage.audit import AuditEvent
from storage.db import session_scope
from storage.decisions import Decision, DecisionStatus
from storage.measures import Indicator, Submission, Visibility
from storage.publish import PublishedItem
from tests.browser import serve_in_thread
from tests.chat import Chat, text_of
from tests.conftest import START
from tests.factories import seed
from tests.measures_factory import add_indicators
from tests.process_helpers import EXAMPLE, cibot
from tests.publish_helpers import WITHHELD, publishing_world


def page_text(engine: Engine) -> str | None:
    """The page's HTML as of the test clock's start, or None when there is no page."""
    with session_scope(engine) as s:
        page = public_page(s, "riverbend", START)
        return None if page is None else render_page(page)


def get(url: str) -> tuple[int, str]:
    """Status and body of a GET to the local test server."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - 127.0.0.1 only
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_nothing_is_public_until_the_backbone_publishes_it(engine: Engine, chat: Chat) -> None:
    seed(engine)
    assert page_text(engine) is None
    with serve_in_thread(routes(engine)) as base:
        unpublished, body = get(f"{base}/p/riverbend")
        unknown, other = get(f"{base}/p/nowhere")
        assert unpublished == unknown == 404 and body == other  # an unpublished initiative looks like none
        assert "Nothing is published" in text_of(chat.as_("maria").say("/ci publish"))
        chat.as_("maria").say("/ci publish on agenda")
        status, html = get(f"{base}/p/riverbend")
    assert status == 200 and "Every child in Riverbend County enters kindergarten ready to learn." in html
    assert "<script" not in html


def test_the_backbone_switches_items_in_chat_and_members_cannot(engine: Engine, chat: Chat) -> None:
    add_indicators(engine, seed(engine))
    maria = chat.as_("maria")
    assert "Published indicator readiness." in text_of(maria.say("/ci publish on indicator readiness"))
    assert "already published" in text_of(maria.say("/ci publish on indicator Readiness"))
    assert "Published meetings steering." in text_of(maria.say("/ci publish on meetings steering"))
    listed = maria.say("/ci publish")
    assert "indicator readiness" in text_of(listed) and "meetings steering" in text_of(listed)
    assert "/p/riverbend" in text_of(listed)
    assert "Only backbone staff" in text_of(chat.as_("tom").say("/ci publish on agenda"))
    assert "Only backbone staff" in text_of(chat.as_("lena").say("/ci publish off indicator readiness"))
    assert "Took indicator readiness off" in text_of(maria.say("/ci publish off indicator readiness"))
    assert "was not published" in text_of(maria.say("/ci publish off glossary"))
    with session_scope(engine) as s:
        kinds = [e.kind for e in s.exec(select(AuditEvent)) if e.kind.startswith("publish.")]
        rows = s.exec(select(PublishedItem)).all()
    assert kinds == ["publish.on", "publish.on", "publish.off"]
    assert [(r.kind, r.key) for r in rows] == [("meetings", "steering")]


@pytest.mark.parametrize(("typed", "said"), [
    ("/ci publish on", "Please name what to publish"),
    ("/ci publish on votes", "'votes' is not something the page can show"),
    ("/ci publish on indicator", "Write it like `indicator KEY`"),
    ("/ci publish on decisions steering data", "Write it like `decisions GROUP`"),
    ("/ci publish on glossary extra", "Write it like `glossary`"),
    ("/ci publish on indicator wait", "visible to backbone staff only"),
    ("/ci publish on indicator <!channel>", "There is no indicator '<!channel>'"),
    ("/ci publish on meetings nobody", "There is no group 'nobody'"),
])
def test_bad_items_are_refused_saying_how_to_name_one(engine: Engine, chat: Chat, typed: str, said: str) -> None:
    add_indicators(engine, seed(engine))
    reply = text_of(chat.as_("maria").say(typed))
    assert said in reply and "/ci publish on" in reply
    with session_scope(engine) as s:
        assert s.exec(select(PublishedItem)).all() == []


def test_the_page_shows_public_figures_and_nothing_withheld(engine: Engine) -> None:
    publishing_world(engine)
    html = page_text(engine)
    assert html is not None
    assert [w for w in WITHHELD if w in html] == []
    assert "<strong>63.5%</strong> (2025-Q4)" in html and "56.5%" in html  # final totals of three partners
    assert "in progress: 1 of 3 partners have reported" in html  # 2026-Q1: no figure before it is final
    assert "withheld: fewer than 3 partners" in html  # enrolled: two partners only
    assert "highest and lowest: White 70.6%, Black 56.1%" in html  # the race gap of the final period
    assert 'role="img"' in html and "<desc id=\"chart-readiness-desc\">" in html
    assert "Adopt the readiness measure" in html and "The committee adopts it for 2026." in html
    assert "agree" not in html.lower().replace("agreed", "")  # no votes
    assert "The staff who convene the partners &amp; keep the data." in html


def test_a_backbone_only_indicator_stays_off_even_if_published_before(engine: Engine, chat: Chat) -> None:
    add_indicators(engine, seed(engine), wait={"visibility": "aggregate"})
    assert "Published indicator wait." in text_of(chat.as_("maria").say("/ci publish on indicator wait"))
    with session_scope(engine) as s:  # partners withdraw their consent: the indicator becomes backbone-only
        wait = s.exec(select(Indicator).where(Indicator.key == "wait")).one()
        wait.visibility = Visibility.BACKBONE
    html = page_text(engine)
    assert html is not None and "Wait for developmental screening" not in html


def test_user_text_is_escaped_and_scripts_never_run(engine: Engine) -> None:
    seeded = publishing_world(engine)
    with session_scope(engine) as s:
        s.add(Decision(initiative_id=seeded.initiative_id, group_id=seeded.groups["steering"], rule="majority",
                       title='<script>alert("x")</script><img src=x onerror=alert(1)>', status=DecisionStatus.PASSED,
                       closes_at=START, closed_at=START))
    html = page_text(engine)
    assert html is not None and "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html


def test_the_initiative_file_says_what_is_published(engine: Engine) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    with session_scope(engine) as s:
        report = apply_initiative(s, parse_initiative(text, "initiative.yaml"))
    assert "published items: 7 created, 0 updated, 0 withdrawn" in report.lines()
    fewer = text.replace("  indicators: [prek-enrolled, readiness]\n", "  indicators: [prek-enrolled]\n")
    with session_scope(engine) as s:
        report = apply_initiative(s, parse_initiative(fewer, "initiative.yaml"))
    assert "published items: 0 created, 0 updated, 1 withdrawn (indicator readiness), 6 unchanged" in report.lines()
    html = page_text(engine)
    assert html is not None and "Kindergarten readiness rate" not in html and "1,370" in html


@pytest.mark.parametrize(("section", "said"), [
    ("publish:\n  indicators: [screening-wait]\n", "screening-wait is visible to backbone staff only"),
    ("publish:\n  indicators: [readines]\n", "'readines' is not an indicator key (did you mean readiness?)"),
    ("publish:\n  meetings: [stering]\n", "'stering' is not a group key"),
    ("publish:\n  glossary: maybe\n", "'maybe' is not yes or no"),
    ("publish:\n  votes: yes\n", "unknown field"),
])
def test_a_wrong_publish_section_is_refused_with_its_line(section: str, said: str) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text[:text.index("publish:\n")] + section
    with pytest.raises(InitiativeFileError) as caught:
        parse_initiative(text, "initiative.yaml")
    assert any(said in error and "initiative.yaml" in error and "publish" in error for error in caught.value.errors), \
        caught.value.errors


def test_cibot_publish_writes_a_page_that_needs_no_server(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cibot.db'}"
    assert cibot("load", str(EXAMPLE), db=db).returncode == 0
    out = cibot("publish", str(tmp_path / "site"), db=db)
    assert out.returncode == 0, out.stderr
    page = tmp_path / "site" / "index.html"
    assert f"wrote {page}" in out.stdout and page.as_uri() in out.stdout
    html = page.read_text(encoding="utf-8")
    assert "Riverbend Early Childhood Collective" in html and "1,370" in html
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert 'href="/' not in html and "<link" not in html  # nothing to fetch: the CSS is inline
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    refused = cibot("publish", str(tmp_path / "none"), db=empty)
    assert refused.returncode != 0 and "no initiative yet" in refused.stderr


def test_a_category_from_too_few_partners_is_withheld_with_its_complement(engine: Engine) -> None:
    seeded = publishing_world(engine)
    with session_scope(engine) as s:  # Parents Together did not break out "Other" in 2025-Q4
        lena = s.exec(select(Submission).where(Submission.period == "2025-Q4",
                                               Submission.submitted_by_id == seeded.members["lena"])).one()
        lena.cells = {"race": {k: v for k, v in lena.cells["race"].items() if k != "Other"}}
    html = page_text(engine)
    assert html is not None
    table = html.split("by Race/ethnicity", 1)[1].split("</table>", 1)[0]
    assert table.count(">withheld<") == 2  # "Other" (two partners) and the smallest other category
    assert "68.0%" not in html and "56.1%" not in html  # Other's value, and Black's that would give it away
    assert "White 70.6%, Hispanic/Latino 60.9%" in table and "cannot be worked out from the total" in html
