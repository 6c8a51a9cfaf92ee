"""Making the database match a checked `InitiativeSpec`, and reporting what that changed.

Rows are matched by their keys, so loading the same file again changes nothing.
Nothing disappears silently: members and groups missing from the file are
deactivated, and every removed identity, membership or channel binding is named
in the report. Each kind of row is one step of `STEPS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot.core.errors import UserError
from bot.digests.file_section import sync_digest_section
from bot.glossary.book import upsert_terms
from bot.initiative_file.parse import parse_initiative
from bot.initiative_file.problems import InitiativeFileError, Problems, Where
from bot.initiative_file.report import LoadReport, Tally
from bot.initiative_file.spec import InitiativeSpec, MemberSpec
from bot.measures.file_section import sync_indicator_section
from bot.meetings.file_section import sync_cadence_section
from bot.publish.file_section import sync_publish_section
from storage import audit
from storage.ids import id_of
from storage.models import (
    ChannelBinding,
    Group,
    Initiative,
    Member,
    Membership,
    Platform,
    PlatformIdentity,
    Role,
)


def load_initiative(session: Session, path: Path) -> LoadReport:
    """Create or update the initiative described by the YAML file at `path`.

    The file is checked completely before anything is written; a wrong file raises
    `InitiativeFileError` listing every problem. The caller commits the session.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InitiativeFileError([f"{path}: cannot read the file ({reason})"]) from None
    return apply_initiative(session, parse_initiative(text, path.name))


def apply_initiative(session: Session, spec: InitiativeSpec) -> LoadReport:
    """Make the database match `spec` in the caller's transaction, and report the changes."""
    existing = session.exec(select(Initiative).where(Initiative.slug == spec.initiative.slug)).first()
    _check_channels_free(session, spec, existing.id if existing else None)
    initiative, state = _upsert_initiative(session, spec, existing)
    run = Run(session, spec, initiative)
    tallies = [step(run) for step in STEPS]
    report = LoadReport(spec.initiative.slug, state, [t for t in tallies if t is not None])
    if report.changed:
        audit.record(session, "initiative.loaded", initiative_id=initiative.id,
                     subject=f"loaded {spec.source}", data=report.counts())
    session.flush()
    return report


@dataclass
class Run:
    """One load in progress: the spec, the initiative row, and the rows matched so far."""

    session: Session
    spec: InitiativeSpec
    initiative: Initiative
    members: dict[str, Member] = field(default_factory=dict)  # every member, by key
    groups: dict[str, Group] = field(default_factory=dict)  # every group, by key

    @property
    def initiative_id(self) -> int:
        """The initiative's id (it is flushed before any step runs)."""
        return id_of(self.initiative)


def _upsert_initiative(session: Session, spec: InitiativeSpec,
                       row: Initiative | None) -> tuple[Initiative, str]:
    info = spec.initiative
    values: dict[str, Any] = {"name": info.name, "common_agenda": info.common_agenda, "timezone": info.timezone,
                              "min_contributors": info.min_contributors}
    if row is None:
        row = Initiative(slug=info.slug, **values)
        session.add(row)
        session.flush()
        return row, "created"
    changed = _assign(row, values)
    return row, f"updated ({', '.join(changed)})" if changed else "unchanged"


def _check_channels_free(session: Session, spec: InitiativeSpec, initiative_id: int | None) -> None:
    """Refuse channels that another initiative's group is already bound to."""
    problems = Problems(spec.source)
    for group in spec.groups:
        for channel in group.channels:
            teams = {channel.team_id, ""}
            query = (
                select(ChannelBinding, Group, Initiative)
                .join(Group, col(Group.id) == ChannelBinding.group_id)
                .join(Initiative, col(Initiative.id) == Group.initiative_id)
                .where(ChannelBinding.platform == channel.platform,
                       ChannelBinding.channel_id == channel.channel_id,
                       col(Initiative.id) != initiative_id)
            )
            if channel.team_id:
                query = query.where(col(ChannelBinding.team_id).in_(teams))
            taken = session.exec(query).first()
            if taken is not None:
                _, other_group, other = taken
                problems.add(channel.where, f"{channel.platform} channel {channel.channel_id} is already "
                             f"bound to group {other_group.key!r} of initiative {other.slug!r}; "
                             "unbind it there first or pick another channel")
    problems.raise_if_any()


