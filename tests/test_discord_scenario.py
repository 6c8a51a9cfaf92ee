"""The shared stories, played through the real discord.py client with a fake Discord."""

from __future__ import annotations

from typing import Any

from bot.adapters.discord.layout import SlashSpec, quote, slash_layout
from bot.adapters.discord.sender import DiscordSender
from bot.bootstrap import build_core
from bot.core.args import parse_args
from bot.core.core import Core
from bot.core.registry import Command
from bot.core.router import match
from bot.runtime.dispatcher import UNLIMITED, Dispatcher
from tests.factories import discord_id
from tests.fake_discord_http import (
    CALLBACK_MODAL,
    STEERING,
    DiscordHarness,
    Sent,
    shown_message,
    visible_text,
)
from tests.scenarios import DECISION_STORY, Seen, play, prepare


def options_for(spec: SlashSpec, command: Command, rest: str) -> dict[str, str]:
    """The Discord options a person fills in to say `/ci COMMAND REST`: flags by name, words in order."""
    args = parse_args(rest, command.options)
    words = [quote(w) for w in args.words]
    positional = sorted((o for o in spec.options if not o.flag), key=lambda o: o.position)
    options = {o.name: w for o, w in zip(positional, words[:len(positional) - 1], strict=False)}
    if positional and words[len(positional) - 1:]:
        options[positional[-1].name] = " ".join(words[len(positional) - 1:])
    return options | args.options


class DiscordDriver:
    """Plays scenario steps as the cast would in Discord: slash commands, clicks, modals."""

    def __init__(self, harness: DiscordHarness, core: Core) -> None:
        self.bot = harness
        self.core = core
        self.specs = {spec.path: spec for spec in slash_layout(core.registry)}
        self.registry = core.registry
        self.last_message: dict[str, dict[str, Any]] = {}
        self.open_form: dict[str, Sent] = {}

    async def say(self, user: str, text: str) -> Seen:
        """Run the Discord subcommand for `/ci TEXT`, filling in its options from the words after it."""
        command, rest = match(self.registry, text)
        spec = self.specs[command.path]
        path = [spec.group, spec.name] if spec.group else [spec.name]
        return self._seen(user, await self.bot.slash(discord_id(user), path, options_for(spec, command, rest)))

    async def click(self, user: str, label: str) -> Seen:
        """Click the button labelled `label` on the last message `user` saw."""
        message = self.last_message[user]
        custom_id = next(c["custom_id"] for row in message["components"] for c in row["components"]
                         if c.get("label") == label)
        return self._seen(user, await self.bot.click(discord_id(user), message, custom_id))

    async def click_posted(self, user: str, label: str) -> Seen:
        """Deliver the outbox with the Discord sender, restart the client, and click on the channel post."""
        core = self.core
        await Dispatcher(core.engine, {"discord": DiscordSender(self.bot.client)}, core.clock,
                         paces={"discord": UNLIMITED}).drain()
        posted = next(s for s in reversed(self.bot.fake.sent)
                      if s.path == f"/channels/{STEERING}/messages" and s.buttons)
        self.last_message[user] = posted.response
        self.core = build_core(core.engine, core.clock)
        self.bot = await DiscordHarness.serving(self.core, self.bot.fake)
        return await self.click(user, label)

    async def submit(self, user: str, values: dict[str, str]) -> Seen:
        """Submit the open modal; after errors, first reopen it with the "Fix the form" button."""
        if user not in self.open_form:
            await self.click(user, "Fix the form")
        modal = self.open_form.pop(user)
        return self._seen(user, await self.bot.submit(discord_id(user), modal, values), modal)

    def _seen(self, user: str, sent: list[Sent], modal: Sent | None = None) -> Seen:
        if sent and sent[-1].callback_type == CALLBACK_MODAL:
            self.open_form[user] = sent[-1]
            return Seen(form_fields=[i["custom_id"] for i in sent[-1].inputs])
        message = shown_message(sent)
        assert message is not None, sent
        self.last_message[user] = message
        text = visible_text(message)
        seen = Seen(text=text, buttons=[c["label"] for row in message["components"] for c in row["components"]])
        if modal is not None and message["embeds"] and message["embeds"][0].get("title") == "Some answers need fixing":
            names = {i["label"]: i["custom_id"] for i in modal.inputs}
            seen.errors = {names.get(f["name"], f["name"]): f["value"] for f in message["embeds"][0]["fields"]}
        return seen


async def test_glossary_story_plays_in_discord(core: Core, engine) -> None:
    prepare(engine)
    harness = await DiscordHarness.serving(core)
    await play(DiscordDriver(harness, core))


async def test_decision_story_plays_in_discord(core: Core, engine) -> None:
    prepare(engine)
    harness = await DiscordHarness.serving(core)
    await play(DiscordDriver(harness, core), DECISION_STORY)
