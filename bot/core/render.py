"""Jinja2 rendering with escaping for the platform the text is going to.

Every `{{ value }}` in a template is escaped for the target platform unless it is
`Markup` (text a dialect produced). So an agenda item, a glossary definition or a vote
reason that contains ``<!channel>``, ``@everyone`` or a masked link arrives as inert
text, and templates never have to remember to escape.

The core knows only the plain `Dialect` (the console's and stored text's). Each chat
adapter hands the core its own subclass (`bot/adapters/*/dialect.py`) through the
registry: how it escapes, emphasises and links, the limits of its forms, and where in
its markup no footnote mark may go (code, quotes, links: `Dialect.linkable`, used by
`bot.core.notes`). The core never asks which platform it is on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import jinja2

from bot.core.time import day_text, moment_text

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200e\u200f\u202a-\u202e]")
_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
# Where no word gets a note, on every platform: web and mail addresses, quoted passages, quoted lines.
UNLINKABLE_EVERYWHERE = (
    r"(?:\b(?:https?|ftp)\\?:|\bwww\.)\S+",
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+",
    r'"[^"\n]*"|“[^”\n]*”|«[^»\n]*»',
    r"(?m:^>.*$)",
)


def unlinkable_pattern(*patterns: str) -> re.Pattern[str]:
    """One pattern matching any of `patterns` or of the stretches no platform links (`UNLINKABLE_EVERYWHERE`)."""
    return re.compile("|".join(f"(?:{p})" for p in (*patterns, *UNLINKABLE_EVERYWHERE)))


class Markup(str):
    """Text that is already valid markup for its platform and must not be escaped again.

    Reply sections and field values are `Markup`, so passing raw user text where
    markup is expected is a type error mypy reports. Join pieces with `Markup.join`.
    """

    def join(self, parts: Any) -> Markup:
        """`parts` (all `Markup`) joined by this separator, still markup."""
        return Markup(str.join(self, parts))


def strip_controls(text: Any) -> str:
    """`text` as a string without control and bidirectional-override characters."""
    return _CONTROL.sub("", "" if text is None else str(text))


@dataclass(frozen=True)
class Note:
    """A footnote on a word of a message, such as a glossary term's definition.

    `key` says what the note is about: a message notes each key once, at its first
    occurrence. `text` is plain text (adapters show it as such), without its mark.
    """

    key: str
    text: str


@dataclass(frozen=True)
class Mention:
    """Where `note` applies: characters `start` to `end` of the `piece`-th text an annotator was given."""

    piece: int
    start: int
    end: int
    note: Note


class Dialect:
    """The markup of one platform: escaping, emphasis, links, limits and template rendering.

    This base class is plain text (the console, stored minutes); adapters subclass it.
    """

    platform = "console"
    local = True  # a session on this machine: its user picks who they are and the only initiative applies
    form_page_size: int | None = None  # inputs one form page can show; None: no limit
    label_limit: int | None = None  # characters a form field label can have
    bold_mark = italic_mark = code_mark = ""  # what surrounds bold, italic and code text
    link_format = "{label} ({url})"
    escapes_code = False  # whether text inside code marks is escaped too
    unlinkable = unlinkable_pattern()  # stretches of rendered text where no word gets a note (code, quotes, links)
    web_links = False  # whether its readers get signed links to the bot's web pages (forms, unsubscribe)

    def escape(self, text: Any) -> Markup:
        """User text made inert for this platform: no mention, link or formatting survives."""
        if isinstance(text, Markup):
            return text
        return Markup(self.escape_plain(strip_controls(text)))

    def escape_plain(self, text: str) -> str:
        """The platform's escaping of `text`, which has no control characters left."""
        return text

    def bold(self, text: Any) -> Markup:
        """`text`, escaped and shown in bold."""
        return self._marked(self.bold_mark, self.escape(text))

    def italic(self, text: Any) -> Markup:
        """`text`, escaped and shown in italics."""
        return self._marked(self.italic_mark, self.escape(text))

    def code(self, text: Any) -> Markup:
        """`text` shown as inline code (backticks in it are dropped)."""
        inner = strip_controls(text).replace("`", "'")
        return self._marked(self.code_mark, Markup(self.escape_plain(inner) if self.escapes_code else inner))

    def link(self, url: str, label: Any) -> Markup:
        """A link to a trusted `url` (never user input) with an escaped label."""
        return Markup(self.link_format.format(url=url, label=self.escape(label)))

    def linkable(self, text: str) -> list[tuple[int, int]]:
        """The (start, end) stretches of rendered `text` whose words may carry a note: not code, quotes or links."""
        stretches, start = [], 0
        for found in self.unlinkable.finditer(text):
            if found.start() > start:
                stretches.append((start, found.start()))
            start = max(start, found.end())
        if start < len(text):
            stretches.append((start, len(text)))
        return stretches

    def note_mark(self, number: int) -> str:
        """The mark of footnote `number`, after the word it explains and before the note (¹, ², ...)."""
        return str(number).translate(_SUPERSCRIPTS)

    @staticmethod
    def _marked(mark: str, inner: Markup) -> Markup:
        return Markup(f"{mark}{inner}{mark}") if inner else inner

    def render(self, template: str, **values: Any) -> Markup:
        """Render `bot/templates/<template>` for this platform, escaping every value."""
        return Markup(self._environment.get_template(template).render(**values).strip())

    def render_string(self, source: str, **values: Any) -> Markup:
        """Render an inline template string the same way as a template file."""
        return Markup(self._environment.from_string(source).render(**values).strip())

    @cached_property
    def _environment(self) -> jinja2.Environment:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES),
            autoescape=False,
            finalize=self.escape,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            undefined=jinja2.StrictUndefined,
        )
        env.filters.update(b=self.bold, i=self.italic, code=self.code, moment=moment_text, day=day_text)
        env.globals.update(link=self.link, platform=self.platform)
        return env


PLAIN = Dialect()
