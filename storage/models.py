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
from storage.mail import DigestSetting, EmailMode, EmailOptOut, EmailPreference
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
from storage.publish import PublishedItem, PublishKind

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
    "DigestSetting",
    "EmailMode",
    "EmailOptOut",
    "EmailPreference",
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
    "PublishedItem",
    "PublishKind",
]
