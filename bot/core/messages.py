"""The neutral message model every flow returns and every adapter renders natively.

Text in `Reply.sections` and `Field.value` is `Markup`: already rendered for the
target platform (see `bot.core.render`), user text inside it escaped. Passing a plain
`str` there is a type error mypy reports, so forgetting to escape cannot slip through.
Titles, labels and button texts are plain text; adapters show them as plain text.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from bot.core.render import Markup


class ButtonStyle(StrEnum):
    """How prominent a button is; adapters map it to their own palette."""

    DEFAULT = "default"
    PRIMARY = "primary"
    DANGER = "danger"


@dataclass(frozen=True)
class Button:
    """A button that sends `action` with `value` back to the core when clicked.

    `action` is a namespaced id such as ``glossary.approve``; `value` carries the
    state the handler needs (ids, never objects). Together they fit in 90 characters.
    """

    label: str
    action: str
    value: str = ""
    style: ButtonStyle = ButtonStyle.DEFAULT


@dataclass(frozen=True)
class Field:
    """A short labelled fact shown side by side with others (Slack fields, embed fields)."""

    label: str
    value: Markup
    inline: bool = True


@dataclass(frozen=True)
class Image:
    """A picture attached to a reply: PNG bytes plus the text read out instead of it."""

    data: bytes
    alt: str
    filename: str = "chart.png"


class FieldKind(StrEnum):
    """The input widget a form field needs."""

    TEXT = "text"
    LONG_TEXT = "long_text"
    NUMBER = "number"
    CHOICE = "choice"


@dataclass(frozen=True)
class FormField:
    """One input of a form, with the validation the adapter can show natively."""

    name: str
    label: str
    kind: FieldKind = FieldKind.TEXT
    required: bool = True
    max_length: int = 2000
    placeholder: str = ""
    initial: str = ""
    choices: tuple[tuple[str, str], ...] = ()  # (value, label)
    hint: str = ""


@dataclass(frozen=True)
class Form:
    """A form the user fills in: a Slack modal, a Discord modal, or console prompts.

    On submit the adapter calls the core with `action` and `value` and the field
    values by name; the core answers with a Reply or with `FormErrors`.
    """

    title: str
    action: str
    fields: tuple[FormField, ...]
    value: str = ""
    submit_label: str = "Submit"


@dataclass
class Reply:
    """What the bot says back: a card with a plain-text fallback.

    `ephemeral` replies are shown only to the person who asked. `form`, when set,
    asks the adapter to open that form instead of (or after) showing the card.
    `mentions` lists platform user ids the reply may ping; nobody else is pinged.
    """

    title: str = ""
    sections: list[Markup] = field(default_factory=list)
    fields: list[Field] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)
    image: Image | None = None
    context: str = ""
    ephemeral: bool = False
    form: Form | None = None
    mentions: list[str] = field(default_factory=list)

    def plain_text(self) -> str:
        """The whole reply as one block of text, for notifications and simple clients."""
        parts = [self.title] if self.title else []
        parts += self.sections
        parts += [f"{f.label}: {f.value}" for f in self.fields]
        if self.context:
            parts.append(self.context)
        return "\n".join(p for p in parts if p)


@dataclass(frozen=True)
class FormErrors:
    """Field-level problems with a submitted form, keyed by field name."""

    errors: dict[str, str]


@dataclass(frozen=True)
class Home:
    """A member's personal page (Slack App Home): sections that capabilities contribute."""

    title: str
    replies: list[Reply]


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, ending in an ellipsis when cut (plain text only)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def reply_to_dict(reply: Reply) -> dict[str, Any]:
    """A JSON-safe dict of `reply` (image bytes in base64), for the outbox and tests."""
    image = reply.image
    return {
        "title": reply.title,
        "sections": list(reply.sections),
        "fields": [[f.label, f.value, f.inline] for f in reply.fields],
        "buttons": [[b.label, b.action, b.value, str(b.style)] for b in reply.buttons],
        "context": reply.context,
        "ephemeral": reply.ephemeral,
        "mentions": list(reply.mentions),
        "image": [base64.b64encode(image.data).decode(), image.alt, image.filename] if image else None,
    }


def reply_from_dict(data: dict[str, Any]) -> Reply:
    """The inverse of `reply_to_dict`."""
    return Reply(
        title=data.get("title", ""),
        sections=list(data.get("sections", [])),
        fields=[Field(label, value, inline) for label, value, inline in data.get("fields", [])],
        buttons=[Button(label, action, value, ButtonStyle(style))
                 for label, action, value, style in data.get("buttons", [])],
        context=data.get("context", ""),
        ephemeral=data.get("ephemeral", False),
        mentions=list(data.get("mentions", [])),
        image=_image_from(data.get("image")),
    )


def _image_from(data: list[str] | None) -> Image | None:
    if not data:
        return None
    encoded, alt, filename = data
    return Image(base64.b64decode(encoded), alt, filename)
