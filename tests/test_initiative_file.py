"""Loading the initiative file: the example loads, reloads change nothing, edits and
removals show up in the report, and every mistake is named by line and field."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel, col, func, select

from bot.core.context import Origin
from bot.core.identity import resolve
from bot.initiative_file import InitiativeFileError, load_initiative, parse_initiative
from storage.db import session_scope
from storage.models import (
    AuditEvent,
    ChannelBinding,
    GlossaryAlias,
    GlossarySense,
    GlossaryTerm,
    Group,
    Initiative,
    Member,
    Membership,
    PlatformIdentity,
)
from tests.chat import Chat, text_of

EXAMPLE = Path(__file__).parent.parent / "examples" / "initiative.yaml"
TABLES: list[type[SQLModel]] = [Initiative, Member, PlatformIdentity, Group, ChannelBinding,
                                Membership, GlossaryTerm, GlossaryAlias, GlossarySense, AuditEvent]

SMALL = """\
initiative:
  slug: small
  name: Small Collective
  timezone: America/Chicago
groups:
  - key: steering
    name: Steering committee
    kind: steering
    channels:
      slack: {team: T1, channel: CSTEER}
    members:
      ana: chair
      bo:
members:
  - key: ana
    name: Ana Ruiz
    timezone: America/Chicago
    slack: UANA
  - key: bo
    name: Bo Park
    sector: funder
    discord: 100000000000000002
glossary:
  - term: backbone organization
    acronyms: [BBO]
    definition: The staff who coordinate the initiative.
"""


def write(tmp_path: Path, text: str, name: str = "initiative.yaml") -> Path:
    """`text` saved as a file to load."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load(engine: Engine, path: Path) -> list[str]:
    """Load `path` in one committed transaction and return the report's lines."""
    with session_scope(engine) as session:
        return load_initiative(session, path).lines()


