"""Email for members who are not in Slack or Discord: prompts, the web form, unsubscribes, bounces.

A real SMTP server on 127.0.0.1 (aiosmtpd) receives what the outbox sends; the form the
emailed link opens is served by the same routes as `cibot serve`. Lena (Parents Together)
reports kindergarten readiness and has only an email address.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.adapters.email.dialect import EMAIL
from bot.adapters.email.message import Envelope, build
from bot.adapters.email.settings import EmailConfigError, EmailSettings
from bot.adapters.email.web import routes as email_pages
from bot.core import tokens
from bot.core.clock import ManualClock
from bot.core.core import Core
from bot.core.messages import Reply
from bot.core.registry import bot_session
from bot.measures.indicators import calendar_of
from bot.measures.jobs import ask
from bot.measures.status import period_status
from bot.runtime import mail
from storage.mail import EmailPreference
from storage.measures import Indicator, IndicatorReporter, Submission
from storage.models import Member
from storage.outbox import OutboxMessage, OutboxStatus
from tests.chat import Chat, text_of
from tests.email_helpers import deliver, email_only, link, mailbox, parts, prompt
from tests.factories import seed
from tests.measures_factory import add_indicators
from tests.meeting_helpers import add_series, outbox, running_scheduler, walk
from tests.process_helpers import cibot, free_port
from tests.test_config import SLACK

APR_1 = datetime(2026, 4, 1, 14, 0, tzinfo=UTC)  # 09:00 in Chicago; 2026-Q1 is due on 10 April
LENA = "lena@parents-together.example"


def client_for(core: Core) -> TestClient:
    """An HTTP client of the pages emailed links open, as `cibot serve` serves them."""
    app = web.Application()
    app.add_routes(email_pages(core))
    return TestClient(TestServer(app))


def emails(engine: Engine) -> list[OutboxMessage]:
    with Session(engine) as s:
        return list(s.exec(select(OutboxMessage).where(OutboxMessage.platform == "email")
                           .order_by(OutboxMessage.id)))  # type: ignore[arg-type]


def lenas_value(engine: Engine, indicator_id: int) -> float | None:
    with Session(engine) as s:
        rows = s.exec(select(Submission).where(Submission.indicator_id == indicator_id,
                                               Submission.period == "2026-Q1")).all()
        member = s.exec(select(Member).where(Member.key == "lena")).one()
        mine = [r for r in rows if (rep := s.get(IndicatorReporter, r.reporter_id)) and rep.member_id == member.id]
        return mine[0].value if mine else None


@pytest.fixture
def lena_by_email(engine: Engine, clock: ManualClock, chat: Chat) -> dict[str, int]:
    seeded = seed(engine)
    ids = add_indicators(engine, seeded)
    email_only(engine, seeded, "lena", LENA)
    clock.set(APR_1)
    assert "Recorded 66.5%" in text_of(chat.as_("tom").say("/ci submit readiness 66.5 --period 2026-Q1"))
    return ids


async def test_an_emailed_prompt_links_to_a_form_that_stores_the_value(
        engine: Engine, clock: ManualClock, core: Core, chat: Chat, lena_by_email: dict[str, int]) -> None:
    readiness = lena_by_email["readiness"]
    prompt(engine, core.registry, readiness, "2026-Q1", APR_1)
    assert [m.user_id for m in emails(engine)] == [str(_id(engine, "lena"))]
    with mailbox() as box:
        assert (await deliver(engine, clock, box.settings())).get("sent") == 1
        message = box.only()
    assert message["To"] == LENA and message["From"] == "cibot <cibot@riverbend.example>"
    assert message["Message-ID"].endswith("@riverbend.example>")
    assert message["Subject"] == "Kindergarten readiness data due Fri 10 Apr 2026"
    text, html = parts(message)
    assert "Kindergarten readiness for 2026-Q1 is due Fri 10 Apr 2026 from Parents Together." in text
    assert "<strong>Kindergarten readiness</strong> for 2026-Q1" in html
    path = link(text, "/submit")
    assert path == link(html, "/submit")  # both parts carry the same signed link
    assert "works until Tue 09 Jun 2026" in text
    unsubscribe = link(message["List-Unsubscribe"], "/unsubscribe")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click" and unsubscribe in text

    async with client_for(core) as client:
        page = await client.get(path)
        form = await page.text()
        assert page.status == 200
        assert '<label for="f-1">Kindergarten readiness (percent)</label>' in form
        assert "Race/ethnicity: Hispanic/Latino" in form and 'name="c.0.1"' in form
        assert "66.5" not in form and "Riverbend Unified" not in form  # nobody else's value or name
        assert 'method="post"' in form and lenas_value(engine, readiness) is None  # opening stores nothing

        wrong = await client.post(path, data={"value": "140", "c.0.0": "lots"})
        said = await wrong.text()
        assert wrong.status == 422 and 'aria-invalid="true"' in said and 'value="140"' in said
        assert 'class="error"' in said and lenas_value(engine, readiness) is None  # nothing half-written

        done = await client.post(path, data={"value": "72.5", "note": "spring screening"})
        assert done.status == 200
        assert "Recorded 72.5% as <strong>Kindergarten readiness</strong> for Parents Together, 2026-Q1" in \
            await done.text()
    assert lenas_value(engine, readiness) == 72.5
    history = text_of(chat.as_("maria").say("/ci submissions readiness"))
    assert "Parents Together" in history and "72.5%" in history


def _id(engine: Engine, key: str) -> int:
    with Session(engine) as s:
        return s.exec(select(Member.id).where(Member.key == key)).one() or 0


async def test_changed_foreign_and_expired_links_store_nothing(
        engine: Engine, clock: ManualClock, core: Core, lena_by_email: dict[str, int]) -> None:
    readiness = lena_by_email["readiness"]
    lena = _id(engine, "lena")
    good = tokens.sign(tokens.SUBMIT_FORM, {"m": lena, "v": f"{readiness}:2026-Q1:0"}, APR_1 + timedelta(days=9))
    payload, _, signature = good.partition(".")
    forged = tokens.sign(tokens.SUBMIT_FORM, {"m": lena, "v": "1:2026-Q1:1"}, APR_1 + timedelta(days=9),
                         key=b"not the server's key")
    async with client_for(core) as client:
        for token in (payload[:-2] + "xx." + signature, forged, good.replace(".", ""), "%00", "a" * 3000,
                      mail.unsubscribe_token(lena, "prompts", APR_1)):  # an unsubscribe token is not a form
            for method in (client.get, client.post):
                answer = await method(f"/submit/{token}", data={"value": "1"})
                assert answer.status in (403, 404), (token, answer.status)
                if answer.status == 403:
                    assert "This link is not valid" in await answer.text()
        clock.set(APR_1 + timedelta(days=10))
        expired = tokens.sign(tokens.SUBMIT_FORM, {"m": lena, "v": "1:2026-Q1:1"}, APR_1 + timedelta(days=9))
        answer = await client.post(f"/submit/{expired}", data={"value": "70"})
        assert answer.status == 410 and "This link has expired" in await answer.text()
        # A genuine link for a partner Lena does not report for: the form refuses, like the chat.
        tom_reporter = _reporter(engine, readiness, "tom")
        theirs = tokens.sign(tokens.SUBMIT_FORM, {"m": lena, "v": f"{readiness}:2026-Q1:{tom_reporter}"},
                             APR_1 + timedelta(days=30))
        answer = await client.post(f"/submit/{theirs}", data={"value": "70", "reason": "mine now"})
        assert answer.status == 403 and "cannot submit" in (await answer.text()).lower()
    with Session(engine) as s:
        assert len(s.exec(select(Submission).where(Submission.period == "2026-Q1")).all()) == 1  # Tom's only


def _reporter(engine: Engine, indicator_id: int, key: str) -> int:
    with Session(engine) as s:
        member = _id(engine, key)
        return s.exec(select(IndicatorReporter.id).where(IndicatorReporter.indicator_id == indicator_id,
                                                         IndicatorReporter.member_id == member)).one() or 0


async def test_a_refused_address_bounces_and_gets_nothing_more(
        engine: Engine, clock: ManualClock, core: Core, chat: Chat, lena_by_email: dict[str, int]) -> None:
    readiness = lena_by_email["readiness"]
    prompt(engine, core.registry, readiness, "2026-Q1", APR_1)
    with mailbox(refuse="550 5.1.1 <lena@parents-together.example>: no such user") as box:
        assert (await deliver(engine, clock, box.settings())).get("failed") == 1
        assert box.messages == []
    [row] = emails(engine)
    assert row.status == OutboxStatus.FAILED and "550" in row.last_error and "refused for good" in row.last_error
    with Session(engine) as s:
        pref = s.exec(select(EmailPreference)).one()
        assert pref.bounced_address == LENA and "no such user" in pref.bounce_reason
    assert "bounced" in text_of(chat.as_("lena").say("/ci email"))
    with Session(engine) as s:
        before = len(s.exec(select(OutboxMessage).where(OutboxMessage.platform == "email")).all())
    with bot_session(engine, core.registry) as s:
        indicator = s.get(Indicator, readiness)
        assert indicator is not None
        status = period_status(s, indicator, calendar_of(indicator).parse("2026-Q1"), APR_1)
        ask(s, status, status.outstanding, f"measures.follow_up:{readiness}:2026-Q1", reminder=True)
    assert len(emails(engine)) == before  # the follow-up is not emailed to a bounced address


async def test_a_deferring_or_unreachable_server_is_retried_with_backoff(
        engine: Engine, clock: ManualClock, core: Core, lena_by_email: dict[str, int]) -> None:
    prompt(engine, core.registry, lena_by_email["readiness"], "2026-Q1", APR_1)
    with mailbox(refuse="451 4.3.0 mailbox busy, try again later") as box:
        assert (await deliver(engine, clock, box.settings())).get("retry") == 1
    [row] = emails(engine)
    assert row.status == OutboxStatus.PENDING and row.failures == 1 and row.next_attempt_at is not None
    assert "451" in row.last_error
    clock.advance(timedelta(minutes=1))
    down = EmailSettings("127.0.0.1", free_port(), "", "", False, "cibot@riverbend.example")
    assert (await deliver(engine, clock, down)).get("retry") == 1  # nobody listens: tried again later
    [row] = emails(engine)
    assert row.failures == 2 and row.status == OutboxStatus.PENDING
    with Session(engine) as s:
        assert s.exec(select(EmailPreference)).first() is None  # a temporary failure bounces nothing
    clock.advance(timedelta(minutes=10))
    with mailbox() as box:
        assert (await deliver(engine, clock, box.settings())).get("sent") == 1
        assert box.only()["To"] == LENA


async def test_one_click_unsubscribe_stops_that_kind_only(
        engine: Engine, clock: ManualClock, core: Core, chat: Chat, lena_by_email: dict[str, int]) -> None:
    readiness = lena_by_email["readiness"]
    prompt(engine, core.registry, readiness, "2026-Q1", APR_1)
    with mailbox() as box:
        await deliver(engine, clock, box.settings())
        path = link(box.only()["List-Unsubscribe"], "/unsubscribe")
    async with client_for(core) as client:
        page = await client.get(path)  # a link checker opening the page changes nothing
        assert page.status == 200 and "Stop data requests" in await page.text()
        with Session(engine) as s:
            assert mail.may_send(s, s.get(Member, _id(engine, "lena")), "prompts") == ""  # type: ignore[arg-type]
        done = await client.post(path, data={"List-Unsubscribe": "One-Click"})
        assert done.status == 200 and "You will not get data requests by email any more" in await done.text()
        assert (await client.post(path)).status == 200  # twice is fine
    before = len(emails(engine))
    prompt(engine, core.registry, lena_by_email["enrolled"], "2026-Q1", APR_1)  # not her indicator: no change
    with Session(engine) as s:
        lena = s.get(Member, _id(engine, "lena"))
        assert lena is not None
        assert mail.recipients(s, [lena.id or 0], "prompts") == []
        assert [m.key for m in mail.recipients(s, [lena.id or 0], "digests")] == ["lena"]
    assert len(emails(engine)) == before
    assert f"also go to {LENA}" in text_of(chat.as_("lena").say("/ci email on"))
    with Session(engine) as s:
        assert [m.key for m in mail.recipients(s, [_id(engine, "lena")], "prompts")] == ["lena"]  # on clears it


async def test_members_choose_email_and_say_so_clearly(
        engine: Engine, clock: ManualClock, core: Core, chat: Chat, lena_by_email: dict[str, int]) -> None:
    with Session(engine) as s:
        aisha = s.exec(select(Member).where(Member.key == "aisha")).one()
        aisha.email = "aisha@firststeps.example"
        s.add(aisha)
        s.commit()
    assert "/ci email on sends" in text_of(chat.as_("aisha").say("/ci email"))
    assert "also go to aisha@firststeps.example" in text_of(chat.as_("aisha").say("/ci email on"))
    assert "Write on or off" in text_of(chat.as_("aisha").say("/ci email maybe"))
    assert "Write on or off" in text_of(chat.as_("aisha").say("/ci email on please"))
    assert "no email address" in text_of(chat.as_("tom").say("/ci email on"))
    prompt(engine, core.registry, lena_by_email["enrolled"], "2026-Q1", APR_1)
    assert sorted(m.key.split("@")[-1] for m in emails(engine)) == [f"email:{_id(engine, 'aisha')}"]
    assert "Nothing is emailed" in text_of(chat.as_("lena").say("/ci email off"))
    prompt(engine, core.registry, lena_by_email["readiness"], "2026-Q1", APR_1)
    assert f"email:{_id(engine, 'lena')}" not in [m.key.split("@")[-1] for m in emails(engine)]


def test_smtp_settings_say_what_to_write() -> None:
    assert EmailSettings.from_env({}) is None
    found = EmailSettings.from_env({"SMTP_URL": "smtps://bot%40x:p%3Ass@mail.example:2465",
                                    "SMTP_FROM": "cibot <cibot@riverbend.example>"})
    assert found == EmailSettings("mail.example", 2465, "bot@x", "p:ss", True, "cibot <cibot@riverbend.example>")
    assert EmailSettings.from_env({"SMTP_URL": "smtp://h", "SMTP_FROM": "a@b.example"}).port == 587  # type: ignore[union-attr]
    for env, says in (({"SMTP_URL": "http://h"}, "smtp://user:password@host:587"),
                      ({"SMTP_URL": "smtp://h:port"}, "not a number"),
                      ({"SMTP_URL": "smtp://h"}, "SMTP_FROM must be")):
        with pytest.raises(EmailConfigError, match=says):
            EmailSettings.from_env(env)


async def test_meeting_reminders_reach_members_by_email_and_agendas_do_not(
        engine: Engine, clock: ManualClock, chat: Chat) -> None:
    seeded = seed(engine)
    email_only(engine, seeded, "lena", LENA)
    add_series(chat, "families", "Family engagement", "weekly on wed at 17:00", "--reminders 24h")
    async with running_scheduler(engine, clock) as scheduler:
        walk(scheduler, engine, datetime(2026, 3, 5, tzinfo=UTC))
    keys = [m.key for m in emails(engine)]
    assert outbox(engine, "meeting.agenda:")  # the agenda went to the channel, not by email
    assert keys and all(k.startswith("meeting.reminder.1440m:") and k.endswith(f"@email:{_id(engine, 'lena')}")
                        for k in keys)
    with mailbox() as box:
        await deliver(engine, clock, box.settings())
        text, _html = parts(box.messages[0])
    assert box.messages[0]["Subject"] == "Reminder: Family engagement" and "Stop these meeting reminders" in text


def test_config_check_names_email_problems_and_never_prints_the_password(tmp_path: Path) -> None:
    key = tmp_path / "key"
    key.write_text("k" * 64 + "\n")
    db = f"sqlite:///{tmp_path}/c.db"
    checked = cibot("config", "check", "--platform", "slack", db=db, **SLACK,
                    SMTP_URL="smtp://bot:mail-secret@127.0.0.1:2525", SMTP_FROM="cibot@riverbend.example",
                    CIBOT_SECRET_KEY_FILE=str(key))
    assert checked.returncode == 0, checked.stdout
    assert "ok  SMTP_URL: smtp://127.0.0.1:2525, from cibot@riverbend.example" in checked.stdout
    assert "ok  CIBOT_SECRET_KEY: set (64 characters)" in checked.stdout and "mail-secret" not in checked.stdout
    wrong = cibot("config", "check", "--platform", "slack", db=db, **SLACK, SMTP_URL="smtp://127.0.0.1:2525",
                  CIBOT_SECRET_KEY="short")
    assert wrong.returncode == 1 and "BAD SMTP_URL / SMTP_FROM: SMTP_FROM must be" in wrong.stdout
    weak = cibot("config", "check", "--platform", "slack", db=db, **SLACK, SMTP_URL="smtp://127.0.0.1:2525",
                 SMTP_FROM="cibot@riverbend.example", CIBOT_SECRET_KEY="short")
    assert "BAD CIBOT_SECRET_KEY: needs at least 32 characters" in weak.stdout


def test_a_title_cannot_smuggle_headers_and_user_text_stays_text() -> None:
    reply = Reply(title="Agenda\r\nBcc: everyone@elsewhere.example",
                  sections=[EMAIL.render_string("{{ x|b }} {{ y }}", x="<script>alert(1)</script>",
                                                y='<a href="https://evil.example">click</a>')])
    message = build(reply, Envelope("cibot@riverbend.example", LENA, "riverbend.example",
                                    "http://localhost:3000/unsubscribe/t", "digests"), key="digest:1:2026-W10")
    assert message["Subject"] == "Agenda" and message["Bcc"] is None
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "<script>" not in html and "&lt;script&gt;" in html and 'href="https://evil.example"' not in html
    assert '<script>alert(1)</script> <a href="https://evil.example">click</a>' in text  # shown as typed, inert


async def test_a_member_who_left_cannot_use_their_old_link(
        engine: Engine, clock: ManualClock, core: Core, lena_by_email: dict[str, int]) -> None:
    value = f"{lena_by_email['readiness']}:2026-Q1:{_reporter(engine, lena_by_email['readiness'], 'lena')}"
    token = tokens.sign(tokens.SUBMIT_FORM, {"m": _id(engine, "lena"), "v": value}, APR_1 + timedelta(days=30))
    async with client_for(core) as client:
        assert (await client.get(f"/submit/{token}")).status == 200
        with Session(engine) as s:
            lena = s.get(Member, _id(engine, "lena"))
            assert lena is not None
            lena.active = False
            s.add(lena)
            s.commit()
        answer = await client.post(f"/submit/{token}", data={"value": "70"})
        assert answer.status == 403 and "This form cannot be opened" in await answer.text()
    assert lenas_value(engine, lena_by_email["readiness"]) is None
