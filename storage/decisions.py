"""Decisions of a group: proposals, votes, proxies, secret ballots and each group's voting policy.

An open vote keeps one row per member in `DecisionVote` (changeable until close).
An anonymous decision instead records *that* a member took part
(`DecisionParticipation`, for eligibility and reminders) and, separately, the
choice (`SecretBallot`, a random id, no member and no time), so no row links a
person to what they chose.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import AutoString, Field, SQLModel

from storage.types import UTCDateTime, utcnow


class DecisionStatus(StrEnum):
    """Where a decision stands."""

    OPEN = "open"
    PASSED = "passed"
    FAILED = "failed"
    WITHDRAWN = "withdrawn"


class Outcome(StrEnum):
    """Where a decision stands, in the words every card, log line, agenda, digest, page and reply use."""

    OPEN = "Open"
    PASSED = "Passed"
    NOT_DECIDED = "Not decided"  # too few took part
    DID_NOT_PASS = "Did not pass"  # quorum met, the rule did not pass
    WITHDRAWN = "Withdrawn"


def outcome_of(decision: Decision) -> Outcome:
    """The decision's outcome: the one name for it wherever it is shown."""
    if decision.status == DecisionStatus.FAILED:
        met = json.loads(decision.tally).get("quorum_met", True) if decision.tally else True
        return Outcome.DID_NOT_PASS if met else Outcome.NOT_DECIDED
    return {DecisionStatus.OPEN: Outcome.OPEN, DecisionStatus.PASSED: Outcome.PASSED,
            DecisionStatus.WITHDRAWN: Outcome.WITHDRAWN}[decision.status]


class DecisionPolicy(SQLModel, table=True):
    """Who may propose and vote in one group, and the defaults its proposals start with."""

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="group_.id", unique=True)
    propose_roles: str = Field(default="chair", max_length=100)  # comma-separated Role values
    backbone_proposes: bool = True
    vote_roles: str = Field(default="chair,member", max_length=100)
    rule: str = Field(default="majority", max_length=16)
    quorum: str = Field(default="50%", max_length=16)
    count_by: str = Field(default="member", max_length=16)
    split_as: str = Field(default="abstain", max_length=16)
    reason_required: bool = False
    anonymous: bool = False
    remind_hours: int = 24


class Decision(SQLModel, table=True):
    """A proposal put to a group, its vote settings, and once closed its tally and outcome."""

    id: int | None = Field(default=None, primary_key=True)
    initiative_id: int = Field(foreign_key="initiative.id", index=True)
    group_id: int = Field(foreign_key="group_.id", index=True)
    proposer_id: int | None = Field(default=None, foreign_key="member.id")
    title: str = Field(max_length=200)
    body: str = Field(default="", max_length=4000)
    rationale: str = Field(default="", max_length=4000)
    evidence: str = Field(default="", max_length=4000)
    indicators: str = Field(default="", max_length=500)  # comma-separated indicator keys
    rule: str = Field(max_length=16)
    quorum: str = Field(default="", max_length=16)
    count_by: str = Field(default="member", max_length=16)
    split_as: str = Field(default="abstain", max_length=16)
    reason_required: bool = False
    anonymous: bool = False
    remind_hours: int = 24
    status: DecisionStatus = Field(sa_type=AutoString, default=DecisionStatus.OPEN, max_length=16, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    closes_at: datetime = Field(sa_type=UTCDateTime, index=True)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    tally: str = Field(default="")  # JSON of the final count, written at close
    outcome: str = Field(default="", max_length=4000)
    outcome_by_id: int | None = Field(default=None, foreign_key="member.id")
    outcome_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    review_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    meeting_id: int | None = Field(default=None, foreign_key="meeting.id")  # agreed in this meeting
    version: int = 0  # bumped whenever the channel post should change (votes, extension, close ...)
    shown_version: int = 0  # the version the channel posts last showed
    reminded_for: datetime | None = Field(default=None, sa_type=UTCDateTime)  # closes_at the reminder was for
    review_sent_for: datetime | None = Field(default=None, sa_type=UTCDateTime)  # review_at already announced


class DecisionVote(SQLModel, table=True):
    """A member's current vote on an open (non-anonymous) decision; `cast_by_id` is set for proxy votes."""

    __table_args__ = (UniqueConstraint("decision_id", "member_id"),)

    id: int | None = Field(default=None, primary_key=True)
    decision_id: int = Field(foreign_key="decision.id", index=True)
    member_id: int = Field(foreign_key="member.id")
    choice: str = Field(max_length=16)
    reason: str = Field(default="", max_length=1000)
    cast_by_id: int | None = Field(default=None, foreign_key="member.id")
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class DecisionParticipation(SQLModel, table=True):
    """That a member took part in an anonymous decision (never what they chose)."""

    __table_args__ = (UniqueConstraint("decision_id", "member_id"),)

    id: int | None = Field(default=None, primary_key=True)
    decision_id: int = Field(foreign_key="decision.id", index=True)
    member_id: int = Field(foreign_key="member.id")
    cast_by_id: int | None = Field(default=None, foreign_key="member.id")
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


def _ballot_id() -> str:
    return uuid.uuid4().hex


class SecretBallot(SQLModel, table=True):
    """One choice in an anonymous decision: a random id, no voter, no time.

    `organization` is kept only when the decision counts one vote per organization.
    """

    id: str = Field(default_factory=_ballot_id, primary_key=True, max_length=32)
    decision_id: int = Field(foreign_key="decision.id", index=True)
    choice: str = Field(max_length=16)
    organization: str = Field(default="", max_length=200)
    reason: str = Field(default="", max_length=1000)


class DecisionProxy(SQLModel, table=True):
    """`member_id` lets `proxy_id` vote for them on one decision."""

    __table_args__ = (UniqueConstraint("decision_id", "member_id"),)

    id: int | None = Field(default=None, primary_key=True)
    decision_id: int = Field(foreign_key="decision.id", index=True)
    member_id: int = Field(foreign_key="member.id")
    proxy_id: int = Field(foreign_key="member.id")
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
