"""Showing a core Reply where a Slack interaction happened: response_url, ephemeral, channel or DM."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.adapters.slack.blocks import fallback_text, reply_blocks
from bot.core.messages import Image, Reply

log = logging.getLogger(__name__)
IN_YOUR_DMS = "The chart is in your direct messages with cibot."


@dataclass(frozen=True)
class Surface:
    """Where answers to one interaction appear: its response_url, else its channel, else a DM."""

    user_id: str
    channel_id: str = ""
    response_url: str = ""


async def show(client: AsyncWebClient, reply: Reply, surface: Surface) -> None:
    """Post `reply` for the user of `surface`; ephemeral replies are seen by that user only.

    A reply's image is uploaded (files_upload_v2) after it: to the channel when the
    reply is public, else to the user's direct messages with the bot, because Slack
    cannot attach a file to an ephemeral message; the reply then says where the chart
    went, and its blocks always carry the chart's alt text.
    """
    image_in_dm = reply.image is not None and (reply.ephemeral or not surface.channel_id)
    if image_in_dm:
        reply = replace(reply, context=" ".join(filter(None, (reply.context, IN_YOUR_DMS))))
    blocks = reply_blocks(reply)
    if not blocks:
        return
    text = fallback_text(reply)
    if surface.response_url:
        response = await AsyncWebhookClient(surface.response_url).send(
            text=text, blocks=blocks, response_type="ephemeral" if reply.ephemeral else "in_channel",
            replace_original=False, unfurl_links=False, unfurl_media=False)
        if response.status_code != 200:
            log.warning("response_url refused a reply: %s %s", response.status_code, response.body)
    elif surface.channel_id and reply.ephemeral:
        await client.chat_postEphemeral(channel=surface.channel_id, user=surface.user_id, text=text, blocks=blocks)
    else:
        await client.chat_postMessage(channel=surface.channel_id or surface.user_id, text=text, blocks=blocks,
                                      unfurl_links=False, unfurl_media=False)
    if reply.image is not None:
        channel = surface.channel_id
        if image_in_dm:
            channel = (await client.conversations_open(users=surface.user_id))["channel"]["id"]
        await upload_image(client, channel, reply.image)


async def upload_image(client: AsyncWebClient, channel: str, image: Image) -> AsyncSlackResponse:
    """Upload `image` to `channel` (files_upload_v2), titled and described by its alt text."""
    return await client.files_upload_v2(channel=channel, content=image.data, filename=image.filename,
                                        title=image.alt, alt_txt=image.alt)
