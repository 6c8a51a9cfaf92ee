"""Showing a core Reply where a Slack interaction happened, and publishing App Home.

An interaction with a ``response_url`` is answered through it. Everything else (App
Home buttons, modals opened from App Home, a response_url that refused) is not posted
from here: `outbox_target` says where it goes and the listener puts it in the outbox,
whose dispatcher delivers it like every other message the bot sends, through the
Slack sender's pacing and 429 handling, surviving restarts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, replace
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.adapters.slack.blocks import fallback_text, reply_blocks
from bot.core.delivery import Target
from bot.core.messages import Image, Reply

log = logging.getLogger(__name__)
IN_YOUR_DMS = "The chart is in your direct messages with cibot."
HOME_PATIENCE = 300.0  # seconds a Home publish keeps waiting out 429s before it gives up


@dataclass(frozen=True)
class Surface:
    """Where answers to one interaction appear: its response_url, else its channel, else a DM."""

    user_id: str
    channel_id: str = ""
    response_url: str = ""


async def show(client: AsyncWebClient, reply: Reply, surface: Surface) -> bool:
    """Post `reply` through the interaction's response_url; False when there is none or it refused.

    Ephemeral replies are seen by the user only. A reply's image is uploaded
    (files_upload_v2) after it: to the channel when the reply is public, else to the
    user's direct messages with the bot, because Slack cannot attach a file to an
    ephemeral message; the reply then says where the chart went, and its blocks always
    carry the chart's alt text. On False the caller queues the reply in the outbox.
    """
    if not surface.response_url:
        return False
    image_in_dm = reply.image is not None and (reply.ephemeral or not surface.channel_id)
    if image_in_dm:
        reply = replace(reply, context=" ".join(filter(None, (reply.context, IN_YOUR_DMS))))
    blocks = reply_blocks(reply)
    if not blocks:
        return True
    response = await AsyncWebhookClient(surface.response_url).send(
        text=fallback_text(reply), blocks=blocks, response_type="ephemeral" if reply.ephemeral else "in_channel",
        replace_original=False, unfurl_links=False, unfurl_media=False)
    if response.status_code != 200:
        log.warning("response_url refused a reply (%s %s); it goes through the outbox", response.status_code,
                    response.body)
        return False
    if reply.image is not None:
        channel = surface.channel_id
        if image_in_dm:
            channel = (await client.conversations_open(users=surface.user_id))["channel"]["id"]
        await upload_image(client, channel, reply.image)
    return True


def outbox_target(reply: Reply, surface: Surface, team_id: str) -> Target | None:
    """Where a reply that has no response_url goes through the outbox; None when it shows nothing.

    A public reply goes to the interaction's channel; a private one (or one from App
    Home, which has no channel) to the member's direct messages with the bot.
    """
    if not reply_blocks(reply):
        return None
    if surface.channel_id and not reply.ephemeral:
        return Target("slack", team_id=team_id, channel_id=surface.channel_id)
    return Target("slack", team_id=team_id, user_id=surface.user_id)


async def publish_home(client: AsyncWebClient, user_id: str, view: dict[str, Any], *,
                       patience: float = HOME_PATIENCE) -> None:
    """`views.publish` the member's App Home, waiting out 429s (Retry-After) for up to `patience` seconds.

    Publishing is idempotent (the last view wins), so retrying never shows anything twice.
    """
    deadline = time.monotonic() + patience
    while True:
        try:
            await client.views_publish(user_id=user_id, view=view)
            return
        except SlackApiError as exc:
            if exc.response.status_code != 429:
                raise
            headers = exc.response.headers or {}
            wait = float(headers.get("Retry-After", headers.get("retry-after", 1)))
            if time.monotonic() + wait > deadline:
                raise
            log.info("views.publish rate limited; publishing %s's Home again in %.0f s", user_id, wait)
            await asyncio.sleep(wait)


async def upload_image(client: AsyncWebClient, channel: str, image: Image) -> AsyncSlackResponse:
    """Upload `image` to `channel` (files_upload_v2), titled and described by its alt text."""
    return await client.files_upload_v2(channel=channel, content=image.data, filename=image.filename,
                                        title=image.alt, alt_txt=image.alt)
