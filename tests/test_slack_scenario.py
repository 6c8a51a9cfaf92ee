"""The shared stories played on Slack, and hostile glossary text as Slack would show it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from bot.adapters.slack.sender import SlackSender
from bot.adapters.slack.settings import SlackSettings
from bot.bootstrap import build_core
from bot.core.clock import ManualClock
from bot.core.core import Core
from bot.glossary.book import TermEntry, upsert_terms
from bot.runtime.dispatcher import UNLIMITED, Dispatcher
from storage.db import session_scope
from tests.factories import Seeded
from tests.fake_slack_api import SIGNING_SECRET, Call, FakeSlackApi, SlackSide, cibot_on_slack
from tests.scenarios import DECISION_STORY, HOSTILE, Seen, play, prepare
from tests.test_slack_app import buttons, mrkdwn, texts


def slack_id(user: str) -> str:
    """The Slack user id of a cast member (``aisha`` -> ``UAISHA``)."""
    return "U" + user.upper()


def as_read(call: Call) -> Seen:
    """What a person sees in a posted message: entities shown as the characters they stand for."""
    shown = texts(call.blocks).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return Seen(text=shown, buttons=list(buttons(call)))


class SlackDriver:
    """Plays scenario steps as signed Slack requests in the steering channel."""

    def __init__(self, slack: SlackSide, engine: Engine | None = None, clock: ManualClock | None = None,
                 restarts: AsyncExitStack | None = None) -> None:
        self.slack = slack
        self.api = slack.api
        self.engine, self.clock, self.restarts = engine, clock, restarts
        self.last: dict[str, Call] = {}
        self.open_view: dict[str, dict[str, Any]] = {}

    async def say(self, user: str, text: str) -> Seen:
        before = len(self.api.of("response_url"))
        status, body = await self.slack.command(slack_id(user), text)
        assert (status, body) == (200, "")
        self.last[user] = await self.api.wait_for("response_url", before + 1)
        return as_read(self.last[user])

    async def click(self, user: str, label: str) -> Seen:
        answers, views = len(self.api.of("response_url")), len(self.api.of("views.open"))
        status, _ = await self.slack.click(slack_id(user), buttons(self.last[user])[label])
        assert status == 200
        await self.slack.settle()
        if len(self.api.of("views.open")) > views:
            view = self.api.of("views.open")[-1].view
            self.open_view[user] = view
            return Seen(form_fields=[b["block_id"] for b in view["blocks"]])
        self.last[user] = await self.api.wait_for("response_url", answers + 1)
        return as_read(self.last[user])

    async def click_posted(self, user: str, label: str) -> Seen:
        """Deliver the outbox with the Slack sender, start a fresh app, and click on the channel post."""
        assert self.engine is not None and self.restarts is not None
        client = SlackSettings("xoxb-test", SIGNING_SECRET, api_url=self.api.api_url).web_client()
        await Dispatcher(self.engine, {"slack": SlackSender(client, interval=0.0)}, self.clock,
                         paces={"slack": UNLIMITED}).drain()
        self.last[user] = next(c for c in reversed(self.api.of("chat.postMessage"))
                               if c.params.get("channel") == "CSTEER" and buttons(c))
        self.slack = await self.restarts.enter_async_context(cibot_on_slack(build_core(self.engine, self.clock),
                                                                            self.api))
        return await self.click(user, label)

    async def submit(self, user: str, values: dict[str, str]) -> Seen:
        answers = len(self.api.of("response_url"))
        status, body = await self.slack.submit(slack_id(user), self.open_view[user], values)
        assert status == 200
        if body:
            answer = json.loads(body)
            assert answer["response_action"] == "errors"
            return Seen(errors=answer["errors"])
        self.last[user] = await self.api.wait_for("response_url", answers + 1)
        return as_read(self.last[user])


@pytest.fixture
def seeded(engine: Engine) -> Seeded:
    return prepare(engine)


@pytest.fixture
async def slack(core: Core, api: FakeSlackApi, seeded: Seeded) -> AsyncIterator[SlackSide]:
    async with cibot_on_slack(core, api) as side:
        yield side


async def test_glossary_story_on_slack(slack: SlackSide) -> None:
    await play(SlackDriver(slack))


async def test_decision_story_on_slack(slack: SlackSide, engine: Engine, clock: ManualClock) -> None:
    async with AsyncExitStack() as restarts:
        await play(SlackDriver(slack, engine, clock, restarts), DECISION_STORY)


async def test_hostile_definitions_are_posted_inert(slack: SlackSide, engine: Engine, seeded: Seeded) -> None:
    with session_scope(engine) as session:
        upsert_terms(session, seeded.initiative_id, [TermEntry(
            term="Backbone", definition="<!channel> <!here> <@UJAMES> <https://evil|click> &lt;")])
    driver = SlackDriver(slack)
    for term, expected in (
        ("backbone", "&lt;!channel&gt; &lt;!here&gt; &lt;@UJAMES&gt; &lt;https://evil|click&gt; &amp;lt;"),
        ("common agenda", "&lt;!channel&gt; @everyone &lt;@UJAMES&gt; [click](https://evil.example) "
                          "&lt;https://evil.example|here&gt;"),
    ):
        await driver.say("maria", f"glossary {term}")
        posted = driver.last["maria"]
        assert expected in mrkdwn(posted.blocks)
        for shown in (mrkdwn(posted.blocks), posted.params["text"]):
            assert "<!" not in shown and "<@" not in shown and "<http" not in shown
    assert HOSTILE in as_read(driver.last["maria"]).text


async def test_member_home_has_groups_roles_and_glossary(slack: SlackSide) -> None:
    await slack.open_home("UMARIA")
    view = (await slack.api.wait_for("views.publish")).view
    headers = [b["text"]["text"] for b in view["blocks"] if b["type"] == "header"]
    assert headers == ["Riverbend Early Childhood Collective", "Your groups and roles", "Glossary"]
    shown = texts(view["blocks"])
    assert "*Backbone team*\nStaff · backbone" in shown
    assert "*Steering committee*\nStaff · steering committee" in shown
