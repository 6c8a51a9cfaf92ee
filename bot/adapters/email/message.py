"""A Reply as an email: an HTML part and a plain-text part from the same rendering, and the list headers.

The Reply's sections were rendered by the HTML dialect from the capability's templates;
the plain-text part is that same HTML read back as text (links written ``label <url>``).
Every email carries a one-click unsubscribe (RFC 8058) for its kind of message.
"""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from html.parser import HTMLParser

from bot.core.messages import Reply

STYLE = ("font-family: -apple-system, 'Segoe UI', Roboto, Arial, sans-serif; font-size: 16px; line-height: 1.5; "
         "color: #1a1a1a; max-width: 40em; margin: 0 auto; padding: 1em;")


@dataclass(frozen=True)
class Envelope:
    """Who an email is from and to, and how to stop this kind of message."""

    sender: str
    to: str
    domain: str
    unsubscribe_url: str  # the page; a POST to it unsubscribes in one click
    kind_label: str  # "digests", "data requests", ...


def build(reply: Reply, envelope: Envelope, *, key: str) -> EmailMessage:
    """The email of `reply`: subject from its title, plain-text and HTML alternatives, unsubscribe headers."""
    message = EmailMessage()
    message["From"] = envelope.sender
    message["To"] = envelope.to
    message["Subject"] = (reply.title or to_text(reply.sections[0] if reply.sections else "cibot")).splitlines()[0]
    message["Date"] = formatdate(localtime=False)
    # The same outbox key gives the same Message-ID, so a copy re-sent after a crash is one message to mail clients.
    message["Message-ID"] = f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{envelope.domain}>"
    message["List-Unsubscribe"] = f"<{envelope.unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text_body(reply, envelope))
    message.add_alternative(html_body(reply, envelope), subtype="html")
    if reply.image is not None:
        message.add_attachment(reply.image.data, maintype="image", subtype="png", filename=reply.image.filename)
    return message


def text_body(reply: Reply, envelope: Envelope) -> str:
    """The plain-text part."""
    parts = [to_text(section) for section in reply.sections]
    parts += [f"{f.label}: {to_text(f.value)}" for f in reply.fields]
    if reply.context:
        parts.append(reply.context)
    parts.append(f"--\nStop these {envelope.kind_label}: {envelope.unsubscribe_url}")
    return "\n\n".join(p for p in parts if p) + "\n"


def html_body(reply: Reply, envelope: Envelope) -> str:
    """The HTML part: a plain, readable page (no images to load, no scripts)."""
    body = [f"<h1 style=\"font-size: 1.25em\">{html.escape(reply.title)}</h1>"] if reply.title else []
    body += [f'<p style="white-space: pre-line">{section}</p>' for section in reply.sections]
    if reply.fields:
        body.append("<dl>" + "".join(f"<dt><strong>{html.escape(f.label)}</strong></dt><dd>{f.value}</dd>"
                                     for f in reply.fields) + "</dl>")
    if reply.context:
        body.append(f'<p style="color: #555">{html.escape(reply.context)}</p>')
    body.append(f'<hr><p style="font-size: 0.875em; color: #555"><a href="{html.escape(envelope.unsubscribe_url)}">'
                f"Stop these {html.escape(envelope.kind_label)}</a></p>")
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
            f'<body style="{STYLE}">{"".join(body)}</body></html>')


def to_text(markup: str) -> str:
    """HTML produced by the email dialect, read back as plain text (links as ``label <url>``)."""
    reader = _TextReader()
    reader.feed(markup)
    reader.close()
    return "".join(reader.out).strip()


class _TextReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._href: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href.append(dict(attrs).get("href") or "")
        elif tag == "br":
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href:
            href = self._href.pop()
            if href:
                self.out.append(f" <{href}>")

    def handle_data(self, data: str) -> None:
        self.out.append(data)
