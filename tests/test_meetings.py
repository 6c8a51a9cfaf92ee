"""Meeting series through the chat and the scheduler: previews, exceptions, attendance, DST-exact timing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.bootstrap import build_registry
from bot.core.clock import ManualClock
from bot.core.core import Core
from bot.core.registry import bot_session
from bot.initiative_file.parse import parse_initiative
from bot.initiative_file.problems import InitiativeFileError
from bot.initiative_file.sync import load_initiative
from bot.meetings import jobs as meeting_jobs
from bot.meetings.calendar import calendar_for_group
from storage.meetings import Attendance, Cadence
from storage.models import Member
from tests.chat import Chat, text_of
from tests.factories import seed
from tests.meeting_helpers import add_series, outbox, outbox_text, running_scheduler, walk

CHICAGO, BERLIN = ZoneInfo("America/Chicago"), ZoneInfo("Europe/Berlin")

REGISTRY = build_registry()


def _cadences(engine: Engine) -> list[Cadence]:
    with Session(engine) as session:
        return list(session.exec(select(Cadence)).all())


def test_a_series_is_previewed_in_words_and_saved_only_on_confirm(chat: Chat, engine: Engine) -> None:
    seed(engine)
    preview = chat.as_("maria").say('/ci meeting add data "Data WG" every 2 weeks on wed at 15:00 --place "Room 2"')
    shown = text_of(preview)
    assert "Every 2 weeks on Wednesday at 15:00 (America/Chicago)" in shown
    assert "Wed 04 Mar 2026 15:00; Wed 18 Mar 2026 15:00; Wed 01 Apr 2026 15:00" in shown
    assert preview.ephemeral and preview.buttons[0].action == "meeting.confirm"
    assert "None of your groups" in text_of(chat.as_("tom").say("/ci meetings"))  # not running yet
    chat.as_("maria").click(preview.buttons[0])
    assert "Wed 04 Mar 2026 15:00 Data working group: Data WG · Room 2" in text_of(chat.as_("tom").say("/ci meetings"))
    told = outbox(engine, "meeting.series")
    assert len(told) == 1 and "Every 2 weeks on Wednesday at 15:00" in outbox_text(told[0])
    again = chat.as_("maria").click(preview.buttons[0])
    assert "already confirmed" in text_of(again)


def test_cancel_drops_the_draft(chat: Chat, engine: Engine) -> None:
    seed(engine)
    preview = chat.as_("maria").say('/ci meeting add data "Data WG" weekly on mon at 9:00')
    assert "nothing was saved" in text_of(chat.as_("maria").click(preview.buttons[1]))
    assert _cadences(engine) == []


def test_bad_series_get_a_clear_reply_and_nothing_is_saved(chat: Chat, engine: Engine) -> None:
    seed(engine)
    maria = chat.as_("maria")
    cases = {
        '/ci meeting add steering "Budget" yearly on feb 31 at 10:00': "February never has a day 31",
        '/ci meeting add steering "Retro" weekly on mon at 10:00 from 2026-01-05': "is in the past",
        '/ci meeting add steering "Daily" daily at 9:00 --reminders 36h': "longer than the 24 h between two meetings",
        '/ci meeting add steering "Weekly" weekly on mon at 9:00 --reminders 8d': "8 days is longer than the 7 days",
        '/ci meeting add steering "Daily" daily at 9:00 --reminders 24h': "24 h is as long as the 24 h between",
        '/ci meeting add nowhere "X" weekly on mon at 10:00': "There is no group “nowhere”",
        '/ci meeting add steering "X" weekly on mon at 10:00 --reminders soon': "“soon” is not a length of time",
    }
    for command, reason in cases.items():
        assert reason in text_of(maria.say(command)), command
    assert "Only backbone staff" in text_of(chat.as_("tom").say('/ci meeting add data "X" weekly on mon at 10:00'))
    assert _cadences(engine) == []


def test_times_typed_without_a_timezone_are_the_callers(chat: Chat, engine: Engine) -> None:
    seeded = seed(engine)
    with bot_session(engine, REGISTRY) as session:
        maria = session.get(Member, seeded.members["maria"])
        assert maria is not None
        maria.timezone = "Europe/Berlin"
    shown = text_of(chat.as_("maria").say('/ci meeting add families "Families" weekly on thu at 18:00'))
    assert "Weekly on Thursday at 18:00 (Europe/Berlin)" in shown
    shown = text_of(chat.as_("maria").say('/ci meeting add families "Families" weekly on thu at 18:00 America/Chicago'))
    assert "Weekly on Thursday at 18:00 (America/Chicago)" in shown
    assert "Fri 06 Mar 2026 01:00 Europe/Berlin" in shown  # and in the caller's own time


def test_meetings_are_listed_in_the_readers_timezone(chat: Chat, engine: Engine) -> None:
    seed(engine)
    add_series(chat, "steering", "Steering", "monthly on 2nd tue at 10:00")
    add_series(chat, "data", "Data WG", "every 2 weeks on wed at 15:00")
    aisha = text_of(chat.as_("aisha").say("/ci meetings"))  # New York, in both groups
    assert aisha.index("Wed 04 Mar 2026 16:00 Data working group") < aisha.index("Tue 10 Mar 2026 11:00 Steering")
    assert "Times in America/New_York" in aisha
    assert "Data WG" not in text_of(chat.as_("james").say("/ci meetings"))


def test_skip_and_move_tell_members_and_refuse_clashes(chat: Chat, engine: Engine, clock: ManualClock) -> None:
    seed(engine)
    add_series(chat, "steering", "Steering", "monthly on 2nd tue at 10:00")
    add_series(chat, "steering", "Planning", "weekly on thu at 10:00")
    maria = chat.as_("maria")
    assert "Skipped" in text_of(maria.say("/ci meeting skip 2026-03-10 --group steering"))
    assert "already skipped" in text_of(maria.say("/ci meeting skip mar 10 --group steering"))
    assert "no meeting on Wed 11 Mar 2026" in text_of(maria.say("/ci meeting skip 2026-03-11 --group steering"))
    clash = maria.say("/ci meeting move 2026-04-14 to 2026-04-16 10:30 --group steering")
    assert "on top of another meeting" in text_of(clash) and "Planning" in text_of(clash)
    assert "in the past" in text_of(maria.say("/ci meeting move 2026-04-14 to 2026-03-01 10:00 --group steering"))
    moved = text_of(maria.say("/ci meeting move 2026-04-14 to 2026-04-15 14:00 --group steering"))
    assert "to Wed 15 Apr 2026 14:00 (America/Chicago)" in moved
    listing = text_of(chat.as_("james").say("/ci meetings"))
    assert "Tue 10 Mar 2026 10:00 Steering committee: Steering (skipped)" in listing
    clock.set(datetime(2026, 4, 1, tzinfo=UTC))
    listing = text_of(chat.as_("james").say("/ci meetings"))
    assert "Wed 15 Apr 2026 14:00 Steering committee: Steering (moved from Tue 14 Apr 2026 10:00)" in listing
    notices = [outbox_text(m) for m in outbox(engine, "meeting.skipped") + outbox(engine, "meeting.moved")]
    assert "of *Tue 10 Mar 2026 10:00 (America/Chicago)* will not take place" in notices[0]
    assert "moves to *Wed 15 Apr 2026 14:00 (America/Chicago)*" in notices[1]
    assert len(outbox(engine, "meeting.skipped", platform="discord")) == 1  # every bound channel


def test_regrets_here_and_attendance_per_member_and_organization(chat: Chat, engine: Engine,
                                                                 clock: ManualClock) -> None:
    seed(engine)
    add_series(chat, "steering", "Steering", "monthly on 2nd tue at 10:00")
    assert "Noted your regrets" in text_of(chat.as_("olga").say("/ci regrets travelling to the state capital"))
    assert "no meeting in progress" in text_of(chat.as_("aisha").say("/ci here --group steering"))
    clock.set(datetime(2026, 3, 10, 15, 2, tzinfo=UTC))
    assert "Only the Steering committee's chair" in text_of(chat.as_("olga").say("/ci meeting start"))
    chat.as_("james").say("/ci meeting start")
    assert "marked present" in text_of(chat.as_("aisha").say("/ci here --group steering"))
    chat.as_("james").say("/ci meeting end")
    shown = text_of(chat.as_("aisha").say("/ci attendance steering"))
    assert ("Olga Petrova: 0 / 1 / 0" in shown and "Aisha Bello: 1 / 0 / 0" in shown
            and "Maria Lopez: 0 / 0 / 1" in shown)
    assert "Valley Community Foundation: 0 / 1 / 0" in shown
    minutes = text_of(chat.as_("james").say("/ci minutes"))
    assert "Regrets: Olga Petrova (travelling to the state capital)" in minutes
    assert "is over" in text_of(chat.as_("olga").say("/ci regrets 2026-03-10"))


async def test_reminders_and_agendas_keep_wall_time_through_chicago_dst(chat: Chat, engine: Engine,
                                                                       clock: ManualClock) -> None:
    seed(engine)
    add_series(chat, "steering", "Steering", "weekly on mon at 10:00")
    async with running_scheduler(engine, clock) as scheduler:
        fired = walk(scheduler, engine, datetime(2026, 3, 17, tzinfo=UTC))
    local = [(at.astimezone(CHICAGO).strftime("%a %d %b %H:%M"), key.split(":")[0]) for at, key in fired
             if not key.startswith("meeting.series")]
    assert local == [
        ("Sat 07 Mar 09:00", "meeting.agenda"),  # 48 h (absolute) before Mon 9 Mar 10:00 CDT: 09:00 CST
        ("Sun 08 Mar 10:00", "meeting.reminder.1440m"),  # DST started at 02:00 that morning
        ("Mon 09 Mar 09:00", "meeting.reminder.60m"),
        ("Sat 14 Mar 10:00", "meeting.agenda"),
        ("Sun 15 Mar 10:00", "meeting.reminder.1440m"),
        ("Mon 16 Mar 09:00", "meeting.reminder.60m"),
    ]
    first_day_before = next(at for at, key in fired if key.startswith("meeting.reminder.1440m"))
    assert first_day_before == datetime(2026, 3, 8, 15, 0, tzinfo=UTC)  # 10:00 CDT
    reminder = outbox_text(outbox(engine, "meeting.reminder.1440m")[0])
    assert "meets tomorrow: *Steering*, Mon 09 Mar 2026 10:00 (America/Chicago)" in reminder


async def test_berlin_series_through_both_dst_changes_and_no_duplicates(chat: Chat, engine: Engine,
                                                                       clock: ManualClock) -> None:
    seed(engine)
    clock.set(datetime(2026, 3, 20, 12, 0, tzinfo=UTC))
    add_series(chat, "families", "Families", "weekly on sun at 10:00 Europe/Berlin",
               "--reminders 24h --agenda-lead 24h")
    async with running_scheduler(engine, clock, sweep_every=timedelta(days=7)) as scheduler:
        spring = walk(scheduler, engine, datetime(2026, 3, 30, tzinfo=UTC))
        clock.set(datetime(2026, 10, 20, tzinfo=UTC))
        autumn = walk(scheduler, engine, datetime(2026, 10, 26, tzinfo=UTC))
    reminders = [at for at, key in spring + autumn if key.startswith("meeting.reminder")]
    assert [r.astimezone(BERLIN).strftime("%a %d %b %H:%M %Z") for r in reminders] == [
        "Sat 21 Mar 10:00 CET", "Sat 28 Mar 09:00 CET", "Sat 24 Oct 11:00 CEST"]  # 24 h before, in absolute time
    meetings = [key.split(":")[2].split("@")[0] for _, key in spring + autumn if key.startswith("meeting.reminder")]
    assert meetings == ["20260322T0900Z", "20260329T0800Z", "20261025T0900Z"]  # 10:00 CET after the change
    with bot_session(engine, REGISTRY) as session:
        session.info["scheduler"] = scheduler
        cadence = session.exec(select(Cadence)).one()
        before = len(outbox(engine))
        meeting_jobs.fire(session, datetime(2026, 10, 24, 9, 30, tzinfo=UTC), cadence.id or 0, 3600)
    assert len(outbox(engine)) == before  # a job that runs twice sends nothing twice


async def test_a_monthly_series_over_a_year_and_pause(chat: Chat, engine: Engine, clock: ManualClock) -> None:
    seed(engine)
    add_series(chat, "steering", "Steering", "monthly on 2nd tue at 10:00")
    async with running_scheduler(engine, clock, sweep_every=timedelta(days=7)) as scheduler:
        year = walk(scheduler, engine, datetime(2026, 12, 31, tzinfo=UTC))
        chat.as_("maria").say("/ci meeting pause --group steering")
        paused = walk(scheduler, engine, datetime(2027, 3, 1, tzinfo=UTC))
        chat.as_("maria").say("/ci meeting resume --group steering")
        resumed = walk(scheduler, engine, datetime(2027, 3, 10, tzinfo=UTC))
    hours = {at.astimezone(CHICAGO).strftime("%H:%M") for at, key in year if key.startswith("meeting.reminder.60m")}
    assert hours == {"09:00"}
    assert len([k for _, k in year if k.startswith("meeting.reminder.60m")]) == 10  # Mar..Dec
    assert [k for _, k in paused if not k.startswith("meeting.paused")] == []
    assert [k.split(":")[0] for _, k in resumed if not k.startswith("meeting.resumed")] == [
        "meeting.agenda", "meeting.reminder.1440m", "meeting.reminder.60m"]
    assert "are back on. Next meeting: *Tue 09 Mar 2027 10:00 (America/Chicago)*" in outbox_text(
        outbox(engine, "meeting.resumed")[0])


def test_calendar_feed_has_rule_timezone_and_exceptions(chat: Chat, engine: Engine) -> None:
    seed(engine)
    add_series(chat, "steering", "Steering", "monthly on 2nd tue at 10:00", '--video https://meet.example/steer')
    chat.as_("maria").say("/ci meeting skip 2026-04-14 --group steering")
    chat.as_("maria").say("/ci meeting move 2026-05-12 to 2026-05-13 11:00 --group steering")
    with bot_session(engine, REGISTRY) as session:
        feed = calendar_for_group(session, "steering")
    text = feed.decode()
    assert "DTSTART;TZID=America/Chicago:20260310T100000" in text
    assert "RRULE:FREQ=MONTHLY;BYSECOND=0;BYMINUTE=0;BYHOUR=10;BYDAY=+2TU" in text
    assert "EXDATE;TZID=America/Chicago:20260414T100000" in text
    assert "RECURRENCE-ID;TZID=America/Chicago:20260512T100000" in text
    assert "BEGIN:VTIMEZONE" in text and "TZID:America/Chicago" in text
    events = icalendar.Calendar.from_ical(feed).walk("VEVENT")
    assert [str(e["summary"]) for e in events] == ["Steering committee: Steering"] * 2
    assert events[1].decoded("dtstart").astimezone(CHICAGO).hour == 11


def test_the_initiative_file_loads_cadences_idempotently(engine: Engine, core: Core) -> None:
    example = Path(__file__).resolve().parent.parent / "examples" / "initiative.yaml"
    with bot_session(engine, REGISTRY) as session:
        report = load_initiative(session, example)
    assert "cadences: 2 created" in "\n".join(report.lines())
    with bot_session(engine, REGISTRY) as session:
        again = load_initiative(session, example)
    assert "cadences: unchanged (2)" in "\n".join(again.lines())
    chat = Chat(core, user_id="tom")
    shown = text_of(chat.say("/ci meetings"))
    assert "Steering committee: Steering committee · Riverbend County Health Department, Room 4" in shown
    assert "15:00 Kindergarten readiness data working group: Readiness data working group" in shown


def test_bad_cadences_in_the_file_are_reported_with_their_lines() -> None:
    text = """initiative: {slug: tiny, name: Tiny, timezone: America/Chicago}
