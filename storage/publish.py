"""What the backbone chose to publish on the initiative's public progress page.

Nothing is published by default: each row is one item a visitor may see. `kind` says what
(`PublishKind`); `key` names which indicator or group, and is empty for the common agenda
and the glossary.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import AutoString, Field, SQLModel

from storage.types import UTCDateTime, utcnow


class PublishKind(StrEnum):
    """The kinds of item the public page can show."""

    AGENDA = "agenda"  # the common agenda statement
    INDICATOR = "indicator"  # one indicator, by key
    DECISIONS = "decisions"  # decisions made by one group, by key
    MEETINGS = "meetings"  # upcoming meetings of one group, by key
    GLOSSARY = "glossary"  # the agreed glossary


class PublishedItem(SQLModel, table=True):
    """One item on an initiative's public page."""

    __table_args__ = (UniqueConstraint("initiative_id", "kind", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    initiative_id: int = Field(foreign_key="initiative.id", index=True)
    kind: PublishKind = Field(sa_type=AutoString, max_length=16)
    key: str = Field(default="", max_length=64)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
