"""The Bolt app: `/ci`, button clicks, modal submissions and App Home, each translated to a core call.

Every listener acknowledges Slack first and does the core call afterwards in a
background task, so Slack always hears back within its 3-second deadline. The one
exception is a modal submission, whose field errors must travel in the
acknowledgement itself: the core gets `SUBMIT_BUDGET` seconds to answer, and if it
is slower the modal closes and the answer is posted when it arrives.

Answers go through the interaction's response_url. Those that have none (App Home
buttons, modals opened from App Home) go through the outbox, to the member's direct
messages, under a key unique to the interaction: the dispatcher delivers them like
every message the bot sends, waiting out 429s and surviving restarts, and a Slack
retry of the same interaction queues nothing twice. After an App Home action the
Home is published again when what it shows has changed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from collections.abc import Awaitable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk.web.async_client import AsyncWebClient
from sqlmodel import Session

from bot.adapters.slack.background import Background
from bot.adapters.slack.blocks import ACTION_PATTERN, action_name, home_view
from bot.adapters.slack.dialect import SLACK
from bot.adapters.slack.modals import FormOrigin, form_values, form_view, modal_errors
from bot.adapters.slack.post import Surface, outbox_target, publish_home, show
from bot.adapters.slack.settings import SlackSettings
from bot.core.context import Origin
from bot.core.core import Core
from bot.core.delivery import Target
from bot.core.logs import redact
from bot.core.messages import FormErrors, Reply
from bot.runtime.outbox import enqueue

log = logging.getLogger(__name__)
COMMAND = "/ci"
SUBMIT_BUDGET = 2.0  # seconds the core may take before a modal submission is acknowledged anyway


BOLT_LOGGER = "slack_bolt.cibot"  # the base logger Bolt copies into every logger of its middleware
_REFUSED = "Invalid request signature detected"


class _BoltLines(logging.Filter):
    """What Bolt logs, made safe: a refused request without its body, no misleading token warning.

    Bolt notes a request whose signature is forged or stale with its whole body (user ids,
    typed text); the line keeps only the fact. Every other line passes `redact`, and the
    start-up warning that SLACK_BOT_TOKEN goes unused (the client we hand Bolt holds it) is dropped.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message == warning_client_prioritized_and_token_skipped():
            return False
        if message.startswith(_REFUSED):
            record.msg, record.args = "Refused a request whose signature is wrong or more than 5 minutes old", ()
        elif (cleaned := redact(message)) != message:
            record.msg, record.args = cleaned, ()
        return True


def bolt_logger() -> logging.Logger:
    """The logger Bolt's app and middleware log through; its level follows the `slack_bolt` logger's."""
    logger = logging.getLogger(BOLT_LOGGER)
    if not any(isinstance(f, _BoltLines) for f in logger.filters):
        logger.addFilter(_BoltLines())
    return logger


def build_slack_app(core: Core, settings: SlackSettings, *, background: Background | None = None) -> AsyncApp:
    """A Bolt AsyncApp that serves `/ci`, buttons, modals and App Home from `core`.

    `background` collects the work done after each acknowledgement; pass your own to
    wait for it (tests, benchmarks, shutdown).
    """
    app = AsyncApp(client=settings.web_client(), signing_secret=settings.signing_secret, name="cibot",
                   logger=bolt_logger())
    listeners = _Listeners(core, background or Background())
    app.command(COMMAND)(listeners.command)
    app.action(ACTION_PATTERN)(listeners.action)
    app.view_submission(ACTION_PATTERN)(listeners.submit)
    app.event("app_home_opened")(listeners.home)
    return app


_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|[^>]*)?>")
_CHANNEL = re.compile(r"<#[A-Z0-9]+\|([^>]*)>")


