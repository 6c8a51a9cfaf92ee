"""The append-only audit trail, chained by hashes so tampering shows."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlmodel import Field, Session, SQLModel, col, select

from storage.types import UTCDateTime, utcnow

AUDIT_LOCK = 0x63696261  # "ciba": the advisory lock that orders audit writers


class AuditEvent(SQLModel, table=True):
    """Something that changed, who changed it, and the hash linking it to the event before."""

    id: int | None = Field(default=None, primary_key=True)
    initiative_id: int | None = Field(default=None, foreign_key="initiative.id", index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    actor_id: int | None = Field(default=None, foreign_key="member.id")
    kind: str = Field(max_length=64)
    subject: str = Field(default="", max_length=200)
    data: str = Field(default="{}")
    prev_hash: str = Field(default="", max_length=64)
    hash: str = Field(default="", max_length=64)


def event_hash(prev_hash: str, event: AuditEvent) -> str:
    """The SHA-256 that chains `event` to the one before it."""
    payload = json.dumps(
        [prev_hash, event.initiative_id, event.at.isoformat(), event.actor_id,
         event.kind, event.subject, event.data],
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def record(
    session: Session,
    kind: str,
    *,
    initiative_id: int | None,
    actor_id: int | None = None,
    subject: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append an audit event in the caller's transaction and return it.

    On PostgreSQL a transaction-scoped advisory lock serializes writers until they
    commit, so two concurrent transactions can never chain to the same event.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": AUDIT_LOCK})
    last = session.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc()).limit(1)).first()
    event = AuditEvent(
        initiative_id=initiative_id,
        actor_id=actor_id,
        kind=kind,
        subject=subject[:200],
        data=json.dumps(data or {}, sort_keys=True, default=str),
        at=utcnow().replace(microsecond=0),
    )
    event.prev_hash = last.hash if last else ""
    event.hash = event_hash(event.prev_hash, event)
    session.add(event)
    return event
