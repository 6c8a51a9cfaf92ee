"""Slack's mrkdwn as a core dialect: ``&``, ``<`` and ``>`` escaped, so nothing pings or links."""

from __future__ import annotations

from bot.core.render import Dialect, unlinkable_pattern


class SlackDialect(Dialect):
    """Slack mrkdwn: `*bold*`, `_italic_`, `` `code` ``, `<url|label>`."""

    platform = "slack"
    local = False
    label_limit = 2000
    bold_mark, italic_mark, code_mark = "*", "_", "`"
    link_format = "<{url}|{label}>"
    escapes_code = True  # entities work inside code spans, and <!here> must stay inert there too
    # code blocks and spans, links and mentions, entities, and quoted lines (Slack quotes "&gt;" too)
    unlinkable = unlinkable_pattern(r"(?s:```.*?```)", r"`[^`\n]*`", r"<[^>\n]*>", r"&(?:amp|lt|gt);", r"(?m:^&gt;.*$)")

    def escape_plain(self, text: str) -> str:
        """Slack's three control characters as entities, so ``<!channel>`` arrives inert."""
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


SLACK = SlackDialect()
