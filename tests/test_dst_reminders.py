"""Reminders and agenda postings are offsets in absolute time, across both daylight-saving changes of 2027."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from bot.core.clock import ManualClock
from tests.chat import Chat
from tests.factories import seed
from tests.meeting_helpers import add_series, running_scheduler, walk

CHICAGO = ZoneInfo("America/Chicago")
_KEY = re.compile(r"meeting\.(agenda|reminder\.(\d+)m):cadence-\d+:(\d{8}T\d{4}Z)@")


def _fired_offsets(fired: list[tuple[datetime, str]]) -> list[tuple[str, datetime, datetime]]:
    """(kind, when it fired, the meeting's UTC start) of every agenda and reminder that fired."""
    found = []
    for at, key in fired:
        m = _KEY.match(key)
        if m:
            start = datetime.strptime(m.group(3), "%Y%m%dT%H%MZ").replace(tzinfo=UTC)
            found.append((m.group(1), at, start))
    return found


async def test_reminders_fire_exactly_their_offset_before_the_start_across_both_2027_changes(
        chat: Chat, engine: Engine, clock: ManualClock) -> None:
    seed(engine)
    clock.set(datetime(2027, 3, 10, 12, 0, tzinfo=UTC))
    add_series(chat, "steering", "Early", "weekly on sun at 03:30", "--reminders 24h,1h --agenda-lead 48h")
    async with running_scheduler(engine, clock, sweep_every=timedelta(days=1)) as scheduler:
        spring = walk(scheduler, engine, datetime(2027, 3, 15, tzinfo=UTC))
    clock.set(datetime(2027, 11, 1, 12, 0, tzinfo=UTC))
    add_series(chat, "data", "Night", "weekly on sun at 02:00", "--reminders 24h,1h --agenda-lead 48h")
    async with running_scheduler(engine, clock, sweep_every=timedelta(days=1)) as scheduler:
        autumn = walk(scheduler, engine, datetime(2027, 11, 8, tzinfo=UTC))
    fired = _fired_offsets(spring + autumn)
    for kind, at, start in fired:
        offset = timedelta(hours=48) if kind == "agenda" else timedelta(minutes=int(kind[len("reminder."):-1]))
        assert start - at == offset, (kind, at, start)

    def reminders_of(local_start: str) -> list[str]:
        return sorted(f"{kind} {at.astimezone(CHICAGO):%a %d %b %H:%M %Z}" for kind, at, start in fired
                      if kind != "agenda" and f"{start.astimezone(CHICAGO):%Y-%m-%d %H:%M}" == local_start)

    # 03:30 CDT on the spring-forward day is 08:30 UTC: one hour before is 01:30 CST, not 03:30.
    assert reminders_of("2027-03-14 03:30") == ["reminder.1440m Sat 13 Mar 02:30 CST",
                                                "reminder.60m Sun 14 Mar 01:30 CST"]
    # 02:00 CST on the fall-back day is 08:00 UTC: one hour before is the second 01:00 (CST), not the first.
    assert reminders_of("2027-11-07 02:00") == ["reminder.1440m Sat 06 Nov 03:00 CDT",
                                                "reminder.60m Sun 07 Nov 01:00 CST"]
    # and the meetings themselves keep their wall time on the day of the change
    starts = {f"{start.astimezone(CHICAGO):%Y-%m-%d %H:%M %Z}" for _, _, start in fired}
    assert {"2027-03-14 03:30 CDT", "2027-11-07 02:00 CST"} <= starts
