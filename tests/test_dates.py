"""The one date/time reader: every accepted form, titles followed by dates, and each command's own wording.

The property tests write a random title followed by a random date in one of the accepted
forms, then check that the command's parsing gives back the same title and the instant
the form means, computed here independently of the reader.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.core.args import parse_args
from bot.core.errors import UserError
from bot.core.time import NotADate, read_when, split_when
from storage.decisions import Decision
from storage.meetings import ActionItem
from tests.chat import Chat, text_of
from tests.factories import seed

CHICAGO = "America/Chicago"
NOW = datetime(2026, 12, 4, 18, 0, tzinfo=UTC)  # Friday 4 December 2026, 12:00 in Chicago
TODAY = date(2026, 12, 4)
DEFAULT = time(17, 0)
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _local(day: date, at: time | None) -> datetime:
    return datetime.combine(day, at or DEFAULT, tzinfo=ZoneInfo(CHICAGO)).astimezone(UTC)


def _clock(at: time) -> str:
    return f"{at:%H:%M}" if at.minute or at.hour < 12 else f"{at.hour % 12 or 12}pm"


@st.composite
def date_forms(draw: st.DrawFn) -> tuple[str, datetime]:
    """A date as someone types it, and the instant it means (at 17:00 local when no time is given)."""
    kind = draw(st.sampled_from(("iso", "month-day", "day-month", "weekday", "next", "tomorrow", "span", "in",
                                 "end", "isot")))
    at = draw(st.none() | st.builds(time, st.integers(0, 23), st.sampled_from((0, 15, 30, 45))))
    clock = f" {_clock(at)}" if at else ""
    if kind in ("iso", "month-day", "day-month", "isot"):
        day = draw(st.dates(date(2027, 1, 1), date(2030, 12, 31)))
        month = MONTHS[day.month - 1]
        if kind == "isot":
            at = at or time(9, 0)
            return f"{day:%Y-%m-%d}T{at:%H:%M}", _local(day, at)
        typed = {"iso": f"{day:%Y-%m-%d}", "month-day": f"{month.title()} {day.day}, {day.year}",
                 "day-month": f"{day.day} {month} {day.year}"}[kind]
        return typed + (f" at{clock}" if at and draw(st.booleans()) else clock), _local(day, at)
    first = at is not None and draw(st.booleans())  # "5pm friday" as well as "friday 5pm"
    if kind in ("weekday", "next"):
        index = draw(st.integers(0, 6))
        ahead = (index - TODAY.weekday()) % 7 or (7 if kind == "next" else 0)
        prefix = "next " if kind == "next" else ""
        typed = f"{clock.strip()} {prefix}{DAYS[index]}" if first else f"{prefix}{DAYS[index]}{clock}"
        return typed, _local(TODAY + timedelta(days=ahead), at)
    if kind == "tomorrow":
        return f"{clock.strip()} tomorrow" if first else f"tomorrow{clock}", _local(TODAY + timedelta(days=1), at)
    if kind == "end":
        return f"end of month{clock}", _local(date(2026, 12, 31), at)
    count = draw(st.integers(1, 30))
    unit = draw(st.sampled_from(("d", "w", "h")))
    delta = {"d": timedelta(days=count), "w": timedelta(weeks=count), "h": timedelta(hours=count)}[unit]
    if kind == "span":
        return f"{count}{unit}", NOW + delta
    words = {"d": "days", "w": "weeks", "h": "hours"}[unit]
    months = draw(st.booleans())
    if months:
        return f"in {count} months", NOW + relativedelta(months=count)
    return f"in {count} {words if count > 1 else words[:-1]}", NOW + delta


TITLE_WORDS = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'&.:/()!?é"),
                      min_size=1, max_size=12).filter(lambda w: not w.startswith(("-", "—", "–")))
TITLES = st.lists(TITLE_WORDS, min_size=1, max_size=8)


@settings(max_examples=300, deadline=None)
@given(title=TITLES, form=date_forms())
def test_a_title_then_closes_and_any_date_form_keeps_the_title_and_reads_the_instant(
        title: list[str], form: tuple[str, datetime]) -> None:
    typed, meant = form
    args = parse_args(f"{' '.join(title)} --closes {typed} --rule consent", frozenset({"closes", "rule"}))
    assert args.words == title
    assert args.options == {"closes": typed, "rule": "consent"}
    assert read_when(args.options["closes"], CHICAGO, NOW).instant(DEFAULT) == meant


@settings(max_examples=300, deadline=None)
@given(title=TITLES, form=date_forms())
def test_a_title_then_due_and_any_date_form_keeps_the_title_and_reads_the_day(
        title: list[str], form: tuple[str, datetime]) -> None:
    typed, meant = form
    words, when = split_when([*title, "due", *typed.split()], "due", CHICAGO, NOW)
    assert words == title
    assert when is not None and when.instant(DEFAULT) == meant


@settings(max_examples=200, deadline=None)
@given(title=TITLES)
def test_due_followed_by_words_that_are_no_date_stays_text(title: list[str]) -> None:
    words = ["Review", "the", "due", "diligence", *title]
    try:
        found, when = split_when(words, "due", CHICAGO, NOW)
    except UserError:  # e.g. a title word "30" after "feb": a date's shape, refused, never half-read
        return
    if when is None:
        assert found == words


@pytest.mark.parametrize(("typed", "meant"), [
    ("2026-12-10 17:00", datetime(2026, 12, 10, 23, 0, tzinfo=UTC)),
    ("Dec 10", datetime(2026, 12, 10, 23, 0, tzinfo=UTC)),
    ("10 Dec 17:00", datetime(2026, 12, 10, 23, 0, tzinfo=UTC)),
    ("friday", datetime(2026, 12, 4, 23, 0, tzinfo=UTC)),  # today is a Friday
    ("next friday", datetime(2026, 12, 11, 23, 0, tzinfo=UTC)),
    ("today", datetime(2026, 12, 4, 23, 0, tzinfo=UTC)),
    ("tomorrow 9am", datetime(2026, 12, 5, 15, 0, tzinfo=UTC)),
    ("in 2 weeks", NOW + timedelta(weeks=2)),
    ("end of month", datetime(2026, 12, 31, 23, 0, tzinfo=UTC)),
    ("end of next month", datetime(2027, 1, 31, 23, 0, tzinfo=UTC)),
    ("end of quarter", datetime(2026, 12, 31, 23, 0, tzinfo=UTC)),
    ("dec 10 at 5 pm Europe/Berlin", datetime(2026, 12, 10, 16, 0, tzinfo=UTC)),
    ("11:00", datetime(2026, 12, 5, 17, 0, tzinfo=UTC)),  # 11:00 has passed today: tomorrow's
    ("3d", NOW + timedelta(days=3)),
])
def test_the_documented_forms(typed: str, meant: datetime) -> None:
    assert read_when(typed, CHICAGO, NOW).instant(DEFAULT) == meant


@pytest.mark.parametrize(("typed", "error", "said"), [
    ("soonish", NotADate, "“soonish” is not a date I can read."),
    ("feb 30", UserError, "February has no day 30."),
    ("2026-13-01", UserError, "“2026-13-01” is not a date I can read."),
    ("0001-01-01", UserError, "further away than any date I can write"),
    ("99999999999999999999d", UserError, "further away than any date I can write"),
    ("in 99999 years", UserError, "further away than any date I can write"),
    ("friday 25:00", UserError, "“25:00” is not a time of day."),
    ("next", NotADate, "is not a date I can read"),
    ("x" * 500, NotADate, "is not a date I can read"),
])
def test_hostile_and_impossible_dates_get_the_ordinary_reply(typed: str, error: type[Exception], said: str) -> None:
    with pytest.raises(error) as raised:
        read_when(typed, CHICAGO, NOW, what="a due date")
    assert said in str(raised.value)
    assert isinstance(raised.value, UserError) and "Write a due date like" in raised.value.usage


# -- the members' stories -----------------------------------------------------------------------


def test_a_proposal_closing_at_a_date_and_time_keeps_its_title(chat: Chat, engine: Engine) -> None:
    """Reproduction 1: the time after --closes belongs to the closing time, not to the title."""
    seed(engine)
    reply = chat.as_("maria").say('/ci propose "Fund parent cafes 2027" --closes 2026-03-10 17:00')
    assert "Voting closes Tue 10 Mar 2026 17:00 CDT" in reply.context, text_of(reply)
    assert "Fund parent cafes 2027 17:00" not in text_of(reply)
    with Session(engine) as s:
        decision = s.exec(select(Decision)).one()
    assert decision.title == "Fund parent cafes 2027"
    assert decision.closes_at == datetime(2026, 3, 10, 22, 0, tzinfo=UTC)
    unquoted = chat.as_("maria").say("/ci propose Fund parent cafes 2028 --closes mar 12 5pm --rule consent")
    assert "Voting closes Thu 12 Mar 2026 17:00 CDT" in unquoted.context, text_of(unquoted)
    with Session(engine) as s:
        assert [d.title for d in s.exec(select(Decision).order_by(Decision.id))] == [  # type: ignore[arg-type]
            "Fund parent cafes 2027", "Fund parent cafes 2028"]


def test_an_action_due_next_friday_gets_that_day_and_a_clean_title(chat: Chat, engine: Engine) -> None:
    """Reproduction 3: the clock is on Monday 2 March 2026; next Friday is the 6th."""
    seed(engine)
    reply = text_of(chat.as_("james").say("/ci action @aisha Draft funding memo due next friday --group steering"))
    assert "Action #1 for Aisha Bello: Draft funding memo (due Fri 06 Mar 2026)." in reply
    kept = text_of(chat.as_("james").say("/ci action @aisha Review the due diligence report --group steering"))
    assert "Review the due diligence report." in kept and "No due date" in kept
    with Session(engine) as s:
        actions = s.exec(select(ActionItem).order_by(ActionItem.id)).all()  # type: ignore[arg-type]
    assert [(a.text, a.due) for a in actions] == [("Draft funding memo", date(2026, 3, 6)),
                                                  ("Review the due diligence report", None)]
    refused = chat.as_("james").say("/ci action @aisha Draft the memo due feb 30 --group steering")
    assert "February has no day 30" in text_of(refused) and "Write a due date like" in text_of(refused)
    with Session(engine) as s:
        assert len(s.exec(select(ActionItem)).all()) == 2  # nothing half-written


def test_each_command_names_its_own_field_when_a_date_is_wrong(chat: Chat, engine: Engine) -> None:
    """Reproduction 10: a bad review date is not answered about a closing time."""
    seed(engine)
    chat.as_("maria").say('/ci propose "Adopt the intake form" --closes 3d')
    review = text_of(chat.as_("maria").say("/ci decision review 1 someday"))
    assert "“someday” is not a date I can read" in review and "Write a review date like" in review
    assert "closing time" not in review
    closes = text_of(chat.as_("maria").say('/ci propose "Another" --closes whenever'))
    assert "Write a closing time like" in closes
    accepted = text_of(chat.as_("maria").say("/ci decision review 1 next friday"))
    assert "come up for review on Fri 06 Mar 2026 09:00 CST" in accepted
