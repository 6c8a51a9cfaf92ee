"""How the bot speaks on its own (reminders, agendas, votes): targets and platform senders.

Jobs never call a platform. They put a Reply and a `Target` in the outbox; the
dispatcher hands each one to the `Sender` of the target's platform, which the
platform adapter provides.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.core.messages import Reply


@dataclass(frozen=True)
class Target:
    """Where a message goes: a channel (`channel_id`) or a person by direct message (`user_id`)."""

    platform: str
    team_id: str = ""
    channel_id: str = ""
    user_id: str = ""

    def __post_init__(self) -> None:
        if bool(self.channel_id) == bool(self.user_id):
            raise ValueError("a Target needs exactly one of channel_id or user_id")


class RateLimited(Exception):
    """The platform said slow down; retry after `retry_after` seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited, retry after {retry_after}s")
        self.retry_after = retry_after


class DeliveryFailed(Exception):
    """The platform refused the message for good (unknown channel, bot removed, ...)."""


class Sender(Protocol):
    """Sends a rendered Reply to one platform and returns the platform's message id.

    `key` is the outbox dedupe key; the sender attaches it to the message (Slack
    message metadata, Discord nonce) so that `find` can tell, after a crash between
    sending and recording, whether the platform already has the message. `find` is
    given `since`, when the message was claimed for sending (UTC), and looks through
    everything the channel received from then on, not a fixed number of messages.
    Raises `RateLimited` when the platform answers 429 and `DeliveryFailed` when
    retrying cannot help; any other exception is treated as transient.
    """

    platform: str

    async def send(self, target: Target, reply: Reply, *, key: str) -> str: ...

    async def find(self, target: Target, key: str, *, since: datetime | None = None) -> str | None: ...

    async def update(self, target: Target, message_id: str, reply: Reply) -> None: ...
