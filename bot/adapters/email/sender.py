"""The outbox's email platform: each message to a member sent over SMTP with aiosmtplib.

A permanent refusal (an SMTP 5xx for the recipient or the message) marks the member's
address bounced, so nothing more is sent to it, and fails the message; a temporary one
(4xx, the server down or slow) raises, and the outbox retries it with backoff. A
message to a member who has since unsubscribed from its kind, turned email off, or
whose address bounced is failed with that reason instead of being sent.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

import aiosmtplib
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.adapters.email.message import Envelope, build
from bot.adapters.email.settings import EmailSettings
from bot.core import tokens
from bot.core.delivery import DeliveryFailed, Target
from bot.core.messages import Reply
from bot.runtime import mail
from storage.initiative import Member
from storage.types import utcnow

log = logging.getLogger(__name__)
TIMEOUT = 30.0


class EmailSender:
    """Sends outbox messages of the ``email`` platform through the SMTP server in `settings`."""

    platform = mail.PLATFORM

    def __init__(self, engine: Engine, settings: EmailSettings) -> None:
        self.engine = engine
        self.settings = settings

    async def send(self, target: Target, reply: Reply, *, key: str) -> str:
        """Send `reply` to the member `target.user_id`; the Message-ID is the returned id."""
        kind = mail.kind_of(key)
        member = await asyncio.to_thread(self._recipient, target, kind)
        token = mail.unsubscribe_token(member.id or 0, kind or "all", utcnow())
        envelope = Envelope(self.settings.sender, member.email, self.settings.domain,
                            tokens.public_url(f"/unsubscribe/{token}"), mail.KINDS.get(kind or "", "emails"))
        message = build(reply, envelope, key=key)
        try:
            await aiosmtplib.send(message, hostname=self.settings.host, port=self.settings.port,
                                  username=self.settings.username or None, password=self.settings.password or None,
                                  use_tls=self.settings.implicit_tls, timeout=TIMEOUT)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refused = exc.recipients[0] if exc.recipients else None
            await self._refused(member, refused.code if refused else 550, refused.message if refused else str(exc))
        except (aiosmtplib.SMTPAuthenticationError, aiosmtplib.SMTPSenderRefused) as exc:
            if 500 <= exc.code < 600:
                raise DeliveryFailed(f"the SMTP server refused the bot's login or sender ({exc.code} {exc.message}); "
                                     "check SMTP_URL and SMTP_FROM") from None
            raise
        except aiosmtplib.SMTPResponseException as exc:
            await self._refused(member, exc.code, exc.message)
        return str(message["Message-ID"])

    async def find(self, target: Target, key: str, *, since: datetime | None = None) -> str | None:
        """An SMTP server cannot be asked what it received: an email in doubt is sent again."""
        return None

    async def update(self, target: Target, message_id: str, reply: Reply) -> None:
        """A sent email cannot be changed."""

    def _recipient(self, target: Target, kind: str | None) -> Member:
        with Session(self.engine) as session:
            member = session.get(Member, int(target.user_id)) if target.user_id.isdigit() else None
            if member is None:
                raise DeliveryFailed(f"there is no member {target.user_id}")
            why = mail.may_send(session, member, kind)
            if why:
                raise DeliveryFailed(f"not sent: {why}")
            session.expunge(member)
            return member

    async def _refused(self, member: Member, code: int, text: str) -> None:
        """A 5xx bounces the address and fails the message; anything else is temporary (retried)."""
        reason = f"{code} {text}".strip()
        if 500 <= code < 600:
            await asyncio.to_thread(self._bounce, member, reason)
            raise DeliveryFailed(f"{member.email} refused for good: {reason}")
        raise ConnectionError(f"the SMTP server deferred the message: {reason}")

    def _bounce(self, member: Member, reason: str) -> None:
        with Session(self.engine) as session, session.begin():
            fresh = session.get(Member, member.id)
            if fresh is not None:
                mail.mark_bounced(session, fresh, reason, utcnow())
        log.warning("email to member %s bounced (%s); no more email goes to that address", member.id, reason)
