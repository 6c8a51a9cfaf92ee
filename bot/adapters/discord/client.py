"""The Discord client of cibot: building it, syncing `/ci`, and running it until cancelled.

The client needs no privileged intent (only Guilds, so discord.py knows the guilds
and channels it is in; interactions arrive without any intent), pings
nobody by default, and registers the persistent button item at construction so
clicks on messages from before a restart are handled.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord
from discord import app_commands

from bot.adapters.discord.commands import build_ci_group
from bot.adapters.discord.interactions import CoreButton, is_claimed
from bot.adapters.discord.settings import DiscordSettings
from bot.core.core import Core

log = logging.getLogger(__name__)
MAX_RATELIMIT_WAIT = 30.0  # seconds discord.py may sleep on a 429 before raising RateLimited
OUT_OF_SYNC = ("The /ci commands changed since Discord last loaded them. Backbone staff can fix this "
               "with `cibot discord sync`; meanwhile try again in a minute.")
FAILED = "Something went wrong on our side. Nothing was changed; please try again."
EXPIRED = ("That form or button is no longer active (the bot was restarted since it was shown). "
           "Nothing was saved; please run the /ci command again.")
UNANSWERED_AFTER = 1.0  # seconds; a live handler claims its interaction within milliseconds


class CibotDiscordClient(discord.Client):
    """A discord.py client that answers `/ci` with `core`; `tree` holds the generated commands."""

    def __init__(self, core: Core, settings: DiscordSettings, **options: Any) -> None:
        super().__init__(intents=discord.Intents(guilds=True), application_id=settings.application_id,
                         allowed_mentions=discord.AllowedMentions.none(),
                         max_ratelimit_timeout=MAX_RATELIMIT_WAIT, **options)
        self.core = core
        self.settings = settings
        self.tree = app_commands.CommandTree(self)
        self.tree.error(_on_tree_error)
        guilds = [discord.Object(gid) for gid in settings.guild_ids]
        self.tree.add_command(build_ci_group(core), guilds=guilds or discord.utils.MISSING)
        self.add_dynamic_items(CoreButton)
        self.sync_on_start = True

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Tell the person when a click or form reached nothing (a form opened before a restart)."""
        if interaction.type not in (discord.InteractionType.component, discord.InteractionType.modal_submit):
            return
        await asyncio.sleep(UNANSWERED_AFTER)
        if not is_claimed(interaction):
            await interaction.response.send_message(EXPIRED, ephemeral=True,
                                                    allowed_mentions=discord.AllowedMentions.none())

    async def setup_hook(self) -> None:
        """Sync the command tree once logged in (instantly per test guild, else globally)."""
        if self.sync_on_start:
            try:
                for line in await self.sync_tree():
                    log.info("synced %s", line)
            except discord.HTTPException:
                log.exception("could not sync the /ci commands; the ones Discord already has stay in use")

    async def sync_tree(self) -> list[str]:
        """Push the `/ci` commands to Discord and list what each scope now has."""
        scopes: list[discord.Object | None] = [discord.Object(g) for g in self.settings.guild_ids] or [None]
        lines: list[str] = []
        for guild in scopes:
            synced = await self.tree.sync(guild=guild)
            where = f"guild {guild.id}" if guild else "all guilds (global; may take up to an hour to appear)"
            lines += [f"{where}: /{name}" for command in synced for name in _names(command)]
        return lines


def build_discord_client(core: Core, settings: DiscordSettings) -> CibotDiscordClient:
    """A Discord client answering `/ci`, buttons, modals and autocomplete with `core` (not logged in)."""
    return CibotDiscordClient(core, settings)


async def run_discord(core: Core, client: CibotDiscordClient | None = None) -> None:
    """Log in with DISCORD_TOKEN, sync `/ci`, and serve interactions until cancelled.

    Pass `client` when something else (the outbox dispatcher's `DiscordSender`) shares it.
    """
    client = client or build_discord_client(core, DiscordSettings.from_env())
    async with client:
        await client.start(client.settings.token)


async def sync_commands(core: Core, settings: DiscordSettings | None = None) -> list[str]:
    """Sync the `/ci` commands now (for `cibot discord sync`) and list what was synced."""
    client = build_discord_client(core, settings or DiscordSettings.from_env())
    client.sync_on_start = False
    async with client:
        await client.login(client.settings.token)
        return await client.sync_tree()


def _names(command: app_commands.AppCommand) -> list[str]:
    names: list[str] = []
    for option in command.options:
        if isinstance(option, app_commands.AppCommandGroup):
            if any(isinstance(o, app_commands.AppCommandGroup) for o in option.options):
                names += [f"{command.name} {option.name} {o.name}" for o in option.options]
            else:
                names.append(f"{command.name} {option.name}")
    return names or [command.name]


async def _on_tree_error(interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
    stale = isinstance(error, app_commands.CommandSignatureMismatch | app_commands.CommandNotFound)
    if not stale:
        log.error("Discord command %r failed", interaction.data, exc_info=error)
    if not interaction.response.is_done() and interaction.type != discord.InteractionType.autocomplete:
        await interaction.response.send_message(OUT_OF_SYNC if stale else FAILED, ephemeral=True,
                                                allowed_mentions=discord.AllowedMentions.none())
