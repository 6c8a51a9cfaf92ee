"""Email delivery state: who wants email, what kinds they turned off, whose address bounced; digest cadences.

A member with an email address and no chat identity gets reminders, data prompts and
digests by email; `EmailPreference.mode` lets a member choose email anyway (``on``) or
never (``off``). `EmailOptOut` records one-click unsubscribes per kind. An address the
mail server refused for good (5xx) is marked bounced and never mailed again until the
backbone changes the address. `DigestSetting` is a group's digest cadence.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import AutoString, Field, SQLModel

from storage.types import UTCDateTime, utcnow


class EmailMode(StrEnum):
    """Whether a member is emailed: only without a chat identity (auto), always (on), never (off)."""

    AUTO = "auto"
    ON = "on"
    OFF = "off"


class EmailPreference(SQLModel, table=True):
    """A member's email choice and the state of their address."""

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", unique=True)
    mode: EmailMode = Field(default=EmailMode.AUTO, sa_type=AutoString, max_length=8)
    bounced_address: str = Field(default="", max_length=320)  # the address that bounced ("" when none)
    bounced_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    bounce_reason: str = Field(default="", max_length=500)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class EmailOptOut(SQLModel, table=True):
    """A member unsubscribed from one kind of email (``reminders``, ``prompts``, ``digests``)."""

    __table_args__ = (UniqueConstraint("member_id", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    kind: str = Field(max_length=32)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


DIGEST_CADENCES = ("week", "month", "off")


class DigestSetting(SQLModel, table=True):
    """How often a group's digest is posted: ``week``, ``month`` or ``off``."""

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="group_.id", unique=True)
    every: str = Field(default="week", max_length=8)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
