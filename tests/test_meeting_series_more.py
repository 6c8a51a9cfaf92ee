"""Finite series, wall time on a spring-forward first day, presenters, reminders that carry the agenda,
and the calendar feed's secret address: each as the members live it, through the real core."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.core.clock import ManualClock
from bot.meetings.calendar import UnknownGroup, calendar_for_token
from bot.meetings.series import occurrences_between
from storage.meetings import AgendaItem, Cadence, CalendarFeed
from storage.models import Group
from tests.chat import Chat, text_of
from tests.factories import seed
from tests.meeting_helpers import add_series, outbox, outbox_text, running_scheduler, walk

CHICAGO = ZoneInfo("America/Chicago")
FEED = re.compile(r"/calendar/(?P<group>[\w-]+)/(?P<token>[\w-]+)\.ics")


def _starts(engine: Engine, until: datetime) -> list[str]:
    with Session(engine) as s:
        cadence = s.exec(select(Cadence).where(Cadence.confirmed == True)).one()  # noqa: E712
        found = occurrences_between(s, cadence, datetime(2026, 3, 1, tzinfo=UTC), until)
    return [o.starts_at.astimezone(CHICAGO).strftime("%a %d %b %H:%M") for o in found]


def test_a_finite_series_ends_on_its_until_date_and_says_so(chat: Chat, engine: Engine) -> None:
    """Reproduction 9: `weekly on fri at 9:00 until DATE` was refused with "I can't read the days"."""
    seed(engine)
    maria = chat.as_("maria")
    preview = text_of(maria.say('/ci meeting add steering "Winter check-ins" weekly on fri at 9:00 until 2026-03-27'))
    assert "Weekly on Friday at 09:00 (America/Chicago) until Fri 27 Mar 2026" in preview
    add_series(chat, "steering", "Spring check-ins", "weekly on fri at 9:00 until apr 10")
    assert _starts(engine, datetime(2026, 12, 31, tzinfo=UTC)) == [
        "Fri 06 Mar 09:00", "Fri 13 Mar 09:00", "Fri 20 Mar 09:00", "Fri 27 Mar 09:00", "Fri 03 Apr 09:00",
        "Fri 10 Apr 09:00"]
    listed = text_of(chat.as_("aisha").say("/ci meetings --group steering"))
    assert "Steering committee: Spring check-ins runs until Fri 10 Apr 2026." in listed
    with Session(engine) as s:
        group = s.exec(select(Group).where(Group.key == "steering")).one()
        token = s.exec(select(CalendarFeed).where(CalendarFeed.group_id == group.id)).one().token
        feed = icalendar.Calendar.from_ical(calendar_for_token(s, "steering", token))
    rule = next(e for e in feed.walk("VEVENT"))["RRULE"]
    assert rule["UNTIL"] == [datetime(2026, 4, 11, 4, 59, 59, tzinfo=UTC)]  # the end of 10 Apr in Chicago, as UTC


def test_an_until_that_is_no_date_or_before_the_first_meeting_is_refused(chat: Chat, engine: Engine) -> None:
    seed(engine)
    maria = chat.as_("maria")
    assert "“someday” after `until` is not a date" in text_of(
        maria.say('/ci meeting add steering "X" weekly on fri at 9:00 until someday'))
    assert "No meeting of that rule falls on or before Thu 05 Mar 2026" in text_of(
        maria.say('/ci meeting add steering "X" weekly on fri at 9:00 until 2026-03-05'))
    with Session(engine) as s:
        assert s.exec(select(Cadence)).all() == []


def test_a_2am_series_started_in_the_spring_forward_week_stays_at_2am(chat: Chat, engine: Engine) -> None:
    """The first Sunday (8 March 2026) has no 02:00 in Chicago: that one is at 03:00, the next ones at 02:00."""
    seed(engine)
    add_series(chat, "steering", "Night shift", "weekly on sun at 2:00", "--reminders 1h --agenda-lead 24h")
    assert _starts(engine, datetime(2026, 3, 30, tzinfo=UTC)) == [
        "Sun 08 Mar 03:00", "Sun 15 Mar 02:00", "Sun 22 Mar 02:00", "Sun 29 Mar 02:00"]
    assert "Sun 15 Mar 2026 02:00" in text_of(chat.as_("james").say("/ci meetings --group steering"))


async def test_a_presenter_is_shown_in_the_agenda_and_the_reminder_carries_it(chat: Chat, engine: Engine,
                                                                              clock: ManualClock) -> None:
    seed(engine)
    add_series(chat, "steering", "Steering", "weekly on mon at 10:00", "--reminders 1h --agenda-lead 24h")
    clock.set(datetime(2026, 3, 3, tzinfo=UTC))  # the next meeting is Monday 9 March
    james = chat.as_("james")
    added = text_of(james.say("/ci agenda add Review Q1 readiness data --minutes 20 --presenter @tom"))
    assert "presented by Tom Nguyen" in added
    assert "There is no member “nobody”" in text_of(james.say("/ci agenda add Budget --presenter @nobody"))
    for n in range(2, 8):
        james.say(f"/ci agenda add Item number {n}")
    with Session(engine) as s:
        ids = [i.id for i in s.exec(select(AgendaItem).order_by(AgendaItem.id)).all()]  # type: ignore[arg-type]
        assert s.exec(select(AgendaItem).where(AgendaItem.presenter_id.is_not(None))).one().text == (  # type: ignore[union-attr]
            "Review Q1 readiness data")
    for item in ids:
        chat.as_("maria").say(f"/ci agenda accept {item}")
    assert "presented by Tom Nguyen" in text_of(chat.as_("aisha").say("/ci agenda --group steering"))
    async with running_scheduler(engine, clock) as scheduler:
        walk(scheduler, engine, datetime(2026, 3, 9, 15, 30, tzinfo=UTC))
    agenda = outbox_text(next(m for m in outbox(engine, "meeting.agenda") if "20260309" in m.key))
    assert "Review Q1 readiness data · discussion · presented by Tom Nguyen · 20 min" in agenda
    reminder = outbox_text(next(m for m in outbox(engine, "meeting.reminder") if "20260309" in m.key))
    assert "1. Review Q1 readiness data · presented by Tom Nguyen · 20 min" in reminder
    assert "5. Item number 5" in reminder and "Item number 6" not in reminder
    assert "… and 2 more: /ci agenda shows them all." in reminder


def test_members_see_a_secret_feed_address_and_the_backbone_rotates_it(chat: Chat, engine: Engine,
                                                                       clock: ManualClock) -> None:
    """Issue 12, reproduction 5: the feed carries places and video links, so its address is a secret."""
    seed(engine)
    add_series(chat, "steering", "Steering", "weekly on mon at 10:00", '--place "Room 4" --video https://meet.example/s')
    shown = text_of(chat.as_("aisha").say("/ci meetings --group steering"))
    first = FEED.search(shown)
    assert first is not None and first["group"] == "steering", shown
    assert len(first["token"]) >= 32
    assert "Room 4" in text_of(chat.as_("james").say("/ci meetings --group steering"))
    with Session(engine) as s:
        assert b"https://meet.example/s" in calendar_for_token(s, "steering", first["token"])
        for wrong in ("", first["token"][:-1], first["token"] + "x", "../steering", "ǅ" * 32):
            try:
                calendar_for_token(s, "steering", wrong)
            except UnknownGroup:
                continue
            raise AssertionError(f"{wrong!r} opened the feed")
    outsider = text_of(chat.as_("lena").say("/ci meetings --group steering"))  # another group's member
    assert "You are not in the Steering committee" in outsider and "/calendar/" not in outsider
    assert "/calendar/" not in text_of(chat.as_("lena").say("/ci meetings"))
    assert "Only backbone staff can do that" in text_of(chat.as_("james").say("/ci meeting calendar rotate steering"))
    assert "Say `rotate`" in text_of(chat.as_("maria").say("/ci meeting calendar steering"))
    clock.advance(timedelta(minutes=5))
    rotated = text_of(chat.as_("maria").say("/ci meeting calendar rotate steering"))
    second = FEED.search(rotated)
    assert second is not None and second["token"] != first["token"] and "old one no longer works" in rotated
    with Session(engine) as s:
        try:
            calendar_for_token(s, "steering", first["token"])
            raise AssertionError("the old address still works")
        except UnknownGroup:
            pass
        assert b"BEGIN:VCALENDAR" in calendar_for_token(s, "steering", second["token"])
    assert second["token"] in text_of(chat.as_("aisha").say("/ci meetings --group steering"))
