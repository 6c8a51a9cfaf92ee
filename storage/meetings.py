"""Meeting series and what happens in them: cadences, occurrences, attendance, agendas, minutes.

A `Cadence` holds the recurrence rule (RFC 5545 RRULE text evaluated in the wall time
of its timezone, see `bot.meetings.recurrence`). A `Meeting` row exists for an occurrence only
once something is attached to it (an exception, an agenda item, attendance, notes),
keyed by the occurrence's original start so a moved meeting keeps its identity.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import AutoString, Field, SQLModel

from storage.types import UTCDateTime, utcnow

DEFAULT_REMINDERS = "1440,60"  # minutes before the start: 24 h and 1 h
DEFAULT_AGENDA_LEAD = 2880  # minutes before the start: 48 h


class Cadence(SQLModel, table=True):
    """A meeting series of one group: when it recurs, how long, where, and when to remind."""

    __table_args__ = (UniqueConstraint("group_id", "title"),)

    id: int | None = Field(default=None, primary_key=True)
    initiative_id: int = Field(foreign_key="initiative.id", index=True)
    group_id: int = Field(foreign_key="group_.id", index=True)
    title: str = Field(max_length=200)
    rrule: str = Field(max_length=500)
    dtstart: datetime = Field(sa_type=UTCDateTime)  # first occurrence; its local time is the meeting time
    timezone: str = Field(max_length=64)
    duration_minutes: int = 60
    place: str = Field(default="", max_length=500)
    video_url: str = Field(default="", max_length=500)
    reminder_minutes: str = Field(default=DEFAULT_REMINDERS, max_length=100)  # comma-separated offsets
    agenda_lead_minutes: int = DEFAULT_AGENDA_LEAD
    paused: bool = False
    confirmed: bool = True  # False while a chat preview waits for its Confirm button
    next_event_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)  # next reminder/agenda
    created_by_id: int | None = Field(default=None, foreign_key="member.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    @property
    def reminders(self) -> list[int]:
        """The reminder offsets in minutes before the start, largest first."""
        return sorted((int(x) for x in self.reminder_minutes.split(",") if x.strip()), reverse=True)


class MeetingStatus(StrEnum):
    """Where an occurrence stands."""

    SCHEDULED = "scheduled"
    SKIPPED = "skipped"
    STARTED = "started"
    ENDED = "ended"


class Meeting(SQLModel, table=True):
    """One occurrence of a cadence that has something attached to it."""

    __table_args__ = (UniqueConstraint("cadence_id", "original_start"),)

    id: int | None = Field(default=None, primary_key=True)
    cadence_id: int = Field(foreign_key="cadence.id", index=True)
    group_id: int = Field(foreign_key="group_.id", index=True)
    original_start: datetime = Field(sa_type=UTCDateTime)  # the occurrence the rule generated
    starts_at: datetime = Field(sa_type=UTCDateTime, index=True)  # differs when moved
    status: MeetingStatus = Field(sa_type=AutoString, default=MeetingStatus.SCHEDULED, max_length=16)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    minutes: str = Field(default="")

    @property
    def moved(self) -> bool:
        """True when the occurrence was moved away from its original time."""
        return self.starts_at != self.original_start


class AttendanceStatus(StrEnum):
    """Whether a member was there."""

    PRESENT = "present"
    REGRETS = "regrets"


class Attendance(SQLModel, table=True):
    """A member's presence at, or regrets for, one meeting."""

    __table_args__ = (UniqueConstraint("meeting_id", "member_id"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    status: AttendanceStatus = Field(sa_type=AutoString, max_length=16)
    reason: str = Field(default="", max_length=500)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ItemStatus(StrEnum):
    """An agenda item's way through the backbone's curation."""

    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    DEFERRED = "deferred"
    DONE = "done"


class ItemKind(StrEnum):
    """What the meeting is asked to do with an agenda item."""

    DECISION = "decision"
    DISCUSSION = "discussion"
    REPORT = "report"
    INFO = "info"


class CalendarFeed(SQLModel, table=True):
    """The secret in the address of a group's calendar feed (``/calendar/GROUP/TOKEN.ics``)."""

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="group_.id", unique=True)
    token: str = Field(max_length=64)
    rotated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AgendaItem(SQLModel, table=True):
    """An item on a meeting's agenda, proposed by a member and curated by the backbone."""

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    text: str = Field(max_length=1000)
    kind: ItemKind = Field(sa_type=AutoString, default=ItemKind.DISCUSSION, max_length=16)
    timebox_minutes: int | None = None
    proposer_id: int | None = Field(default=None, foreign_key="member.id")
    presenter_id: int | None = Field(default=None, foreign_key="member.id")
    status: ItemStatus = Field(sa_type=AutoString, default=ItemStatus.PROPOSED, max_length=16)
    position: int = 0
    carried_over_from_id: int | None = Field(default=None, foreign_key="agendaitem.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ActionStatus(StrEnum):
    """An action item is open until its owner (or the backbone) marks it done."""

    OPEN = "open"
    DONE = "done"


class ActionItem(SQLModel, table=True):
    """Something a member took on in a meeting, with an optional due date."""

    id: int | None = Field(default=None, primary_key=True)
    initiative_id: int = Field(foreign_key="initiative.id", index=True)
    group_id: int = Field(foreign_key="group_.id", index=True)
    meeting_id: int | None = Field(default=None, foreign_key="meeting.id", index=True)
    owner_id: int = Field(foreign_key="member.id", index=True)
    text: str = Field(max_length=1000)
    due: date | None = None
    status: ActionStatus = Field(sa_type=AutoString, default=ActionStatus.OPEN, max_length=16)
    created_by_id: int | None = Field(default=None, foreign_key="member.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class NoteKind(StrEnum):
    """What a line of the minutes records."""

    AGREED = "agreed"
    INFO = "info"
    ACTION = "action"


class MeetingNote(SQLModel, table=True):
    """One line captured during a meeting, in order; `/ci undo` removes the last one."""

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    kind: NoteKind = Field(sa_type=AutoString, max_length=16)
    text: str = Field(max_length=2000)
    author_id: int | None = Field(default=None, foreign_key="member.id")
    action_item_id: int | None = Field(default=None, foreign_key="actionitem.id")
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
