"""The one reader and writer of dates and times: every command and every message goes through it.

Readers turn what people type (``2026-03-10``, ``mar 10``, ``tomorrow``, ``mar 12 at
2pm Europe/Berlin``) into dates and UTC instants in the reader's timezone, and answer
anything else with the same "write it like ..." reply. Writers show a meeting time, a
deadline or a day the same way in every capability (``Tue 10 Mar 2026 10:00``); the
templates have them as the filters ``moment`` and ``day``.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.relativedelta import relativedelta

from bot.core.errors import UserError

DATE_USAGE = "Write dates like 2026-03-10, mar 10, today or tomorrow."

DATETIME_USAGE = "Write a date and time like 2026-03-12 14:00 or mar 12 at 2pm (optionally with a timezone)."

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

MONTH_NAMES = tuple(calendar.month_name)[1:]

_RELATIVE = {"today": 0, "tomorrow": 1, "yesterday": -1}


def weekday_index(word: str) -> int | None:
    """0 for Monday ... 6 for Sunday, from a day name or abbreviation (``tue``, ``thurs``, ``weds``)."""
    word = word.lower().rstrip(".").replace("weds", "wed")
    if len(word) < 2:
        return None
    found = [i for i, name in enumerate(DAY_NAMES) if name.lower().startswith(word)]
    return found[0] if len(found) == 1 else None


def month_index(word: str) -> int | None:
    """1 for January ... 12 for December, from a month name or its first three letters."""
    word = word.lower().rstrip(".")
    for index, name in enumerate(MONTH_NAMES, start=1):
        if len(word) >= 3 and name.lower().startswith(word):
            return index
    return None


def zone(name: str) -> ZoneInfo:
    """The IANA timezone `name`, or a clear error naming what is wrong."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UserError(f"I don't know the timezone “{name}”.",
                        usage="Use an IANA name such as America/Chicago or Europe/Berlin.") from exc


def parse_time(text: str) -> time | None:
    """`15:00`, `9:30`, `9am`, `2:30pm`, `14h` as a time of day; None if it is not one."""
    m = re.fullmatch(r"(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm|h)?", text.strip().lower())
    if not m or (m.group(2) is None and m.group(3) is None):
        return None
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    if m.group(3) in ("am", "pm"):
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if m.group(3) == "pm" else 0)
    if hour > 23 or minute > 59:
        raise UserError(f"“{text}” is not a time of day.", usage="Write times like 15:00, 9:30 or 2pm.")
    return time(hour, minute)


def canonical_zone(word: str) -> str:
    """The IANA spelling of `word` (typed in any case); an error if there is no such zone."""
    for name in _zone_names():
        if name.lower() == word.lower():
            return name
    zone(word)
    return word


@lru_cache(maxsize=1)
def _zone_names() -> tuple[str, ...]:
    from zoneinfo import available_timezones

    return tuple(sorted(available_timezones()))


def to_local(moment: datetime, timezone: str) -> datetime:
    """`moment` (aware) as naive wall time in `timezone`."""
    return moment.astimezone(ZoneInfo(timezone)).replace(tzinfo=None)


