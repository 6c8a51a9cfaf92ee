"""Checking the audit trail: the hash chain, a head kept elsewhere, and the decision tables against the log.

An edited, deleted or inserted row breaks the chain at that point; with the key,
an event rewritten by someone without it breaks the chain too. Deleting the newest
events (or all of them) leaves a shorter chain that still links, so `verify_chain`
also looks for a head posted earlier (`--head`, or the last one the bot posted
through the outbox). `replay_decisions` replays the decision and vote events and
names every decision, vote or ballot row that differs from the log.
`cibot audit verify` runs both.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from storage.audit import AuditEvent, event_hash
from storage.decisions import Decision, DecisionParticipation, DecisionVote, SecretBallot
from storage.ids import id_of
from storage.outbox import OutboxMessage

BATCH = 1000
HEAD_KEY = "audit:head:"  # outbox keys of posted heads: audit:head:EVENT_ID:HASH@platform:channel


def head_key(event: AuditEvent) -> str:
    """The outbox key prefix under which the head `event` is posted."""
    return f"{HEAD_KEY}{event.id}:{event.hash}"


def last_posted_head(session: Session) -> tuple[int, str] | None:
    """The newest head (event id, hash) the bot queued for posting, or None when it never posted one."""
    heads: list[tuple[int, str]] = []
    for key in session.exec(select(OutboxMessage.key).where(col(OutboxMessage.key).startswith(HEAD_KEY))).all():
        number, _, rest = key[len(HEAD_KEY):].partition(":")
        if number.isdigit():
            heads.append((int(number), rest.partition("@")[0]))
    return max(heads) if heads else None


def newest_event(session: Session) -> AuditEvent | None:
    """The last event of the chain (its hash is the chain's head)."""
    return session.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc()).limit(1)).first()


@dataclass(frozen=True)
class ChainCheck:
    """The outcome of a chain check: events checked, the first broken one, and what else was found."""

    checked: int
    broken_id: int | None = None
    problem: str = ""
    head: str = ""  # the last event's hash: keep it elsewhere to detect deleted newest events
    keyed: int = 0  # events linked with the key
    findings: tuple[str, ...] = ()  # problems that are not one broken link: a missing head, no key

    @property
    def ok(self) -> bool:
        """True when the whole chain is intact and nothing else was found."""
        return self.broken_id is None and not self.findings

    def __str__(self) -> str:
        if self.broken_id is not None:
            return (f"Audit trail BROKEN at event {self.broken_id}: {self.problem} "
                    f"({self.checked} events checked before it).")
        if self.findings:
            return "Audit trail NOT TRUSTWORTHY: " + " ".join(self.findings)
        return f"Audit trail intact: {self.checked} events, every hash checks out."


def verify_chain(session: Session, key: bytes | None = None, head: str = "") -> ChainCheck:
    """Walk the audit events in order and check each link and each event's own hash.

    With `key`, every event must carry the keyed hash, except a run of plain-hash
    events from before the key was set, at the start. With `head`, an event with
    that hash must still be in the chain (otherwise the chain was cut or rewritten).
    """
    prev_hash = ""
    checked = keyed = 0
    last_id = 0
    head_found = not head
    while True:
        events = session.exec(select(AuditEvent).where(col(AuditEvent.id) > last_id)
                              .order_by(col(AuditEvent.id)).limit(BATCH)).all()
        if not events:
            break
        for event in events:
            assert event.id is not None
            if event.prev_hash != prev_hash:
                return ChainCheck(checked, event.id, "it does not point at the event before it "
                                  "(an event was deleted or inserted, or the chain forked)", keyed=keyed)
            problem = _link_problem(prev_hash, event, key, keyed)
            if problem:
                return ChainCheck(checked, event.id, problem, keyed=keyed)
            keyed += key is not None and event.hash != event_hash(prev_hash, event)
            head_found = head_found or event.hash == head
            prev_hash = event.hash
            checked += 1
            last_id = event.id
    findings: list[str] = []
    if not head_found:
        findings.append(f"The head {head} is not in the chain: the events up to it were deleted "
                        "(the log was cut) or rewritten.")
    if key is not None and checked and not keyed:
        findings.append("A key is set but no event is linked with it: the chain was rewritten without "
                        "the key, or the key was only just set (then run `cibot audit seal` once).")
    return ChainCheck(checked, head=prev_hash, keyed=keyed, findings=tuple(findings))


def _link_problem(prev_hash: str, event: AuditEvent, key: bytes | None, keyed_so_far: int) -> str:
    plain = event_hash(prev_hash, event)
    if key is None:
        if event.hash == plain:
            return ""
        return ("its content does not match its hash (the row was edited, or the chain is keyed: "
                "set CIBOT_AUDIT_KEY to check it)")
    if event.hash == event_hash(prev_hash, event, key):
        return ""
    if event.hash == plain:
        return "" if not keyed_so_far else ("it carries a plain hash after keyed events (the chain was "
                                            "rewritten by someone without the key)")
    return "its content does not match its keyed hash (the row was edited, or the key is not the one in use)"


