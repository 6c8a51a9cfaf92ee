"""Reading an initiative file into an `InitiativeSpec`, reporting every problem at once.

The file is a mapping of sections. Each section is one row of `SECTIONS` (its reader and
whether it is required); checks that span sections (a group naming an unknown member,
an id claimed twice) are the rows of `CHECKS`. A new section (cadences, indicators)
is a reader, a `SECTIONS` row, a field on `InitiativeSpec` and a step in `sync`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from bot.glossary.book import TermEntry, normalize
from bot.initiative_file.nodes import (
    At,
    Field,
    Invalid,
    Record,
    compose,
    entries,
    is_empty,
    record,
    records,
)
from bot.initiative_file.problems import InitiativeFileError, Problems, Where, did_you_mean
from bot.initiative_file.spec import (
    ChannelSpec,
    GroupSpec,
    InitiativeInfo,
    InitiativeSpec,
    MemberSpec,
)
from bot.initiative_file.values import (
    SECTORS,
    check_key,
    choice,
    day_or_time,
    email,
    key,
    slack_id,
    snowflake,
    text,
    text_list,
    timezone,
)
from bot.measures.file_section import check_indicators, read_indicators, whole
from bot.meetings.file_section import check_cadences, read_cadences
from bot.publish.file_section import check_publish, read_publish
from storage.mail import DIGEST_CADENCES
from storage.models import GroupKind, Role, TermStatus


def parse_initiative(text: str, source: str) -> InitiativeSpec:
    """Read and check the initiative file `text` (named `source` in errors), without a database.

    Raises `InitiativeFileError` listing every problem, each with its line and field.
    """
    problems = Problems(source)
    root = compose(text, problems)
    sections = entries(root, problems, "sections like initiative:, groups:, members:") if root else None
    if sections is None:
        raise InitiativeFileError(problems.errors)
    found: dict[str, Any] = {}
    lines = {name: value.key_where.line for name, value in sections}
    for name, value in sections:
        section = SECTIONS.get(name)
        if section is None:
            problems.add(value.key_where, f"unknown section{did_you_mean(name, SECTIONS)}; "
                         f"the sections are {', '.join(SECTIONS)}")
        elif not is_empty(value.node):
            found[name] = section.read(value, problems)
    for name, section in SECTIONS.items():
        if section.required and name not in found:
            problems.add(Where(lines.get(name, 1), name), f"missing; the file needs an `{name}:` section")
    spec = InitiativeSpec(source=source, lines=lines, **_placeholders(found))
    for check in CHECKS:
        check(spec, problems)
    problems.raise_if_any()
    return spec


def _placeholders(found: dict[str, Any]) -> dict[str, Any]:
    """The sections' values, with a stand-in initiative when that section was unusable."""
    values = {name: value for name, value in found.items() if value is not None}
    values.setdefault("initiative", InitiativeInfo(slug="", name=""))
    return values


# --- initiative: ---------------------------------------------------------------------

INITIATIVE_FIELDS = {
    "slug": Field(key, required=True),
    "name": Field(text(200), required=True),
    "common_agenda": Field(text(4000)),
    "timezone": Field(timezone),
    "min_contributors": Field(whole(1, 100)),
}


def read_initiative(at: At, problems: Problems) -> InitiativeInfo | None:
    """The `initiative:` section."""
    found = record(at, INITIATIVE_FIELDS, problems, "initiative")
    if found is None or not {"slug", "name"} <= found.values.keys():
        return None
    return InitiativeInfo(**found.values)


# --- members: ------------------------------------------------------------------------

MEMBER_FIELDS = {
    "key": Field(key, required=True),
    "name": Field(text(200), required=True),
    "organization": Field(text(200)),
    "sector": Field(choice(SECTORS, "sector")),
    "timezone": Field(timezone),
    "email": Field(email),
    "slack": Field(slack_id("UW", "user", "U04ABCDE123")),
    "discord": Field(snowflake("user")),
    "out_of_office_until": Field(day_or_time),
    "delegate": Field(key),
}


