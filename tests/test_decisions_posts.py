"""The vote count on the channel post, end to end: a click in Slack, the leader's refresher, chat.update.

Slack is the local fake Web API; the bot is the real Slack app and the real
leader background of `cibot serve` (scheduler, dispatcher, post refresher).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.adapters.slack.sender import SlackSender
from bot.adapters.slack.settings import SlackSettings
from bot.bootstrap import build_core, build_registry
from bot.decisions.posts import refresh_posts
from bot.serve import background
from storage.decisions import Decision
from tests.factories import seed
from tests.fake_slack_api import SIGNING_SECRET, Call, FakeSlackApi, cibot_on_slack

REGISTRY = build_registry()


def slack_sender(api: FakeSlackApi) -> SlackSender:
    settings = SlackSettings("xoxb-test", SIGNING_SECRET, api_url=api.api_url.rstrip("/"))
    return SlackSender(settings.web_client(retry_rate_limited=False), interval=0.0)


def shown(call: Call) -> str:
    """Every text of a posted or updated message, one per line."""
    parts: list[str] = []
    for block in call.blocks:
        parts += [block["text"]["text"]] if "text" in block else []
        parts += [f["text"] for f in block.get("fields", [])]
        parts += [e["text"] if isinstance(e.get("text"), str) else "" for e in block.get("elements", [])]
    return "\n".join(parts)


async def until_shown(engine: Engine, timeout: float = 10.0) -> None:
    """Wait until the refresher has recorded that every decision's posts show its latest version."""
    for _ in range(int(timeout / 0.1)):
        with Session(engine) as s:
            if all(d.shown_version == d.version for d in s.exec(select(Decision)).all()):
                return
        await asyncio.sleep(0.1)
    raise AssertionError("the channel posts were never marked as up to date")


def vote_button(call: Call, label: str) -> dict[str, Any]:
    return next(e for b in call.blocks if b["type"] == "actions" for e in b["elements"] if e["text"]["text"] == label)


async def test_a_click_in_slack_updates_the_count_on_the_channel_post(engine: Engine, api: FakeSlackApi) -> None:
    seed(engine)  # steering: Slack channel CSTEER (and a Discord channel nobody serves here)
    core = build_core(engine)
    leader = asyncio.create_task(background(core, {"slack": slack_sender(api)}, []))
    try:
        async with cibot_on_slack(core, api) as slack:
            await slack.command("UMARIA", 'propose "Adopt the readiness measure" --closes 3d --anonymous yes')
            post = await api.wait_for("chat.postMessage", timeout=10)
            assert post.params["channel"] == "CSTEER"
            assert "0 of 2 eligible voters have voted" in shown(post)  # a secret count stays hidden
            ts = api.messages("CSTEER")[0]["ts"]

            await slack.click("UAISHA", vote_button(post, "Agree"))
            confirmation = await api.wait_for("response_url", 2, timeout=10)
            assert confirmation.params["response_type"] == "ephemeral"
            assert "Recorded: agree" in json.dumps(confirmation.params)

            update = await api.wait_for("chat.update", timeout=10)
            assert (update.params["channel"], update.params["ts"]) == ("CSTEER", ts)
            assert "1 of 2 eligible voters have voted" in shown(update)
            assert "agree ·" not in shown(update) and "Aisha" not in shown(update)  # secret: how many, not how

            await slack.click("UJAMES", vote_button(post, "Disagree"))
            second = await api.wait_for("chat.update", 2, timeout=10)
            assert "2 of 2 eligible voters have voted" in shown(second) and "agree ·" not in shown(second)
            await until_shown(engine)
    finally:
        leader.cancel()
        await asyncio.gather(leader, return_exceptions=True)


async def test_a_post_on_a_platform_nobody_serves_does_not_cause_endless_edits(
        engine: Engine, api: FakeSlackApi) -> None:
    seed(engine)
    core = build_core(engine)
    sender = slack_sender(api)
    leader = asyncio.create_task(background(core, {"slack": sender}, []))
    try:
        async with cibot_on_slack(core, api) as slack:
            await slack.command("UMARIA", 'propose "Fund a navigator" --closes 3d')
            post = await api.wait_for("chat.postMessage", timeout=10)
            await slack.click("UAISHA", vote_button(post, "Agree"))
            await api.wait_for("chat.update", timeout=10)
            await until_shown(engine)  # the Discord post, which no sender here delivers, does not hold it back
    finally:
        leader.cancel()
        await asyncio.gather(leader, return_exceptions=True)
    # the Discord post stays in the outbox (no Discord sender here): the Slack post is not edited again
    assert await refresh_posts(engine, REGISTRY, {"slack": sender}) == 0
    assert len(api.of("chat.update")) == 1