def to_utc(wall: datetime, timezone: str) -> datetime:
    """Naive wall time in `timezone` as aware UTC (a time skipped by DST lands after the gap)."""
    return wall.replace(tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def parse_date(text: str, today: date) -> date:
    """A date typed as ``2026-03-10``, ``mar 10``, ``10 March``, ``today`` or ``tomorrow``.

    A month and day without a year means the next such date on or after `today`.
    """
    value = text.strip().lower()
    if value in _RELATIVE:
        return today + timedelta(days=_RELATIVE[value])
    try:
        return date.fromisoformat(value)
    except ValueError:
        pass
    words = value.replace(",", " ").split()
    month = day = None
    year = None
    for word in words:
        stripped = re.sub(r"(st|nd|rd|th)$", "", word)
        stripped = stripped if stripped.isascii() else ""  # "²" and "٣" pass isdigit() but are no day
        if month_index(word):
            month = month_index(word)
        elif stripped.isdigit() and len(stripped) == 4:
            year = int(stripped)
        elif stripped.isdigit() and day is None:
            day = int(stripped)
        else:
            month = None
            break
    if month is None or day is None:
        raise UserError(f"“{text}” is not a date I can read.", usage=DATE_USAGE)
    try:
        if year is not None:
            return date(year, month, day)
        found = date(today.year, month, day)
        return found if found >= today else date(today.year + 1, month, day)
    except ValueError as exc:
        raise UserError(f"{MONTH_NAMES[month - 1]} has no day {day}.", usage=DATE_USAGE) from exc


def parse_datetime(text: str, timezone: str, now: datetime) -> tuple[datetime, str]:
    """A local date and time as typed, read in `timezone` unless one is given; (UTC, zone used)."""
    words = text.replace("T", " ", 1).split() if re.match(r"\d{4}-\d\d-\d\dT", text) else text.split()
    tzname = timezone
    if words and ("/" in words[-1] or words[-1].upper() == "UTC"):
        tzname = "UTC" if words[-1].upper() == "UTC" else canonical_zone(words[-1])
        words = words[:-1]
    if words and words[-1].lower() in ("am", "pm") and len(words) > 1:
        words = words[:-2] + [words[-2] + words[-1]]
    at = parse_time(words[-1]) if words else None
    if at is None:
        raise UserError(f"“{text}” needs a time of day.", usage=DATETIME_USAGE)
    day_words = [w for w in words[:-1] if w.lower() not in ("at", "on")]
    if not day_words:
        raise UserError(f"“{text}” needs a date.", usage=DATETIME_USAGE)
    day = parse_date(" ".join(day_words), to_local(now, tzname).date())
    return to_utc(datetime.combine(day, at), tzname), tzname


# -- the one reader of typed dates and times ---------------------------------------------------

WHEN_EXAMPLES = ("2026-12-10, 2026-12-10 17:00, dec 10, 10 dec 5pm, friday, next friday, tomorrow, in 2 weeks, 3d "
                 "or end of month")

_SPAN = re.compile(r"(\d+)\s*(m|min|mins|h|d|w|mo)")
_SPAN_UNITS = {"m": "minutes", "min": "minutes", "mins": "minutes", "h": "hours", "d": "days", "w": "weeks",
               "mo": "months"}
_IN_UNITS = {"minute": "minutes", "hour": "hours", "day": "days", "week": "weeks", "month": "months",
             "year": "years"}
_FILLERS = ("on", "at", "the")
_FIRST_YEAR, _LAST_YEAR = 1900, 9998  # days outside cannot be written in every timezone
_MAX_WORDS = 7  # the longest phrase the reader accepts ("next friday at 5 pm europe/berlin")


class NotADate(UserError):
    """The words do not have the shape of a date or time (as opposed to a date that does not exist)."""


def when_usage(what: str) -> str:
    """How to write `what` (``a closing time``, ``a due date``): the forms the reader accepts."""
    return f"Write {what} like {WHEN_EXAMPLES}."


@dataclass(frozen=True)
class When:
    """A date, with or without a time of day, as a reader typed it in `zone`.

    `exact` is set for spans counted from now (``3d``, ``in 2 hours``): the instant itself.
    """

    day: date
    at: time | None
    zone: str
    exact: datetime | None = None

    def instant(self, default: time) -> datetime:
        """The UTC instant meant, at local `default` time when no time of day was typed."""
        if self.exact is not None:
            return self.exact
        return to_utc(datetime.combine(self.day, self.at or default), self.zone)


def read_when(text: str, timezone: str, now: datetime, *, what: str = "a date") -> When:
    """Read a date or moment as typed, in `timezone` (a trailing IANA name or UTC overrides it).

    Accepted: ISO dates (``2026-12-10``, ``2026-12-10T17:00``), month and day in either order
    with an optional year (``dec 10``, ``10 December 2026``), ``today``, ``tomorrow``, weekdays
    (``fri``, ``this friday``: the next one from today on; ``next friday``: the next one after
    today), ``end of week|month|quarter|year`` (``end of next month``), spans counted from now
    (``3d``, ``48h``, ``2w``, ``6mo``, ``in 2 weeks``), any of them with a time of day before or
    after it (``17:00``, ``at 5pm``), or a time alone (the next time the clock shows it). A month and
    day without a year is the next such date. Raises `NotADate` when the words are no date at
    all and `UserError` when they name one that does not exist; both say how to write `what`.
    """
    usage = when_usage(what)
    try:
        return _read(text, timezone, now, what, usage)
    except NotADate:
        raise
    except UserError as exc:  # a date's shape but no such day or time: the field's own wording
        raise UserError(exc.message, usage=usage) from None


def _read(text: str, timezone: str, now: datetime, what: str, usage: str) -> When:
    unreadable = f"“{_shown(text)}” is not a {'time' if 'time' in what else 'date'} I can read."
    words = _words(text)
    if not words or len(words) > _MAX_WORDS or words[-1] in _FILLERS:
        raise NotADate(unreadable, usage=usage)
    tzname = timezone
    if len(words) > 1 and ("/" in words[-1] or words[-1] == "utc"):
        try:
            tzname = "UTC" if words[-1] == "utc" else canonical_zone(words[-1])
        except UserError:  # "and/or" ends a sentence, not a date
            raise NotADate(unreadable, usage=usage) from None
        words = words[:-1]
    local_now = to_local(now, tzname)
    exact = _span(words, now, text, usage)
    if exact is not None:
        return _in_range(When(to_local(exact, tzname).date(), None, tzname, exact), usage)
    at, words = _time_tail(words)
    if at is None and len(words) > 1:  # "5pm friday", "17:00 on dec 10"
        at, rest = _time_tail(words[:1])
        words = words[1:] if at is not None and not rest else words
    words = [w for w in words if w not in _FILLERS]
    if not words:
        if at is None:
            raise NotADate(unreadable, usage=usage)
        day = local_now.date() if at > local_now.time() else local_now.date() + timedelta(days=1)
        return When(day, at, tzname)
    named = _day(words, local_now.date())
    if named is None:
        raise NotADate(unreadable, usage=usage)
    return _in_range(When(named, at, tzname), usage)


def split_when(words: list[str], keyword: str, timezone: str, now: datetime, *,
               what: str = "a date") -> tuple[list[str], When | None]:
    """`words` without a trailing ``KEYWORD DATE`` (``due next friday``), and the date read from it.

    The last `keyword` whose following words are all a date counts; when none is, the
    words stay as they are (``review the due diligence``) and the date is None. Words after
    the last `keyword` that start like a date (a number or a month: ``due feb 30``,
    ``due March ²``) but are none are an error, not text.
    """
    lowered = [w.lower() for w in words]
    last = True
    for index in range(len(words) - 2, -1, -1):
        if lowered[index] != keyword:
            continue
        tail = words[index + 1:]
        try:
            if len(tail) <= _MAX_WORDS:
                return words[:index], read_when(" ".join(tail), timezone, now, what=what)
        except NotADate:
            if last and (tail[0][:1].isdigit() or month_index(tail[0]) is not None):
                raise
        last = False
    return words, None


def when_length(tokens: list[str]) -> int:
    """How many of `tokens`, from the first, make the longest phrase with a date's shape (at least 1).

    Lets an option take a date written in several words (``--closes 2026-12-10 17:00``).
    """
    reference = datetime(2000, 1, 1, tzinfo=UTC)
    for length in range(min(len(tokens), _MAX_WORDS), 1, -1):
        try:
            read_when(" ".join(tokens[:length]), "UTC", reference)
        except NotADate:
            continue
        except UserError:  # a date's shape, but no such date: the reader says so when the command reads it
            pass
        return length
    return 1


def _in_range(when: When, usage: str) -> When:
    if not _FIRST_YEAR <= when.day.year <= _LAST_YEAR:
        raise UserError(f"{day_text(when.day)} is further away than any date I can write.", usage=usage)
    return when


def _words(text: str) -> list[str]:
    value = text.strip().lower().replace(",", " ")
    if re.match(r"\d{4}-\d\d-\d\dt\d", value):
        value = value.replace("t", " ", 1)
    words = value.split()
    merged: list[str] = []
    for word in words:  # "5 pm" is one time
        if word in ("am", "pm") and merged and merged[-1].isdigit():
            merged[-1] += word
        else:
            merged.append(word)
    return merged


def _shown(text: str) -> str:
    typed = " ".join(text.split())
    return typed if len(typed) <= 40 else typed[:40] + "…"


def _span(words: list[str], now: datetime, text: str, usage: str) -> datetime | None:
    """`now` plus a span typed as ``3d`` or ``in 2 weeks``; None when the words are not one."""
    amount: int | None = None
    unit = ""
    if len(words) == 1 and (m := _SPAN.fullmatch(words[0])):
        amount, unit = int(m.group(1)), _SPAN_UNITS[m.group(2)]
    elif len(words) == 3 and words[0] == "in" and words[2].rstrip("s") in _IN_UNITS:
        count = words[1]
        if count in ("a", "an", "one"):
            amount = 1
        elif count.isascii() and count.isdigit():
            amount = int(count)
        unit = _IN_UNITS[words[2].rstrip("s")]
    if amount is None:
        return None
    try:
        return now + relativedelta(**{unit: amount})
    except (OverflowError, ValueError):  # 99999999999999999999d is past the end of the calendar
        raise UserError(f"“{_shown(text)}” is further away than any date I can write.", usage=usage) from None


def _time_tail(words: list[str]) -> tuple[time | None, list[str]]:
    """A time of day at the end of `words` (after an optional ``at``), and the words before it."""
    if not words:
        return None, words
    at = parse_time(words[-1]) if re.fullmatch(r"[0-9]{1,2}([:.h][0-9]{2})?(am|pm|h)?", words[-1]) else None
    if at is None:
        return None, words
    rest = words[:-1]
    if rest and rest[-1] == "at":
        rest = rest[:-1]
    return at, rest


def _day(words: list[str], today: date) -> date | None:
    """The day named by `words`, or None when they do not name one."""
    phrase = " ".join(words)
    if phrase in _RELATIVE:
        return today + timedelta(days=_RELATIVE[phrase])
    if words[0] in ("this", "next") and len(words) == 2 and (weekday := weekday_index(words[1])) is not None:
        ahead = (weekday - today.weekday()) % 7
        return today + timedelta(days=ahead or (7 if words[0] == "next" else 0))
    if len(words) == 1 and (weekday := weekday_index(words[0])) is not None and month_index(words[0]) is None:
        return today + timedelta(days=(weekday - today.weekday()) % 7)
    if words[:2] == ["end", "of"]:
        return _end_of(words[2:], today)
    if not any(w[:1].isdigit() for w in words):
        return None
    try:
        return parse_date(phrase, today)
    except UserError as exc:
        if " has no day " in exc.message or re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", phrase):
            raise  # a date's shape, but no such day
        return None


def _end_of(words: list[str], today: date) -> date | None:
    later = 1 if words[:1] == ["next"] else 0
    words = words[later:]
    if words == ["week"]:
        return today + timedelta(days=6 - today.weekday() + 7 * later)
    if words == ["month"]:
        first = (today.replace(day=1) + relativedelta(months=later + 1))
        return first - timedelta(days=1)
    if words == ["quarter"]:
        start = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
        return start + relativedelta(months=3 * (later + 1)) - timedelta(days=1)
    if words == ["year"]:
        return date(today.year + later, 12, 31)
    return None



def moment_text(moment: datetime, timezone: str | ZoneInfo, *, with_zone: bool = False) -> str:
    """An instant as a reader wants it, in `timezone`: ``Tue 10 Mar 2026 10:00`` (``... CST`` with the zone)."""
    local = moment.astimezone(timezone if isinstance(timezone, ZoneInfo) else ZoneInfo(timezone))
    return f"{local:%a %d %b %Y %H:%M}" + (f" {local:%Z}" if with_zone else "")


def day_text(day: date) -> str:
    """A calendar day as a reader wants it: ``Tue 10 Mar 2026``."""
    return f"{day:%a %d %b %Y}"


def month_text(day: date) -> str:
    """The month of `day`: ``Mar 2026``."""
    return f"{day:%b %Y}"
