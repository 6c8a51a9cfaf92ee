"""Outbox delivery to Discord, command sync, and embed limits, against the fake Discord HTTP API."""

from __future__ import annotations

from types import SimpleNamespace

import discord
import pytest

from bot.adapters.discord.client import build_discord_client, sync_commands
from bot.adapters.discord.embeds import embeds_for
from bot.adapters.discord.sender import DiscordSender, nonce_for
from bot.adapters.discord.settings import DiscordConfigError, DiscordSettings
from bot.bootstrap import build_core
from bot.core.delivery import DeliveryFailed, RateLimited, Target
from bot.core.messages import Button, Field, Image, Reply
from storage.db import make_engine
from tests.fake_discord_http import APPLICATION_ID, FakeDiscord

CHANNEL = "900000000000000001"
JAMES = "100000000000000002"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def core_only():  # type: ignore[no-untyped-def]
    """A core on an in-memory database: these tests never reach the database."""
    return build_core(make_engine("sqlite://"))


def client_with(core, fake: FakeDiscord, guilds: tuple[int, ...] = ()):  # type: ignore[no-untyped-def]
    client = build_discord_client(core, DiscordSettings("token", APPLICATION_ID, guilds))
    fake.install(client)
    return client


async def test_outbox_message_goes_to_the_channel_with_buttons_and_no_pings(core_only) -> None:
    fake = FakeDiscord()
    sender = DiscordSender(client_with(core_only, fake))
    reply = Reply(title="Vote: adopt the kindergarten readiness indicator", sections=["Closes Friday."],
                  buttons=[Button("Yes", "decision.vote", "7:yes"), Button("No", "decision.vote", "7:no")])
    message_id = await sender.send(Target("discord", team_id="800000000000000001", channel_id=CHANNEL), reply,
                                   key="decision:7:open")
    sent = fake.last()
    assert (sent.body["nonce"], sent.body["enforce_nonce"]) == (nonce_for("decision:7:open"), True)
    assert len(nonce_for("x" * 300)) == 25 and nonce_for("a") != nonce_for("b")
    assert (sent.method, sent.path) == ("POST", f"/channels/{CHANNEL}/messages")
    assert message_id == sent.response["id"]
    assert sent.embeds[0]["title"] == "Vote\\: adopt the kindergarten readiness indicator"  # shown as ":"
    assert [b["custom_id"] for b in sent.buttons] == ["decision.vote|7:yes", "decision.vote|7:no"]
    assert sent.allowed_mentions == {"parse": []}

    await sender.update(Target("discord", channel_id=CHANNEL), message_id,
                        Reply(title="Vote closed", sections=["Adopted."]))
    edited = fake.last()
    assert (edited.method, edited.path) == ("PATCH", f"/channels/{CHANNEL}/messages/{message_id}")
    assert edited.components == [] and edited.embeds[0]["title"] == "Vote closed"


async def test_direct_messages_open_the_dm_once_and_ping_only_the_mentioned(core_only) -> None:
    fake = FakeDiscord()
    sender = DiscordSender(client_with(core_only, fake))
    reminder = Reply(title="Your data for Q1 is due", mentions=[JAMES])
    await sender.send(Target("discord", user_id=JAMES), reminder, key="due:q1:james")
    await sender.send(Target("discord", user_id=JAMES), reminder, key="due:q2:james")
    paths = [s.path for s in fake.sent]
    assert paths.count("/users/@me/channels") == 1
    dm = fake.sent[0].response["id"]
    assert paths[1:] == [f"/channels/{dm}/messages"] * 2
    assert fake.last().data["content"] == f"<@{JAMES}>"
    assert fake.last().allowed_mentions == {"parse": [], "users": [int(JAMES)]}


