"""The Discord adapter end to end: real discord.py tree, views and modals; a fake Discord HTTP API.

Each test feeds INTERACTION_CREATE payloads to a client that never logs in and
asserts on what the bot sent back: callback type, embeds, components, flags and
allowed mentions.
"""

from __future__ import annotations

import asyncio

import pytest

from bot.adapters.discord import client as client_module
from bot.adapters.discord import interactions
from bot.core.core import Core
from bot.core.messages import Form, FormField, Reply
from tests.factories import discord_id
from tests.fake_discord_http import (
    CALLBACK_DEFER,
    CALLBACK_MESSAGE,
    CALLBACK_MODAL,
    CALLBACK_UPDATE,
    DiscordHarness,
    button,
    shown_message,
    visible_text,
)
from tests.scenarios import prepare

MARIA, AISHA, LENA = discord_id("maria"), discord_id("aisha"), discord_id("lena")
NOBODY = "100000000000000999"
NO_MENTIONS = {"parse": []}


@pytest.fixture
async def bot(core: Core, engine) -> DiscordHarness:
    """The sample initiative with two glossary terms, and a Discord bot serving it."""
    prepare(engine)
    return await DiscordHarness.serving(core)


async def test_ci_group_mirrors_the_core_commands(bot: DiscordHarness) -> None:
    (ci,) = bot.client.tree.get_commands()
    tree = {c.name: sorted(s.name for s in getattr(c, "commands", [])) for c in ci.commands}
    assert tree["help"] == []
    assert {"show", "add", "approve", "list"} <= set(tree["glossary"])
    show = ci.get_command("glossary").get_command("show")
    (term,) = show.parameters
    assert (term.display_name, term.required, term.autocomplete) == ("term", True, True)


async def test_glossary_lookup_is_an_embed_in_the_channel(bot: DiscordHarness) -> None:
    (sent,) = await bot.slash(AISHA, ["glossary", "show"], {"term": "SHARED MEASURES"})
    assert sent.callback_type == CALLBACK_MESSAGE
    assert not sent.ephemeral
    (embed,) = sent.embeds
    assert embed["title"] == "Shared measurement"
    assert "measuring results consistently" in embed["description"]
    assert sent.allowed_mentions == NO_MENTIONS


async def test_members_can_ask_in_a_direct_message(bot: DiscordHarness) -> None:
    (sent,) = await bot.slash(AISHA, ["glossary", "show"], {"term": "shared measures"}, channel_id="", guild_id="")
    assert sent.embeds[0]["title"] == "Shared measurement"


async def test_hostile_definition_arrives_inert(bot: DiscordHarness) -> None:
    (sent,) = await bot.slash(MARIA, ["glossary", "show"], {"term": "common agenda"})
    text = "\n".join(e.get("description", "") + str(e.get("fields", "")) for e in sent.embeds)
    assert "@\u200beveryone" in text and "@everyone" not in text
    assert "\\<@UJAMES\\>" in text and "<@" not in text.replace("\\<@", "")
    assert "\\[click\\]\\(https\\://evil.example\\)" in text and "[click](" not in text
    assert "<!channel>" not in text
    assert sent.allowed_mentions == NO_MENTIONS
    assert sent.data.get("content") in (None, "")


async def test_help_is_only_shown_to_the_asker(bot: DiscordHarness) -> None:
    (sent,) = await bot.slash(LENA, ["help"], {"command": "glossary"})
    assert sent.callback_type == CALLBACK_MESSAGE and sent.ephemeral
    assert "/ci glossary add" in visible_text(shown_message([sent]))


async def test_unregistered_user_is_told_how_to_get_added(bot: DiscordHarness) -> None:
    (sent,) = await bot.slash(NOBODY, ["glossary", "add"], {"args": "backbone = the staff"})
    assert sent.ephemeral
    text = visible_text(shown_message([sent]))
    assert "I don't know who you are" in text
    assert f"discord: {NOBODY}" in text


