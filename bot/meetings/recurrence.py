"""Meeting rules people can type, stored as RFC 5545 RRULEs and evaluated in wall time.

`parse_rule("every 2 weeks on wed at 15:00")` gives a `Pattern` (RRULE text plus the
time of day); `describe` shows an RRULE back as words. `occurrences` evaluates a rule
in the naive local time of its timezone and only then converts each occurrence to UTC,
so a 10:00 America/Chicago meeting stays at 10:00 across daylight saving and "every
other Wednesday" never drifts. Dates and times typed in commands are read by
`bot.core.time`.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from dateutil.rrule import rrule, rrulestr

from bot.core.errors import UserError
from bot.core.time import (
    DAY_NAMES,
    MONTH_NAMES,
    canonical_zone,
    day_text,
    month_index,
    parse_date,
    parse_time,
    to_local,
    to_utc,
    weekday_index,
)

RULE_USAGE = ("Write the rule like: monthly on 2nd tue at 10:00 · every 2 weeks on wed at 15:00 · "
              "weekly on mon,thu at 9:30 · monthly on last fri at 14:00 · monthly on the 15th at 9:00 · "
              "yearly on mar 3 at 10:00 (optionally add a timezone such as Europe/Berlin, `from 2026-04-01` and "
              "`until 2027-01-29`).")
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_FREQ_UNITS = {"day": "DAILY", "week": "WEEKLY", "month": "MONTHLY", "year": "YEARLY"}
_FREQ_WORDS = {"daily": "DAILY", "weekly": "WEEKLY", "monthly": "MONTHLY", "yearly": "YEARLY",
               "annually": "YEARLY", "fortnightly": "WEEKLY"}
_ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4,
             "fifth": 5, "5th": 5, "last": -1}
_UNIT_TEXT = {"DAILY": "day", "WEEKLY": "week", "MONTHLY": "month", "YEARLY": "year"}
_ORDINAL_TEXT = {1: "1st", 2: "2nd", 3: "3rd", 4: "4th", 5: "5th", -1: "last"}
HORIZON_YEARS = 5


@dataclass(frozen=True)
class Pattern:
    """A parsed readable rule: the RRULE, the local time of day, and what else was typed."""

    rrule: str
    at: time
    timezone: str | None = None  # None: read in the caller's timezone
    starting: date | None = None
    until: date | None = None  # the last day a meeting may fall on


_UNTIL_WORDS = 3  # "until jan 29 2027"


def _split_tail(words: list[str], today: date | None) -> tuple[list[str], time | None, str | None, date | None,
                                                                date | None]:
    """Take `at TIME [TZ]`, `from DATE` and `until DATE` off the rule's words."""
    at: time | None = None
    tzname: str | None = None
    starting: date | None = None
    until: date | None = None
    rest: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word in ("until", "till") and i + 1 < len(words):
            until, used = _until(words[i + 1:i + 1 + _UNTIL_WORDS], today)
            i += 1 + used
            continue
        if word in ("from", "starting") and i + 1 < len(words):
            starting = parse_date(words[i + 1], date.min)
            i += 2
            continue
        if word == "at" and i + 1 < len(words):
            joined = words[i + 1] + (words[i + 2] if i + 2 < len(words) and words[i + 2] in ("am", "pm") else "")
            at = parse_time(joined)
            if at is None:
                raise UserError(f"“{words[i + 1]}” is not a time of day.", usage="Write times like 15:00, 9:30 or 2pm.")
            i += 3 if joined != words[i + 1] else 2
            continue
        if "/" in word:
            tzname = canonical_zone(word)
            i += 1
            continue
        if word.upper() == "UTC":
            tzname = "UTC"
            i += 1
            continue
        rest.append(word)
        i += 1
    return rest, at, tzname, starting, until


def _until(words: list[str], today: date | None) -> tuple[date, int]:
    """The end date at the start of `words` (``2027-01-29``, ``jan 29 2027``) and how many words it took.

    A date without a year is the next such day from `today`; without `today` it needs its year.
    """
    for length in range(len(words), 0, -1):
        try:
            found = parse_date(" ".join(words[:length]), today or date.min)
        except UserError as exc:
            if length == 1:
                raise UserError(f"“{words[0]}” after `until` is not a date.", usage=RULE_USAGE) from exc
            continue
        if found.year < 1900:
            raise UserError("Give the `until` date with its year, like until 2027-01-29.", usage=RULE_USAGE)
        return found, length
    raise AssertionError("unreachable")


