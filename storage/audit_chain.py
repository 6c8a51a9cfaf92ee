"""Checking the audit trail: every event must carry the hash of the one before and of itself.

An edited, deleted or inserted row breaks the chain at that point; `verify_chain`
says where and how, for `cibot audit verify`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from storage.audit import AuditEvent, event_hash

BATCH = 1000


@dataclass(frozen=True)
class ChainCheck:
    """The outcome of a chain check: how many events were checked and the first broken one."""

    checked: int
    broken_id: int | None = None
    problem: str = ""
    head: str = ""  # the last event's hash: keep it elsewhere to detect deleted newest events

    @property
    def ok(self) -> bool:
        """True when the whole chain is intact."""
        return self.broken_id is None

    def __str__(self) -> str:
        if self.ok:
            return f"Audit trail intact: {self.checked} events, every hash checks out."
        return (f"Audit trail BROKEN at event {self.broken_id}: {self.problem} "
                f"({self.checked} events checked before it).")


def verify_chain(session: Session) -> ChainCheck:
    """Walk the audit events in order and check each link and each event's own hash."""
    prev_hash = ""
    checked = 0
    last_id = 0
    while True:
        events = session.exec(select(AuditEvent).where(col(AuditEvent.id) > last_id)
                              .order_by(col(AuditEvent.id)).limit(BATCH)).all()
        if not events:
            return ChainCheck(checked, head=prev_hash)
        for event in events:
            assert event.id is not None
            if event.prev_hash != prev_hash:
                return ChainCheck(checked, event.id, "it does not point at the event before it "
                                  "(an event was deleted or inserted, or the chain forked)")
            if event.hash != event_hash(prev_hash, event):
                return ChainCheck(checked, event.id, "its content does not match its hash (the row was edited)")
            prev_hash = event.hash
            checked += 1
            last_id = event.id
