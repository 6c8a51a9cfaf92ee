"""Two initiatives in one deployment: one database, one Slack workspace, one Discord guild.

Riverbend (the sample cast) and Lakeside share the workspace and the guild, and Maria
works for both with the same Slack and Discord accounts and the same member key. Each
initiative's channels show only its own glossary, meetings, decisions and figures; ids
of the other's records are unknown; the console and `cibot shell` ask which initiative.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot.adapters.console import ConsoleSession
from bot.core.context import Origin
from bot.core.core import Core
from bot.glossary.book import TermEntry, upsert_terms
from storage.db import session_scope
from storage.models import (
    ChannelBinding,
    Group,
    GroupKind,
    Initiative,
    Member,
    Membership,
    Platform,
    PlatformIdentity,
    Role,
)
from tests.chat import Chat, text_of
from tests.factories import DISCORD_GUILD, SLACK_TEAM, Seeded, discord_id
from tests.fake_discord_http import DiscordHarness, shown_message, visible_text
from tests.fake_slack_api import FakeSlackApi, SlackSide, cibot_on_slack
from tests.measures_factory import add_indicators
from tests.process_helpers import EXAMPLE, cibot
from tests.scenarios import prepare
from tests.test_slack_app import say, texts

LAKE_SLACK = "CLAKE"
LAKE_DISCORD = "900000000000000011"
BEN_DISCORD = "100000000000000099"


def add_lakeside(engine: Engine) -> int:
    """A second initiative bound to channels of the same workspace and guild; Maria works for both."""
    with session_scope(engine) as s:
        lakeside = Initiative(slug="lakeside", name="Lakeside Water Partnership", timezone="America/Chicago")
        s.add(lakeside)
        s.flush()
        assert lakeside.id is not None
        people = {}
        for key, name, slack, discord in (("maria", "Maria Lopez", "UMARIA", discord_id("maria")),
                                          ("ben", "Ben Okafor", "UBEN", BEN_DISCORD)):
            member = Member(initiative_id=lakeside.id, key=key, name=name, organization="Lake Trust")
            s.add(member)
            s.flush()
            people[key] = member.id
            for platform, user in ((Platform.CONSOLE, key), (Platform.SLACK, slack), (Platform.DISCORD, discord)):
                s.add(PlatformIdentity(initiative_id=lakeside.id, member_id=member.id, platform=platform,
                                       platform_user_id=user))
        for key, kind, roles in (("backbone", GroupKind.BACKBONE, {"maria": Role.STAFF}),
                                 ("steering", GroupKind.STEERING, {"ben": Role.CHAIR, "maria": Role.STAFF})):
            group = Group(initiative_id=lakeside.id, key=key, name=f"Lakeside {key}", kind=kind)
            s.add(group)
            s.flush()
            assert group.id is not None
            if kind == GroupKind.STEERING:
                s.add(ChannelBinding(group_id=group.id, platform=Platform.SLACK, team_id=SLACK_TEAM,
                                     channel_id=LAKE_SLACK))
                s.add(ChannelBinding(group_id=group.id, platform=Platform.DISCORD, team_id=DISCORD_GUILD,
                                     channel_id=LAKE_DISCORD))
            for who, role in roles.items():
                s.add(Membership(member_id=people[who], group_id=group.id, role=role))
        upsert_terms(s, lakeside.id, [TermEntry(term="Lake health", definition="Water quality and shoreline.")])
        return lakeside.id


@pytest.fixture
def both(engine: Engine, core: Core) -> Seeded:
    """Riverbend with its glossary, indicators, a figure, a meeting series and a decision; then Lakeside."""
    riverbend = prepare(engine)
    add_indicators(engine, riverbend)
    add_lakeside(engine)
    river = Chat(core, platform="slack", user_id="UMARIA", channel_id="CSTEER", team_id=SLACK_TEAM)
    preview = river.say('meeting add steering "Riverbend steering" every week on wed at 10:00')
    river.click(preview.buttons[0])
    for who, text, answer in (("UMARIA", 'propose "Adopt the readiness measure" --closes 3d', "Decision #1"),
                              ("UAISHA", "submit enrolled 130 --period 2025-Q4", "Recorded 130"),
                              ("UTOM", "submit enrolled 170 --period 2025-Q4", "Recorded 170")):
        assert answer in text_of(river.as_(who).say(text))
    return riverbend


@pytest.fixture
async def slack(core: Core, api: FakeSlackApi, both: Seeded) -> AsyncIterator[SlackSide]:
    async with cibot_on_slack(core, api) as side:
        yield side


async def test_slack_channels_of_one_workspace_show_each_initiative_only_its_own(slack: SlackSide) -> None:
    async def seen(user: str, text: str, channel: str) -> str:
        return texts((await say(slack, user, text, channel=channel)).blocks)

    assert "Shared measurement" in await seen("UMARIA", "glossary list", "CSTEER")
    lake_terms = await seen("UMARIA", "glossary list", LAKE_SLACK)
    assert "Lake health" in lake_terms and "Shared measurement" not in lake_terms
    assert "No entry" in await seen("UBEN", "glossary shared measurement", LAKE_SLACK)
    assert "Adopt the readiness measure" in await seen("UMARIA", "decisions", "CSTEER")
    for user in ("UMARIA", "UBEN"):
        lake = await seen(user, "decisions", LAKE_SLACK)
        assert "Adopt the readiness measure" not in lake
        assert "Adopt the readiness measure" not in await seen(user, "decision 1", LAKE_SLACK)
        meetings = await seen(user, "meetings", LAKE_SLACK)
        assert "Riverbend steering" not in meetings
        progress = await seen(user, "progress", LAKE_SLACK)
        assert "pre-K" not in progress and "300" not in progress
        assert "readiness" not in (await seen(user, "indicators", LAKE_SLACK)).lower()
    assert "Riverbend steering" in await seen("UMARIA", "meetings", "CSTEER")
    assert "300 in 2025-Q4" in await seen("UMARIA", "progress enrolled", "CSTEER")
    assert "There is no decision #1" in await seen("UBEN", "decision 1", LAKE_SLACK)
    # in a direct message, someone in both is asked to say where; someone in one is served by it
    assert ("You take part in several initiatives (Lakeside Water Partnership, Riverbend Early Childhood "
            "Collective). Write in one of their channels") in await seen("UMARIA", "glossary list", "DMARIA")
    assert "Lake health" in await seen("UBEN", "glossary list", "DBEN")
    # a Riverbend member in Lakeside's channel is not a member there, and the other way round
    assert "I don't know who you are in this initiative" in await seen("UAISHA", "decisions", LAKE_SLACK)
    assert "I don't know who you are in this initiative" in await seen("UBEN", "decisions", "CSTEER")


async def test_a_discord_guild_shared_by_two_initiatives_keeps_them_apart(core: Core, both: Seeded) -> None:
    bot = await DiscordHarness.serving(core)

    async def seen(user: str, command: str, channel: str) -> str:
        message = shown_message(await bot.slash(user, ["run"], {"command": command}, channel_id=channel))
        assert message is not None
        return visible_text(message)

    maria = discord_id("maria")
    river = await seen(maria, "glossary list", "900000000000000001")
    assert "Shared measurement" in river and "Lake health" not in river
    lake = await seen(maria, "glossary list", LAKE_DISCORD)
    assert "Lake health" in lake and "Shared measurement" not in lake
    assert "Adopt the readiness measure" not in await seen(BEN_DISCORD, "decisions", LAKE_DISCORD)
    assert "Adopt the readiness measure" not in await seen(maria, "decision 1", LAKE_DISCORD)
    assert "pre-K" not in await seen(BEN_DISCORD, "progress", LAKE_DISCORD)
    assert "Riverbend steering" not in await seen(maria, "meetings", LAKE_DISCORD)


def console(core: Core, key: str, initiative: str, *lines: str) -> str:
    out = io.StringIO()
    feed = list(lines)
    ConsoleSession(core, Origin("console", key, initiative=initiative),
                   read=lambda prompt: feed.pop(0) if feed else None, out=out).run()
    return out.getvalue()


def test_the_console_speaks_for_the_initiative_it_is_started_in(core: Core, both: Seeded) -> None:
    lake = console(core, "maria", "lakeside", "/ci glossary list", "/ci decisions")
    assert "You are Maria Lopez, Lake Trust." in lake
    assert "Lake health" in lake and "Shared measurement" not in lake
    assert "Adopt the readiness measure" not in lake
    river = console(core, "maria", "riverbend", "/ci glossary list")
    assert "You are Maria Lopez, Riverbend Children's Alliance." in river and "Lake health" not in river
    unsure = console(core, "maria", "")
    assert "cibot shell --initiative SLUG --as KEY" in unsure
    assert "maria (lakeside), maria (riverbend)" in unsure
    assert "Members: ben, maria." in console(core, "zed", "lakeside")


def test_cibot_shell_asks_which_initiative_and_keeps_each_to_itself(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cibot.db'}"
    lakeside = tmp_path / "lakeside.yaml"
    lakeside.write_text(EXAMPLE.read_text(encoding="utf-8").replace("slug: riverbend", "slug: lakeside")
                        .replace("channel: C05", "channel: C06").replace("9812345678902000", "9812345678902100"),
                        encoding="utf-8")
    assert cibot("load", str(EXAMPLE), db=db).returncode == 0
    assert cibot("load", str(lakeside), db=db).returncode == 0
    refused = cibot("shell", "--as", "maria", db=db, stdin="/ci help\n")
    assert refused.returncode == 2
    assert "there are several initiatives; say which with --initiative" in refused.stderr
    assert "duplicate" not in refused.stderr + refused.stdout
    unknown = cibot("shell", "--initiative", "nowhere", "--as", "maria", db=db)
    assert unknown.returncode == 2 and "no initiative with slug 'nowhere'" in unknown.stderr
    added = cibot("shell", "--initiative", "lakeside", "--as", "maria", db=db,
                  stdin="/ci glossary add Shoreline = Where the lake meets the land.\n")
    assert added.returncode == 0, added.stderr
    assert "Added to the glossary." in added.stdout
    river = cibot("shell", "--initiative", "riverbend", "--as", "maria", db=db, stdin="/ci glossary shoreline\n")
    assert "No entry" in river.stdout and "Where the lake meets the land." not in river.stdout


def test_ids_of_the_other_initiatives_records_are_unknown_even_to_its_backbone(core: Core, both: Seeded) -> None:
    river = Chat(core, platform="slack", user_id="UMARIA", channel_id="CSTEER", team_id=SLACK_TEAM)
    assert "#1" in text_of(river.say("agenda add Riverbend's private item"))
    lake = river.as_("UMARIA", channel=LAKE_SLACK)  # backbone staff in both initiatives
    for command, answer in (("agenda accept 1", "There is no agenda item #1"),
                            ("agenda remove 1", "There is no agenda item #1"),
                            ("decision close 1", "There is no decision #1"),
                            ("decision withdraw 1 Not ours", "There is no decision #1"),
                            ("submissions enrolled", "There is no indicator 'enrolled'")):
        assert answer in text_of(lake.say(command)), command
    decision = text_of(river.say("decision 1"))
    assert "Adopt the readiness measure" in decision and "withdrawn" not in decision.lower()
    assert "Riverbend's private item" in text_of(river.say("agenda"))
