"""Core replies as Slack Block Kit: message blocks, the App Home view and the fallback text.

Titles, field labels, button texts, the context line and image alt texts are plain
text (Slack shows them verbatim); sections and field values are mrkdwn that the
core's renderer has already escaped, so they are passed through untouched. Block
Kit's limits are enforced here: long text is split or cut at a safe place (never
inside an ``&amp;`` entity or a ``<link|label>``), and a reply with too many blocks
keeps its buttons and says that some of it was left out.
"""

from __future__ import annotations

import re
from typing import Any

from bot.adapters.slack.dialect import SLACK
from bot.core.messages import Button, ButtonStyle, Field, Home, Reply

HEADER_MAX = 150
SECTION_MAX = 3000
FIELD_MAX = 2000
FIELDS_PER_SECTION = 10
CONTEXT_MAX = 2000
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
ACTION_ID_MAX = 255
BUTTONS_PER_BLOCK = 25
MESSAGE_BLOCKS_MAX = 50
HOME_BLOCKS_MAX = 100
FALLBACK_MAX = 3000

# The core's namespaced action ids (``glossary.approve``), with the ``#n`` suffix this
# module adds when one message holds two buttons with the same action.
ACTION_PATTERN = re.compile(r"^[A-Za-z][\w-]*(?:\.[\w-]+)+(?:#\d+)?$")

Block = dict[str, Any]


def action_name(action_id: str) -> str:
    """The core action behind a Slack `action_id` (without the ``#n`` suffix)."""
    return action_id.split("#", 1)[0]


def plain(text: str, limit: int) -> dict[str, Any]:
    """A plain_text object holding `text` cut to `limit` characters (Slack refuses empty text)."""
    return {"type": "plain_text", "text": _cut_plain(text, limit) or " ", "emoji": True}


def reply_blocks(reply: Reply, limit: int = MESSAGE_BLOCKS_MAX) -> list[Block]:
    """The Block Kit blocks that show `reply`, at most `limit` of them."""
    body: list[Block] = []
    if reply.title:
        body.append({"type": "header", "text": plain(reply.title, HEADER_MAX)})
    for section in reply.sections:
        body += [_section(chunk) for chunk in split_mrkdwn(section, SECTION_MAX)]
    body += _field_blocks(reply.fields)
    tail: list[Block] = []
    notes: list[dict[str, Any]] = []
    if reply.image is not None:
        notes.append(plain(f"\N{BAR CHART} {reply.image.alt}", CONTEXT_MAX))
    if reply.context:
        notes.append(plain(reply.context, CONTEXT_MAX))
    if notes:
        tail.append({"type": "context", "elements": notes})
    for start in range(0, len(reply.buttons), BUTTONS_PER_BLOCK):
        tail.append({"type": "actions",
                     "elements": [_button(b) for b in reply.buttons[start:start + BUTTONS_PER_BLOCK]]})
    return _unique_action_ids(_fit(body, tail, limit))


def fallback_text(reply: Reply) -> str:
    """The notification text sent with the blocks: the reply as mrkdwn with plain parts escaped."""
    parts: list[str] = [SLACK.escape(reply.title)] if reply.title else []
    parts += reply.sections
    parts += [f"{SLACK.escape(f.label)}: {f.value}" for f in reply.fields]
    if reply.context:
        parts.append(SLACK.escape(reply.context))
    return cut_mrkdwn("\n".join(p for p in parts if p), FALLBACK_MAX) or " "


def home_view(home: Home) -> dict[str, Any]:
    """The App Home tab showing `home`: its title, then each section's reply."""
    blocks: list[Block] = [{"type": "header", "text": plain(home.title, HEADER_MAX)}]
    for reply in home.replies:
        blocks.append({"type": "divider"})
        blocks += reply_blocks(reply, HOME_BLOCKS_MAX)
    return {"type": "home", "blocks": _unique_action_ids(_fit(blocks, [], HOME_BLOCKS_MAX))}


def split_mrkdwn(text: str, limit: int) -> list[str]:
    """`text` in pieces of at most `limit` characters, split at line ends where possible."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit + 1)
        if cut <= 0:
            cut = _safe_cut(text, limit)
        pieces.append(text[:cut].rstrip("\n"))
        text = text[cut:].lstrip("\n")
    if text or not pieces:
        pieces.append(text)
    return [p for p in pieces if p] or [" "]


def cut_mrkdwn(text: str, limit: int) -> str:
    """`text` cut to `limit` characters with an ellipsis, never inside an entity or a link."""
    if len(text) <= limit:
        return text
    return text[:_safe_cut(text, limit - 1)].rstrip() + "\N{HORIZONTAL ELLIPSIS}"


def _safe_cut(text: str, limit: int) -> int:
    cut = limit
    amp, semi = text.rfind("&", 0, cut), text.rfind(";", 0, cut)
    if amp > semi and cut - amp < 8:
        cut = amp
    opening, closing = text.rfind("<", 0, cut), text.rfind(">", 0, cut)
    if opening > closing:
        cut = opening
    return cut if cut > 0 else limit


def _cut_plain(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\N{HORIZONTAL ELLIPSIS}"


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _field_text(field: Field, limit: int) -> str:
    return cut_mrkdwn(f"*{SLACK.escape(field.label)}*\n{field.value}", limit)


def _field_blocks(fields: list[Field]) -> list[Block]:
    blocks: list[Block] = []
    row: list[dict[str, str]] = []
    for field in fields:
        if field.inline:
            row.append({"type": "mrkdwn", "text": _field_text(field, FIELD_MAX)})
            if len(row) == FIELDS_PER_SECTION:
                blocks.append({"type": "section", "fields": row})
                row = []
            continue
        if row:
            blocks.append({"type": "section", "fields": row})
            row = []
        blocks.append(_section(_field_text(field, SECTION_MAX)))
    if row:
        blocks.append({"type": "section", "fields": row})
    return blocks


def _button(button: Button) -> Block:
    element: Block = {
        "type": "button",
        "text": plain(button.label, BUTTON_TEXT_MAX),
        "action_id": button.action[:ACTION_ID_MAX - 4],
        "value": button.value[:BUTTON_VALUE_MAX],
    }
    if button.style != ButtonStyle.DEFAULT:
        element["style"] = str(button.style)
    return element


def _fit(body: list[Block], tail: list[Block], limit: int) -> list[Block]:
    """`body` then `tail`, dropping the end of `body` (with a note) when there are too many blocks."""
    if len(body) + len(tail) <= limit:
        return body + tail
    keep = max(limit - len(tail) - 1, 0)
    left_out = len(body) - keep
    note = {"type": "context", "elements": [{
        "type": "plain_text", "text": f"{left_out} more part(s) of this message could not be shown in Slack."}]}
    return body[:keep] + [note] + tail[: limit - keep - 1]


def _unique_action_ids(blocks: list[Block]) -> list[Block]:
    """Slack refuses a message with two equal action ids: number the repeats ``action#2``, ``action#3``."""
    seen: set[str] = set()
    for block in blocks:
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            action_id, n = element["action_id"], 1
            while element["action_id"] in seen:
                n += 1
                element["action_id"] = f"{action_name(action_id)}#{n}"
            seen.add(element["action_id"])
    return blocks
