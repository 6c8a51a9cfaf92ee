"""Recurrence rules are parsed once per distinct text, and every series still gets its own dates."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from dateutil.rrule import rrulestr

from bot.core.time import to_local, to_utc
from bot.meetings import recurrence

RULES = ("FREQ=WEEKLY;BYDAY=MO", "FREQ=WEEKLY;INTERVAL=2;BYDAY=WE", "FREQ=MONTHLY;BYDAY=+2TU",
         "FREQ=MONTHLY;BYDAY=-1FR", "FREQ=WEEKLY;BYDAY=TU,TH", "FREQ=MONTHLY;BYMONTHDAY=15", "FREQ=DAILY",
         "FREQ=WEEKLY", "FREQ=MONTHLY", "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=-1", "FREQ=WEEKLY;COUNT=3")
ZONES = ("America/Chicago", "Europe/Berlin", "Asia/Tokyo", "UTC")


def reference(rule: str, start: datetime, zone: str, after: datetime, before: datetime) -> list[datetime]:
    """What a fresh parse of the rule gives: the UTC starts in [after, before)."""
    walls = rrulestr(rule, dtstart=to_local(start, zone)).between(
        to_local(after, zone) - timedelta(days=1), to_local(before, zone) + timedelta(days=1), inc=True)
    return [m for m in (to_utc(w, zone) for w in walls) if after <= m < before]


def test_a_thousand_series_on_a_few_rules_parse_each_rule_once_and_keep_their_own_dates() -> None:
    recurrence._parsed.cache_clear()
    recurrence._compiled.cache_clear()
    rng = random.Random(3)
    base = datetime(2026, 3, 1, tzinfo=UTC)  # the spring daylight-saving changes fall in the window
    for _ in range(1000):
        rule, zone = rng.choice(RULES), rng.choice(ZONES)
        start = base + timedelta(days=rng.randint(0, 40), minutes=rng.randrange(0, 1440, 15))
        after, before = start + timedelta(days=rng.randint(0, 20)), start + timedelta(days=120)
        assert recurrence.occurrences(rule, start, zone, after, before) == reference(rule, start, zone, after,
                                                                                     before), (rule, start, zone)
        found = recurrence.first_after(rule, start, zone, after)
        assert found == next(iter(reference(rule, start, zone, after, after + timedelta(days=800))), None)
    assert recurrence._parsed.cache_info().misses == len(RULES)


def test_a_rule_that_ends_ends_for_every_series_using_it() -> None:
    start = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    later = start + timedelta(days=1)
    assert len(recurrence.occurrences("FREQ=WEEKLY;COUNT=3", start, "UTC", start, start + timedelta(days=60))) == 3
    assert len(recurrence.occurrences("FREQ=WEEKLY;COUNT=3", later, "UTC", later, later + timedelta(days=60))) == 3
    assert recurrence.first_after("FREQ=WEEKLY;COUNT=3", start, "UTC", start + timedelta(days=15)) is None
