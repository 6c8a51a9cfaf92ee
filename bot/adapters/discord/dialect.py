"""Discord markdown as a core dialect: formatting characters and mass mentions made inert."""

from __future__ import annotations

import re

from bot.core.render import Dialect, unlinkable_pattern

_MARKDOWN = re.compile(r"([\\*_~`|>#\[\]()<:-])")
_MASS = re.compile(r"@(everyone|here)", re.IGNORECASE)


class DiscordDialect(Dialect):
    """Discord markdown: `**bold**`, `*italic*`, `` `code` ``, `[label](url)`; modals: 5 inputs, 45-char labels."""

    platform = "discord"
    local = False
    form_page_size = 5
    label_limit = 45
    bold_mark, italic_mark, code_mark = "**", "*", "`"
    link_format = "[{label}]({url})"
    # code blocks and spans, links and spoilers (their marks backslash-escaped are user text)
    unlinkable = unlinkable_pattern(r"(?s:(?<!\\)```.*?```)", r"(?<!\\)`[^`\n]*`",
                                    r"(?<!\\)\[[^\]\n]*\]\([^)\s]*\)", r"(?<!\\)\|\|.*?\|\|")

    def escape_plain(self, text: str) -> str:
        """Markdown characters backslash-escaped, ``@everyone``/``@here`` broken with a zero-width space."""
        return _MASS.sub("@\u200b\\1", _MARKDOWN.sub(r"\\\1", text))


DISCORD = DiscordDialect()
