"""Slack's mrkdwn as a core dialect: ``&``, ``<`` and ``>`` escaped, so nothing pings or links."""

from __future__ import annotations

from bot.core.render import Dialect, Markup, strip_controls


class SlackDialect(Dialect):
    """Slack mrkdwn: `*bold*`, `_italic_`, `<url|label>`; modals take up to 100 inputs."""

    platform = "slack"
    local = False
    label_limit = 2000

    def escape_plain(self, text: str) -> str:
        """Slack's three control characters as entities, so ``<!channel>`` arrives inert."""
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    def wrap(self, text: Markup, style: str) -> Markup:
        """`*text*` or `_text_`."""
        mark = "*" if style == "bold" else "_"
        return Markup(f"{mark}{text}{mark}")

    def code(self, text: object) -> Markup:
        """`` `text` `` with Slack's control characters escaped."""
        inner = strip_controls(text).replace("`", "'")
        return Markup(f"`{self.escape_plain(inner)}`")

    def link(self, url: str, label: object) -> Markup:
        """``<url|label>``."""
        return Markup(f"<{url}|{self.escape(label)}>")


SLACK = SlackDialect()
