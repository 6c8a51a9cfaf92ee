"""SMTP settings from the environment: `SMTP_URL` (smtp:// or smtps://, user and password in it) and `SMTP_FROM`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from email.headerregistry import Address
from email.utils import parseaddr
from urllib.parse import unquote, urlsplit


class EmailConfigError(Exception):
    """The SMTP settings are missing or wrong; the message says what to write."""


@dataclass(frozen=True)
class EmailSettings:
    """Where and as whom the bot sends email."""

    host: str
    port: int
    username: str
    password: str
    implicit_tls: bool  # smtps:// (TLS from the start); smtp:// upgrades with STARTTLS when the server offers it
    sender: str  # the From address

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> EmailSettings | None:
        """The settings, or None when `SMTP_URL` is not set (email is off); `EmailConfigError` when wrong."""
        url = env.get("SMTP_URL", "").strip()
        if not url:
            return None
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise EmailConfigError("SMTP_URL must look like smtp://user:password@host:587 or smtps://user:password@host:465")
        try:
            port = parts.port or (465 if parts.scheme == "smtps" else 587)
        except ValueError:
            raise EmailConfigError("SMTP_URL has a port that is not a number") from None
        sender = env.get("SMTP_FROM", "").strip()
        if not sender or "@" not in parseaddr(sender)[1]:
            raise EmailConfigError("SMTP_FROM must be the address mail comes from, like 'cibot <cibot@example.org>'")
        return cls(parts.hostname, port, unquote(parts.username or ""), unquote(parts.password or ""),
                   parts.scheme == "smtps", sender)

    @property
    def domain(self) -> str:
        """The sender's domain, for Message-IDs."""
        return Address(addr_spec=parseaddr(self.sender)[1]).domain
