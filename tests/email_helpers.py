"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what arrives, and members who read email.

    with mailbox() as box:                 # or mailbox(refuse="550 5.1.1 no such user")
        ...send...
        message = box.only()               # an email.message.EmailMessage
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any, cast

from aiosmtpd.controller import Controller
from sqlalchemy.engine import Engine
from sqlmodel import Session, delete

from bot.adapters.email.sender import EmailSender
from bot.adapters.email.settings import EmailSettings
from bot.core.clock import Clock
from bot.core.registry import bot_session
from bot.measures.indicators import calendar_of
from bot.measures.jobs import ask
from bot.measures.status import period_status
from bot.runtime.dispatcher import Dispatcher
from storage.measures import Indicator
from storage.models import Member, Platform, PlatformIdentity
from tests.factories import Seeded
from tests.process_helpers import free_port


@dataclass
class Mailbox:
    """What the SMTP server received; `refuse` answers every recipient with that reply instead."""

    port: int
    refuse: str = ""
    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802
                          rcpt_options: list[str]) -> str:
        if self.refuse:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(cast(EmailMessage, message_from_bytes(envelope.original_content, policy=default)))
        return "250 Message accepted"

    def only(self) -> EmailMessage:
        """The one email that arrived."""
        assert len(self.messages) == 1, [m["Subject"] for m in self.messages]
        return self.messages[0]

    def settings(self) -> EmailSettings:
        """Settings that send to this server."""
        return EmailSettings("127.0.0.1", self.port, "", "", False, "cibot <cibot@riverbend.example>")


@contextmanager
def mailbox(refuse: str = "") -> Iterator[Mailbox]:
    """A running SMTP server on 127.0.0.1 and what it receives."""
    box = Mailbox(free_port(), refuse)
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


def email_only(engine: Engine, seeded: Seeded, key: str, address: str) -> None:
    """Give the member `key` an email address and take away their Slack and Discord identities."""
    with Session(engine) as s:
        member = s.get(Member, seeded.members[key])
        assert member is not None
        member.email = address
        s.add(member)
        s.exec(delete(PlatformIdentity).where(PlatformIdentity.member_id == member.id,  # type: ignore[call-overload]
                                              PlatformIdentity.platform != Platform.CONSOLE))
        s.commit()


def prompt(engine: Engine, registry: Any, indicator_id: int, period: str, now: datetime) -> int:
    """Ask every outstanding partner of the indicator for `period`, as the ladder's prompt step does."""
    with bot_session(engine, registry) as s:
        indicator = s.get(Indicator, indicator_id)
        assert indicator is not None
        status = period_status(s, indicator, calendar_of(indicator).parse(period), now)
        return ask(s, status, status.outstanding, f"measures.prompt:{indicator_id}:{period}")


async def deliver(engine: Engine, clock: Clock, settings: EmailSettings) -> dict[str, int]:
    """Send every due email through the SMTP server in `settings`; counts by outcome."""
    return dict(await Dispatcher(engine, {"email": EmailSender(engine, settings)}, clock).drain())


def parts(message: EmailMessage) -> tuple[str, str]:
    """The plain-text and the HTML part of `message`."""
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    return str(cast(EmailMessage, text).get_content()), str(cast(EmailMessage, html).get_content())


def link(text: str, path: str) -> str:
    """The path of the first link to `path` in `text` (``/submit/TOKEN``)."""
    found = re.search(rf"https?://[^/\s]+({path}/[A-Za-z0-9_.-]+)", text)
    assert found, f"no {path} link in {text!r}"
    return found.group(1)