async def test_button_posted_before_a_restart_still_works(core: Core, bot: DiscordHarness) -> None:
    (sent,) = await bot.slash(MARIA, ["glossary", "show"], {"term": "common agenda"})
    message = shown_message([sent])
    approve = button(message, "Approve")
    assert approve.startswith("glossary.approve|")
    assert message["components"][0]["components"][0]["style"] == 1  # primary

    restarted = await DiscordHarness.serving(core)  # a new process: no view was ever stored in this client
    (clicked,) = await restarted.click(MARIA, message, approve)
    assert clicked.callback_type == CALLBACK_UPDATE  # the card itself changes
    assert "agreed" in visible_text(shown_message([clicked])).lower()
    assert "components" in clicked.data  # the old buttons are replaced, not left behind
    assert "Approve" not in [b["label"] for b in clicked.buttons]
    assert clicked.allowed_mentions == NO_MENTIONS
    assert bot.fake.since(1) == []  # the old process sent nothing


async def test_a_command_discord_still_has_from_an_older_sync_is_explained(bot: DiscordHarness) -> None:
    (sent,) = await bot.slash(LENA, ["retired"], {"what": "x"})
    assert sent.ephemeral and "cibot discord sync" in sent.data["content"]


async def test_autocomplete_offers_term_names(bot: DiscordHarness) -> None:
    names = await bot.autocomplete(LENA, ["glossary", "show"], "term", "sha")
    assert "Shared measurement" in names
    assert await bot.autocomplete(LENA, ["help"], "command", "glossary a") == ["glossary add", "glossary approve"]


async def test_modal_errors_are_listed_and_the_form_reopens_filled_in(bot: DiscordHarness) -> None:
    (looked_up,) = await bot.slash(AISHA, ["glossary", "show"], {"term": "collective impakt"})
    message = shown_message([looked_up])
    (opened,) = await bot.click(AISHA, message, button(message, "Propose a definition"))
    assert opened.callback_type == CALLBACK_MODAL
    assert opened.data["title"] == "Propose a definition"
    inputs = {i["custom_id"]: i for i in opened.inputs}
    assert list(inputs) == ["term", "definition", "context"]
    assert inputs["term"]["value"] == "collective impakt"
    assert inputs["definition"]["style"] == 2  # paragraph
    assert inputs["context"]["required"] is False

    (refused,) = await bot.submit(AISHA, opened, {"term": "Collective impakt", "definition": "", "context": ""})
    assert refused.callback_type == CALLBACK_MESSAGE and refused.ephemeral
    (embed,) = refused.embeds
    assert [f["name"] for f in embed["fields"]] == ["Definition"]
    again = shown_message([refused])
    (reopened,) = await bot.click(AISHA, again, button(again, "Fix the form"))
    assert reopened.callback_type == CALLBACK_MODAL
    fields = {i["custom_id"]: i for i in reopened.inputs}
    assert fields["term"]["value"] == "Collective impakt"
    assert fields["definition"]["description"].startswith("⚠")

    (accepted,) = await bot.submit(AISHA, reopened, {"term": "Collective impact", "context": "",
                                                     "definition": "Partners commit to a common agenda."})
    text = visible_text(shown_message([accepted]))
    assert "Collective impact" in text and "proposed" in text.lower()
    assert accepted.allowed_mentions == NO_MENTIONS


