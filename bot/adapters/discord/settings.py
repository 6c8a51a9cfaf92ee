"""The Discord settings read from the environment: token, application id, test guilds."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


class DiscordConfigError(ValueError):
    """A Discord setting is missing or malformed; the message says which and how to fix it."""


@dataclass(frozen=True)
class DiscordSettings:
    """How to reach Discord: the bot token, the application id, and guilds for instant sync."""

    token: str
    application_id: int
    guild_ids: tuple[int, ...] = ()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DiscordSettings:
        """Read DISCORD_TOKEN, DISCORD_APPLICATION_ID and the optional comma list DISCORD_GUILD_IDS."""
        env = os.environ if environ is None else environ
        token = env.get("DISCORD_TOKEN", "").strip()
        if not token:
            raise DiscordConfigError(
                "DISCORD_TOKEN is not set. Copy the bot token from the Discord developer portal "
                "(your application > Bot > Reset Token); see deploy/discord/README.md.")
        return cls(token=token,
                   application_id=_snowflake("DISCORD_APPLICATION_ID", env.get("DISCORD_APPLICATION_ID", "")),
                   guild_ids=tuple(_snowflake("DISCORD_GUILD_IDS", part)
                                   for part in env.get("DISCORD_GUILD_IDS", "").split(",") if part.strip()))


def _snowflake(name: str, raw: str) -> int:
    value = raw.strip()
    if not value.isdigit():
        raise DiscordConfigError(
            f"{name} must be a Discord id (digits only), not {value!r}. Find it in the developer "
            "portal (General Information > Application ID) or with Developer Mode > Copy Server ID.")
    return int(value)
