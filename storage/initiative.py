"""The initiative and its people: groups, channel bindings, members, identities, roles."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import AutoString, Field, SQLModel

from storage.types import UTCDateTime, utcnow


class GroupKind(StrEnum):
    """The structural role a group plays in a collective impact initiative."""

    BACKBONE = "backbone"
    STEERING = "steering"
    WORKING_GROUP = "working_group"
    ADVISORY = "advisory"


class Role(StrEnum):
    """A member's role inside one group."""

    CHAIR = "chair"
    STAFF = "staff"
    MEMBER = "member"
    OBSERVER = "observer"


class Platform(StrEnum):
    """Where a user or a channel lives. A platform id is never stored without it."""

    SLACK = "slack"
    DISCORD = "discord"
    CONSOLE = "console"


class Initiative(SQLModel, table=True):
    """One collective impact initiative: the unit everything else belongs to."""

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(unique=True, max_length=64)
    name: str = Field(max_length=200)
    common_agenda: str = Field(default="", max_length=4000)
    timezone: str = Field(default="UTC", max_length=64)
    min_contributors: int = 3  # partners a figure shown outside the backbone must be built from
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Group(SQLModel, table=True):
    """A backbone, steering committee, working group or advisory body."""

    __tablename__ = "group_"
    __table_args__ = (UniqueConstraint("initiative_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    initiative_id: int = Field(foreign_key="initiative.id", index=True)
    key: str = Field(max_length=64)
    name: str = Field(max_length=200)
    kind: GroupKind = Field(sa_type=AutoString, max_length=20)
    purpose: str = Field(default="", max_length=2000)
    active: bool = True


class ChannelBinding(SQLModel, table=True):
    """Binds a group to a channel on one platform (a Slack channel, a Discord channel)."""

    __table_args__ = (UniqueConstraint("platform", "team_id", "channel_id"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="group_.id", index=True)
    platform: Platform = Field(sa_type=AutoString, max_length=16)
    team_id: str = Field(default="", max_length=64)
    channel_id: str = Field(max_length=64)


class Member(SQLModel, table=True):
    """A person taking part in the initiative."""

    __table_args__ = (UniqueConstraint("initiative_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    initiative_id: int = Field(foreign_key="initiative.id", index=True)
    key: str = Field(max_length=64)
    name: str = Field(max_length=200)
    organization: str = Field(default="", max_length=200)
    sector: str = Field(default="", max_length=64)
    timezone: str = Field(default="", max_length=64)
    email: str = Field(default="", max_length=320)
    out_of_office_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delegate_id: int | None = Field(default=None, foreign_key="member.id")
    active: bool = True


class PlatformIdentity(SQLModel, table=True):
    """A platform user id (always with its platform) that belongs to a member."""

    __table_args__ = (UniqueConstraint("initiative_id", "platform", "platform_user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    initiative_id: int = Field(foreign_key="initiative.id", index=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    platform: Platform = Field(sa_type=AutoString, max_length=16)
    platform_user_id: str = Field(max_length=64, index=True)


class Membership(SQLModel, table=True):
    """A member's role in one group."""

    __table_args__ = (UniqueConstraint("member_id", "group_id"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    group_id: int = Field(foreign_key="group_.id", index=True)
    role: Role = Field(sa_type=AutoString, default=Role.MEMBER, max_length=16)