def _assign(row: Any, values: dict[str, Any]) -> list[str]:
    """Set `values` on `row`; the names of the fields that actually changed."""
    changed = [name for name, value in values.items() if getattr(row, name) != value]
    for name in changed:
        setattr(row, name, values[name])
    return [name.removesuffix("_id") for name in changed]


def _keyed_sync(run: Run, rows: dict[str, Any], keys: list[str],
                values: Callable[[str], dict[str, Any]], make: Callable[[str], Any],
                tally: Tally) -> None:
    """Create, update, reactivate and deactivate rows that carry a `key` and an `active` flag.

    New rows are made and flushed first, so `values` may refer to the ids of rows
    created in the same load (a member's delegate).
    """
    for key in keys:
        if key not in rows:
            rows[key] = make(key)
            run.session.add(rows[key])
            tally.created.append(key)
    run.session.flush()
    for key in keys:
        row = rows[key]
        changed = _assign(row, values(key))
        if key in tally.created:
            continue
        if not row.active:
            row.active = True
            tally.reactivated.append(key)
        elif changed:
            tally.updated.append(f"{key}: {', '.join(changed)}")
        else:
            tally.unchanged += 1
    for key, row in rows.items():
        if key not in keys and row.active:
            row.active = False
            tally.gone.append(f"{key}: no longer in the file")


def sync_members(run: Run) -> Tally:
    """Members: matched by key; those no longer in the file are deactivated."""
    iid = run.initiative_id
    run.members = {m.key: m for m in run.session.exec(
        select(Member).where(Member.initiative_id == iid).order_by(col(Member.id)))}
    specs = {m.key: m for m in run.spec.members}

    def values(key: str) -> dict[str, Any]:
        member = specs[key]
        delegate = run.members[member.delegate].id if member.delegate else None
        return {**_member_values(member, run.spec.initiative.timezone), "delegate_id": delegate}

    tally = Tally("members", "deactivated")
    _keyed_sync(run, run.members, list(specs), values,
                lambda key: Member(initiative_id=iid, key=key, name=specs[key].name), tally)
    return tally


def _member_values(member: MemberSpec, fallback_zone: str) -> dict[str, Any]:
    zone = member.timezone or fallback_zone
    return {
        "name": member.name, "organization": member.organization, "sector": member.sector,
        "timezone": member.timezone, "email": member.email,
        "out_of_office_until": _until(member.out_of_office_until, zone),
    }


def _until(value: date | datetime | None, zone_name: str) -> datetime | None:
    """The UTC instant a member is back: a date means away through the end of that day."""
    if value is None:
        return None
    zone = ZoneInfo(zone_name)
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=zone)).astimezone(UTC)
    return datetime.combine(value + timedelta(days=1), time(), zone).astimezone(UTC)


def sync_identities(run: Run) -> Tally:
    """Platform identities: a console id (the key) for everyone, plus Slack and Discord ids."""
    wanted: dict[tuple[str, str], str] = {}
    for member in run.spec.members:
        wanted[(Platform.CONSOLE.value, member.key)] = member.key
        for chat in (Platform.SLACK, Platform.DISCORD):
            if user_id := getattr(member, chat.value):
                wanted[(chat.value, user_id)] = member.key
    in_file = {m.key for m in run.spec.members}
    key_of = {m.id: key for key, m in run.members.items()}
    tally = Tally("identities")
    rows = run.session.exec(select(PlatformIdentity).where(
        PlatformIdentity.initiative_id == run.initiative_id).order_by(col(PlatformIdentity.id)))
    for row in rows:
        platform = str(row.platform)
        owner = key_of[row.member_id]
        want = wanted.pop((platform, row.platform_user_id), None)
        if want is None and owner in in_file:
            run.session.delete(row)
            tally.gone.append(f"{owner}: {platform} {row.platform_user_id}")
        elif want is not None and want != owner:
            row.member_id = id_of(run.members[want])
            tally.updated.append(f"{platform} {row.platform_user_id}: {owner} -> {want}")
        else:
            tally.unchanged += 1
    run.session.flush()
    for (platform, user_id), key in wanted.items():
        run.session.add(PlatformIdentity(initiative_id=run.initiative_id, member_id=id_of(run.members[key]),
                                         platform=Platform(platform), platform_user_id=user_id))
        tally.created.append("")
    return tally


