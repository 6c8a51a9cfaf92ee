"""A group's meeting series as an iCalendar feed, for `cibot calendar GROUP` and the HTTP route.

Each cadence is one recurring VEVENT with ``DTSTART;TZID=...`` and the same RRULE that
drives the scheduler; skipped meetings are EXDATEs and moved ones are overriding
VEVENTs with a RECURRENCE-ID. VTIMEZONE components come from `add_missing_timezones`.

Over HTTP a feed is read at ``/calendar/GROUP/TOKEN.ics``: the token is a random secret
kept per group (`feed_token`), compared in constant time, and replaced by `rotate_token`;
a wrong token answers exactly like an unknown group.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vRecur
from sqlmodel import Session, col, select

from bot.core.args import read_id
from bot.core.time import to_utc
from bot.meetings.recurrence import wall_start
from bot.meetings.series import cadences_of
from storage.meetings import Cadence, CalendarFeed, Meeting, MeetingStatus
from storage.models import Group

PRODID = "-//cibot//meeting cadences//EN"


class UnknownGroup(LookupError):
    """No group has that key or id."""


def calendar_for_group(session: Session, group: str | int, *, initiative_id: int | None = None,
                       domain: str = "cibot.local") -> bytes:
    """The iCalendar (RFC 5545) bytes of every running meeting series of `group` (key or id).

    A key is looked up in `initiative_id` when given (keys are unique per initiative).
    Raises `UnknownGroup` when no group matches. `domain` makes the UIDs globally unique.
    """
    found = _group(session, group, initiative_id)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", found.name)
    for cadence in cadences_of(session, [found.id or 0]):
        if cadence.paused:
            continue
        for component in _events(session, cadence, found, domain):
            calendar.add_component(component)
    calendar.add_missing_timezones()
    return calendar.to_ical()


def feed_token(session: Session, group_id: int) -> str:
    """The secret token of the group's calendar feed, made on first use."""
    row = session.exec(select(CalendarFeed).where(CalendarFeed.group_id == group_id)).first()
    if row is None:
        row = CalendarFeed(group_id=group_id, token=secrets.token_urlsafe(24))
        session.add(row)
        session.flush()
    return row.token


def rotate_token(session: Session, group_id: int, now: datetime) -> str:
    """Give the group's feed a new token: the old address stops working at once."""
    feed_token(session, group_id)
    row = session.exec(select(CalendarFeed).where(CalendarFeed.group_id == group_id)).one()
    row.token, row.rotated_at = secrets.token_urlsafe(24), now
    return row.token


def calendar_for_token(session: Session, group: str, token: str, *, initiative_id: int | None = None,
                       domain: str = "cibot.local") -> bytes:
    """The feed of `group` when `token` is its secret; `UnknownGroup` otherwise, the same for both."""
    query = select(CalendarFeed).join(Group, col(Group.id) == CalendarFeed.group_id).where(Group.key == group.lower())
    if initiative_id is not None:
        query = query.where(Group.initiative_id == initiative_id)
    matching = [row for row in session.exec(query).all()
                if hmac.compare_digest(row.token.encode(), token.encode("utf-8", "replace"))]
    if len(matching) != 1:
        raise UnknownGroup(f"There is no calendar at {group!r} with that token.")
    return calendar_for_group(session, matching[0].group_id, domain=domain)


def _group(session: Session, group: str | int, initiative_id: int | None) -> Group:
    if isinstance(group, int) or str(group).isdigit():
        number = read_id(str(group))  # "²" and 99999999999999999999 name no group
        found = [session.get(Group, number) if number else None]
    else:
        query = select(Group).where(Group.key == str(group).lower())
        if initiative_id is not None:
            query = query.where(Group.initiative_id == initiative_id)
        found = list(session.exec(query.limit(2)).all())
    if len(found) > 1:
        raise UnknownGroup(f"Several initiatives have a group {group!r}; say which initiative.")
    if not found or found[0] is None:
        raise UnknownGroup(f"There is no group {group!r}.")
    return found[0]


def _events(session: Session, cadence: Cadence, group: Group, domain: str) -> list[Event]:
    zone = ZoneInfo(cadence.timezone)
    uid = f"cadence-{cadence.id}@{domain}"
    first = wall_start(cadence.rrule, cadence.dtstart, cadence.timezone).replace(tzinfo=zone)
    master = _event(uid, cadence, group, first)
    rule = vRecur.from_ical(cadence.rrule)
    if "UNTIL" in rule:  # stored as local wall time; RFC 5545 wants UTC next to a DTSTART with a TZID
        rule["UNTIL"] = [to_utc(until, cadence.timezone) for until in rule["UNTIL"]]
    master.add("rrule", rule)
    exceptions = session.exec(select(Meeting).where(Meeting.cadence_id == cadence.id)
                              .order_by(col(Meeting.original_start))).all()
    overrides: list[Event] = []
    for row in exceptions:
        original = row.original_start.astimezone(zone)
        if row.status == MeetingStatus.SKIPPED:
            master.add("exdate", original)
        elif row.moved:
            override = _event(uid, cadence, group, row.starts_at.astimezone(zone))
            override.add("recurrence-id", original)
            overrides.append(override)
    return [master, *overrides]


def _event(uid: str, cadence: Cadence, group: Group, start: datetime) -> Event:
    event = Event()
    event.add("uid", uid)
    event.add("summary", f"{group.name}: {cadence.title}")
    event.add("dtstart", start)
    event.add("duration", timedelta(minutes=cadence.duration_minutes))
    event.add("dtstamp", cadence.created_at)
    if cadence.place:
        event.add("location", cadence.place)
    if cadence.video_url:
        event.add("url", cadence.video_url)
    return event
