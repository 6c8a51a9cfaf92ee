"""Test data with sensible defaults: a small initiative built straight into the database.

`seed(engine)` gives every test the same cast:
- maria   backbone staff (also on the steering committee as staff)
- james   steering committee chair
- aisha   steering member; data working group member
- tom     data working group chair
- lena    family engagement working group member
- olga    steering observer
Each member has a console identity (their key), a Slack id (U + KEY upper) and a
Discord id (a number). The steering committee is bound to Slack channel CSTEER in
team T1 and Discord channel 900000000000000001 in guild 800000000000000001.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy.engine import Connection, Engine

from storage.db import session_scope
from storage.models import (
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

SLACK_TEAM = "T1"
DISCORD_GUILD = "800000000000000001"
CAST = {
    # key: (name, organization, sector, timezone, discord id)
    "maria": ("Maria Lopez", "Riverbend Children's Alliance", "nonprofit", "America/Chicago", "100000000000000001"),
    "james": ("James Carter", "Riverbend County Health Department", "government", "America/Chicago",
              "100000000000000002"),
    "aisha": ("Aisha Bello", "First Steps Family Center", "nonprofit", "America/New_York", "100000000000000003"),
    "tom": ("Tom Nguyen", "Riverbend Unified School District", "government", "America/Chicago", "100000000000000004"),
    "lena": ("Lena Fischer", "Parents Together", "community", "Europe/Berlin", "100000000000000005"),
    "olga": ("Olga Petrova", "Valley Community Foundation", "funder", "America/Chicago", "100000000000000006"),
}
GROUPS = {
    # key: (name, kind, slack channel, discord channel, {member: role})
    "backbone": ("Backbone team", GroupKind.BACKBONE, "CBACK", "900000000000000000", {"maria": Role.STAFF}),
    "steering": ("Steering committee", GroupKind.STEERING, "CSTEER", "900000000000000001",
                 {"james": Role.CHAIR, "maria": Role.STAFF, "aisha": Role.MEMBER, "olga": Role.OBSERVER}),
    "data": ("Data working group", GroupKind.WORKING_GROUP, "CDATA", "900000000000000002",
             {"tom": Role.CHAIR, "aisha": Role.MEMBER}),
    "families": ("Family engagement working group", GroupKind.WORKING_GROUP, "CFAM", "900000000000000003",
                 {"lena": Role.MEMBER}),
}


def discord_id(key: str) -> str:
    """The Discord user id `seed` gives the cast member `key`."""
    return CAST[key][4]


@dataclass
class Seeded:
    """Ids of what `seed` created."""

    initiative_id: int
    members: dict[str, int]
    groups: dict[str, int]


def seed(engine: Engine, slug: str = "riverbend", timezone: str = "America/Chicago") -> Seeded:
    """Create the sample initiative, its groups, members, identities and channel bindings."""
    with session_scope(engine) as s:
        initiative = Initiative(slug=slug, name="Riverbend Early Childhood Collective",
                                common_agenda="Every child in Riverbend County enters kindergarten ready to learn.",
                                timezone=timezone)
        s.add(initiative)
        s.flush()
        assert initiative.id is not None
        members: dict[str, int] = {}
        for key, (name, org, sector, tz, discord_id) in CAST.items():
            member = Member(initiative_id=initiative.id, key=key, name=name, organization=org,
                            sector=sector, timezone=tz)
            s.add(member)
            s.flush()
            assert member.id is not None
            members[key] = member.id
            for platform, user_id in ((Platform.CONSOLE, key), (Platform.SLACK, "U" + key.upper()),
                                      (Platform.DISCORD, discord_id)):
                s.add(PlatformIdentity(initiative_id=initiative.id, member_id=member.id,
                                       platform=platform, platform_user_id=user_id))
        groups: dict[str, int] = {}
        for key, (name, kind, slack_channel, discord_channel, roles) in GROUPS.items():
            group = Group(initiative_id=initiative.id, key=key, name=name, kind=kind)
            s.add(group)
            s.flush()
            assert group.id is not None
            groups[key] = group.id
            s.add(ChannelBinding(group_id=group.id, platform=Platform.SLACK, team_id=SLACK_TEAM,
                                 channel_id=slack_channel))
            s.add(ChannelBinding(group_id=group.id, platform=Platform.DISCORD, team_id=DISCORD_GUILD,
                                 channel_id=discord_channel))
            for member_key, role in roles.items():
                s.add(Membership(member_id=members[member_key], group_id=group.id, role=role))
        return Seeded(initiative.id, members, groups)


@contextmanager
def append_only_guard_lifted(engine: Engine) -> Iterator[Connection]:
    """A connection on which the audit table's append-only guard is off, as for someone with raw
    database access; the guard is back on afterwards (PostgreSQL test schemas are shared by tests)."""
    with engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            for verb in ("update", "delete"):
                connection.exec_driver_sql(f"DROP TRIGGER auditevent_no_{verb}")
            yield connection
            for verb in ("UPDATE", "DELETE"):
                connection.exec_driver_sql(f"CREATE TRIGGER auditevent_no_{verb.lower()} BEFORE {verb} ON auditevent "
                                           "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END")
        else:
            connection.exec_driver_sql("ALTER TABLE auditevent DISABLE TRIGGER auditevent_append_only")
            yield connection
            connection.exec_driver_sql("ALTER TABLE auditevent ENABLE TRIGGER auditevent_append_only")
