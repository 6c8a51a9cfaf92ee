"""Discord markdown as a core dialect: formatting characters and mass mentions made inert."""

from __future__ import annotations

import re

from bot.core.render import Dialect, Markup, strip_controls

_MARKDOWN = re.compile(r"([\\*_~`|>#\[\]()<:-])")
_MASS = re.compile(r"@(everyone|here)", re.IGNORECASE)


class DiscordDialect(Dialect):
    """Discord markdown: `**bold**`, `*italic*`, `[label](url)`; modals take 5 inputs, 45-character labels."""

    platform = "discord"
    local = False
    form_page_size = 5
    label_limit = 45

    def escape_plain(self, text: str) -> str:
        """Markdown characters backslash-escaped, ``@everyone``/``@here`` broken with a zero-width space."""
        return _MASS.sub("@\u200b\\1", _MARKDOWN.sub(r"\\\1", text))

    def wrap(self, text: Markup, style: str) -> Markup:
        """`**text**` or `*text*`."""
        mark = "**" if style == "bold" else "*"
        return Markup(f"{mark}{text}{mark}")

    def code(self, text: object) -> Markup:
        """`` `text` ``."""
        inner = strip_controls(text).replace("`", "'")
        return Markup(f"`{inner}`")

    def link(self, url: str, label: object) -> Markup:
        """``[label](url)``."""
        return Markup(f"[{self.escape(label)}]({url})")


DISCORD = DiscordDialect()
