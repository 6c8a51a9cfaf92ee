"""The append-only audit trail, chained by hashes so tampering shows.

With a key (`CIBOT_AUDIT_KEY`, or the file `CIBOT_AUDIT_KEY_FILE` names) each link is
an HMAC-SHA256, so someone with database access but not the key cannot recompute
the chain after editing an event. Without a key the links are plain SHA-256.
The key is never stored in the database.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlmodel import Field, Session, SQLModel, col, select

from storage.types import UTCDateTime, utcnow

AUDIT_LOCK = 0x63696261  # "ciba": the advisory lock that orders audit writers
KEY_VARIABLE = "CIBOT_AUDIT_KEY"


class AuditKeyError(RuntimeError):
    """The audit key file is named but cannot be read, or is empty."""


def audit_key() -> bytes | None:
    """The audit key from `CIBOT_AUDIT_KEY` or the file `CIBOT_AUDIT_KEY_FILE` names; None when neither is set."""
    return _key(os.environ.get(KEY_VARIABLE, ""), os.environ.get(f"{KEY_VARIABLE}_FILE", ""))


@lru_cache(maxsize=4)
def _key(value: str, path: str) -> bytes | None:
    if value.strip():
        return value.strip().encode()
    if not path:
        return None
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise AuditKeyError(f"{KEY_VARIABLE}_FILE names {path}, which cannot be read ({exc.strerror})") from None
    if not text:
        raise AuditKeyError(f"{KEY_VARIABLE}_FILE names {path}, which is empty")
    return text.encode()


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


def event_hash(prev_hash: str, event: AuditEvent, key: bytes | None = None) -> str:
    """The link that chains `event` to the one before it: HMAC-SHA256 with `key`, plain SHA-256 without."""
    payload = json.dumps(
        [prev_hash, event.initiative_id, event.at.isoformat(), event.actor_id,
         event.kind, event.subject, event.data],
        separators=(",", ":"),
    ).encode()
    if key is None:
        return hashlib.sha256(payload).hexdigest()
    return hmac.new(key, payload, hashlib.sha256).hexdigest()


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
    event.hash = event_hash(event.prev_hash, event, audit_key())
    session.add(event)
    return event