async def test_refusals_and_rate_limits_become_delivery_outcomes(core_only) -> None:
    client = build_discord_client(core_only, DiscordSettings("token", APPLICATION_ID))
    sender = DiscordSender(client)
    target = Target("discord", channel_id=CHANNEL)

    async def forbidden(route, **kwargs):  # type: ignore[no-untyped-def]
        raise discord.Forbidden(SimpleNamespace(status=403, reason="Forbidden"),
                                {"code": 50001, "message": "Missing Access"})
    client.http.request = forbidden  # type: ignore[method-assign]
    with pytest.raises(DeliveryFailed, match="Missing Access"):
        await sender.send(target, Reply(title="x"), key="k")

    async def limited(route, **kwargs):  # type: ignore[no-untyped-def]
        raise discord.RateLimited(42.0)
    client.http.request = limited  # type: ignore[method-assign]
    with pytest.raises(RateLimited) as caught:
        await sender.send(target, Reply(title="x"), key="k")
    assert caught.value.retry_after == 42.0


async def test_image_is_attached_and_shown_in_the_embed(core_only) -> None:
    fake = FakeDiscord()
    sender = DiscordSender(client_with(core_only, fake))
    await sender.send(Target("discord", channel_id=CHANNEL),
                      Reply(title="Progress", image=Image(PNG, "Readiness rose from 41% to 48%")), key="chart")
    sent = fake.last()
    assert sent.files == ["chart.png"]
    assert sent.embeds[0]["image"]["url"] == "attachment://chart.png"
    assert sent.body["attachments"][0]["description"] == "Readiness rose from 41% to 48%"


def test_titles_and_labels_are_escaped_and_long_text_fits_discord_limits() -> None:
    reply = Reply(title="**@everyone** <@1>", sections=["line\n" * 3000],
                  fields=[Field("[x](https://evil.example)", "ok")], context="footer")
    embeds = embeds_for(reply)
    assert embeds[0].title == "\\*\\*@\u200beveryone\\*\\* \\<@1\\>"
    assert embeds[0].fields[0].name == "\\[x\\]\\(https\\://evil.example\\)"
    assert sum(len(e) for e in embeds) <= 6000 and len(embeds) <= 10
    assert all(len(e.description or "") <= 4096 for e in embeds)
    assert "shortened" in embeds[-1].description and embeds[-1].footer.text == "footer"


async def test_commands_sync_to_each_test_guild(core_only, monkeypatch) -> None:
    fake = FakeDiscord()
    guilds = (800000000000000001, 800000000000000002)
    client = client_with(core_only, fake, guilds)
    lines = await client.sync_tree()
    puts = [s for s in fake.sent if s.method == "PUT"]
    assert [s.path for s in puts] == [f"/applications/{APPLICATION_ID}/guilds/{g}/commands" for g in guilds]
    assert [c["name"] for c in puts[0].body] == ["ci"]
    assert f"guild {guilds[0]}: /ci glossary add" in lines and f"guild {guilds[1]}: /ci help" in lines

    async def login(self, token):  # type: ignore[no-untyped-def]
        fake.install(self)
    monkeypatch.setattr(discord.Client, "login", login)
    monkeypatch.setenv("DISCORD_TOKEN", "token")
    monkeypatch.setenv("DISCORD_APPLICATION_ID", str(APPLICATION_ID))
    monkeypatch.delenv("DISCORD_GUILD_IDS", raising=False)
    global_lines = await sync_commands(core_only)
    assert fake.last().path == f"/applications/{APPLICATION_ID}/commands"
    assert any(line.endswith("/ci glossary show") for line in global_lines)


def test_settings_explain_what_is_missing() -> None:
    with pytest.raises(DiscordConfigError, match="DISCORD_TOKEN is not set"):
        DiscordSettings.from_env({})
    with pytest.raises(DiscordConfigError, match="DISCORD_APPLICATION_ID must be a Discord id"):
        DiscordSettings.from_env({"DISCORD_TOKEN": "t", "DISCORD_APPLICATION_ID": "my-bot"})
    settings = DiscordSettings.from_env({"DISCORD_TOKEN": "t", "DISCORD_APPLICATION_ID": "7",
                                         "DISCORD_GUILD_IDS": "11, 12,"})
    assert settings.guild_ids == (11, 12)
