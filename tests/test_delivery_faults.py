"""Delivery faults with real parts: a crash while the channel got busy, a slow in-doubt look-up,
a 429 storm over App Home answers, and messages for a platform that is not being served."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.adapters.slack import sender as slack_sender
from bot.adapters.slack.sender import SlackSender
from bot.adapters.slack.settings import SlackSettings
from bot.core.core import Core
from bot.core.delivery import Target
from bot.core.messages import Reply
from bot.runtime.dispatcher import Dispatcher
from bot.runtime.outbox import abandon_days, enqueue, purge
from storage.db import make_engine
from storage.outbox import OutboxMessage, OutboxStatus
from tests.chat import Chat, text_of
from tests.factories import SLACK_TEAM, seed
from tests.fake_slack_api import SIGNING_SECRET, FakeSlackApi, SlackSide, cibot_on_slack
from tests.process_helpers import cibot
from tests.test_serve import loaded_database, start_serving

STEERING = Target("slack", SLACK_TEAM, channel_id="CSTEER")
DATA = Target("slack", SLACK_TEAM, channel_id="CDATA")


def sender_for(api: FakeSlackApi) -> SlackSender:
    """The Slack sender `cibot serve` gives the dispatcher (no SDK retry of 429s), on the fake API."""
    return SlackSender(SlackSettings("xoxb-test", SIGNING_SECRET, api_url=api.api_url)
                       .web_client(retry_rate_limited=False))


def keyed(api: FakeSlackApi, channel: str) -> Counter[str]:
    """How many messages carrying each outbox key Slack holds in `channel`."""
    return Counter(m["metadata"]["event_payload"]["key"] for m in api.messages(channel) if m.get("metadata"))


def queue(engine: Engine, key: str, target: Target, text: str) -> None:
    with Session(engine) as session:
        enqueue(session, key, target, Reply(title=text))
        session.commit()


def row(engine: Engine, key: str) -> OutboxMessage:
    with Session(engine) as session:
        return session.exec(select(OutboxMessage).where(OutboxMessage.key == key)).one()


def left_in_doubt(engine: Engine, key: str, claimed_at: datetime) -> None:
    """Mark `key` as claimed by a dispatcher that died before recording the send."""
    with Session(engine) as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.key == key)  # type: ignore[arg-type]
                        .values(status=OutboxStatus.SENDING, claim="dead-dispatcher", claimed_at=claimed_at))
        session.commit()


async def test_a_crash_then_sixty_messages_in_the_channel_still_sends_nothing_twice(
        engine: Engine, api: FakeSlackApi, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(engine)
    monkeypatch.setattr(slack_sender, "FIND_PAGE", 25)  # so the look-up has to follow the cursor over pages
    key = "meeting.reminder.60m:cadence-1:20261210T1600Z@slack:CSTEER"
    queue(engine, key, STEERING, "Steering meets in 1 h")
    api.delay("chat.postMessage", 2)  # Slack keeps the message; its answer never reaches the dying bot
    dying = asyncio.create_task(Dispatcher(engine, {"slack": sender_for(api)}).run())
    await api.wait_for("chat.postMessage")
    dying.cancel()  # the process dies between posting and recording
    await asyncio.gather(dying, return_exceptions=True)
    assert row(engine, key).status == OutboxStatus.SENDING
    api.delay("chat.postMessage", 0)
    for n in range(60):  # the channel gets busy while the bot is down
        api.add_message("CSTEER", f"human message {n}")

    counts = await Dispatcher(engine, {"slack": sender_for(api)}).drain()

    assert keyed(api, "CSTEER") == Counter({key: 1})
    assert len(api.messages("CSTEER")) == 61
    assert counts["found"] == 1 and counts["resend"] == 0
    settled = row(engine, key)
    assert settled.status == OutboxStatus.SENT and settled.message_id == api.messages("CSTEER")[0]["ts"]
    pages = api.of("conversations.history")
    assert len(pages) == 3 and pages[1].params.get("cursor") and "oldest" in pages[0].params


async def test_a_new_message_to_another_channel_goes_out_while_an_in_doubt_look_up_is_slow(
        engine: Engine, api: FakeSlackApi) -> None:
    seed(engine)
    doubtful = "decision.card:7@slack:CSTEER"
    queue(engine, doubtful, STEERING, "Decision #7")
    left_in_doubt(engine, doubtful, datetime.now(UTC) - timedelta(seconds=5))
    queue(engine, "agenda:cadence-2:20261210T1600Z@slack:CDATA", DATA, "Agenda")
    queue(engine, "after:cadence-1@slack:CSTEER", STEERING, "Posted after the card")
    api.delay("conversations.history", 3)  # Slack is slow to answer the look-up

    started = time.monotonic()
    dispatcher = asyncio.create_task(Dispatcher(engine, {"slack": sender_for(api)}).run())
    try:
        data_post = await api.wait_for("chat.postMessage", timeout=2.0)
        assert data_post.params["channel"] == "CDATA"
        assert data_post.at - started < 2.0
        assert row(engine, doubtful).status == OutboxStatus.SENDING  # still being looked up
        second = await api.wait_for("chat.postMessage", 2, timeout=10.0)
        await api.wait_for("chat.postMessage", 3, timeout=5.0)
    finally:
        dispatcher.cancel()
        await asyncio.gather(dispatcher, return_exceptions=True)
    # the look-up answered "not there": the card went again, before the message queued after it in its channel
    assert second.params["channel"] == "CSTEER"
    assert second.at >= api.of("conversations.history")[0].at + 3.0
    assert list(keyed(api, "CSTEER")) == [doubtful, "after:cadence-1@slack:CSTEER"]


@pytest.fixture
async def slack(core: Core, api: FakeSlackApi) -> AsyncIterator[SlackSide]:
    async with cibot_on_slack(core, api) as side:
        yield side


async def test_an_app_home_confirmation_survives_a_429_storm_and_the_home_is_published_again(
        engine: Engine, chat: Chat, slack: SlackSide, api: FakeSlackApi) -> None:
    seed(engine)
    assert "Send the Q3 numbers" in text_of(chat.as_("maria").say(
        "/ci action @aisha Send the Q3 numbers --group steering"))
    await slack.open_home("UAISHA")
    home = (await api.wait_for("views.publish")).view
    done = next(e for b in home["blocks"] if b["type"] == "actions" for e in b["elements"]
                if e["text"]["text"].startswith("Done #"))
    dispatcher = asyncio.create_task(Dispatcher(engine, {"slack": sender_for(api)}).run())
    try:
        storm_ends = api.rate_limit_storm(("chat.postMessage", "views.publish"), seconds=2.5, retry_after=1)
        assert (await slack.click("UAISHA", done, channel=None))[0] == 200
        deadline = time.monotonic() + 10
        while len(api.messages("DAISHA")) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await slack.settle()
        await asyncio.sleep(1.5)  # time enough for a second copy, if there were one
    finally:
        dispatcher.cancel()
        await asyncio.gather(dispatcher, return_exceptions=True)
    refused = [c for c in api.of("chat.postMessage") if c.at < storm_ends]
    assert refused, "the confirmation met the storm"
    delivered = [m for m in api.messages("DAISHA")
                 if m["metadata"]["event_payload"]["key"].startswith("slack.reply:")]  # not the "you were given" DM
    assert len(delivered) == 1, delivered
    assert delivered[0]["text"] == "Action #1 “Send the Q3 numbers” is done. Thank you!"
    republished = [c for c in api.of("views.publish") if c.at >= storm_ends]
    assert republished and republished[-1].params["user_id"] == "UAISHA"
    labels = [e["text"]["text"] for b in republished[-1].view["blocks"] if b["type"] == "actions"
              for e in b["elements"]]
    assert done["text"]["text"] not in labels


# -- a platform that is not served ------------------------------------------------------------------


def discord_rows(engine: Engine, count: int, created: datetime) -> list[str]:
    """Queue `count` messages to a Discord channel, as queued at `created`; their keys."""
    keys = [f"meeting.reminder.60m:cadence-{n}:20261210T1600Z@discord:981234567890200001" for n in range(count)]
    target = Target("discord", "981234567890123456", channel_id="981234567890200001")
    with Session(engine) as session:
        for key in keys:
            enqueue(session, key, target, Reply(title="Reminder"))
        session.execute(update(OutboxMessage).where(col(OutboxMessage.platform) == "discord")  # type: ignore[arg-type]
                        .values(created_at=created))
        session.commit()
    return keys


def test_serving_only_slack_says_at_start_that_discord_messages_wait(tmp_path: Path, api: FakeSlackApi) -> None:
    db = loaded_database(tmp_path)
    engine = make_engine(db)
    discord_rows(engine, 3, datetime.now(UTC))
    engine.dispose()
    running = start_serving(db, api)
    code, err = running.stop(signal.SIGTERM)
    assert code == 0, err
    said = [line for line in err.splitlines() if "not served" in line]
    assert len(said) == 1, err
    assert "discord" in said[0] and "3 outbox message(s) wait" in said[0]


def test_pending_messages_of_an_unserved_platform_are_failed_after_the_abandon_days(
        engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    seed(engine)
    now = datetime.now(UTC)
    old = discord_rows(engine, 2, now - timedelta(days=8))
    queue(engine, "reminder:fresh@slack:CSTEER", STEERING, "Fresh Slack message")
    with Session(engine) as session:  # a Slack message waiting as long, but Slack's dispatcher claims messages
        session.execute(update(OutboxMessage).where(col(OutboxMessage.platform) == "slack")  # type: ignore[arg-type]
                        .values(created_at=now - timedelta(days=9)))
        enqueue(session, "sent:earlier@slack:CDATA", DATA, Reply(title="Sent yesterday"))
        session.execute(update(OutboxMessage).where(col(OutboxMessage.key) == "sent:earlier@slack:CDATA")
                        .values(status=OutboxStatus.SENT, claimed_at=now - timedelta(days=1)))
        session.commit()
    monkeypatch.delenv("CIBOT_OUTBOX_ABANDON_DAYS", raising=False)
    with Session(engine) as session:
        purge(session, now - timedelta(days=2))  # after 6 days nothing is given up yet
        session.commit()
    assert {row(engine, key).status for key in old} == {OutboxStatus.PENDING}
    with caplog.at_level(logging.WARNING, logger="bot.runtime.outbox"), Session(engine) as session:
        purge(session, now)
        session.commit()
    for key in old:
        failed = row(engine, key)
        assert failed.status == OutboxStatus.FAILED
        assert failed.last_error.startswith("abandoned: no discord dispatcher claimed any message for 7 days")
    assert row(engine, "reminder:fresh@slack:CSTEER").status == OutboxStatus.PENDING
    assert any("failed 2 discord message(s)" in r.getMessage() for r in caplog.records)
    monkeypatch.setenv("CIBOT_OUTBOX_ABANDON_DAYS", "30")
    assert abandon_days() == 30


def test_operators_see_retry_and_drop_outbox_messages(db_url: str, engine: Engine) -> None:
    seed(engine)
    discord_rows(engine, 1, datetime.now(UTC) - timedelta(days=3, hours=2))
    queue(engine, "reminder:a@slack:CSTEER", STEERING, "Secret body text")
    queue(engine, "reminder:b@slack:CDATA", DATA, "Another body")
    with Session(engine) as session:
        session.execute(update(OutboxMessage).where(col(OutboxMessage.key) == "reminder:a@slack:CSTEER")
                        .values(status=OutboxStatus.FAILED, failures=6, last_error="channel_not_found"))
        session.commit()

    status = cibot("outbox", "status", db=db_url)
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    assert lines[0].split() == ["platform", "pending", "sending", "sent", "failed"]
    assert lines[1].split() == ["discord", "1", "0", "0", "0"] and lines[2].split() == ["slack", "1", "0", "0", "1"]
    assert "oldest pending: 3 d 2 h (discord)" in status.stdout

    listed = cibot("outbox", "list", "-n", "2", db=db_url)
    assert listed.returncode == 0, listed.stderr
    first, second = listed.stdout.splitlines()
    assert "reminder:b@slack:CDATA" in first and "pending" in first and "T1/CDATA" in first
    assert "reminder:a@slack:CSTEER" in second and "failures 6" in second and "channel_not_found" in second
    assert "body" not in listed.stdout.lower()

    a, b = (row(engine, k).id for k in ("reminder:a@slack:CSTEER", "reminder:b@slack:CDATA"))
    retried = cibot("outbox", "retry", str(a), db=db_url)
    assert retried.returncode == 0 and "1 message(s) back to pending" in retried.stdout
    again = row(engine, "reminder:a@slack:CSTEER")
    assert (again.status, again.failures, again.last_error) == (OutboxStatus.PENDING, 0, "")

    dropped = cibot("outbox", "drop", str(b), db=db_url)
    assert dropped.returncode == 0, dropped.stderr
    gone = row(engine, "reminder:b@slack:CDATA")
    assert (gone.status, gone.last_error) == (OutboxStatus.FAILED, "dropped by operator")
    assert "1 message(s) back to pending" in cibot("outbox", "retry", "--failed", db=db_url).stdout
    assert row(engine, "reminder:b@slack:CDATA").status == OutboxStatus.PENDING

    with Session(engine) as session:
        session.execute(update(OutboxMessage).where(col(OutboxMessage.id) == b).values(status=OutboxStatus.SENT))
        session.commit()
    refused = cibot("outbox", "drop", str(b), db=db_url)
    assert refused.returncode == 2 and "it was sent" in refused.stderr
    unknown = cibot("outbox", "retry", "999", db=db_url)
    assert unknown.returncode == 2 and "no outbox message 999" in unknown.stderr