# -- replaying decisions ---------------------------------------------------------------------------


@dataclass
class _Logged:
    """A decision as its events tell it."""

    fields: dict[str, Any] = field(default_factory=dict)
    votes: dict[int, tuple[str, str, int | None]] = field(default_factory=dict)
    participants: set[int] = field(default_factory=set)
    ballots: int = 0


def _replay(events: list[AuditEvent]) -> dict[int, _Logged]:
    logged: dict[int, _Logged] = {}
    for event in events:
        data = json.loads(event.data)
        number = data.get("decision")
        if not isinstance(number, int):
            continue
        state = logged.setdefault(number, _Logged())
        known = state.fields
        kind = event.kind.removeprefix("decision.")
        if kind == "proposed":
            known.update(status="open", **{k: data[k] for k in ("title", "rule", "quorum", "anonymous") if k in data})
            known["closes_at"] = datetime.fromisoformat(data["closes_at"])
        elif kind == "recorded_from_meeting":
            known.update(status="passed", title=data["title"])
        elif kind == "extended":
            known["closes_at"] = datetime.fromisoformat(data["after"])
        elif kind in ("closed", "closed_early"):
            known.update(status=data["status"], counts=data["tally"]["counts"])
        elif kind == "withdrawn":
            known.update(status="withdrawn", outcome=data["reason"])
        elif kind == "outcome":
            known["outcome"] = data["outcome"]
        elif kind == "review_set":
            known["review_at"] = datetime.fromisoformat(data["review_at"])
        elif kind in ("vote", "vote_changed"):
            state.votes[data["member"]] = (data["choice"], data["reason"],
                                           event.actor_id if data["by_proxy"] else None)
        elif kind == "ballot":
            state.participants.add(data["for_member"])
            state.ballots += 1
    return logged


def replay_decisions(session: Session) -> list[str]:
    """Every decision, vote, participation or ballot row that differs from what the log's events say."""
    events = list(session.exec(select(AuditEvent).where(col(AuditEvent.kind).startswith("decision."))
                               .order_by(col(AuditEvent.id))).all())
    logged = _replay(events)
    found: list[str] = []
    rows = {id_of(d): d for d in session.exec(select(Decision).order_by(col(Decision.id))).all()}
    for number in sorted(set(logged) - set(rows)):
        found.append(f"Decision #{number} is in the log but not in the decision table (the row was deleted).")
    for number, decision in rows.items():
        if number not in logged:
            found.append(f"Decision #{number} has no event in the log (the row was inserted directly).")
            continue
        found += _differences(session, decision, logged[number])
    return found


def _differences(session: Session, decision: Decision, logged: _Logged) -> list[str]:
    number = decision.id
    row: dict[str, Any] = {"title": decision.title, "rule": decision.rule, "quorum": decision.quorum,
                           "anonymous": decision.anonymous, "closes_at": decision.closes_at,
                           "status": str(decision.status), "outcome": decision.outcome,
                           "review_at": decision.review_at,
                           "counts": json.loads(decision.tally)["counts"] if decision.tally else None}
    found = [f"Decision #{number}: {name} is {row[name]!r} in the table but {value!r} in the log."
             for name, value in logged.fields.items() if row[name] != value]
    votes = {v.member_id: (v.choice, v.reason, v.cast_by_id)
             for v in session.exec(select(DecisionVote).where(DecisionVote.decision_id == number)).all()}
    for member in sorted(set(votes) | set(logged.votes)):
        table, log = votes.get(member), logged.votes.get(member)
        if table != log:
            found.append(f"Decision #{number}, vote of member {member}: the table has "
                         f"{_vote_text(table)} but the log has {_vote_text(log)}.")
    taken = set(session.exec(select(DecisionParticipation.member_id)
                             .where(DecisionParticipation.decision_id == number)).all())
    if taken != logged.participants:
        found.append(f"Decision #{number}: the members recorded as having taken part "
                     f"{sorted(taken)} differ from the log's {sorted(logged.participants)}.")
    ballots = Counter(session.exec(select(SecretBallot.choice).where(SecretBallot.decision_id == number)).all())
    if sum(ballots.values()) != logged.ballots:
        found.append(f"Decision #{number}: {sum(ballots.values())} secret ballots in the table, "
                     f"{logged.ballots} in the log.")
    counts = logged.fields.get("counts")
    if decision.anonymous and counts and decision.count_by == "member" and any(
            str(ballots.get(choice, 0)) != count for choice, count in counts.items()):
        found.append(f"Decision #{number}: the secret ballots {dict(sorted(ballots.items()))} "
                     f"do not add up to the result in the log {counts}.")
    return found


def _vote_text(vote: tuple[str, str, int | None] | None) -> str:
    if vote is None:
        return "no vote"
    choice, reason, by = vote
    return choice + (f" (reason {reason!r})" if reason else "") + (f" cast by member {by}" if by else "")
