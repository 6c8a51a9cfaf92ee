"""The `cadences:` section of the initiative file: reading, checking and loading meeting series.

    cadences:
      - group: steering
        title: Steering committee
        rule: monthly on 2nd tue at 10:00      # the same words as /ci meeting add
        timezone: America/Chicago              # optional; default: the initiative's
        duration: 90m                          # optional; default 60m
        place: County Health Dept., Room 4     # optional
        video: https://meet.example/steering   # optional
        reminders: [24h, 1h]                   # optional; default 24h and 1h before
        agenda_lead: 48h                       # optional; default 48h before
        paused: no                             # optional

Series are matched by group and title, so loading the file again changes nothing;
series added by chat are kept. A changed rule starts again from its next date.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from sqlmodel import select

from bot.core.errors import UserError
from bot.core.time import to_local
from bot.initiative_file.nodes import At, Field, Invalid, items, records, scalar_text
from bot.initiative_file.problems import Problems, Where, did_you_mean
from bot.initiative_file.report import Tally
from bot.initiative_file.values import key, text, timezone, yes_no
from bot.meetings import series
from bot.meetings.recurrence import Pattern, first_start, parse_rule
from storage.meetings import DEFAULT_AGENDA_LEAD, DEFAULT_REMINDERS, Cadence
from storage.types import utcnow

if TYPE_CHECKING:
    from bot.initiative_file.spec import InitiativeSpec
    from bot.initiative_file.sync import Run

@dataclass
class CadenceSpec:
    """One entry of `cadences:`, checked."""

    group: str
    title: str
    pattern: Pattern
    where: Where
    timezone: str = ""
    duration: int = 60
    place: str = ""
    video: str = ""
    reminders: list[int] | None = None  # None: 24 h and 1 h, less those too long for the rhythm
    agenda_lead: int | None = None  # None: the default, shortened for frequent meetings
    paused: bool = False


def _rule(at: At, _problems: Problems) -> Pattern:
    try:
        return parse_rule(scalar_text(at))
    except UserError as exc:
        raise Invalid(f"{exc.message} {exc.usage}".strip()) from None


def _offset(at: At, _problems: Problems) -> int:
    try:
        return series.parse_offset(scalar_text(at))
    except UserError as exc:
        raise Invalid(exc.message + " Write it like 24h, 90m or 2d.") from None


def _offsets(at: At, problems: Problems) -> list[int]:
    return sorted({_offset(item, problems) for item in items(at, problems, "offsets", single_ok=True)}, reverse=True)


def _video(at: At, _problems: Problems) -> str:
    value = scalar_text(at)
    if not value.startswith(("https://", "http://")) or len(value) > 500:
        raise Invalid(f"{value[:40]!r} is not a web link; write https://...")
    return value


FIELDS = {
    "group": Field(key, required=True),
    "title": Field(text(200), required=True),
    "rule": Field(_rule, required=True),
    "timezone": Field(timezone),
    "duration": Field(_offset),
    "place": Field(text(500)),
    "video": Field(_video),
    "reminders": Field(_offsets),
    "agenda_lead": Field(_offset),
    "paused": Field(yes_no),
}


def read_cadences(at: At, problems: Problems) -> list[CadenceSpec]:
    """The `cadences:` section: one meeting series per entry."""
    found = []
    for rec in records(at, FIELDS, problems, "cadences (each with group, title and rule)", "cadence"):
        v = rec.values
        found.append(CadenceSpec(
            group=v["group"], title=v["title"], pattern=v["rule"], where=rec.where,
            timezone=v.get("timezone", v["rule"].timezone or ""), duration=v.get("duration", 60),
            place=v.get("place", ""), video=v.get("video", ""), reminders=v.get("reminders"),
            agenda_lead=v.get("agenda_lead"), paused=v.get("paused", False)))
    return found


def _draft(spec: CadenceSpec, zone: str) -> Cadence:
    """The series as a row (not added to any session), starting at its next date, offsets checked.

    A `from` date that has passed is simply ignored, so an old file still loads.
    """
    now = utcnow()
    pattern = spec.pattern
    if pattern.starting and pattern.starting < to_local(now, zone).date():
        pattern = replace(pattern, starting=None)
    draft = Cadence(initiative_id=0, group_id=0, title=spec.title, rrule=spec.pattern.rrule,
                    dtstart=first_start(pattern, zone, now), timezone=zone,
                    duration_minutes=spec.duration, place=spec.place, video_url=spec.video,
                    reminder_minutes=DEFAULT_REMINDERS if spec.reminders is None
                    else ",".join(str(m) for m in spec.reminders),
                    agenda_lead_minutes=spec.agenda_lead or DEFAULT_AGENDA_LEAD, paused=spec.paused)
    series.check_offsets(draft, lead_given=spec.agenda_lead is not None, reminders_given=spec.reminders is not None)
    return draft


def check_cadences(spec: InitiativeSpec, problems: Problems) -> None:
    """Each series names a group of the file, appears once, and has reminders that fit its rhythm."""
    groups = {g.key for g in spec.groups}
    seen: set[tuple[str, str]] = set()
    for cadence in spec.cadences:
        where = Where(cadence.where.line, f"{cadence.where.path}.group")
        if cadence.group not in groups:
            problems.add(where, f"group {cadence.group!r} is not a group key{did_you_mean(cadence.group, groups)}")
        if (cadence.group, cadence.title) in seen:
            problems.add(cadence.where, f"the {cadence.group} series {cadence.title!r} appears twice; keep one")
        seen.add((cadence.group, cadence.title))
        try:
            _draft(cadence, cadence.timezone or spec.initiative.timezone)
        except UserError as exc:
            problems.add(cadence.where, exc.message)


def sync_cadence_section(run: Run) -> Tally | None:
    """The load step for `cadences:`: create or update series by group and title; others are kept."""
    if not run.spec.cadences:
        return None
    tally = Tally("cadences", gone_word="")
    for spec in run.spec.cadences:
        group = run.groups[spec.group]
        draft = _draft(spec, spec.timezone or run.initiative.timezone)
        row = run.session.exec(select(Cadence).where(Cadence.group_id == group.id, Cadence.title == spec.title)).first()
        label = f"{spec.group}: {spec.title}"
        if row is None:
            draft.initiative_id, draft.group_id = run.initiative_id, group.id or 0
            run.session.add(draft)
            tally.created.append(label)
            continue
        same_time = (row.rrule == draft.rrule and row.timezone == draft.timezone
                     and to_local(row.dtstart, row.timezone).time() == spec.pattern.at)
        values = {"duration_minutes": draft.duration_minutes, "place": draft.place, "video_url": draft.video_url,
                  "reminder_minutes": draft.reminder_minutes, "agenda_lead_minutes": draft.agenda_lead_minutes,
                  "paused": draft.paused, "confirmed": True}
        if not same_time:
            values.update(rrule=draft.rrule, timezone=draft.timezone, dtstart=draft.dtstart)
        changed = [name for name, value in values.items() if getattr(row, name) != value]
        for name in changed:
            setattr(row, name, values[name])
        if changed:
            row.next_event_at = None  # the scheduler's next sweep works it out again
            tally.updated.append(f"{label}: {', '.join(changed)}")
        else:
            tally.unchanged += 1
    return tally