def read_members(at: At, problems: Problems) -> list[MemberSpec]:
    """The `members:` section: a list of people."""
    found = records(at, MEMBER_FIELDS, problems, "members (each with key, name, organization, ...)", "member",
                    needed=["key"])  # kept even if wrong, so others may name it
    return [MemberSpec(where=rec.where, spots=rec.spots, **{"name": "", **rec.values}) for rec in found]


# --- groups: -------------------------------------------------------------------------

PLATFORM_CHANNEL_FIELDS = {
    "slack": {"team": Field(slack_id("TE", "workspace (team)", "T01ABCDEF")),
              "channel": Field(slack_id("CGD", "channel", "C04ABCDE123"), required=True)},
    "discord": {"guild": Field(snowflake("server (guild)")),
                "channel": Field(snowflake("channel"), required=True)},
}


def read_channels(at: At, problems: Problems) -> list[ChannelSpec]:
    """A group's `channels:`: per platform, one channel or a list of them."""
    channels = []
    for platform, value in entries(at, problems, "channels per platform (slack:, discord:)") or []:
        fields = PLATFORM_CHANNEL_FIELDS.get(platform)
        if fields is None:
            problems.add(value.key_where, f"unknown platform{did_you_mean(platform, PLATFORM_CHANNEL_FIELDS)}; "
                         f"write one of {', '.join(PLATFORM_CHANNEL_FIELDS)}")
            continue
        team_field = next(name for name in fields if name != "channel")
        found = records(value, fields, problems, f"{platform} channels", f"{platform} channel",
                        shorthand="channel")  # a bare channel id: any team
        channels += [ChannelSpec(platform, rec.values["channel"], rec.values.get(team_field, ""), rec.where)
                     for rec in found]
    return channels


read_role = choice([role.value for role in Role], "role")


def read_roles(at: At, problems: Problems) -> tuple[dict[str, str], dict[str, Where]]:
    """A group's `members:`: member key to role (an empty role means member)."""
    roles: dict[str, str] = {}
    spots: dict[str, Where] = {}
    for member_key, value in entries(at, problems, "member keys with their roles, like maria: chair") or []:
        try:
            check_key(member_key)
            roles[member_key] = Role.MEMBER.value if is_empty(value.node) else read_role(value, problems)
            spots[member_key] = value.key_where
        except Invalid as exc:
            problems.add(value.key_where, str(exc))
    return roles, spots


GROUP_FIELDS = {
    "key": Field(key, required=True),
    "name": Field(text(200), required=True),
    "kind": Field(choice([kind.value for kind in GroupKind], "group kind"), required=True),
    "purpose": Field(text(2000)),
    "channels": Field(read_channels),
    "members": Field(read_roles),
    "digest": Field(choice(DIGEST_CADENCES, "digest cadence")),
}


def read_groups(at: At, problems: Problems) -> list[GroupSpec]:
    """The `groups:` section: the backbone, committees and working groups."""
    groups = []
    for found in records(at, GROUP_FIELDS, problems, "groups (each with key, name, kind, ...)", "group",
                         needed=["key"]):
        values = {"name": "", "kind": "", **found.values}  # kept even if wrong, for later checks
        roles, spots = values.pop("members", ({}, {}))
        groups.append(GroupSpec(where=found.where, members=roles, member_where=spots, **values))
    return groups


# --- glossary: -----------------------------------------------------------------------

SENSE_FIELDS = {
    "context": Field(text(100), required=True),
    "definition": Field(text(2000), required=True),
}


def read_senses(at: At, problems: Problems) -> list[tuple[str, str]]:
    """A term's `senses:`: what it means in each context (sector, field)."""
    return [(found.values["context"], found.values["definition"])
            for found in records(at, SENSE_FIELDS, problems, "senses (each with context and definition)", "sense")]


TERM_FIELDS = {
    "term": Field(text(100), required=True),
    "definition": Field(text(2000)),
    "senses": Field(read_senses),
    "aliases": Field(text_list(100)),
    "acronyms": Field(text_list(100)),
    "status": Field(choice([status.value for status in TermStatus], "term status")),
}


def read_glossary(at: At, problems: Problems) -> list[TermEntry]:
    """The `glossary:` section: the initiative's common vocabulary."""
    read: list[tuple[TermEntry, Record]] = []
    for found in records(at, TERM_FIELDS, problems, "glossary terms (each with term and definition)",
                         "glossary term"):
        entry = TermEntry(**found.values)
        for name, message in entry.field_errors().items():
            problems.add(Where(found.spot(name).line, found.where.field(name)), message)
        read.append((entry, found))
    _check_names(read, problems)
    return [entry for entry, _ in read]


