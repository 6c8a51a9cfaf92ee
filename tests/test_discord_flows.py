"""Every flow in Discord: each command has a place in /ci, and the forms, charts and buttons work.

The meetings, agenda, minutes, measures and decisions flows landed after the Discord
adapter; these tests check the generated tree against the whole registry and drive
the proposal form (paged), the data form (compact, five inputs at most), the vote
reason form and the progress chart through the real client and a fake Discord.
"""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from bot.adapters.discord.layout import CATCH_ALL, MAX_CHOICES, slash_layout
from bot.bootstrap import build_registry
from bot.core.core import Core
from bot.core.registry import Access
from tests.factories import discord_id
from tests.fake_discord_http import (
    CALLBACK_MODAL,
    DiscordHarness,
    Sent,
    button,
    shown_message,
    visible_text,
)
from tests.measures_factory import add_indicators
from tests.scenarios import prepare

MARIA, JAMES, AISHA = discord_id("maria"), discord_id("james"), discord_id("aisha")


@pytest.fixture
async def bot(core: Core, engine: Engine) -> DiscordHarness:
    """The sample initiative with its indicators, and a Discord bot serving it."""
    add_indicators(engine, prepare(engine))
    return await DiscordHarness.serving(core)


def test_every_registered_command_has_a_place_in_the_tree() -> None:
    registry = build_registry()
    specs = slash_layout(registry, frozenset(registry.completers) | {"command"})
    placed = {spec.path for spec in specs}
    top = {spec.group or spec.name for spec in specs}
    assert len(top) <= MAX_CHOICES and CATCH_ALL in top
    for command in registry.commands.values():
        assert command.path in placed or command.path[0] not in top, command.name
    through_run = {c.path[0] for c in registry.commands.values() if c.path not in placed}
    assert through_run and all(c.access == Access.BACKBONE or c.seldom for c in registry.commands.values()
                               if c.path[0] in through_run)
    assert {("vote",), ("submit",), ("propose",), ("undo",)} <= placed


async def test_a_command_outside_the_tree_runs_through_run(bot: DiscordHarness) -> None:
    (sent,) = await bot.slash(MARIA, [CATCH_ALL], {"command": "status"})
    assert "readiness" in visible_text(shown_message([sent])).lower()


async def test_proposal_form_opens_from_a_bare_propose_in_two_pages(bot: DiscordHarness) -> None:
    (first,) = await bot.slash(MARIA, ["propose"])
    assert first.callback_type == CALLBACK_MODAL and first.data["title"] == "New proposal (1/2)"
    assert [i["custom_id"] for i in first.inputs] == ["title", "body", "rationale", "evidence", "closes"]
    (saved,) = await bot.submit(MARIA, first, {"title": "Adopt the measure", "body": "", "rationale": "",
                                               "evidence": "", "closes": "2d"})
    (second,) = await bot.click(MARIA, shown_message([saved]), button(shown_message([saved]), "Continue"))
    rule = second.inputs[0]
    assert second.data["title"] == "New proposal (2/2)" and len(second.inputs) <= 5
    assert rule["type"] == 3 and [o["value"] for o in rule["options"] if o.get("default")] == ["majority"]
    (opened,) = await bot.submit(MARIA, second, {"rule": ["consent"]})
    text = visible_text(shown_message([opened]))
    assert "Decision #1: Adopt the measure" in text and "consent" in text


async def test_data_form_fits_five_inputs_and_reopens_with_the_cell_error(bot: DiscordHarness) -> None:
    (modal,) = await bot.slash(AISHA, ["submit"], {"indicator": "readiness"})
    assert modal.callback_type == CALLBACK_MODAL
    assert [i["custom_id"] for i in modal.inputs] == ["value", "d.0", "note"]
    assert "Black" in modal.inputs[1]["placeholder"]
    (refused,) = await bot.submit(AISHA, modal, {"value": "61", "d.0": "Black: 140", "note": ""})
    message = shown_message([refused])
    assert refused.ephemeral and "Race/ethnicity" in visible_text(message)
    (again,) = await bot.click(AISHA, message, button(message, "Fix the form"))
    assert again.inputs[1]["description"].startswith("⚠") and again.inputs[1]["value"] == "Black: 140"
    breakdown = "Black: 55; Hispanic/Latino: 60; White: 66; Other: 58"
    (done,) = await bot.submit(AISHA, again, {"value": "61", "d.0": breakdown, "note": "Fall"})
    assert "Recorded 61" in visible_text(shown_message([done]))


async def test_vote_reason_form_opens_from_the_button(bot: DiscordHarness) -> None:
    (card,) = await bot.slash(MARIA, ["propose"], {"args": "Adopt the measure", "closes": "3d",
                                                   "reasons": "required"})
    message = shown_message([card])
    (modal,) = await bot.click(JAMES, message, button(message, "Disagree"))
    assert modal.callback_type == CALLBACK_MODAL and [i["custom_id"] for i in modal.inputs] == ["reason"]
    (done,) = await bot.submit(JAMES, modal, {"reason": "Too costly"})
    assert done.ephemeral and "Recorded: disagree" in visible_text(shown_message([done]))


async def test_progress_chart_is_attached_even_to_a_private_answer(bot: DiscordHarness) -> None:
    for who, value in ((AISHA, "61"), (discord_id("tom"), "57"), (discord_id("lena"), "60")):
        await bot.slash(who, ["submit"], {"indicator": "readiness", "value": value})
    (sent,) = await bot.slash(MARIA, ["progress"], {"indicator": "readiness"})
    assert isinstance(sent, Sent) and sent.ephemeral and sent.files == ["readiness-2025-Q4.png"]
    assert sent.embeds[0]["image"]["url"] == "attachment://readiness-2025-Q4.png"


async def test_indicator_and_group_options_autocomplete(bot: DiscordHarness) -> None:
    assert await bot.autocomplete(AISHA, ["submit"], "indicator", "Kind") == ["readiness"]
    assert await bot.autocomplete(AISHA, ["progress"], "indicator", "") == ["enrolled", "readiness"]
    assert await bot.autocomplete(MARIA, ["progress"], "indicator", "w") == ["wait"]  # backbone only
    assert await bot.autocomplete(AISHA, ["meetings"], "group", "st") == ["steering"]