def parse_rule(text: str, today: date | None = None) -> Pattern:
    """Read a rule such as ``monthly on 2nd tue at 10:00`` into a `Pattern`; `today` dates a year-less `until`.

    Raises `UserError` with the accepted forms when the text is not a rule, and with a
    specific reason for rules that can never happen (``yearly on feb 31``).
    """
    raw = text.strip()
    words = [w for w in re.split(r"[\s,]+", raw) if w]
    words = [w.lower() if "/" not in w else w for w in words]
    words = [w for w in words if w not in ("the", "and", "of")]
    words, at, tzname, starting, until = _split_tail(words, today)
    if at is None:
        raise UserError(f"“{raw}” has no time of day; add `at HH:MM`.", usage=RULE_USAGE)
    freq, interval, words = _frequency(words, raw)
    if words and words[0] == "on":
        words = words[1:]
    parts = [f"FREQ={freq}"] + ([f"INTERVAL={interval}"] if interval > 1 else [])
    parts += _by_parts(freq, words, raw)
    parts += [f"BYHOUR={at.hour}", f"BYMINUTE={at.minute}", "BYSECOND=0"]  # the wall time, even if day one skips it
    if until is not None:
        parts.append(f"UNTIL={until.year:04d}{until.month:02d}{until.day:02d}T235959")  # local wall time, like the rule
    return Pattern(";".join(parts), at, tzname, starting, until)


def _frequency(words: list[str], raw: str) -> tuple[str, int, list[str]]:
    if not words:
        raise UserError(f"“{raw}” does not say how often.", usage=RULE_USAGE)
    first = words[0]
    if first in _FREQ_WORDS:
        return _FREQ_WORDS[first], 2 if first == "fortnightly" else 1, words[1:]
    if first == "every" and len(words) > 1:
        count, unit_at = 1, 1
        if words[1].isascii() and words[1].isdigit():
            count, unit_at = int(words[1]), 2
        elif words[1] == "other":
            count, unit_at = 2, 2
        unit = words[unit_at].rstrip("s") if unit_at < len(words) else ""
        if unit in _FREQ_UNITS and count >= 1:
            return _FREQ_UNITS[unit], count, words[unit_at + 1:]
        day = weekday_index(words[1]) if unit_at == 1 else None
        if day is not None:  # "every tuesday at 10:00"
            return "WEEKLY", 1, words[1:]
    raise UserError(f"“{raw}” does not say how often (daily, weekly, monthly, every 2 weeks ...).",
                    usage=RULE_USAGE)


def _by_parts(freq: str, words: list[str], raw: str) -> list[str]:
    if not words:
        if freq in ("DAILY",):
            return []
        raise UserError(f"“{raw}” does not say which day; add e.g. `on wed` or `on 2nd tue`.", usage=RULE_USAGE)
    if freq in ("DAILY", "WEEKLY"):
        found = [weekday_index(w) for w in words]
        days = [d for d in found if d is not None]
        if len(days) < len(found) or freq == "DAILY":
            raise UserError(f"I can't read the days in “{raw}”.", usage=RULE_USAGE)
        return ["BYDAY=" + ",".join(WEEKDAYS[d] for d in sorted(set(days)))]
    month = None
    if freq == "YEARLY":
        months = [(i, month_index(w)) for i, w in enumerate(words) if month_index(w)]
        if not months:
            raise UserError(f"“{raw}” needs a month, like `yearly on mar 3`.", usage=RULE_USAGE)
        index, month = months[0]
        words = words[:index] + words[index + 1:]
    parts = [f"BYMONTH={month}"] if month else []
    if len(words) == 2 and words[0] in _ORDINALS and (weekday := weekday_index(words[1])) is not None:
        return parts + [f"BYDAY={_ORDINALS[words[0]]:+d}{WEEKDAYS[weekday]}"]
    if len(words) == 1 and words[0] == "last" or words == ["last", "day"]:
        return parts + ["BYMONTHDAY=-1"]
    if words and words[0] == "day":
        words = words[1:]
    m = re.fullmatch(r"(\d{1,2})(st|nd|rd|th)?", words[0]) if len(words) == 1 else None
    if not m:
        raise UserError(f"I can't read which day of the month “{raw}” means.", usage=RULE_USAGE)
    day = int(m.group(1))
    longest = calendar.monthrange(2024, month)[1] if month else 31
    if not 1 <= day <= longest:
        where = MONTH_NAMES[month - 1] if month else "a month"
        raise UserError(f"{where} never has a day {day}, so that meeting would never happen.", usage=RULE_USAGE)
    return parts + [f"BYMONTHDAY={day}"]


def _rule_fields(rule: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in rule.split(";") if "=" in part)


def describe(rule: str, at: time, timezone: str) -> str:
    """The rule in words: ``Every 2 weeks on Wednesday at 15:00 (America/Chicago)``."""
    fields = _rule_fields(rule)
    freq, interval = fields.get("FREQ", "WEEKLY"), int(fields.get("INTERVAL", "1"))
    unit = _UNIT_TEXT[freq]
    head = {"DAILY": "Daily", "WEEKLY": "Weekly", "MONTHLY": "Monthly", "YEARLY": "Yearly"}[freq]
    if interval > 1:
        head = f"Every {interval} {unit}s"
    on = ""
    if "BYDAY" in fields:
        days = []
        for token in fields["BYDAY"].split(","):
            m = re.fullmatch(r"([+-]?\d)?(\w\w)", token)
            assert m
            name = DAY_NAMES[WEEKDAYS.index(m.group(2))]
            days.append(f"the {_ORDINAL_TEXT[int(m.group(1))]} {name}" if m.group(1) else name)
        on = " on " + _join(days)
    elif "BYMONTHDAY" in fields:
        day = int(fields["BYMONTHDAY"])
        on = " on the last day" if day == -1 else f" on the {_ordinal(day)}"
    if "BYMONTH" in fields:
        on += f" of {MONTH_NAMES[int(fields['BYMONTH']) - 1]}"
    last = until_of(rule)
    return f"{head}{on} at {at:%H:%M} ({timezone})" + (f" until {day_text(last)}" if last else "")


