"""Open decisions and members autocomplete in Discord, and the typed options reach the core.

Autocomplete interactions (type 4) go through the real `/ci` tree to the core's
completers; the choices Discord shows carry a label (``#1 · title``, a member's
name) and the value filled into the option (the decision number, the member key).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.core.core import Core
from storage.db import session_scope
from storage.models import Member
from tests.factories import discord_id
from tests.fake_discord_http import (
    CALLBACK_AUTOCOMPLETE,
    GUILD,
    STEERING,
    DiscordHarness,
    command_data,
    interaction_payload,
    shown_message,
    visible_text,
)
from tests.scenarios import prepare

MARIA, JAMES, AISHA = discord_id("maria"), discord_id("james"), discord_id("aisha")


@pytest.fixture
async def bot(core: Core, engine: Engine) -> DiscordHarness:
    """The sample initiative, a Discord bot serving it, and two proposals Maria put to a vote."""
    prepare(engine)
    harness = await DiscordHarness.serving(core)
    for title in ("Adopt the readiness measure", "Fund the summer reading program"):
        await harness.slash(MARIA, ["propose"], {"args": title, "closes": "3d"})
    return harness


async def offered(bot: DiscordHarness, user_id: str, path: list[str], focused: str,
                  options: dict[str, str]) -> list[tuple[str, str]]:
    """The (shown name, filled-in value) choices Discord offers while `user_id` types into `focused`."""
    payload = interaction_payload(4, command_data(path, options, focused=focused), user_id=user_id,
                                  channel_id=STEERING, guild_id=GUILD)
    sent = await bot.dispatch(payload)
    assert sent and sent[-1].callback_type == CALLBACK_AUTOCOMPLETE, sent
    return [(choice["name"], choice["value"]) for choice in sent[-1].data["choices"]]


def said(sent: list[Any]) -> str:
    """What the person sees of the bot's answer."""
    message = shown_message(sent)
    assert message is not None
    return visible_text(message)


async def test_decision_ids_offer_open_decisions_by_number_and_title(bot: DiscordHarness) -> None:
    both = [("#2 · Fund the summer reading program", "2"), ("#1 · Adopt the readiness measure", "1")]
    assert await offered(bot, JAMES, ["vote"], "id", {"id": ""}) == both
    assert await offered(bot, JAMES, ["vote"], "id", {"id": "read"}) == both  # any word of the title
    assert await offered(bot, JAMES, ["decision", "show"], "id", {"id": "#1"}) == both[1:]
    assert await offered(bot, JAMES, ["outcome"], "id", {"id": "summer"}) == both[:1]
    await bot.slash(MARIA, ["decision", "withdraw"], {"id": "2", "reason": "No budget"})
    for path in (["vote"], ["proxy"], ["decision", "close"], ["decision", "extend"], ["decision", "review"]):
        assert await offered(bot, MARIA, path, "id", {"id": ""}) == both[1:], path


async def test_members_offer_names_and_fill_in_keys(bot: DiscordHarness, engine: Engine) -> None:
    assert await offered(bot, MARIA, ["action", "show"], "member", {"member": "t"}) == [("Tom Nguyen", "tom")]
    assert await offered(bot, MARIA, ["action", "show"], "member", {"member": "@fisch"}) == [("Lena Fischer", "lena")]
    with session_scope(engine) as session:
        olga = session.exec(select(Member).where(Member.key == "olga")).one()
        olga.active = False
    names = [name for name, _ in await offered(bot, MARIA, ["proxy"], "member", {"id": "1", "member": ""})]
    assert names == ["Aisha Bello", "James Carter", "Lena Fischer", "Maria Lopez", "Tom Nguyen"]


async def test_typed_member_and_id_options_reach_the_core(bot: DiscordHarness) -> None:
    (ci,) = bot.client.tree.get_commands()
    action = {p.display_name: p for p in ci.get_command("action").get_command("show").parameters}
    assert action["member"].required and action["member"].autocomplete
    vote = {p.display_name: p for p in ci.get_command("vote").parameters}
    assert vote["id"].required and vote["id"].autocomplete and not vote["args"].required

    picked = await bot.slash(MARIA, ["action", "show"], {"member": "tom", "args": "Share the attendance file"})
    assert "Action #1 for **Tom Nguyen**: Share the attendance file" in said(picked)
    typed = await bot.slash(MARIA, ["action", "show"], {"member": "Aisha Bello", "args": "Draft the memo"})
    assert "Action #2 for **Aisha Bello**: Draft the memo" in said(typed)
    assert "Recorded: agree" in said(await bot.slash(JAMES, ["vote"], {"id": "1", "args": "agree"}))
    proxied = await bot.slash(AISHA, ["proxy"], {"id": "2", "member": "james"})
    assert "James Carter can now vote for you on decision #2" in said(proxied)