groups:
  - {key: steering, name: Steering, kind: steering}
cadences:
  - group: steering
    title: Budget
    rule: yearly on feb 31 at 10:00
  - group: steering
    title: Stand-up
    rule: daily at 9:00
    reminders: 36h
  - {group: stearing, title: Planning, rule: weekly on mon at 9:00}
"""
    with pytest.raises(InitiativeFileError) as raised:
        parse_initiative(text, "tiny.yaml")
    errors = "\n".join(raised.value.errors)
    assert "line 7" in errors and "February never has a day 31" in errors
    assert "'stearing' is not a group key" in errors and "did you mean" in errors.lower()
    assert re.search(r"line 8, cadences\[1\]: A reminder of 36 h is longer than the 2[34] h between two meetings",
                     errors)


async def test_after_downtime_only_the_latest_reminder_is_sent(chat: Chat, engine: Engine, clock: ManualClock) -> None:
    seed(engine)
    add_series(chat, "steering", "Steering", "weekly on mon at 10:00")
    clock.set(datetime(2026, 3, 9, 14, 30, tzinfo=UTC))  # the bot was down all weekend; 09:30 on Monday
    async with running_scheduler(engine, clock) as scheduler:
        fired = walk(scheduler, engine, datetime(2026, 3, 9, 15, 0, tzinfo=UTC))
    assert [key.split(":")[0] for _, key in fired if not key.startswith("meeting.series")] == [
        "meeting.agenda", "meeting.reminder.60m"]  # no stale 24 h reminder


async def test_a_meeting_moved_while_running_is_reminded_at_its_new_time(chat: Chat, engine: Engine,
                                                                        clock: ManualClock) -> None:
    seed(engine)
    add_series(chat, "steering", "Steering", "weekly on mon at 10:00", "--agenda-lead 24h")
    async with running_scheduler(engine, clock, sweep_every=timedelta(hours=1)) as scheduler:
        walk(scheduler, engine, datetime(2026, 3, 4, tzinfo=UTC))
        chat.as_("maria").say("/ci meeting move 2026-03-09 to 2026-03-06 14:00 --group steering")
        fired = walk(scheduler, engine, datetime(2026, 3, 10, tzinfo=UTC))
    reminders = [(at.astimezone(CHICAGO).strftime("%a %d %H:%M"), key.split("@")[0]) for at, key in fired
                 if key.startswith("meeting.reminder")]
    assert reminders == [
        ("Thu 05 14:00", "meeting.reminder.1440m:cadence-1:20260306T2000Z"),
        ("Fri 06 13:00", "meeting.reminder.60m:cadence-1:20260306T2000Z"),
    ]


def test_two_meetings_on_one_day_are_told_apart_by_their_time(chat: Chat, engine: Engine) -> None:
    seed(engine)
    add_series(chat, "steering", "Steering", "monthly on 2nd thu at 10:00")
    add_series(chat, "steering", "Planning", "weekly on thu at 14:00")
    maria = chat.as_("maria")
    both = text_of(maria.say("/ci meeting skip mar 12 --group steering"))
    assert "There are 2 meetings on Thu 12 Mar 2026 (10:00 Steering, 14:00 Planning)" in both
    assert "There is no meeting at 11:00 on Thu 12 Mar 2026; that day's meetings are at 10:00, 14:00" in text_of(
        maria.say("/ci meeting skip mar 12 11:00 --group steering"))
    assert "Skipped the Steering committee meeting “Planning” of Thu 12 Mar 2026 14:00" in text_of(
        maria.say("/ci meeting skip mar 12 2pm --group steering"))
    moved = text_of(maria.say("/ci meeting move 2026-03-12 10:00 to 2026-03-13 9:00 --group steering"))
    assert ("Moved the Steering committee meeting “Steering” from Thu 12 Mar 2026 10:00 "
            "to Fri 13 Mar 2026 09:00") in moved
    olga = chat.as_("olga")
    assert "“Planning” on Thu 19 Mar 2026 14:00 (America/Chicago): at the dentist" in text_of(
        olga.say("/ci regrets mar 19 14:00 at the dentist"))
    assert "February has no day 30" in text_of(olga.say("/ci regrets feb 30 away"))
    assert "not a date I can read" in text_of(olga.say("/ci regrets 2026-13-01"))
    assert "Noted your regrets" in text_of(olga.say("/ci regrets may be late, sorry"))  # "may" here is no date
    with Session(engine) as session:
        reasons = sorted(a.reason for a in session.exec(select(Attendance)).all())
    assert reasons == ["at the dentist", "may be late, sorry"]  # the refused ones left nothing


def test_default_reminders_that_do_not_fit_a_daily_rhythm_are_dropped(chat: Chat, engine: Engine) -> None:
    seed(engine)
    shown = text_of(add_series(chat, "steering", "Stand-up", "daily at 9:00"))
    assert "Reminders 1 h before · agenda posted 12 h before" in shown
    shown = text_of(add_series(chat, "steering", "Weekly", "weekly on mon at 9:00 --agenda-lead 2d"))
    assert "Reminders 24 h, 1 h before · agenda posted 2 days before" in shown


def test_moving_a_meeting_back_and_forth_tells_members_each_time(chat: Chat, engine: Engine,
                                                                 clock: ManualClock) -> None:
    seed(engine)
    add_series(chat, "steering", "Steering", "monthly on 2nd tue at 10:00")
    maria = chat.as_("maria")
    for command in ("mar 10 to mar 11 10:00", "mar 11 to mar 10 10:00", "mar 10 to mar 11 10:00"):
        assert "Moved" in text_of(maria.say(f"/ci meeting move {command} --group steering"))
        clock.set(clock.now() + timedelta(minutes=5))
    notices = [outbox_text(m) for m in outbox(engine, "meeting.moved")]
    assert [n.split("moves to ")[1][:25] for n in notices] == [
        "*Wed 11 Mar 2026 10:00 (A", "*Tue 10 Mar 2026 10:00 (A", "*Wed 11 Mar 2026 10:00 (A"]
