"""Scheduled work of meeting series: agendas at the lead time, reminders at their offsets.

Each cadence keeps `next_event_at` (its next agenda posting or reminder) current; flows
update it when they change a series. `reconcile` gives every cadence whose next event
falls within a short look-ahead its one scheduler job (``cadence:ID`` running `fire`);
`install` has the scheduler repeat it every `SWEEP_EVERY`, so changes made by chat
commands reach the scheduler without flows holding it, and start-up stays fast with
thousands of series. `fire` enqueues what is due up to now and records the cadence's
next event (a paused series' job finds nothing due and stops). Outbox keys name the
kind, the cadence and the meeting's start (the outbox adds the channel), so running a
job twice never sends anything twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.core.messages import Reply
from bot.core.registry import Registry
from bot.core.render import Dialect
from bot.core.time import moment_text
from bot.meetings import series
from bot.meetings.agenda import agenda_reply, item_values, items_of, names_of, people_of
from bot.runtime.outbox import enqueue_to_group
from bot.runtime.scheduler import Scheduler, scheduler_of
from storage.meetings import Attendance, AttendanceStatus, Cadence, ItemStatus
from storage.models import Group, Member

JOB = "meetings.fire"
SWEEP_EVERY = timedelta(minutes=1)
REMINDER_ITEMS = 5  # agenda items a reminder lists before pointing to /ci agenda


def job_id(cadence_id: int) -> str:
    """The id of a cadence's scheduler job."""
    return f"cadence:{cadence_id}"


def lookahead(sweep_every: timedelta) -> timedelta:
    """How far ahead jobs are scheduled: beyond the next sweep, so no event falls between two sweeps."""
    return 2 * sweep_every + timedelta(minutes=1)


def register(registry: Registry) -> None:
    """Name the cadence job, and add the reconciler that runs at start and every `SWEEP_EVERY`."""
    registry.job(JOB, fire)
    registry.reconciler("meetings", reconcile, every=SWEEP_EVERY)


def reconcile(session: Session, scheduler: Scheduler, now: datetime, *,
              sweep_every: timedelta = SWEEP_EVERY, sweeping: bool = False) -> None:
    """Fill in unknown next events, then give each one within the look-ahead its job at that time.

    The look-ahead reaches past the next sweep, `sweep_every` away.

    An event already past (the bot was down longer than a job's grace time) gets a job
    now: `fire` then sends what is still worth sending for meetings ahead.

    Only cadences with an event in the look-ahead are touched, so a sweep over
    thousands of series costs one indexed query and a few job look-ups.
    """
    ahead = lookahead(sweep_every)
    running = (Cadence.confirmed == True, Cadence.paused == False)  # noqa: E712
    unknown = session.exec(select(Cadence).where(*running, col(Cadence.next_event_at).is_(None))).all()
    with session.no_autoflush:
        found = series.next_events(session, unknown, now)
    if found:
        session.execute(update(Cadence), [{"id": i, "next_event_at": at} for i, at in found.items()])
    due = session.exec(select(Cadence.id, Cadence.next_event_at).where(
        *running, col(Cadence.next_event_at) <= now + ahead)).all()
    for cadence_id, at in due:
        assert cadence_id is not None and at is not None
        current = scheduler.next_run(job_id(cadence_id))
        if current is None or (at > now and current != at):
            schedule(scheduler, cadence_id, max(at, now), ahead)  # an overdue event (bot was down) runs now


def schedule(scheduler: Scheduler, cadence_id: int, at: datetime, ahead: timedelta) -> None:
    """Set the cadence's job to run at `at` (the scheduler applies it once this transaction commits).

    The job carries the look-ahead, so it knows whether to schedule its successor itself.
    """
    scheduler.at(job_id(cadence_id), at, JOB, cadence_id=cadence_id, ahead=ahead.total_seconds())


def fire(session: Session, now: datetime, cadence_id: int, ahead: float = 180.0) -> None:
    """The cadence's job: enqueue the agenda and reminders due by `now`, then note the next event.

    The next event gets a job right away only if it falls within the look-ahead
    (`ahead` seconds); otherwise a later sweep schedules it, so the job store holds
    only imminent work however many series there are.
    """
    cadence = session.get(Cadence, cadence_id)
    if cadence is None:
        return
    known = series.known_rows(session, [cadence_id], now)[cadence_id]
    for due in latest_due(series.due_events(session, cadence, now, known)):
        post(session, due, now)
    cadence.next_event_at = series.next_event_at(session, cadence, now, known)
    window = timedelta(seconds=ahead)
    if cadence.next_event_at is not None and cadence.next_event_at <= now + window:
        schedule(scheduler_of(session), cadence_id, cadence.next_event_at, window)


def latest_due(events: list[series.Event]) -> list[series.Event]:
    """Of the due events, every agenda posting but only the latest reminder of each meeting.

    After downtime a 24 h reminder that is hours late is not worth sending once the 1 h
    reminder is due too.
    """
    latest: dict[datetime, series.Event] = {}
    chosen = [e for e in events if e.kind == "agenda"]
    for due in events:
        if due.kind == "reminder":
            latest[due.occurrence.starts_at] = due
    return chosen + list(latest.values())


def post(session: Session, event: series.Event, now: datetime) -> int:
    """Enqueue `event`'s message to the group's channels; how many were new."""
    occurrence = event.occurrence
    cadence = occurrence.cadence
    start = series.stamp(occurrence.starts_at)
    if event.kind == "agenda":
        key = f"meeting.agenda:cadence-{cadence.id}:{start}"
        build: Callable[[Dialect], Reply] = lambda markup: agenda_reply(session, occurrence, markup, now)  # noqa: E731
    else:
        key = f"meeting.reminder.{event.offset}m:cadence-{cadence.id}:{start}"
        build = _reminder(session, event)
    return enqueue_to_group(session, cadence.group_id, key, build)


def _reminder(session: Session, event: series.Event) -> Callable[[Dialect], Reply]:
    occurrence = event.occurrence
    cadence = occurrence.cadence
    group = session.get(Group, cadence.group_id)
    assert group is not None
    regrets: list[str] = []
    if occurrence.meeting is not None:
        regrets = list(session.exec(select(Member.name).join(Attendance, col(Attendance.member_id) == Member.id)
                                    .where(Attendance.meeting_id == occurrence.meeting.id,
                                           Attendance.status == AttendanceStatus.REGRETS)
                                    .order_by(Member.name)).all())
    items = items_of(session, occurrence.meeting.id or 0, ItemStatus.ACCEPTED) if occurrence.meeting else []
    names = names_of(session, people_of(items))
    agenda = [item_values(i, names) for i in items[:REMINDER_ITEMS]]
    days, rest = divmod(event.offset, 1440)
    words = f"in {series.show_offset(event.offset)}" if rest or not days else (
        "tomorrow" if days == 1 else f"in {days} days")

    def build(markup: Dialect) -> Reply:
        return Reply(title=f"Reminder: {cadence.title}", sections=[markup.render(
            "meetings/meeting_reminder.j2", group=group.name, title=cadence.title, when_words=words,
            at=moment_text(occurrence.starts_at, cadence.timezone), timezone=cadence.timezone,
            place=cadence.place, video=cadence.video_url, regrets=", ".join(regrets), agenda=agenda,
            more=len(items) - len(agenda))])
    return build
