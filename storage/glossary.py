"""The initiative's common vocabulary: terms, aliases, senses, edit history and misses."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import AutoString, Field, SQLModel

from storage.types import UTCDateTime, utcnow


class TermStatus(StrEnum):
    """A proposed term is visible but marked; an agreed one is the shared meaning."""

    PROPOSED = "proposed"
    AGREED = "agreed"


class GlossaryTerm(SQLModel, table=True):
    """A term of the common vocabulary."""

    __table_args__ = (UniqueConstraint("initiative_id", "normalized"),)

    id: int | None = Field(default=None, primary_key=True)
    initiative_id: int = Field(foreign_key="initiative.id", index=True)
    term: str = Field(max_length=100)
    normalized: str = Field(max_length=100)
    status: TermStatus = Field(sa_type=AutoString, default=TermStatus.PROPOSED, max_length=16)
    proposed_by_id: int | None = Field(default=None, foreign_key="member.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class GlossaryAlias(SQLModel, table=True):
    """Another name for a term: a synonym or an acronym."""

    __table_args__ = (UniqueConstraint("initiative_id", "normalized"),)

    id: int | None = Field(default=None, primary_key=True)
    initiative_id: int = Field(foreign_key="initiative.id", index=True)
    term_id: int = Field(foreign_key="glossaryterm.id", index=True)
    alias: str = Field(max_length=100)
    normalized: str = Field(max_length=100)
    is_acronym: bool = False


class GlossarySense(SQLModel, table=True):
    """One meaning of a term; a term may mean different things in different sectors."""

    id: int | None = Field(default=None, primary_key=True)
    term_id: int = Field(foreign_key="glossaryterm.id", index=True)
    position: int = 0
    context: str = Field(default="", max_length=100)
    definition: str = Field(max_length=2000)


class GlossaryRevision(SQLModel, table=True):
    """One change to a term, with who made it and what the term said afterwards."""

    id: int | None = Field(default=None, primary_key=True)
    term_id: int = Field(foreign_key="glossaryterm.id", index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    member_id: int | None = Field(default=None, foreign_key="member.id")
    action: str = Field(max_length=32)
    summary: str = Field(default="", max_length=4000)


class GlossaryMiss(SQLModel, table=True):
    """A looked-up word that had no entry, counted so the backbone can fill the gaps."""

    __table_args__ = (UniqueConstraint("initiative_id", "normalized"),)

    id: int | None = Field(default=None, primary_key=True)
    initiative_id: int = Field(foreign_key="initiative.id", index=True)
    query: str = Field(max_length=100)
    normalized: str = Field(max_length=100)
    count: int = 0
    last_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
