"""Posting the audit chain's head to the backbone channel, so deleting the newest events shows.

The head (the newest event's hash) is queued through the outbox after every decision
closes and by a daily job; its key names the event and hash
(`storage.audit_chain.head_key`), which is where `cibot audit verify` finds the last
posted head. A head already posted is not posted again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, select

from bot.core.messages import Reply
from bot.core.render import Dialect
from bot.runtime.outbox import enqueue_to_group
from storage.audit import AuditEvent, audit_key
from storage.audit_chain import head_key, newest_event
from storage.ids import id_of
from storage.models import Group, GroupKind

DAILY = timedelta(days=1)
JOB = "decisions.post_audit_head"


def head_card(m: Dialect, event: AuditEvent) -> Reply:
    """The message carrying the head: the event number and its hash, and what to do with them."""
    how = "keyed with CIBOT_AUDIT_KEY" if audit_key() else "plain hashes (no CIBOT_AUDIT_KEY is set)"
    return Reply(title="Audit log head", sections=[m.escape(
        f"The audit log now ends at event {event.id} with hash {event.hash} ({how}). "
        f"An operator checks that nothing was cut since with: cibot audit verify --head {event.hash}")])


def post_head(session: Session, now: datetime | None = None) -> int:
    """Queue the current head for every active backbone group; returns how many messages were queued."""
    session.flush()
    event = newest_event(session)
    if event is None:
        return 0
    groups = session.exec(select(Group).where(Group.kind == GroupKind.BACKBONE, Group.active == True)).all()  # noqa: E712
    return sum(enqueue_to_group(session, id_of(group), head_key(event), lambda m: head_card(m, event))
               for group in groups)