async def test_a_long_form_is_asked_in_pages_of_five(core: Core, bot: DiscordHarness) -> None:
    received: dict[str, str] = {}
    form = Form("Baseline survey", "test.survey", tuple(FormField(f"q{i}", f"Question {i}") for i in range(7)))
    core.registry.action("test.open", lambda ctx, value, fields: Reply(form=form))

    def take(ctx, value, fields):  # type: ignore[no-untyped-def]
        received.update(fields)
        return Reply(title="Thanks", ephemeral=True)
    core.registry.action("test.survey", take)
    message = {"id": "950000000000000777", "channel_id": "900000000000000001", "type": 0, "content": "",
               "author": {"id": "1", "username": "cibot", "discriminator": "0", "avatar": None},
               "timestamp": "2026-03-02T15:00:00+00:00", "edited_timestamp": None, "tts": False,
               "mention_everyone": False, "mentions": [], "mention_roles": [], "attachments": [], "embeds": [],
               "pinned": False, "flags": 0,
               "components": [{"type": 1, "components": [{"type": 2, "style": 1, "label": "Start",
                                                          "custom_id": "test.open|"}]}]}
    (first,) = await bot.click(MARIA, message, "test.open|")
    assert first.data["title"] == "Baseline survey (1/2)" and len(first.inputs) == 5
    (saved,) = await bot.submit(MARIA, first, {f"q{i}": str(i) for i in range(5)})
    assert saved.ephemeral and "Part 1 of 2 saved" in saved.data["content"]
    (second,) = await bot.click(MARIA, shown_message([saved]), button(shown_message([saved]), "Continue"))
    assert second.data["title"] == "Baseline survey (2/2)" and len(second.inputs) == 2
    (done,) = await bot.submit(MARIA, second, {"q5": "5", "q6": "6"})
    assert done.embeds[0]["title"] == "Thanks"
    assert received == {f"q{i}": str(i) for i in range(7)}


async def test_slow_answers_are_deferred_then_followed_up(bot: DiscordHarness, monkeypatch) -> None:
    monkeypatch.setattr(interactions, "DEFER_AFTER", 0.0)
    private = await bot.slash(LENA, ["help"])
    assert [s.callback_type for s in private] == [CALLBACK_DEFER, None]
    assert private[0].ephemeral
    assert private[1].method == "PATCH" and private[1].path.endswith("/messages/@original")
    assert private[1].embeds[0]["title"] == "cibot commands"

    public = await bot.slash(AISHA, ["glossary", "show"], {"term": "shared measurement"})
    assert [(s.method, s.callback_type) for s in public] == [("POST", CALLBACK_DEFER), ("DELETE", None),
                                                             ("POST", None)]
    assert not public[2].ephemeral and public[2].embeds[0]["title"] == "Shared measurement"
    assert public[2].allowed_mentions == NO_MENTIONS


async def test_every_interaction_is_answered_within_three_seconds(bot: DiscordHarness, monkeypatch) -> None:
    async def slow_command(origin, text):  # type: ignore[no-untyped-def]
        await asyncio.sleep(2.5)
        return Reply(title="Done")
    monkeypatch.setattr(bot.client.core, "command", slow_command)
    loop = asyncio.get_running_loop()
    started = loop.time()
    first_answer: list[float] = []
    record = bot.fake.record

    def timed(*args):  # type: ignore[no-untyped-def]
        first_answer.append(loop.time() - started)
        return record(*args)
    monkeypatch.setattr(bot.fake, "record", timed)
    sent = await bot.slash(LENA, ["help"])
    assert sent[0].callback_type == CALLBACK_DEFER
    assert first_answer[0] < 3.0


async def test_a_form_opened_before_a_restart_gets_a_clear_answer(core: Core, bot: DiscordHarness,
                                                                  monkeypatch) -> None:
    monkeypatch.setattr(client_module, "UNANSWERED_AFTER", 0.05)
    (looked_up,) = await bot.slash(AISHA, ["glossary", "show"], {"term": "collective impakt"})
    message = shown_message([looked_up])
    (opened,) = await bot.click(AISHA, message, button(message, "Propose a definition"))

    restarted = await DiscordHarness.serving(core)
    assert await restarted.submit(AISHA, opened, {"term": "Collective impact", "definition": "x"}) == []
    await asyncio.sleep(0.2)
    (expired,) = restarted.fake.sent
    assert expired.ephemeral and "no longer active" in expired.data["content"]
    after = shown_message(await bot.slash(AISHA, ["glossary", "show"], {"term": "collective impact"}))
    assert button(after, "Propose a definition")  # nothing was saved
