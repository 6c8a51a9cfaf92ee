"""Delivering outbox messages to Discord channels and DMs through discord.py's HTTP client.

discord.py's HTTP client already waits out per-route 429s (up to the client's
`max_ratelimit_timeout`); a longer wait, or a 429 it gives up on, becomes the
dispatcher's `RateLimited`, and refusals that retrying cannot fix (missing access,
unknown channel, a malformed message) become `DeliveryFailed`.

Each message carries a nonce derived from its outbox key with `enforce_nonce`, so
Discord itself answers a resend of the same key within a few minutes with the
message it already has instead of posting it twice. Discord keeps no searchable
metadata on messages, so `find` cannot look a key up afterwards; that nonce check is
what makes the dispatcher's resend of an in-doubt message safe.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable
from datetime import datetime
from typing import Any

import discord
from discord.http import handle_message_parameters
from discord.utils import MISSING

from bot.adapters.discord.embeds import allowed_mentions_for, embeds_for, files_for, mention_content
from bot.adapters.discord.interactions import button_view
from bot.core.delivery import DeliveryFailed, RateLimited, Target
from bot.core.messages import Reply

DEFAULT_RETRY_AFTER = 5.0


class DiscordSender:
    """The outbox's `Sender` for Discord, on a logged-in client's HTTP session."""

    platform = "discord"

    def __init__(self, client: discord.Client) -> None:
        self._http = client.http
        self._dm_channels: dict[str, str] = {}

    async def send(self, target: Target, reply: Reply, *, key: str) -> str:
        """Post `reply` to the target channel (or the user's DM) once per `key`; return the message id."""
        channel_id = await self._channel(target)
        with _parameters(reply, nonce=nonce_for(key)) as params:
            message = await _call(self._http.send_message(channel_id, params=params))
        return str(message["id"])

    async def find(self, target: Target, key: str, *, since: datetime | None = None) -> str | None:
        """Always None: Discord cannot be searched by key, and a resend with the key's nonce is deduplicated.

        Paging back to `since` would not help: Discord does not store a message's nonce
        (fetched messages come without it), so nothing in the history names the key.
        """
        return None

    async def update(self, target: Target, message_id: str, reply: Reply) -> None:
        """Replace the message `message_id` with `reply` (a vote tally, an agenda that changed)."""
        channel_id = await self._channel(target)
        with _parameters(reply, editing=True) as params:
            await _call(self._http.edit_message(channel_id, message_id, params=params))

    async def _channel(self, target: Target) -> str:
        if target.channel_id:
            return target.channel_id
        if target.user_id not in self._dm_channels:
            channel = await _call(self._http.start_private_message(int(target.user_id)))
            self._dm_channels[target.user_id] = str(channel["id"])
        return self._dm_channels[target.user_id]


def nonce_for(key: str) -> str:
    """The Discord nonce (at most 25 characters) standing for outbox key `key`."""
    return hashlib.sha256(key.encode()).hexdigest()[:25]


def _parameters(reply: Reply, *, editing: bool = False, nonce: str | None = None) -> Any:
    files = files_for(reply)
    view = button_view(reply.buttons)
    if editing:
        attachments: dict[str, Any] = {"attachments": files}
    else:
        attachments = {"files": files or MISSING}
    return handle_message_parameters(
        content=mention_content(reply) if editing else (mention_content(reply) or MISSING),
        embeds=embeds_for(reply), view=view if view is not None else (None if editing else MISSING),
        allowed_mentions=allowed_mentions_for(reply), nonce=nonce, **attachments)


async def _call(request: Awaitable[Any]) -> Any:
    try:
        return await request
    except discord.RateLimited as exc:
        raise RateLimited(exc.retry_after) from exc
    except (discord.Forbidden, discord.NotFound) as exc:
        raise DeliveryFailed(f"Discord refused the message: {exc}") from exc
    except discord.HTTPException as exc:
        if exc.status == 429:
            raise RateLimited(float(exc.response.headers.get("Retry-After", DEFAULT_RETRY_AFTER))) from exc
        if 400 <= exc.status < 500:
            raise DeliveryFailed(f"Discord rejected the message: {exc}") from exc
        raise