def _check_names(read: list[tuple[TermEntry, Record]], problems: Problems) -> None:
    """Each term is defined once, and each alias or acronym names one term only."""
    owner: dict[str, tuple[str, int]] = {}  # normalised name -> (term, line)
    for entry, found in read:
        key = normalize(entry.term)
        if key in owner:
            problems.add(found.where, f"{entry.term!r} is already defined on line "
                         f"{owner[key][1]}; merge the two entries into one")
        else:
            owner[key] = (entry.term, found.where.line)
    for entry, found in read:
        for name, acronym in entry.names_to_store():
            field_name = "acronyms" if acronym else "aliases"
            term, line = owner.setdefault(normalize(name), (entry.term, found.spot(field_name).line))
            if term != entry.term:
                problems.add(Where(found.spot(field_name).line, found.where.field(field_name)),
                             f"{name!r} already names {term!r} (line {line}); "
                             "an alias can belong to one term only")


# A top-level section is read like a field: its reader, and whether a file must have it.
SECTIONS: dict[str, Field] = {
    "initiative": Field(read_initiative, required=True),
    "groups": Field(read_groups),
    "members": Field(read_members),
    "glossary": Field(read_glossary),
    "indicators": Field(read_indicators),
    "cadences": Field(read_cadences),
    "publish": Field(read_publish),
}


# --- checks across sections ----------------------------------------------------------

def check_unique(problems: Problems, what: str, claims: Iterable[tuple[str, object, Where]]) -> None:
    """Report every (label, value, where) whose value was claimed before, naming both lines."""
    first: dict[object, Where] = {}
    for label, value, where in claims:
        if value in first:
            problems.add(where, f"{what} {label!r} is already used on line {first[value].line}; "
                         "each must appear once")
        else:
            first[value] = where


def check_keys(spec: InitiativeSpec, problems: Problems) -> None:
    """Member keys and group keys are each unique."""
    check_unique(problems, "the member key", ((m.key, m.key, m.spot("key")) for m in spec.members))
    check_unique(problems, "the group key", ((g.key, g.key, g.where) for g in spec.groups))


def check_platform_ids(spec: InitiativeSpec, problems: Problems) -> None:
    """No Slack or Discord user id belongs to two members; no channel is bound twice."""
    for platform in ("slack", "discord"):
        check_unique(problems, f"the {platform.capitalize()} user id",
                     ((getattr(m, platform), getattr(m, platform), m.spot(platform))
                      for m in spec.members if getattr(m, platform)))
    channels = [c for g in spec.groups for c in g.channels]
    check_unique(problems, "the channel",
                 ((c.channel_id, (c.platform, c.team_id, c.channel_id), c.where) for c in channels))
    with_team = {(c.platform, c.channel_id) for c in channels if c.team_id}
    for channel in channels:
        if not channel.team_id and (channel.platform, channel.channel_id) in with_team:
            problems.add(channel.where, f"channel {channel.channel_id!r} is also bound with a "
                         "team elsewhere in the file; give it the same team everywhere")


def check_references(spec: InitiativeSpec, problems: Problems) -> None:
    """Groups and delegates name members that the file defines."""
    known = {m.key for m in spec.members}
    for group in spec.groups:
        for member_key, where in group.member_where.items():
            if member_key not in known:
                problems.add(where, f"no member has the key {member_key!r}"
                             f"{did_you_mean(member_key, known)}; add them under members: first")
    for member in spec.members:
        if not member.delegate:
            continue
        if member.delegate == member.key:
            problems.add(member.spot("delegate"), "a member cannot be their own delegate")
        elif member.delegate not in known:
            problems.add(member.spot("delegate"), f"no member has the key {member.delegate!r}"
                         f"{did_you_mean(member.delegate, known)}")


CHECKS: tuple[Callable[[InitiativeSpec, Problems], None], ...] = (
    check_keys, check_platform_ids, check_references, check_indicators, check_cadences, check_publish,
)