def sync_groups(run: Run) -> Tally:
    """Groups: matched by key; those no longer in the file are deactivated."""
    iid = run.initiative_id
    run.groups = {g.key: g for g in run.session.exec(
        select(Group).where(Group.initiative_id == iid).order_by(col(Group.id)))}
    specs: dict[str, dict[str, Any]] = {g.key: {"name": g.name, "kind": g.kind, "purpose": g.purpose}
                                        for g in run.spec.groups}
    tally = Tally("groups", "deactivated")
    _keyed_sync(run, run.groups, list(specs), specs.__getitem__,
                lambda key: Group(initiative_id=iid, key=key, **specs[key]), tally)
    return tally


def sync_bindings(run: Run) -> Tally:
    """Channel bindings: exactly the channels the file lists for each group."""
    wanted = {(c.platform, c.team_id, c.channel_id): g.key for g in run.spec.groups for c in g.channels}
    key_of = {g.id: key for key, g in run.groups.items()}
    tally = Tally("channel bindings")
    rows = run.session.exec(select(ChannelBinding).where(
        col(ChannelBinding.group_id).in_(list(key_of))).order_by(col(ChannelBinding.id)))
    for row in rows:
        platform = str(row.platform)
        owner = key_of[row.group_id]
        want = wanted.pop((platform, row.team_id, row.channel_id), None)
        name = f"{platform} {row.channel_id}"
        if want is None:
            run.session.delete(row)
            tally.gone.append(f"{name} from {owner}")
        elif want != owner:
            row.group_id = id_of(run.groups[want])
            tally.updated.append(f"{name}: {owner} -> {want}")
        else:
            tally.unchanged += 1
    run.session.flush()
    for (platform, team_id, channel_id), key in wanted.items():
        run.session.add(ChannelBinding(group_id=id_of(run.groups[key]), platform=Platform(platform),
                                       team_id=team_id, channel_id=channel_id))
        tally.created.append("")
    return tally


def sync_memberships(run: Run) -> Tally:
    """Memberships and roles: exactly as each group in the file lists them."""
    wanted = {(g.key, member_key): role for g in run.spec.groups for member_key, role in g.members.items()}
    in_file = {g.key for g in run.spec.groups}
    group_key = {g.id: key for key, g in run.groups.items()}
    member_key = {m.id: key for key, m in run.members.items()}
    tally = Tally("memberships")
    rows = run.session.exec(select(Membership).where(
        col(Membership.group_id).in_(list(group_key))).order_by(col(Membership.id)))
    for row in rows:
        pair = (group_key[row.group_id], member_key[row.member_id])
        role = wanted.pop(pair, None)
        if role is None and pair[0] in in_file:
            run.session.delete(row)
            tally.gone.append(f"{pair[1]} from {pair[0]}")
        elif role is not None and str(row.role) != role:
            tally.updated.append(f"{pair[1]} in {pair[0]}: {str(row.role)} -> {role}")
            row.role = Role(role)
        else:
            tally.unchanged += 1
    run.session.flush()
    for (group, member), role in wanted.items():
        run.session.add(Membership(group_id=id_of(run.groups[group]), member_id=id_of(run.members[member]),
                                   role=Role(role)))
        tally.created.append("")
    return tally


def sync_glossary(run: Run) -> Tally | None:
    """Glossary terms: created or updated from the file; terms added in chat are kept."""
    if not run.spec.glossary:
        return None
    try:
        result = upsert_terms(run.session, run.initiative_id, run.spec.glossary)
    except UserError as exc:  # a name clash with a term added in chat
        problems = Problems(run.spec.source)
        problems.add(Where(run.spec.lines.get("glossary", 1), "glossary"), exc.message)
        raise InitiativeFileError(problems.errors) from exc
    return Tally("glossary", gone_word="", created=[""] * result.created,
                 updated=[""] * result.updated, unchanged=result.unchanged)


# Each step syncs one kind of row and reports on it (None: the file says nothing about it).
STEPS: tuple[Callable[[Run], Tally | None], ...] = (
    sync_members, sync_identities, sync_groups, sync_bindings, sync_memberships, sync_glossary,
    sync_indicator_section, sync_cadence_section, sync_publish_section, sync_digest_section,
)
