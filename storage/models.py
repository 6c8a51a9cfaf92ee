"""Every table, imported in one place so SQLModel's metadata (and Alembic) sees them all."""

from storage.audit import AuditEvent
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

__all__ = [
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
