"""Readers for the kinds of value an initiative file holds: text, keys, timezones, ids, dates.

Each reader takes the value's node and returns a clean Python value, or raises
`Invalid` with a message that says what was wrong and how to write it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from functools import cache
from zoneinfo import available_timezones

from bot.initiative_file.nodes import At, Invalid, Reader, items, scalar_text
from bot.initiative_file.problems import Problems, did_you_mean

SECTORS = (
    "business", "community", "education", "faith", "funder", "government", "health",
    "nonprofit", "philanthropy", "research",
)
_KEY = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_SNOWFLAKE = re.compile(r"\d{15,20}")
_YES, _NO = ("yes", "true", "on"), ("no", "false", "off")


def text(limit: int) -> Reader:
    """A reader of free text up to `limit` characters."""
    def read(at: At, _problems: Problems) -> str:
        value = scalar_text(at)
        if len(value) > limit:
            raise Invalid(f"is {len(value)} characters long; keep it under {limit + 1}")
        return value
    return read


def key(at: At, _problems: Problems) -> str:
    """A short identifier such as a member or group key: lowercase letters, digits, - _ ."""
    return check_key(scalar_text(at))


def check_key(value: str) -> str:
    """`value` if it is a valid key; otherwise `Invalid` saying how keys are written."""
    if not _KEY.fullmatch(value):
        raise Invalid(f"{value!r} is not a valid key; use up to 64 lowercase letters, digits, "
                      "'-', '_' or '.', like maria or kindergarten-data")
    return value


@cache
def _timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def timezone(at: At, _problems: Problems) -> str:
    """An IANA timezone name that zoneinfo knows."""
    value = scalar_text(at)
    if value not in _timezones():
        hint = did_you_mean(value, _timezones())
        raise Invalid(f"{value!r} is not a known timezone{hint}; "
                      "write an IANA name like America/Chicago")
    return value


def choice(options: Iterable[str], what: str) -> Reader:
    """A reader accepting one of `options` (case-insensitive), naming them when it refuses."""
    allowed = tuple(options)

    def read(at: At, _problems: Problems) -> str:
        value = scalar_text(at)
        if value.lower() in allowed:
            return value.lower()
        raise Invalid(f"{value!r} is not a known {what}{did_you_mean(value.lower(), allowed)}; "
                      f"write one of {', '.join(allowed)}")
    return read


def email(at: At, _problems: Problems) -> str:
    """An email address (checked for shape only)."""
    value = scalar_text(at)
    if not _EMAIL.fullmatch(value):
        raise Invalid(f"{value!r} is not an email address; write it like name@example.org")
    return value


def yes_no(at: At, _problems: Problems) -> bool:
    """yes/no (or true/false, on/off)."""
    value = scalar_text(at).lower()
    if value in _YES or value in _NO:
        return value in _YES
    raise Invalid(f"{value[:30]!r} is not yes or no")


def day_or_time(at: At, _problems: Problems) -> date | datetime:
    """A date (2026-03-10) or a date and time (2026-03-10 17:00, optionally with an offset)."""
    value = scalar_text(at)
    for parse in (date.fromisoformat, datetime.fromisoformat):
        try:
            return parse(value)
        except ValueError:
            continue
    raise Invalid(f"{value!r} is not a date; write it like 2026-03-10")


def slack_id(prefixes: str, what: str, example: str) -> Reader:
    """A reader of Slack ids that start with one of `prefixes` (U for users, C for channels...)."""
    pattern = re.compile(f"[{prefixes}][A-Z0-9]{{1,}}")

    def read(at: At, _problems: Problems) -> str:
        value = scalar_text(at)
        if not pattern.fullmatch(value):
            raise Invalid(f"{value!r} is not a Slack {what} id; copy it from Slack, "
                          f"it looks like {example}")
        return value
    return read


def snowflake(what: str) -> Reader:
    """A reader of Discord ids (snowflakes): 15 to 20 digits, quoted or not."""
    def read(at: At, _problems: Problems) -> str:
        value = scalar_text(at)
        if not _SNOWFLAKE.fullmatch(value):
            raise Invalid(f"{value!r} is not a Discord {what} id; turn on Developer Mode, use "
                          "Copy ID, and paste the number (like 112233445566778899)")
        return value
    return read


def text_list(limit: int) -> Reader:
    """A reader of a list of short texts; a single text counts as a list of one."""
    read_one = text(limit)

    def read(at: At, problems: Problems) -> list[str]:
        values = []
        for item in items(at, problems, "texts", single_ok=True):
            try:
                if value := read_one(item, problems):
                    values.append(value)
            except Invalid as exc:
                problems.add(item.where, str(exc))
        return values
    return read
