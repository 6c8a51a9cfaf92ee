"""The outbox: every message the bot sends on its own, with its delivery state.

Jobs write rows here with a unique dedupe key (what, for whom, which occurrence);
the dispatcher (bot.runtime.dispatcher) delivers them. A row moves pending -> sending ->
sent, or back to pending with a later `next_attempt_at` after a transient error,
or to failed when retrying cannot help. A row left `sending` by a process that
died is "in doubt": the dispatcher asks the platform whether it has the key.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, Text
from sqlmodel import AutoString, Field, SQLModel

from storage.types import UTCDateTime, utcnow


class OutboxStatus(StrEnum):
    """Where a message is on its way to the platform."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class OutboxMessage(SQLModel, table=True):
    """One message to one channel or person, rendered and waiting to be (or already) delivered."""

    __table_args__ = (Index("ix_outboxmessage_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=255, unique=True)
    platform: str = Field(max_length=16)
    team_id: str = Field(default="", max_length=64)
    channel_id: str = Field(default="", max_length=64)
    user_id: str = Field(default="", max_length=64)
    payload: str = Field(sa_type=Text)
    status: OutboxStatus = Field(default=OutboxStatus.PENDING, sa_type=AutoString, max_length=16)
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # None: as soon as possible
    failures: int = 0
    claim: str = Field(default="", max_length=64)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    message_id: str = Field(default="", max_length=128)
    last_error: str = Field(default="", max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
