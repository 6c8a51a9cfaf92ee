"""Every table, imported in one place so SQLModel's metadata (and Alembic) sees them all."""

from storage.audit import AuditEvent
from storage.decisions import (
    Decision,
    DecisionParticipation,
    DecisionPolicy,
    DecisionProxy,
    DecisionStatus,
    DecisionVote,
    SecretBallot,
)
from storage.glossary import (
    GlossaryAlias,
    GlossaryMiss,
    GlossaryRevision,
    GlossarySense,
    GlossaryTerm,
    TermStatus,
)
from storage.initiative import (
    ChannelBinding,
    Group,
    GroupKind,
    Initiative,
    Member,
    Membership,
    Platform,
    PlatformIdentity,
    Role,
)
from storage.jobs import scheduled_jobs
from storage.measures import (
    Indicator,
    IndicatorReporter,
    IndicatorTarget,
    Submission,
    SubmissionRevision,
)
from storage.meetings import (
    ActionItem,
    AgendaItem,
    Attendance,
    Cadence,
    Meeting,
    MeetingNote,
)
from storage.outbox import OutboxMessage, OutboxStatus

__all__ = [
    "Decision",
    "DecisionParticipation",
    "DecisionPolicy",
    "DecisionProxy",
    "DecisionStatus",
    "DecisionVote",
    "SecretBallot",
    "Indicator",
    "IndicatorReporter",
    "IndicatorTarget",
    "Submission",
    "SubmissionRevision",
    "OutboxMessage",
    "OutboxStatus",
    "scheduled_jobs",
    "ActionItem",
    "AgendaItem",
    "Attendance",
    "Cadence",
    "Meeting",
    "MeetingNote",
    "AuditEvent",
    "ChannelBinding",
    "GlossaryAlias",
    "GlossaryMiss",
    "GlossaryRevision",
    "GlossarySense",
    "GlossaryTerm",
    "Group",
    "GroupKind",
    "Initiative",
    "Member",
    "Membership",
    "Platform",
    "PlatformIdentity",
    "Role",
    "TermStatus",
]
