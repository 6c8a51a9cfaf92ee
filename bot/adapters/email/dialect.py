"""HTML as a core dialect, for email bodies and the bot's web forms: user text is HTML-escaped."""

from __future__ import annotations

import html
from typing import Any

from bot.core.render import Dialect, Markup


class EmailDialect(Dialect):
    """HTML: `<strong>`, `<em>`, `<code>`, `<a href>`; every user character escaped, so nothing injects markup."""

    platform = "email"
    local = False
    web_links = True

    def escape_plain(self, text: str) -> str:
        """`text` with HTML's special characters (quotes too) as entities."""
        return html.escape(text, quote=True)

    def bold(self, text: Any) -> Markup:
        """`text`, escaped, in `<strong>`."""
        return self._tag("strong", self.escape(text))

    def italic(self, text: Any) -> Markup:
        """`text`, escaped, in `<em>`."""
        return self._tag("em", self.escape(text))

    def code(self, text: Any) -> Markup:
        """`text`, escaped, in `<code>`."""
        return self._tag("code", self.escape(text))

    def link(self, url: str, label: Any) -> Markup:
        """A link to a trusted `url` with an escaped label."""
        return Markup(f'<a href="{html.escape(url, quote=True)}">{self.escape(label)}</a>')

    @staticmethod
    def _tag(name: str, inner: Markup) -> Markup:
        return Markup(f"<{name}>{inner}</{name}>") if inner else inner


EMAIL = EmailDialect()
