"""Messages the bot sends on its own (from the outbox), shaped to Slack's rate limits.

Posts to one channel are spaced `interval` seconds apart (Slack allows about one
message per second per channel), direct messages reuse the DM channel from one
`conversations.open` per user, and a 429 answer is NOT retried here: the channel is
paused for its Retry-After and `RateLimited` is raised so the outbox dispatcher
reschedules the message; the next call for that channel waits out the pause itself.

Every message carries its outbox key in Slack message metadata (event type
``cibot_outbox``), so `find` can page back through the channel's history to the
moment the message was claimed (``conversations.history`` with ``oldest``, ``latest``
and the cursor) and tell the dispatcher, after a crash between posting and recording,
whether Slack already has the message, however busy the channel got meanwhile.
Look-ups are paced per channel, so look-ups in different channels run side by side;
a 429 on ``conversations.history`` pauses every look-up for its Retry-After.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.adapters.slack.blocks import fallback_text, reply_blocks
from bot.adapters.slack.post import upload_image
from bot.core.delivery import DeliveryFailed, RateLimited, Target
from bot.core.messages import Image, Reply

log = logging.getLogger(__name__)

EVENT_TYPE = "cibot_outbox"
# How many messages one conversations.history page holds (Slack recommends at most 200).
FIND_PAGE = 200
# Without a claim time, `find` reads one page of the channel's newest messages.
# With one, it reads back to that time less this margin (clocks of Slack and the database differ).
FIND_MARGIN = timedelta(minutes=2)
HISTORY = "conversations.history"
# Refusals of conversations.history meaning the bot cannot see the channel, so it cannot
# post there either: `find` answers "not there" and the resend gets the refusal for good.
UNREADABLE_CHANNEL = frozenset({"channel_not_found", "not_in_channel"})

# Slack errors that retrying cannot fix.
PERMANENT_ERRORS = frozenset({
    "account_inactive", "cannot_dm_bot", "cant_update_message", "channel_not_found", "edit_window_closed",
    "invalid_auth", "invalid_blocks", "is_archived", "message_not_found", "missing_scope", "msg_too_long",
    "no_text", "not_authed", "not_in_channel", "restricted_action", "token_revoked", "user_disabled",
    "user_not_found", "user_not_visible",
})


class SlackSender:
    """The outbox's Sender for Slack: chat.postMessage / chat.update with pacing and 429 handling."""

    platform = "slack"

    def __init__(self, client: AsyncWebClient, *, interval: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._interval = interval
        self._clock = clock
        self._dm_channels: dict[str, str] = {}
        self._not_before: dict[str, float] = {}
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def send(self, target: Target, reply: Reply, *, key: str) -> str:
        """Post `reply` to the target channel or DM, tagged with outbox `key`, and return the message's ts."""
        channel = await self._channel(target)
        response = await self._paced(channel, lambda: self._client.chat_postMessage(
            channel=channel, text=fallback_text(reply), blocks=reply_blocks(reply),
            unfurl_links=False, unfurl_media=False,
            metadata={"event_type": EVENT_TYPE, "event_payload": {"key": key}}))
        if reply.image is not None:
            await self._upload_image(channel, reply.image)
        return str(response["ts"])

    async def find(self, target: Target, key: str, *, since: datetime | None = None) -> str | None:
        """The ts of the message tagged with outbox `key` in the target's channel, else None.

        With `since` (when the message was claimed for sending) every message posted
        from then on (less `FIND_MARGIN`) is read, page by page; without it, the newest
        `FIND_PAGE` messages.
        """
        channel = await self._channel(target)
        params: dict[str, Any] = {"channel": channel, "include_all_metadata": True, "limit": FIND_PAGE}
        if since is not None:
            params["oldest"] = f"{(since - FIND_MARGIN).timestamp():.6f}"
            params["latest"] = f"{time.time() + FIND_MARGIN.total_seconds():.6f}"
        cursor = ""
        while True:
            page = dict(params, cursor=cursor) if cursor else params
            try:
                response = await self._paced(f"history:{channel}",
                                             partial(self._client.conversations_history, **page), gate=HISTORY)
            except DeliveryFailed as exc:
                if _slack_error(exc.__cause__) in UNREADABLE_CHANNEL:
                    return None
                raise
            for message in response.get("messages") or []:  # newest first
                metadata = message.get("metadata") or {}
                if metadata.get("event_type") == EVENT_TYPE and (metadata.get("event_payload") or {}).get("key") == key:
                    return str(message["ts"])
            cursor = str((response.get("response_metadata") or {}).get("next_cursor") or "")
            if since is None or not cursor or not response.get("has_more", True):
                return None

    async def update(self, target: Target, message_id: str, reply: Reply) -> None:
        """Replace the message `message_id` (its ts) with `reply`."""
        channel = await self._channel(target)
        await self._paced(channel, lambda: self._client.chat_update(
            channel=channel, ts=message_id, text=fallback_text(reply), blocks=reply_blocks(reply)))

    async def _channel(self, target: Target) -> str:
        if target.channel_id:
            return target.channel_id
        async with self._locks[f"dm:{target.user_id}"]:
            if target.user_id not in self._dm_channels:
                response = await self._paced("conversations.open", lambda: self._client.conversations_open(
                    users=target.user_id))
                self._dm_channels[target.user_id] = response["channel"]["id"]
        return self._dm_channels[target.user_id]

    async def _upload_image(self, channel: str, image: Image) -> None:
        """Upload a message's chart after the message; the message is out, so failures only log."""
        try:
            await self._paced(channel, lambda: upload_image(self._client, channel, image))
        except (RateLimited, DeliveryFailed, SlackApiError) as exc:
            log.warning("could not upload the chart for a message in %s: %s", channel, exc)

    async def _paced(self, key: str, call: Callable[[], Awaitable[AsyncSlackResponse]], *, gate: str = "") -> Any:
        """Run `call` no sooner than `key` (and the shared `gate`, if any) allows, translating Slack's refusals."""
        async with self._locks[key]:
            wait = max(self._not_before.get(key, 0.0), self._not_before.get(gate, 0.0) if gate else 0.0) - self._clock()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                response = await call()
            except SlackApiError as exc:
                self._not_before[key] = self._clock() + self._interval
                refusal = self._refusal(key, exc)
                if gate and isinstance(refusal, RateLimited):
                    self._not_before[gate] = self._not_before[key]
                raise refusal from exc
            self._not_before[key] = self._clock() + self._interval
            return response

    def _refusal(self, key: str, exc: SlackApiError) -> Exception:
        response = exc.response
        if response.status_code == 429:
            retry_after = float(response.headers.get("Retry-After", response.headers.get("retry-after", 1)))
            self._not_before[key] = self._clock() + retry_after
            return RateLimited(retry_after)
        error = _slack_error(exc)
        if error in PERMANENT_ERRORS:
            return DeliveryFailed(f"Slack refused the message for {key}: {error}")
        return exc


def _slack_error(exc: BaseException | None) -> str:
    """The ``error`` code of a Slack API refusal (empty for anything else)."""
    if not isinstance(exc, SlackApiError) or not isinstance(exc.response.data, dict):
        return ""
    return str(exc.response.data.get("error", ""))