def snapshot(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table the loader touches, in id order."""
    with session_scope(engine) as session:
        return {table.__name__: [tuple(row) for row in session.exec(
                    select(*table.__table__.columns).order_by(table.__table__.c.id))]  # type: ignore[attr-defined]
                for table in TABLES}


def counts(engine: Engine) -> dict[str, int]:
    """How many rows each table the loader touches holds."""
    with session_scope(engine) as session:
        return {t.__name__: session.exec(select(func.count()).select_from(t)).one() for t in TABLES}


def errors_of(text: str) -> list[str]:
    """The errors parse_initiative reports for `text`."""
    with pytest.raises(InitiativeFileError) as raised:
        parse_initiative(text, "initiative.yaml")
    return raised.value.errors


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """The 1-based line of the `occurrence`-th line of `text` containing `needle`."""
    found = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
    return found[occurrence - 1]


def member(engine: Engine, key: str) -> Member:
    """The member with `key`."""
    with session_scope(engine) as session:
        return session.exec(select(Member).where(Member.key == key)).one()


# --- loading ---------------------------------------------------------------------------

def test_the_example_loads_with_its_people_groups_and_glossary(engine: Engine) -> None:
    lines = load(engine, EXAMPLE)
    assert lines[0] == "initiative riverbend: created"
    assert "members: 13 created, 0 updated, 0 deactivated" in lines
    with session_scope(engine) as session:
        initiative = session.exec(select(Initiative)).one()
        assert (initiative.name, initiative.timezone) == ("Riverbend Early Childhood Collective", "America/Chicago")
        kinds = sorted(str(g.kind) for g in session.exec(select(Group)))
        assert kinds == ["backbone", "steering", "working_group", "working_group", "working_group"]
        console = {i.platform_user_id for i in session.exec(
            select(PlatformIdentity).where(PlatformIdentity.platform == "console"))}
        assert console == {m.key for m in session.exec(select(Member))}
        assert session.exec(select(func.count()).select_from(GlossaryTerm)).one() >= 25
        maria = resolve(session, Origin("console", "maria"))
        assert maria.member is not None and maria.member.name == "Maria Lopez"
        backbone = [(g.kind, role) for g, role in maria.groups.values() if g.key == "backbone"]
        assert backbone == [("backbone", "staff")]
        james = session.exec(select(Member).where(Member.key == "james")).one()
        assert james.delegate_id == session.exec(select(Member.id).where(Member.key == "grace")).one()
        slack = resolve(session, Origin("slack", "U05TNGUYEN5", "C05KRDATA", "T05RVRBND1"))
        assert slack.member is not None and slack.member.key == "tom"
        assert slack.group is not None and slack.group.key == "readiness-data"


def test_loading_the_same_file_twice_changes_nothing(engine: Engine) -> None:
    load(engine, EXAMPLE)
    before = snapshot(engine)
    lines = load(engine, EXAMPLE)
    assert snapshot(engine) == before
    assert lines[0] == "initiative riverbend: unchanged"
    assert "members: unchanged (13)" in lines
    assert lines[-1] == "nothing changed: the database already matched the file"


def test_editing_an_organization_updates_the_member(engine: Engine, tmp_path: Path) -> None:
    load(engine, EXAMPLE)
    edited = EXAMPLE.read_text().replace("organization: Hartwell Manufacturing",
                                         "organization: Hartwell Industries")
    lines = load(engine, write(tmp_path, edited))
    assert "members: 0 created, 1 updated (devon: organization), 0 deactivated, 12 unchanged" in lines
    assert member(engine, "devon").organization == "Hartwell Industries"
    with session_scope(engine) as session:
        event = session.exec(select(AuditEvent).where(AuditEvent.kind == "initiative.loaded")
                             .order_by(col(AuditEvent.id).desc())).first()
        assert event is not None and '"updated": 1' in event.data


def test_a_member_removed_from_the_file_is_deactivated_and_can_come_back(
        engine: Engine, tmp_path: Path) -> None:
    with_sam = SMALL.replace("      bo:\n", "      bo:\n      sam: observer\n").replace("members:\n  - key: ana",
                                "members:\n  - key: sam\n    name: Sam Ortiz\n    slack: USAM\n  - key: ana")
    load(engine, write(tmp_path, with_sam))
    lines = load(engine, write(tmp_path, SMALL))
    assert "members: 0 created, 0 updated, 1 deactivated (sam: no longer in the file), 2 unchanged" in lines
    assert "memberships: 0 created, 0 updated, 1 removed (sam from steering), 2 unchanged" in lines
    assert member(engine, "sam").active is False
    with session_scope(engine) as session:
        assert resolve(session, Origin("slack", "USAM")).member is None
    lines = load(engine, write(tmp_path, with_sam))
    assert "members: 0 created, 0 updated, 1 reactivated (sam), 0 deactivated, 2 unchanged" in lines
    with session_scope(engine) as session:
        found = resolve(session, Origin("slack", "USAM")).member
        assert found is not None and found.key == "sam"


def test_channels_ids_and_roles_follow_the_file(engine: Engine, tmp_path: Path) -> None:
    load(engine, write(tmp_path, SMALL))
    edited = (SMALL.replace("channel: CSTEER", "channel: CSTEER2")
              .replace("      ana: chair", "      ana: member")
              .replace("slack: UANA", "slack: UANA2"))
    lines = load(engine, write(tmp_path, edited))
    assert "channel bindings: 1 created, 0 updated, 1 removed (slack CSTEER from steering)" in lines
    assert "memberships: 0 created, 1 updated (ana in steering: chair -> member), 0 removed, 1 unchanged" in lines
    assert "identities: 1 created, 0 updated, 1 removed (ana: slack UANA), 3 unchanged" in lines
    with session_scope(engine) as session:
        assert resolve(session, Origin("slack", "UANA")).member is None
        assert resolve(session, Origin("slack", "UANA2", "CSTEER2", "T1")).group is not None


def test_an_id_moves_from_a_departed_member_to_a_new_one(engine: Engine, tmp_path: Path) -> None:
    with_sam = SMALL.replace("\nmembers:\n", "\nmembers:\n  - key: sam\n    name: Sam Ortiz\n    slack: USAM\n")
    load(engine, write(tmp_path, with_sam))
    lines = load(engine, write(tmp_path, SMALL.replace("slack: UANA", "slack: USAM")))
    assert ("identities: 0 created, 1 updated (slack USAM: sam -> ana), 1 removed (ana: slack UANA), "
            "4 unchanged") in lines
    with session_scope(engine) as session:
        found = resolve(session, Origin("slack", "USAM")).member
        assert found is not None and found.key == "ana"


def test_a_bare_channel_id_binds_the_channel_in_any_workspace(engine: Engine, tmp_path: Path) -> None:
    load(engine, write(tmp_path, SMALL.replace("{team: T1, channel: CSTEER}", "CSTEER")))
    with session_scope(engine) as session:
        found = resolve(session, Origin("slack", "UANA", "CSTEER", "T9"))
        assert found.group is not None and found.group.key == "steering"


def test_a_glossary_name_taken_by_another_term_is_refused_with_nothing_written(
        engine: Engine, tmp_path: Path) -> None:
    load(engine, write(tmp_path, SMALL + "  - term: equity\n    aliases: [fairness]\n"
                                         "    definition: Every child has what they need.\n"))
    before = snapshot(engine)
    text = SMALL.replace("name: Bo Park", "name: Bo Parker") + (
        "  - term: fairness\n    definition: Being fair.\n")
    with pytest.raises(InitiativeFileError) as raised:
        load(engine, write(tmp_path, text))
    (error,) = raised.value.errors
    assert error.startswith(f"initiative.yaml line {line_of(text, 'glossary:')}, glossary: ")
    assert "already another name for “equity”" in error
    assert snapshot(engine) == before


def test_a_group_removed_from_the_file_is_deactivated(engine: Engine, tmp_path: Path) -> None:
    load(engine, EXAMPLE)
    text = EXAMPLE.read_text()
    start, end = text.index("  - key: workforce"), text.index("members:\n  - key: maria")
    lines = load(engine, write(tmp_path, text[:start] + text[end:]))
    assert "groups: 0 created, 0 updated, 1 deactivated (workforce: no longer in the file), 4 unchanged" in lines
    assert any(line.startswith("channel bindings: 0 created, 0 updated, 2 removed (slack C05WORKFORCE from workforce")
               for line in lines)
    with session_scope(engine) as session:
        workforce = session.exec(select(Group).where(Group.key == "workforce")).one()
        assert workforce.active is False


# --- mistakes ---------------------------------------------------------------------------

def test_a_list_where_text_belongs_is_named_by_line_and_field() -> None:
    text = SMALL.replace("name: Bo Park", "name: [Bo, Park]")
    assert errors_of(text) == [
        f"initiative.yaml line {line_of(text, '[Bo, Park]')}, members[1].name: expected text, found a list"]


def test_an_unknown_timezone_suggests_the_right_one() -> None:
    text = SMALL.replace("    timezone: America/Chicago\n    slack", "    timezone: America/Chicgo\n    slack")
    (error,) = errors_of(text)
    assert error.startswith(f"initiative.yaml line {line_of(text, 'Chicgo')}, members[0].timezone: "
                            "'America/Chicgo' is not a known timezone (did you mean America/Chicago?)")
    assert "IANA" in error


def test_an_unknown_group_kind_lists_the_kinds() -> None:
    text = SMALL.replace("kind: steering", "kind: steering-committee")
    (error,) = errors_of(text)
    assert error.startswith(f"initiative.yaml line {line_of(text, 'kind:')}, groups[0].kind: "
                            "'steering-committee' is not a known group kind")
    assert "backbone, steering, working_group, advisory" in error


def test_a_group_naming_an_unknown_member_is_refused() -> None:
    text = SMALL.replace("      bo:\n", "      bo:\n      sam: member\n")
    assert errors_of(text) == [
        f"initiative.yaml line {line_of(text, 'sam: member')}, groups[0].members.sam: "
        "no member has the key 'sam'; add them under members: first"]


def test_a_bad_role_is_refused() -> None:
    text = SMALL.replace("ana: chair", "ana: boss")
    (error,) = errors_of(text)
    assert error.startswith(f"initiative.yaml line {line_of(text, 'ana: boss')}, groups[0].members.ana: "
                            "'boss' is not a known role")
    assert "chair, staff, member, observer" in error


def test_a_yaml_key_written_twice_names_both_lines() -> None:
    text = SMALL.replace("    name: Bo Park\n", "    name: Bo Park\n    name: Bob Park\n")
    assert errors_of(text) == [
        f"initiative.yaml line {line_of(text, 'Bob Park')}, members[1].name: 'name' appears twice "
        f"(lines {line_of(text, 'Bo Park')} and {line_of(text, 'Bob Park')}); keep one"]


def test_a_member_key_used_twice_names_both_lines() -> None:
    text = SMALL.replace("glossary:", "  - key: ana\n    name: Ana Again\nglossary:")
    assert errors_of(text) == [
        f"initiative.yaml line {line_of(text, '- key: ana', 2)}, members[2].key: the member key 'ana' "
        f"is already used on line {line_of(text, '- key: ana')}; each must appear once"]


def test_an_unknown_section_gets_a_did_you_mean() -> None:
    text = SMALL.replace("glossary:", "glosary:")
    (error,) = errors_of(text)
    assert error.startswith(f"initiative.yaml line {line_of(text, 'glosary:')}, glosary: "
                            "unknown section (did you mean glossary?)")


def test_every_problem_is_reported_not_just_the_first() -> None:
    text = (SMALL.replace("kind: steering", "kind: comittee")
            .replace("sector: funder", "sector: bank")
            .replace("discord: 100000000000000002", "discord: 12ab")
            .replace("acronyms: [BBO]", "acronyms: [BBO]\n    colour: blue"))
    errors = errors_of(text)
    assert [e.split(":")[0] for e in errors] == [
        f"initiative.yaml line {line_of(text, 'comittee')}, groups[0].kind",
        f"initiative.yaml line {line_of(text, 'bank')}, members[1].sector",
        f"initiative.yaml line {line_of(text, '12ab')}, members[1].discord",
        f"initiative.yaml line {line_of(text, 'colour')}, glossary[0].colour",
    ]


def test_an_id_claimed_by_two_members_is_refused() -> None:
    text = SMALL.replace("discord: 100000000000000002", "slack: UANA")
    assert errors_of(text) == [
        f"initiative.yaml line {line_of(text, 'slack: UANA', 2)}, members[1].slack: the Slack user id "
        f"'UANA' is already used on line {line_of(text, 'slack: UANA')}; each must appear once"]


def test_glossary_mistakes_point_at_the_term() -> None:
    text = SMALL + "  - term: BBO\n    definition: Something else.\n  - term: equity\n"
    assert errors_of(text) == [
        f"initiative.yaml line {line_of(text, 'term: equity')}, glossary[2].definition: "
        "the definition is empty; say what the term means",
        f"initiative.yaml line {line_of(text, 'acronyms: [BBO]')}, glossary[0].acronyms: "
        f"'BBO' already names 'BBO' (line {line_of(text, 'term: BBO')}); an alias can belong to one term only",
    ]


def test_broken_yaml_is_reported_with_its_line() -> None:
    text = SMALL.replace("    name: Bo Park\n", "    name: Bo Park\n   sector: [oops\n")
    (error,) = errors_of(text)
    assert error.startswith("initiative.yaml line ") and "this is not valid YAML" in error


# --- nothing half-written ----------------------------------------------------------------

def test_an_invalid_file_writes_nothing_even_when_it_starts_well(engine: Engine, tmp_path: Path) -> None:
    load(engine, EXAMPLE)
    before = counts(engine)
    text = EXAMPLE.read_text().replace("Riverbend Children's Alliance", "Riverbend Kids Alliance")
    text = text.replace("status: proposed", "status: maybe")
    with pytest.raises(InitiativeFileError) as raised:
        load(engine, write(tmp_path, text))
    assert raised.value.errors == [
        f"initiative.yaml line {line_of(text, 'status: maybe')}, glossary[31].status: 'maybe' is not "
        "a known term status; write one of proposed, agreed"]
    assert counts(engine) == before
    assert member(engine, "maria").organization == "Riverbend Children's Alliance"


def test_a_channel_of_another_initiative_is_refused_before_anything_is_written(
        engine: Engine, tmp_path: Path) -> None:
    load(engine, EXAMPLE)
    before = snapshot(engine)
    text = SMALL.replace("{team: T1, channel: CSTEER}", "{team: T05RVRBND1, channel: C05STEERING}")
    with pytest.raises(InitiativeFileError) as raised:
        load(engine, write(tmp_path, text))
    assert raised.value.errors == [
        f"initiative.yaml line {line_of(text, 'C05STEERING')}, groups[0].channels.slack: slack channel "
        "C05STEERING is already bound to group 'steering' of initiative 'riverbend'; "
        "unbind it there first or pick another channel"]
    assert snapshot(engine) == before


# --- in chat ---------------------------------------------------------------------------

def test_maria_can_use_the_bot_after_the_example_loads(engine: Engine, chat: Chat) -> None:
    load(engine, EXAMPLE)
    maria = chat.as_("maria")
    assert maria.say("/ci help").title == "cibot commands"
    found = text_of(maria.say("/ci glossary BBO"))
    assert "backbone organization" in found.lower()
    assert "Riverbend Children's Alliance" in found
    readiness = text_of(maria.say("/ci glossary school readiness"))
    assert "education: A child's skills" in readiness and "health: A child arrives" in readiness


def test_times_are_stored_in_utc_and_read_back_timezone_aware(engine: Engine) -> None:
    from datetime import UTC, datetime, timedelta, timezone

    from tests.factories import seed

    seeded = seed(engine)
    back_in_chicago = datetime(2026, 7, 1, 9, 0, tzinfo=timezone(timedelta(hours=-5)))
    with session_scope(engine) as session:
        member = session.get(Member, seeded.members["lena"])
        member.out_of_office_until = back_in_chicago
        session.add(member)
    with session_scope(engine) as session:
        stored = session.get(Member, seeded.members["lena"]).out_of_office_until
    assert stored == back_in_chicago and stored.tzinfo == UTC and stored.hour == 14
    with pytest.raises(Exception, match="naive datetime"), session_scope(engine) as session:
        member = session.get(Member, seeded.members["lena"])
        member.out_of_office_until = datetime(2026, 7, 1, 9, 0)  # noqa: DTZ001
        session.add(member)
        session.flush()
