"""Jinja2 rendering with escaping for the platform the text is going to.

Every `{{ value }}` in a template is escaped for the target platform unless it is
`Markup` (text this module produced). So an agenda item, a glossary definition or
a vote reason that contains ``<!channel>``, ``@everyone`` or a masked link arrives
as inert text, and templates never have to remember to escape.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
PLATFORMS = ("slack", "discord", "console")


class Markup(str):
    """Text that is already valid markup for its platform and must not be escaped again."""


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200e\u200f\u202a-\u202e]")
_DISCORD_MD = re.compile(r"([\\*_~`|>#\[\]()<:-])")
_DISCORD_MASS = re.compile(r"@(everyone|here)", re.IGNORECASE)


def escape(text: Any, platform: str) -> Markup:
    """`text` made inert for `platform`: no mention, link or formatting survives."""
    if isinstance(text, Markup):
        return text
    value = _CONTROL.sub("", "" if text is None else str(text))
    if platform == "slack":
        value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    elif platform == "discord":
        value = _DISCORD_MD.sub(r"\\\1", value)
        value = _DISCORD_MASS.sub("@\u200b\\1", value)
    return Markup(value)


class Dialect:
    """The markup of one platform: escaping, emphasis, links, and template rendering."""

    def __init__(self, platform: str) -> None:
        if platform not in PLATFORMS:
            raise ValueError(f"unknown platform {platform!r}; expected one of {PLATFORMS}")
        self.platform = platform

    def escape(self, text: Any) -> Markup:
        """User text made inert for this platform."""
        return escape(text, self.platform)

    def bold(self, text: Any) -> Markup:
        """`text`, escaped and shown in bold."""
        inner = self.escape(text)
        if not inner:
            return inner
        return Markup({"slack": f"*{inner}*", "discord": f"**{inner}**"}.get(self.platform, inner))

    def italic(self, text: Any) -> Markup:
        """`text`, escaped and shown in italics."""
        inner = self.escape(text)
        if not inner:
            return inner
        return Markup({"slack": f"_{inner}_", "discord": f"*{inner}*"}.get(self.platform, inner))

    def code(self, text: Any) -> Markup:
        """`text` shown as inline code (backticks in it are dropped)."""
        raw = _CONTROL.sub("", str(text)).replace("`", "'")
        if self.platform == "slack":
            raw = raw.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return Markup(raw if self.platform == "console" else f"`{raw}`")

    def link(self, url: str, label: Any) -> Markup:
        """A link to a trusted `url` (never user input) with an escaped label."""
        text = self.escape(label)
        if self.platform == "slack":
            return Markup(f"<{url}|{text}>")
        if self.platform == "discord":
            return Markup(f"[{text}]({url})")
        return Markup(f"{text} ({url})")

    def render(self, template: str, **values: Any) -> Markup:
        """Render `bot/templates/<template>` for this platform, escaping every value."""
        return Markup(_environment(self.platform).get_template(template).render(**values).strip())

    def render_string(self, source: str, **values: Any) -> Markup:
        """Render an inline template string the same way as a template file."""
        return Markup(_environment(self.platform).from_string(source).render(**values).strip())


@cache
def dialect(platform: str) -> Dialect:
    """The shared `Dialect` for `platform`."""
    return Dialect(platform)


@cache
def _environment(platform: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=False,
        finalize=lambda value: escape(value, platform),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        undefined=jinja2.StrictUndefined,
    )
    d = Dialect(platform)
    env.filters.update(b=d.bold, i=d.italic, code=d.code)
    env.globals.update(link=d.link, platform=platform)
    return env
