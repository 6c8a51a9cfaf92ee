"""SlackSender, the outbox's way into Slack: pacing per channel, DMs, 429 Retry-After, refusals."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from bot.adapters.slack import SlackSender, SlackSettings
from bot.core.delivery import DeliveryFailed, RateLimited, Target
from bot.core.messages import Button, Image, Reply
from tests.fake_slack_api import SIGNING_SECRET, FakeSlackApi

REMINDER = Reply(title="Steering committee meets tomorrow", sections=["*10:00* in Room 4"],
                 buttons=[Button("Add an agenda item", "agenda.propose", "7")])


@pytest.fixture
def api() -> Iterator[FakeSlackApi]:
    with FakeSlackApi() as fake:
        yield fake


@pytest.fixture
def sender(api: FakeSlackApi) -> SlackSender:
    settings = SlackSettings("xoxb-test", SIGNING_SECRET, api_url=api.api_url.rstrip("/"))
    return SlackSender(settings.web_client(retry_rate_limited=False))


async def test_send_posts_blocks_and_returns_the_ts(sender: SlackSender, api: FakeSlackApi) -> None:
    ts = await sender.send(Target("slack", "T1", channel_id="CSTEER"), REMINDER)
    call = api.of("chat.postMessage")[0]
    assert call.token == "xoxb-test"
    assert call.params["channel"] == "CSTEER" and ts.startswith("1700000000.")
    assert [b["type"] for b in call.blocks] == ["header", "section", "actions"]
    assert call.blocks[2]["elements"][0]["action_id"] == "agenda.propose"
    assert call.params["unfurl_links"] is False

    await sender.update(Target("slack", "T1", channel_id="CSTEER"), ts, Reply(sections=["Cancelled"]))
    update = api.of("chat.update")[0]
    assert (update.params["channel"], update.params["ts"]) == ("CSTEER", ts)
    assert update.blocks[0]["text"]["text"] == "Cancelled"


async def test_direct_messages_open_the_dm_once(sender: SlackSender, api: FakeSlackApi) -> None:
    target = Target("slack", "T1", user_id="UAISHA")
    await asyncio.gather(sender.send(target, REMINDER), sender.send(target, REMINDER))
    assert len(api.of("conversations.open")) == 1
    assert api.of("conversations.open")[0].params["users"] == "UAISHA"
    assert [c.params["channel"] for c in api.of("chat.postMessage")] == ["DAISHA", "DAISHA"]


async def test_posts_to_one_channel_are_a_second_apart_others_are_not_held_up(
        sender: SlackSender, api: FakeSlackApi) -> None:
    steering = Target("slack", "T1", channel_id="CSTEER")
    started = time.monotonic()
    await asyncio.gather(*(sender.send(steering, REMINDER) for _ in range(3)),
                         sender.send(Target("slack", "T1", channel_id="CDATA"), REMINDER))
    arrivals = {c.params["channel"]: [] for c in api.of("chat.postMessage")}
    for call in api.of("chat.postMessage"):
        arrivals[call.params["channel"]].append(call.at)
    steer = arrivals["CSTEER"]
    assert len(steer) == 3
    assert min(b - a for a, b in zip(steer, steer[1:], strict=False)) >= 0.95
    assert arrivals["CDATA"][0] - started < 0.5


async def test_429_raises_rate_limited_and_the_retry_waits_retry_after(
        sender: SlackSender, api: FakeSlackApi) -> None:
    api.rate_limit("chat.postMessage", retry_after=1)
    target = Target("slack", "T1", channel_id="CSTEER")
    with pytest.raises(RateLimited) as limited:
        await sender.send(target, REMINDER)
    assert limited.value.retry_after == 1.0
    ts = await sender.send(target, REMINDER)  # what the dispatcher does next; the sender waits it out
    first, second = api.of("chat.postMessage")
    assert second.at - first.at >= 0.95
    assert ts
    assert len(api.of("chat.postMessage")) == 2


async def test_refusals_that_retrying_cannot_fix_are_delivery_failures(
        sender: SlackSender, api: FakeSlackApi) -> None:
    api.fail("chat.postMessage", "channel_not_found")
    with pytest.raises(DeliveryFailed, match="channel_not_found"):
        await sender.send(Target("slack", "T1", channel_id="CGONE"), REMINDER)


async def test_a_chart_is_uploaded_after_its_message(sender: SlackSender, api: FakeSlackApi) -> None:
    chart = Reply(title="Kindergarten readiness", sections=["62% ready"],
                  image=Image(b"\x89PNG\r\n\x1a\n" + b"0" * 100, "Readiness rose from 55% to 62%", "ready.png"))
    await sender.send(Target("slack", "T1", channel_id="CDATA"), chart)
    posted = api.of("chat.postMessage")[0]
    assert posted.blocks[-1] == {"type": "context", "elements": [
        {"type": "plain_text", "text": "\N{BAR CHART} Readiness rose from 55% to 62%", "emoji": True}]}
    assert api.of("upload")[0].params["size"] == 108
    completed = api.of("files.completeUploadExternal")[0]
    assert completed.params["channel_id"] == "CDATA"
    assert completed.at > posted.at
