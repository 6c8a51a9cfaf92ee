"""SlackSender, the outbox's way into Slack: pacing per channel, DMs, 429 Retry-After, refusals,
and the outbox key in message metadata that lets a restarted dispatcher find what it already sent."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.adapters.slack.sender import SlackSender
from bot.adapters.slack.settings import SlackSettings
from bot.core.clock import ManualClock
from bot.core.delivery import DeliveryFailed, RateLimited, Target
from bot.core.messages import Button, Image, Reply
from bot.runtime.dispatcher import Dispatcher, Pace
from bot.runtime.outbox import enqueue
from storage.db import session_scope
from storage.outbox import OutboxMessage, OutboxStatus
from tests.factories import SLACK_TEAM, seed
from tests.fake_slack_api import SIGNING_SECRET, FakeSlackApi

REMINDER = Reply(title="Steering committee meets tomorrow", sections=["*10:00* in Room 4"],
                 buttons=[Button("Add an agenda item", "agenda.propose", "7")])


def slack_sender(api: FakeSlackApi, interval: float = 1.0) -> SlackSender:
    settings = SlackSettings("xoxb-test", SIGNING_SECRET, api_url=api.api_url.rstrip("/"))
    return SlackSender(settings.web_client(retry_rate_limited=False), interval=interval)


@pytest.fixture
def sender(api: FakeSlackApi) -> SlackSender:
    return slack_sender(api)


def keys_posted(api: FakeSlackApi, *channels: str) -> Counter[str]:
    """How many messages carrying each outbox key Slack has in `channels`."""
    return Counter(m["metadata"]["event_payload"]["key"] for c in channels for m in api.messages(c))


async def test_send_posts_blocks_and_returns_the_ts(sender: SlackSender, api: FakeSlackApi) -> None:
    ts = await sender.send(Target("slack", "T1", channel_id="CSTEER"), REMINDER, key="reminder:m1@slack:CSTEER")
    call = api.of("chat.postMessage")[0]
    assert call.token == "xoxb-test"
    assert call.params["channel"] == "CSTEER" and ts == api.messages("CSTEER")[-1]["ts"]
    assert call.params["metadata"] == {"event_type": "cibot_outbox",
                                       "event_payload": {"key": "reminder:m1@slack:CSTEER"}}
    assert [b["type"] for b in call.blocks] == ["header", "section", "actions"]
    assert call.blocks[2]["elements"][0]["action_id"] == "agenda.propose"
    assert call.params["unfurl_links"] is False

    await sender.update(Target("slack", "T1", channel_id="CSTEER"), ts, Reply(sections=["Cancelled"]))
    update = api.of("chat.update")[0]
    assert (update.params["channel"], update.params["ts"]) == ("CSTEER", ts)
    assert update.blocks[0]["text"]["text"] == "Cancelled"


async def test_direct_messages_open_the_dm_once(sender: SlackSender, api: FakeSlackApi) -> None:
    target = Target("slack", "T1", user_id="UAISHA")
    await asyncio.gather(sender.send(target, REMINDER, key="a"), sender.send(target, REMINDER, key="b"))
    assert len(api.of("conversations.open")) == 1
    assert api.of("conversations.open")[0].params["users"] == "UAISHA"
    assert [c.params["channel"] for c in api.of("chat.postMessage")] == ["DAISHA", "DAISHA"]


async def test_posts_to_one_channel_are_a_second_apart_others_are_not_held_up(
        sender: SlackSender, api: FakeSlackApi) -> None:
    steering = Target("slack", "T1", channel_id="CSTEER")
    started = time.monotonic()
    await asyncio.gather(*(sender.send(steering, REMINDER, key=f"k{n}") for n in range(3)),
                         sender.send(Target("slack", "T1", channel_id="CDATA"), REMINDER, key="k3"))
    arrivals = {c.params["channel"]: [] for c in api.of("chat.postMessage")}
    for call in api.of("chat.postMessage"):
        arrivals[call.params["channel"]].append(call.at)
    steer = arrivals["CSTEER"]
    assert len(steer) == 3
    assert min(b - a for a, b in zip(steer, steer[1:], strict=False)) >= 0.95
    assert arrivals["CDATA"][0] - started < 0.9  # not held behind CSTEER's one-second spacing


async def test_429_raises_rate_limited_and_the_retry_waits_retry_after(
        sender: SlackSender, api: FakeSlackApi) -> None:
    api.rate_limit("chat.postMessage", retry_after=1)
    target = Target("slack", "T1", channel_id="CSTEER")
    with pytest.raises(RateLimited) as limited:
        await sender.send(target, REMINDER, key="k")
    assert limited.value.retry_after == 1.0
    ts = await sender.send(target, REMINDER, key="k")  # what the dispatcher does next; the sender waits it out
    first, second = api.of("chat.postMessage")
    assert second.at - first.at >= 0.95
    assert ts
    assert len(api.of("chat.postMessage")) == 2
    assert keys_posted(api, "CSTEER") == {"k": 1}  # the refused post left nothing behind


async def test_refusals_that_retrying_cannot_fix_are_delivery_failures(
        sender: SlackSender, api: FakeSlackApi) -> None:
    api.fail("chat.postMessage", "channel_not_found")
    with pytest.raises(DeliveryFailed, match="channel_not_found"):
        await sender.send(Target("slack", "T1", channel_id="CGONE"), REMINDER, key="k")


async def test_a_chart_is_uploaded_after_its_message(sender: SlackSender, api: FakeSlackApi) -> None:
    chart = Reply(title="Kindergarten readiness", sections=["62% ready"],
                  image=Image(b"\x89PNG\r\n\x1a\n" + b"0" * 100, "Readiness rose from 55% to 62%", "ready.png"))
    await sender.send(Target("slack", "T1", channel_id="CDATA"), chart, key="progress:q1@slack:CDATA")
    posted = api.of("chat.postMessage")[0]
    assert posted.blocks[-1] == {"type": "context", "elements": [
        {"type": "plain_text", "text": "\N{BAR CHART} Readiness rose from 55% to 62%", "emoji": True}]}
    assert api.of("upload")[0].params["size"] == 108
    completed = api.of("files.completeUploadExternal")[0]
    assert completed.params["channel_id"] == "CDATA"
    assert completed.at > posted.at


async def test_find_returns_the_ts_of_the_message_with_the_key(sender: SlackSender, api: FakeSlackApi) -> None:
    steering = Target("slack", "T1", channel_id="CSTEER")
    first = await sender.send(steering, REMINDER, key="reminder:m1@slack:CSTEER")
    second = await sender.send(steering, REMINDER, key="reminder:m2@slack:CSTEER")
    assert await sender.find(steering, "reminder:m1@slack:CSTEER") == first
    assert await sender.find(steering, "reminder:m2@slack:CSTEER") == second
    assert await sender.find(steering, "reminder:m3@slack:CSTEER") is None
    assert await sender.find(Target("slack", "T1", channel_id="CDATA"), "reminder:m1@slack:CSTEER") is None
    history = api.of("conversations.history")[0]
    assert history.params == {"channel": "CSTEER", "include_all_metadata": "1", "limit": "200"}


async def test_find_in_a_direct_message_reads_the_dm_channel(sender: SlackSender, api: FakeSlackApi) -> None:
    aisha = Target("slack", "T1", user_id="UAISHA")
    ts = await sender.send(aisha, REMINDER, key="nudge:q1@slack:UAISHA")
    assert await sender.find(aisha, "nudge:q1@slack:UAISHA") == ts
    assert await slack_sender(api).find(aisha, "nudge:q1@slack:UAISHA") == ts  # a restarted bot opens the DM
    assert [c.params["channel"] for c in api.of("conversations.history")] == ["DAISHA", "DAISHA"]
    assert len(api.of("conversations.open")) == 2


async def test_find_says_what_it_cannot_know(sender: SlackSender, api: FakeSlackApi) -> None:
    steering = Target("slack", "T1", channel_id="CSTEER")
    api.fail("conversations.history", "not_in_channel")  # the bot cannot post there either: resend, and fail
    assert await sender.find(steering, "k") is None
    api.fail("conversations.history", "missing_scope")  # the message may be there: stay in doubt
    with pytest.raises(DeliveryFailed, match="missing_scope"):
        await sender.find(steering, "k")
    api.rate_limit("conversations.history", retry_after=2)
    with pytest.raises(RateLimited):
        await sender.find(steering, "k")


async def test_dispatcher_recovers_in_doubt_messages_without_sending_twice(
        engine: Engine, clock: ManualClock, api: FakeSlackApi) -> None:
    seed(engine)
    steering = Target("slack", SLACK_TEAM, channel_id="CSTEER")
    data = Target("slack", SLACK_TEAM, channel_id="CDATA")
    aisha = Target("slack", SLACK_TEAM, user_id="UAISHA")
    messages = {"agenda:m1@slack:CSTEER": steering, "reminder:m1@slack:CSTEER": steering,
                "prompt:q1@slack:CDATA": data, "nudge:q1@slack:UAISHA": aisha}
    with session_scope(engine) as session:
        for key, target in messages.items():
            enqueue(session, key, target, Reply("Steering committee meets tomorrow", sections=[key]))
    # A dispatcher claimed two messages and died: it had posted one to Slack, not the other.
    dead = slack_sender(api, interval=0.0)
    posted = await dead.send(steering, Reply("Steering committee meets tomorrow"), key="agenda:m1@slack:CSTEER")
    with session_scope(engine) as session:
        for message in session.exec(select(OutboxMessage).where(
                OutboxMessage.key.in_(["agenda:m1@slack:CSTEER", "nudge:q1@slack:UAISHA"]))):  # type: ignore[attr-defined]
            message.status, message.claim, message.claimed_at = OutboxStatus.SENDING, "dead", clock.now()

    dispatcher = Dispatcher(engine, {"slack": slack_sender(api, interval=0.0)}, clock,
                            paces={"slack": Pace(channel_interval=0.0, workspace_rate=0.0)})
    counts = await dispatcher.drain()

    assert (counts["found"], counts["resend"], counts["sent"]) == (1, 1, 3)
    assert keys_posted(api, "CSTEER", "CDATA", "DAISHA") == dict.fromkeys(messages, 1)
    with session_scope(engine) as session:
        outbox = {m.key: m for m in session.exec(select(OutboxMessage))}
        assert {m.status for m in outbox.values()} == {OutboxStatus.SENT}
        assert outbox["agenda:m1@slack:CSTEER"].message_id == posted
    assert (await dispatcher.drain()).total() == 0
    assert len(api.of("chat.postMessage")) == 4
