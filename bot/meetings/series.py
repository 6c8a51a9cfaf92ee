"""The domain of meeting series: occurrences with their exceptions, and what falls due when.

A cadence's occurrences come from its rule (`bot.meetings.recurrence`); a `Meeting` row records
an exception (skipped, moved) or anything attached to one occurrence. Meetings keep
their wall time across daylight saving (a 10:00 meeting stays at 10:00), but reminder
and agenda times are offsets in absolute time from the meeting's UTC start: "1 h before"
is always 60 minutes before, even when a clock change falls in between (counting in
wall time put the 1 h reminder of a 03:30 meeting at 03:30 on the spring-forward day,
and 2 h early on the fall-back day).
Flows and scheduled jobs both build on these functions; no chat wording lives here
beyond the errors a user acts on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlmodel import Session, col, or_, select

from bot.core.errors import UserError
from bot.core.time import day_text, moment_text, to_local, to_utc
from bot.meetings.recurrence import occurrences, shortest_gap
from storage.meetings import AgendaItem, Cadence, Meeting, MeetingStatus

_WINDOWS = (timedelta(days=10), timedelta(days=40), timedelta(days=400), timedelta(days=366 * 5))
OFFSET_USAGE = "Write offsets like 24h, 1h, 30m or 2d, separated by commas (e.g. --reminders 24h,1h)."


@dataclass(frozen=True)
class Occurrence:
    """One meeting of a cadence: when the rule put it, when it really is, and its row if any."""

    cadence: Cadence
    original_start: datetime
    starts_at: datetime
    meeting: Meeting | None = None

    @property
    def skipped(self) -> bool:
        """True when the backbone skipped this meeting."""
        return self.meeting is not None and self.meeting.status == MeetingStatus.SKIPPED

    @property
    def moved(self) -> bool:
        """True when the meeting was moved from the time the rule gave it."""
        return self.starts_at != self.original_start

    @property
    def ends_at(self) -> datetime:
        """When the meeting is planned to end."""
        return self.starts_at + timedelta(minutes=self.cadence.duration_minutes)

    @property
    def status(self) -> MeetingStatus:
        """Scheduled, skipped, started or ended."""
        return self.meeting.status if self.meeting else MeetingStatus.SCHEDULED

    def local_start(self, timezone: str | None = None) -> datetime:
        """The start as aware time in `timezone` (default: the cadence's)."""
        return to_local(self.starts_at, timezone or self.cadence.timezone)


def parse_offset(text: str) -> int:
    """Minutes in an offset typed as ``24h``, ``90m``, ``1h30``, ``2d``; an error otherwise."""
    m = re.fullmatch(r"\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m?)?\s*", text.lower())
    if not m or not any(m.groups()) or (m.group(3) and not m.group(2) and not text.lower().strip().endswith("m")):
        raise UserError(f"“{text}” is not a length of time.", usage=OFFSET_USAGE)
    days, hours, minutes = (int(g or 0) for g in m.groups())
    total = days * 1440 + hours * 60 + minutes
    if total <= 0:
        raise UserError(f"“{text}” is no time at all.", usage=OFFSET_USAGE)
    return total


def parse_offsets(text: str) -> list[int]:
    """Distinct offsets in minutes from ``24h,1h``, largest first."""
    return sorted({parse_offset(part) for part in text.split(",") if part.strip()}, reverse=True)


def show_offset(minutes: int) -> str:
    """An offset in words a reader takes in at a glance: ``24 h``, ``1 h 30 min``, ``45 min``, ``7 days``."""
    if minutes >= 2 * 1440 and minutes % 1440 == 0:
        return f"{minutes // 1440} days"
    hours, rest = divmod(minutes, 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h" + (f" {rest} min" if rest else "")


def check_offsets(cadence: Cadence, *, lead_given: bool = True, reminders_given: bool = True) -> None:
    """Refuse reminder or agenda offsets that reach back past the previous meeting.

    When the agenda lead time was not given and the default does not fit (a daily
    meeting), it shrinks to half the time between meetings instead; default reminders
    that do not fit are dropped (a daily meeting keeps the 1 h one).
    """
    gap = shortest_gap(cadence.rrule, cadence.dtstart, cadence.timezone)
    gap_minutes = int(gap.total_seconds() // 60)
    if not lead_given and cadence.agenda_lead_minutes >= gap_minutes:
        cadence.agenda_lead_minutes = max(30, gap_minutes // 2 // 30 * 30)
    if not reminders_given and any(m >= gap_minutes for m in cadence.reminders):
        cadence.reminder_minutes = ",".join(str(m) for m in cadence.reminders if m < gap_minutes)
    for what, minutes, option in (("reminder", max(cadence.reminders, default=0), "--reminders"),
                                  ("agenda lead time", cadence.agenda_lead_minutes, "--agenda-lead")):
        if minutes >= gap_minutes:
            raise UserError(
                f"A {what} of {show_offset(minutes)} is {'as long as' if minutes == gap_minutes else 'longer than'} "
                f"the {show_offset(gap_minutes)} between two "
                "meetings of this series, so it would arrive before the previous meeting.",
                usage=f"Use a shorter {option}, e.g. --reminders 24h,1h --agenda-lead 24h.",
            )


def before(start: datetime, minutes: int) -> datetime:
    """`minutes` of absolute time before `start` (UTC), whatever the clocks do in between."""
    return start - timedelta(minutes=minutes)


def occurrences_between(session: Session, cadence: Cadence, after: datetime, until: datetime,
                        *, include_skipped: bool = False, known: Sequence[Meeting] | None = None) -> list[Occurrence]:
    """The occurrences of `cadence` starting in ``[after, until)``, exceptions applied, by start.

    `known`, when given, holds the cadence's `Meeting` rows from `after` on, already
    loaded (see `next_events`); otherwise they are read from the database.
    """
    assert cadence.id is not None
    originals = occurrences(cadence.rrule, cadence.dtstart, cadence.timezone, after, until)
    if known is None:
        rows: Sequence[Meeting] = session.exec(select(Meeting).where(
            Meeting.cadence_id == cadence.id,
            or_(col(Meeting.original_start).between(after, until), col(Meeting.starts_at).between(after, until)),
        )).all()
    else:
        rows = [r for r in known if after <= r.original_start <= until or after <= r.starts_at <= until]
    by_original = {row.original_start: row for row in rows}
    found = [Occurrence(cadence, start, start) for start in originals if start not in by_original]
    found += [Occurrence(cadence, row.original_start, row.starts_at, row) for row in rows]
    return sorted((o for o in found if after <= o.starts_at < until and (include_skipped or not o.skipped)),
                  key=lambda o: o.starts_at)


def upcoming(session: Session, cadence: Cadence, now: datetime, *, include_skipped: bool = False,
             scheduled_only: bool = False, known: Sequence[Meeting] | None = None) -> list[Occurrence]:
    """The next occurrences of `cadence` that start after `now`: at least one if there is one.

    `scheduled_only` leaves out meetings already started or ended.
    """
    for window in _WINDOWS:
        found = occurrences_between(session, cadence, now, now + window, include_skipped=include_skipped, known=known)
        if scheduled_only:
            found = [o for o in found if o.status == MeetingStatus.SCHEDULED]
        if found:
            return found
    return []


def next_occurrence(session: Session, cadence: Cadence, now: datetime) -> Occurrence | None:
    """The next meeting of `cadence` that has not started yet, skipping skipped ones."""
    found = upcoming(session, cadence, now, scheduled_only=True)
    return found[0] if found else None


def next_for_group(session: Session, group_id: int, now: datetime) -> Occurrence | None:
    """The group's next meeting over all its running cadences."""
    found = [o for c in cadences_of(session, [group_id]) if not c.paused
             if (o := next_occurrence(session, c, now)) is not None]
    return min(found, key=lambda o: o.starts_at) if found else None


def cadences_of(session: Session, group_ids: Iterable[int]) -> list[Cadence]:
    """The confirmed cadences of the given groups, by title."""
    ids = list(group_ids)
    if not ids:
        return []
    return list(session.exec(select(Cadence).where(
        col(Cadence.group_id).in_(ids), Cadence.confirmed == True,  # noqa: E712
    ).order_by(Cadence.title)).all())


def on_date(session: Session, cadences: list[Cadence], day: date, timezone: str, at: time | None = None) -> Occurrence:
    """The one meeting of `cadences` on local `day` (at local time `at`, if given) in `timezone`.

    An error names the meetings of that day when there are several and no time picks
    one, or the dates near it when there is none.
    """
    start = to_utc(datetime.combine(day, time(0)), timezone)
    end = to_utc(datetime.combine(day + timedelta(days=1), time(0)), timezone)
    found = [o for c in cadences for o in occurrences_between(session, c, start, end, include_skipped=True)]
    if at is not None and found and not any(o.local_start(timezone).time() == at for o in found):
        times = ", ".join(f"{o.local_start(timezone):%H:%M}" for o in sorted(found, key=lambda o: o.starts_at))
        raise UserError(f"There is no meeting at {at:%H:%M} on {day_text(day)}; that day's meetings are at {times}.")
    if at is not None:
        found = [o for o in found if o.local_start(timezone).time() == at]
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        times = ", ".join(f"{o.local_start(timezone):%H:%M} {o.cadence.title}"
                          for o in sorted(found, key=lambda o: o.starts_at))
        raise UserError(f"There are {len(found)} meetings on {day_text(day)} ({times}); say which by its time, "
                        f"e.g. `{day:%Y-%m-%d} {found[-1].local_start(timezone):%H:%M}`.")
    near = sorted((o for c in cadences for o in upcoming(session, c, start - timedelta(days=14))),
                  key=lambda o: o.starts_at)[:3]
    dates = ", ".join(moment_text(o.starts_at, timezone) for o in near) or "none planned"
    raise UserError(f"There is no meeting on {day_text(day)}. Meetings around then: {dates}.")


def meeting_row(session: Session, occurrence: Occurrence) -> Meeting:
    """The `Meeting` row of `occurrence`, created on first use."""
    if occurrence.meeting is not None:
        return occurrence.meeting
    assert occurrence.cadence.id is not None
    row = session.exec(select(Meeting).where(Meeting.cadence_id == occurrence.cadence.id,
                                             Meeting.original_start == occurrence.original_start)).first()
    if row is None:
        row = Meeting(cadence_id=occurrence.cadence.id, group_id=occurrence.cadence.group_id,
                      original_start=occurrence.original_start, starts_at=occurrence.starts_at)
        session.add(row)
        session.flush()
    return row


def occurrence_of(session: Session, meeting: Meeting) -> Occurrence:
    """The occurrence a `Meeting` row stands for."""
    cadence = session.get(Cadence, meeting.cadence_id)
    assert cadence is not None
    return Occurrence(cadence, meeting.original_start, meeting.starts_at, meeting)


def clash(session: Session, group_id: int, start: datetime, end: datetime, ignore: Occurrence) -> Occurrence | None:
    """Another meeting of the group that overlaps ``[start, end)``, if there is one."""
    for cadence in cadences_of(session, [group_id]):
        window = occurrences_between(session, cadence, start - timedelta(days=1), end)
        for other in window:
            same = other.cadence.id == ignore.cadence.id and other.original_start == ignore.original_start
            if not same and other.starts_at < end and start < other.ends_at:
                return other
    return None


def hand_over_items(session: Session, meeting: Meeting) -> Occurrence | None:
    """Move a skipped meeting's agenda items to the series' next meeting; that meeting, if any."""
    items = session.exec(select(AgendaItem).where(AgendaItem.meeting_id == meeting.id)
                         .order_by(col(AgendaItem.position), col(AgendaItem.id))).all()
    if not items:
        return None
    following = next_occurrence(session, occurrence_of(session, meeting).cadence,
                                meeting.starts_at + timedelta(minutes=1))
    if following is None:
        return None
    target = meeting_row(session, following)
    last = session.exec(select(AgendaItem.position).where(AgendaItem.meeting_id == target.id)
                        .order_by(col(AgendaItem.position).desc())).first() or 0
    for offset, item in enumerate(items, start=1):
        item.meeting_id, item.position = target.id or 0, last + offset
    return following


def in_progress(session: Session, group_id: int) -> Meeting | None:
    """The group's meeting that has been started and not yet ended."""
    return session.exec(select(Meeting).where(Meeting.group_id == group_id,
                                              Meeting.status == MeetingStatus.STARTED)).first()


@dataclass(frozen=True)
class Event:
    """Something a cadence's job does at `at`: post the agenda or send a reminder."""

    at: datetime
    kind: str  # "agenda" or "reminder"
    occurrence: Occurrence
    offset: int  # minutes before the start


def events(occurrence: Occurrence) -> list[Event]:
    """The agenda posting and reminders of one occurrence, by time."""
    cadence = occurrence.cadence
    found = [Event(before(occurrence.starts_at, cadence.agenda_lead_minutes), "agenda",
                   occurrence, cadence.agenda_lead_minutes)]
    found += [Event(before(occurrence.starts_at, m), "reminder", occurrence, m) for m in cadence.reminders]
    return sorted(found, key=lambda e: e.at)


def horizon(cadence: Cadence) -> timedelta:
    """How far ahead of a meeting its first event can be."""
    return timedelta(minutes=max([*cadence.reminders, cadence.agenda_lead_minutes]) + 60 * 24)


def due_events(session: Session, cadence: Cadence, now: datetime,
               known: Sequence[Meeting] | None = None) -> list[Event]:
    """The events already due at `now` for meetings that are still ahead, by time."""
    if cadence.paused or not cadence.confirmed:
        return []
    ahead = occurrences_between(session, cadence, now, now + horizon(cadence), known=known)
    return sorted((e for o in ahead if o.status == MeetingStatus.SCHEDULED
                   for e in events(o) if e.at <= now), key=lambda e: e.at)


def next_event_at(session: Session, cadence: Cadence, now: datetime,
                  known: Sequence[Meeting] | None = None) -> datetime | None:
    """When the cadence next has something to do after `now`, or None (paused or ended)."""
    if cadence.paused or not cadence.confirmed:
        return None
    after = now
    for _ in range(3):
        ahead = upcoming(session, cadence, after, scheduled_only=True, known=known)
        for occurrence in ahead:
            later = [e.at for e in events(occurrence) if e.at > now]
            if later:
                return min(later)
        if not ahead:
            return None
        after = ahead[-1].starts_at + timedelta(seconds=1)
    return None


def known_rows(session: Session, cadence_ids: Sequence[int], now: datetime) -> dict[int, list[Meeting]]:
    """The `Meeting` rows of the given cadences that may still matter after `now`, by cadence id."""
    known: dict[int, list[Meeting]] = {i: [] for i in cadence_ids}
    ids = list(known)
    since = now - timedelta(days=1)
    for chunk in range(0, len(ids), 500):
        rows = session.exec(select(Meeting).where(
            col(Meeting.cadence_id).in_(ids[chunk:chunk + 500]),
            or_(col(Meeting.original_start) >= since, col(Meeting.starts_at) >= since),
        )).all()
        for row in rows:
            known[row.cadence_id].append(row)
    return known


def next_events(session: Session, cadences: Sequence[Cadence], now: datetime) -> dict[int, datetime | None]:
    """`next_event_at` of many cadences at once, reading their meeting rows in a few queries."""
    known = known_rows(session, [c.id for c in cadences if c.id is not None], now)
    return {c.id: next_event_at(session, c, now, known[c.id]) for c in cadences if c.id is not None}


def stamp(moment: datetime) -> str:
    """A UTC moment as a compact, stable part of an outbox key."""
    return f"{moment:%Y%m%dT%H%MZ}"