def until_of(rule: str) -> date | None:
    """The last day of a finite series, or None when it goes on."""
    value = _rule_fields(rule).get("UNTIL")
    return date(int(value[:4]), int(value[4:6]), int(value[6:8])) if value else None


def wall_start(rule: str, dtstart: datetime, timezone: str) -> datetime:
    """The series' first start as naive wall time, at the time of day the rule names.

    A series whose first day skips its hour (02:00 on a spring-forward day) stored a later
    instant; the rule's BYHOUR/BYMINUTE keep the wall time of every later meeting right.
    """
    local = to_local(dtstart, timezone)
    fields = _rule_fields(rule)
    if "BYHOUR" in fields and "," not in fields["BYHOUR"]:
        local = local.replace(hour=int(fields["BYHOUR"]), minute=int(fields.get("BYMINUTE", "0")), second=0)
    return local


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


_PARSE_START = datetime.combine(date(2000, 1, 1), time())  # any wall time: `_compiled` replaces it


@lru_cache(maxsize=256)
def _parsed(rule: str) -> rrule:
    """`rule` parsed once per distinct text (a handful of rules serve thousands of series)."""
    return rrulestr(rule, dtstart=_PARSE_START)


@lru_cache(maxsize=1024)  # a series asks a few times in a row; 20,000 kept rules took 25 MB
def _compiled(rule: str, local_start: datetime) -> rrule:
    return _parsed(rule).replace(dtstart=local_start)


def occurrences(rule: str, dtstart: datetime, timezone: str, after: datetime, before: datetime) -> list[datetime]:
    """The UTC starts of `rule` in ``[after, before)``, evaluated in `timezone`'s wall time."""
    compiled = _compiled(rule, wall_start(rule, dtstart, timezone))
    slack = timedelta(days=1)
    local = compiled.between(to_local(after, timezone) - slack, to_local(before, timezone) + slack, inc=True)
    found = (to_utc(wall, timezone) for wall in local)
    return [moment for moment in found if after <= moment < before]


def first_after(rule: str, dtstart: datetime, timezone: str, after: datetime) -> datetime | None:
    """The first UTC start at or after `after`, or None if the rule has ended."""
    compiled = _compiled(rule, wall_start(rule, dtstart, timezone))
    local_after = to_local(after, timezone) - timedelta(days=1)
    while True:
        wall = compiled.after(local_after, inc=True)
        if wall is None or wall.year > after.year + HORIZON_YEARS:
            return None
        moment = to_utc(wall, timezone)
        if moment >= after:
            return moment
        local_after = wall + timedelta(seconds=1)


def first_start(pattern: Pattern, timezone: str, now: datetime) -> datetime:
    """The first occurrence of `pattern` after `now` (and on or after its `from` date), in UTC.

    Raises `UserError` when the rule never happens or its `from` date is in the past.
    """
    local_now = to_local(now, timezone)
    if pattern.starting and pattern.starting < local_now.date():
        raise UserError(f"{pattern.starting:%Y-%m-%d} is in the past; the series has to start today or later.",
                        usage=RULE_USAGE)
    begin = max(local_now, datetime.combine(pattern.starting or local_now.date(), time(0)))
    anchor = datetime.combine(begin.date(), pattern.at)
    found = first_after(pattern.rrule, to_utc(anchor, timezone), timezone, max(now, to_utc(begin, timezone)))
    if found is None and pattern.until is not None:
        raise UserError(f"No meeting of that rule falls on or before {day_text(pattern.until)}, the `until` date.",
                        usage=RULE_USAGE)
    if found is None:
        raise UserError("That rule never produces a meeting date.", usage=RULE_USAGE)
    return found


def shortest_gap(rule: str, dtstart: datetime, timezone: str, count: int = 60) -> timedelta:
    """The shortest wall-time gap between two consecutive occurrences among the first `count`.

    Wall time, like the reminder offsets counted back from a start: a weekly meeting is
    7 days apart even across a daylight-saving change.
    """
    compiled = _compiled(rule, wall_start(rule, dtstart, timezone))
    starts = list(compiled.xafter(wall_start(rule, dtstart, timezone), count=count, inc=True))
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    return min(gaps) if gaps else timedelta(days=366 * HORIZON_YEARS)