def typed_text(text: str) -> str:
    """What the user typed, with Slack's markup (the manifest sets ``should_escape``) made plain.

    Picked members stay as ``<@U123|name>`` so the core can resolve them; links
    become their bare URL and channels their ``#name``. Slack sends ``&``, ``<`` and
    ``>`` typed by the user as HTML entities, which are decoded last.
    """
    text = _LINK.sub(r"\1", text)
    text = _CHANNEL.sub(r"#\1", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _team(body: dict[str, Any]) -> str:
    return (body.get("team") or {}).get("id") or body.get("user", {}).get("team_id", "")


def _interaction(body: dict[str, Any]) -> str:
    """An id unique to one interaction (Slack sends the same one again when it retries)."""
    return str(body.get("trigger_id") or uuid.uuid4().hex)


def _from_home(body: dict[str, Any]) -> bool:
    return (body.get("view") or {}).get("type") == "home"


class _Listeners:
    """Bolt listeners bound to one core; each turns a Slack payload into an Origin and a core call."""

    def __init__(self, core: Core, background: Background) -> None:
        self.core = core
        self.background = background
        self._homes: dict[str, str] = {}  # user -> the Home view last published to them (JSON)

    async def command(self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        """`/ci TEXT`: acknowledge, then run the command and show its reply."""
        await ack()
        user, channel = body["user_id"], body.get("channel_id", "")
        origin = Origin("slack", user, channel, body.get("team_id", ""), body.get("user_name", ""))
        surface = Surface(user, channel, body.get("response_url", ""))
        text = typed_text(body.get("text", "")).strip() or "help"
        self.background.spawn(self._command(client, origin, surface, text, body.get("trigger_id", ""),
                                            _interaction(body)))

    async def action(self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        """A button click: acknowledge, then hand the action id and value to the core."""
        await ack()
        clicked = body["actions"][0]
        user, channel = body["user"]["id"], (body.get("channel") or {}).get("id", "")
        origin = Origin("slack", user, channel, _team(body), body["user"].get("username", ""))
        surface = Surface(user, channel, body.get("response_url", ""))
        work = self.core.interact(origin, action_name(clicked["action_id"]), clicked.get("value", ""))
        self.background.spawn(self._answer(client, work, origin, surface, body.get("trigger_id", ""),
                                           _interaction(body), home=_from_home(body)))

    async def submit(self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any],
                     client: AsyncWebClient) -> None:
        """A modal submission: field errors go back in the acknowledgement, anything else is posted."""
        remembered = FormOrigin.decode(view.get("private_metadata", ""))
        user = body["user"]["id"]
        origin = Origin("slack", user, remembered.channel_id, _team(body), body["user"].get("username", ""))
        surface = Surface(user, remembered.channel_id, remembered.response_url)
        home = not remembered.channel_id and not remembered.response_url  # opened from App Home
        task = self.background.spawn(
            self.core.interact(origin, view["callback_id"], remembered.value, form_values(view)))
        try:
            result = await asyncio.wait_for(asyncio.shield(task), SUBMIT_BUDGET)
        except TimeoutError:
            await ack()
            self.background.spawn(self._answer(client, task, origin, surface, "", _interaction(body), home=home))
            return
        if isinstance(result, FormErrors):
            await ack(response_action="errors", errors=modal_errors(view, result))
            return
        if result.form is not None:
            follow_up = FormOrigin(result.form.value, remembered.channel_id, remembered.response_url)
            await ack(response_action="update", view=form_view(result.form, follow_up))
        else:
            await ack()
        self.background.spawn(self._deliver(client, result, origin, surface, _interaction(body),
                                            home=home and result.form is None))

    async def home(self, event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient) -> None:
        """The App Home tab was opened: publish what the core says is this member's."""
        if event.get("tab", "home") == "home":
            origin = Origin("slack", event["user"], "", body.get("team_id", ""))
            self.background.spawn(self._publish_home(client, origin))

    async def _command(self, client: AsyncWebClient, origin: Origin, surface: Surface, text: str,
                       trigger_id: str, interaction: str) -> None:
        await self._present(client, await self.core.command(origin, text), origin, surface, trigger_id, interaction)

    async def _answer(self, client: AsyncWebClient, work: Awaitable[Reply | FormErrors], origin: Origin,
                      surface: Surface, trigger_id: str, interaction: str, *, home: bool = False) -> None:
        result: Reply | FormErrors = await work
        if isinstance(result, FormErrors):
            result = Reply(sections=[SLACK.escape(f"{name}: {message}")
                                     for name, message in result.errors.items()], ephemeral=True)
            home = False
        await self._present(client, result, origin, surface, trigger_id, interaction, home=home)

    async def _present(self, client: AsyncWebClient, reply: Reply, origin: Origin, surface: Surface,
                       trigger_id: str, interaction: str, *, home: bool = False) -> None:
        if reply.form is not None and trigger_id:
            remembered = FormOrigin(reply.form.value, origin.channel_id, surface.response_url)
            await client.views_open(trigger_id=trigger_id, view=form_view(reply.form, remembered))
        await self._deliver(client, reply, origin, surface, interaction, home=home and reply.form is None)

    async def _deliver(self, client: AsyncWebClient, reply: Reply, origin: Origin, surface: Surface,
                       interaction: str, *, home: bool = False) -> None:
        """Show `reply` through the response_url, else queue it in the outbox; then refresh the Home if asked."""
        if not await show(client, reply, surface):
            target = outbox_target(reply, surface, origin.team_id)
            if target is not None:
                key = f"slack.reply:{interaction}@slack:{target.channel_id or target.user_id}"
                await asyncio.to_thread(self._enqueue, key, target, reply)
        if home:
            await self._publish_home(client, origin, only_if_changed=True)

    def _enqueue(self, key: str, target: Target, reply: Reply) -> None:
        with Session(self.core.engine) as session:
            enqueue(session, key, target, reply)
            session.commit()

    async def _publish_home(self, client: AsyncWebClient, origin: Origin, *, only_if_changed: bool = False) -> None:
        view = home_view(await self.core.home(origin))
        shown = json.dumps(view, sort_keys=True)
        if only_if_changed and self._homes.get(origin.user_id) == shown:
            return
        await publish_home(client, origin.user_id, view)
        self._homes[origin.user_id] = shown
