"""Readable rules, RRULEs in wall time across daylight saving, and the dates people type."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.errors import UserError
from bot.core.time import parse_date, parse_datetime
from bot.meetings.recurrence import describe, first_start, occurrences, parse_rule, shortest_gap

CHICAGO, BERLIN = "America/Chicago", "Europe/Berlin"
NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # Monday 09:00 in Chicago


@pytest.mark.parametrize(("typed", "rrule", "shown"), [
    ("monthly on 2nd tue at 10:00", "FREQ=MONTHLY;BYDAY=+2TU", "Monthly on the 2nd Tuesday at 10:00 (America/Chicago)"),
    ("every 2 weeks on wed at 15:00", "FREQ=WEEKLY;INTERVAL=2;BYDAY=WE",
     "Every 2 weeks on Wednesday at 15:00 (America/Chicago)"),
    ("weekly on mon,thu at 9:30", "FREQ=WEEKLY;BYDAY=MO,TH",
     "Weekly on Monday and Thursday at 09:30 (America/Chicago)"),
    ("monthly on last fri at 14:00", "FREQ=MONTHLY;BYDAY=-1FR",
     "Monthly on the last Friday at 14:00 (America/Chicago)"),
    ("Monthly on the 15th at 9am", "FREQ=MONTHLY;BYMONTHDAY=15", "Monthly on the 15th at 09:00 (America/Chicago)"),
    ("every other week on tuesday and thursday at 2:30 pm", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH",
     "Every 2 weeks on Tuesday and Thursday at 14:30 (America/Chicago)"),
    ("yearly on mar 3 at 10:00", "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=3",
     "Yearly on the 3rd of March at 10:00 (America/Chicago)"),
    ("daily at 8:15", "FREQ=DAILY", "Daily at 08:15 (America/Chicago)"),
])
def test_readable_rules_become_rrules_and_read_back(typed: str, rrule: str, shown: str) -> None:
    pattern = parse_rule(typed)
    assert pattern.rrule == f"{rrule};BYHOUR={pattern.at.hour};BYMINUTE={pattern.at.minute};BYSECOND=0"
    assert describe(pattern.rrule, pattern.at, CHICAGO) == shown


def test_a_typed_timezone_and_start_date_are_kept() -> None:
    pattern = parse_rule("weekly on wed at 15:00 europe/berlin from 2026-04-01")
    assert pattern.timezone == BERLIN and pattern.starting == date(2026, 4, 1)
    start = first_start(pattern, BERLIN, NOW)
    assert start == datetime(2026, 4, 1, 15, 0, tzinfo=ZoneInfo(BERLIN))


@pytest.mark.parametrize(("typed", "reason"), [
    ("yearly on feb 31 at 10:00", "February never has a day 31"),
    ("monthly on 32 at 10:00", "never has a day 32"),
    ("monthly on 2nd tue", "has no time of day"),
    ("sometimes at 10:00", "does not say how often"),
    ("weekly on funday at 10:00", "can't read the days"),
    ("weekly on mon at 25:00", "is not a time of day"),
    ("weekly on mon at 10:00 Mars/Olympus", "don't know the timezone"),
])
def test_impossible_or_unreadable_rules_are_explained(typed: str, reason: str) -> None:
    with pytest.raises(UserError, match=reason) as raised:
        parse_rule(typed)
    assert raised.value.usage.startswith(("Write", "Use"))  # and says how to write it


def test_a_start_date_in_the_past_is_refused() -> None:
    with pytest.raises(UserError, match="2026-02-01 is in the past"):
        first_start(parse_rule("weekly on mon at 10:00 from 2026-02-01"), CHICAGO, NOW)


def _local(moments: list[datetime], zone: str) -> list[datetime]:
    return [m.astimezone(ZoneInfo(zone)) for m in moments]


def test_ten_o_clock_in_chicago_stays_ten_across_both_dst_changes() -> None:
    rule = parse_rule("weekly on mon at 10:00").rrule
    start = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)  # Mon 2 Mar 10:00 CST
    found = occurrences(rule, start, CHICAGO, start, datetime(2026, 11, 10, tzinfo=UTC))
    assert {m.time() for m in _local(found, CHICAGO)} == {time(10, 0)}
    utc_hours = {m.date(): m.hour for m in found}
    assert utc_hours[date(2026, 3, 2)] == 16 and utc_hours[date(2026, 3, 9)] == 15  # CST, then CDT
    assert utc_hours[date(2026, 10, 26)] == 15 and utc_hours[date(2026, 11, 2)] == 16  # CDT, then CST


def test_every_other_wednesday_never_drifts_over_a_year_in_berlin() -> None:
    rule = parse_rule("every 2 weeks on wed at 15:00").rrule
    start = datetime(2026, 1, 7, 14, 0, tzinfo=UTC)  # Wed 7 Jan 15:00 CET
    found = _local(occurrences(rule, start, BERLIN, start, start + timedelta(days=366)), BERLIN)
    assert len(found) == 27
    assert all(m.weekday() == 2 and m.time() == time(15, 0) for m in found)
    assert all((b.date() - a.date()).days == 14 for a, b in zip(found, found[1:], strict=False))


def test_a_meeting_in_the_spring_forward_gap_lands_after_it() -> None:
    rule = parse_rule("weekly on sun at 2:30").rrule
    start = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)  # Sun 1 Mar 02:30 CST
    found = _local(occurrences(rule, start, CHICAGO, start, datetime(2026, 3, 16, tzinfo=UTC)), CHICAGO)
    assert [m.strftime("%d %H:%M %Z") for m in found] == ["01 02:30 CST", "08 03:30 CDT", "15 02:30 CDT"]


def test_shortest_gap_between_meetings() -> None:
    start = first_start(parse_rule("weekly on mon,thu at 9:30"), CHICAGO, NOW)
    assert shortest_gap(parse_rule("weekly on mon,thu at 9:30").rrule, start, CHICAGO) == timedelta(days=3)


@settings(max_examples=60, deadline=None)
@given(day=st.integers(0, 6), hour=st.integers(4, 23), minute=st.sampled_from([0, 15, 30, 45]),
       weeks=st.integers(1, 4), zone=st.sampled_from([CHICAGO, BERLIN, "Asia/Tokyo", "Australia/Sydney"]))
def test_weekly_rules_keep_their_wall_time_and_weekday(day: int, hour: int, minute: int, weeks: int, zone: str) -> None:
    names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    pattern = parse_rule(f"every {weeks} weeks on {names[day]} at {hour}:{minute:02d}")
    start = first_start(pattern, zone, NOW)
    found = _local(occurrences(pattern.rrule, start, zone, start, start + timedelta(days=400)), zone)
    assert found and all(m.weekday() == day and m.time() == time(hour, minute) for m in found)
    assert all((b.date() - a.date()).days == 7 * weeks for a, b in zip(found, found[1:], strict=False))


def test_dates_people_type() -> None:
    today = date(2026, 3, 2)
    assert parse_date("2026-03-10", today) == date(2026, 3, 10)
    assert parse_date("tomorrow", today) == date(2026, 3, 3)
    assert parse_date("mar 10", today) == date(2026, 3, 10)
    assert parse_date("10 March", today) == date(2026, 3, 10)
    assert parse_date("feb 1", today) == date(2027, 2, 1)  # the next such date
    with pytest.raises(UserError, match="February has no day 30"):
        parse_date("feb 30", today)
    with pytest.raises(UserError, match="not a date I can read"):
        parse_date("someday", today)


def test_datetimes_are_read_in_the_given_or_the_callers_timezone() -> None:
    assert parse_datetime("2026-03-12 14:00", CHICAGO, NOW) == (datetime(2026, 3, 12, 19, 0, tzinfo=UTC), CHICAGO)
    assert parse_datetime("mar 12 at 2 pm europe/berlin", CHICAGO, NOW) == (
        datetime(2026, 3, 12, 13, 0, tzinfo=UTC), BERLIN)
    with pytest.raises(UserError, match="needs a time of day"):
        parse_datetime("2026-03-12", CHICAGO, NOW)
