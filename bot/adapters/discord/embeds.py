"""A core Reply as Discord sees it: embeds, attached image, and who may be pinged.

Sections and field values arrive already escaped for Discord by the core's renderer
and are used as they are; titles and field labels are plain text and are escaped
here. Footers (the reply's context) and button labels are never parsed as markdown
by Discord, so they go out verbatim.
"""

from __future__ import annotations

import io

import discord

from bot.adapters.discord.dialect import DISCORD
from bot.core.messages import Reply, clip

COLOUR = discord.Colour(0x2E7D6B)
EMPTY = "\u200b"  # Discord rejects empty embed parts
_EMBEDS_PER_MESSAGE = 10
_TOTAL = 6000
_DESCRIPTION = 4096
_FIELDS = 25
_SHORTENED = "\n…(shortened: Discord shows at most 6,000 characters per message)"


def plain(text: str, limit: int) -> str:
    """Plain `text` made inert as Discord markdown, cut to `limit` characters."""
    return clip(DISCORD.escape(text), limit)


def embeds_for(reply: Reply) -> list[discord.Embed]:
    """The embeds showing `reply`: the first carries title, fields, image and footer.

    Long text continues in further embeds of the same message, within Discord's
    limits (4,096 characters per description, 6,000 per message, 10 embeds).
    """
    title = plain(reply.title, 256) if reply.title else None
    footer = clip(reply.context, 2048) if reply.context else ""
    fields = [(plain(f.label, 256) or EMPTY, clip(f.value, 1024) or EMPTY, f.inline) for f in reply.fields[:_FIELDS]]
    budget = _TOTAL - len(title or "") - len(footer) - sum(len(n) + len(v) for n, v, _ in fields)
    chunks = _pack("\n\n".join(reply.sections), max(budget, 0))
    embeds = [discord.Embed(description=chunk or None, colour=COLOUR) for chunk in chunks or [""]]
    first = embeds[0]
    first.title = title
    for name, value, inline in fields:
        first.add_field(name=name, value=value, inline=inline)
    if reply.image is not None:
        first.set_image(url=f"attachment://{reply.image.filename}")
    if footer:
        embeds[-1].set_footer(text=footer)
    if not (title or chunks or fields or reply.image):
        first.description = EMPTY
    return embeds


def files_for(reply: Reply) -> list[discord.File]:
    """The attachments of `reply`: its image, with the alt text as the file description."""
    if reply.image is None:
        return []
    return [discord.File(io.BytesIO(reply.image.data), filename=reply.image.filename,
                         description=clip(reply.image.alt, 1024) or None)]


def allowed_mentions_for(reply: Reply) -> discord.AllowedMentions:
    """Nobody may be pinged, except the platform users `reply.mentions` names."""
    users = [discord.Object(int(uid)) for uid in reply.mentions if uid.isdigit()]
    return discord.AllowedMentions(everyone=False, roles=False, replied_user=False, users=users or False)


def mention_content(reply: Reply) -> str | None:
    """Message text that pings the users the reply mentions (embeds alone never ping)."""
    ids = [uid for uid in reply.mentions if uid.isdigit()]
    return " ".join(f"<@{uid}>" for uid in ids) or None


def _pack(text: str, budget: int) -> list[str]:
    if len(text) > budget:
        text = text[: max(budget - len(_SHORTENED), 0)].rstrip() + _SHORTENED
    chunks: list[str] = []
    while text and len(chunks) < _EMBEDS_PER_MESSAGE:
        cut = len(text) if len(text) <= _DESCRIPTION else (text.rfind("\n", 0, _DESCRIPTION) + 1 or _DESCRIPTION)
        chunks.append(text[:cut].strip())
        text = text[cut:]
    return [c for c in chunks if c]
