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
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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
