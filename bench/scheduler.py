"""Benchmark: 10,000 meeting series across 500 initiatives under the real scheduler.

Prints the time until the scheduler is ready (started and reconciled, target < 5 s),
the process's peak RSS (target < 300 MB) and the firing lag of a burst of reminders
due within the next seconds (p50 / p99, target p99 < 1 s), each with PASS or FAIL.

    .venv/bin/python -m bench.scheduler                  # a temporary SQLite file
    .venv/bin/python -m bench.scheduler --url postgresql+psycopg://postgres@127.0.0.1:5432/test

On PostgreSQL the run happens in a schema of its own that is dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bench.common import percentile, scratch_database, verdict
from bot.bootstrap import build_registry
from bot.runtime.scheduler import Scheduler
from storage.meetings import Cadence
from storage.models import ChannelBinding, Group, GroupKind, Initiative, Platform
from storage.outbox import OutboxMessage

INITIATIVES, CADENCES, BURST = 500, 10_000, 200
BURST_AFTER = 8  # seconds: after the scheduler is ready (target < 5 s), so lag is firing lag only
RULES = ("FREQ=WEEKLY;BYDAY=MO", "FREQ=WEEKLY;INTERVAL=2;BYDAY=WE", "FREQ=MONTHLY;BYDAY=+2TU",
         "FREQ=MONTHLY;BYDAY=-1FR", "FREQ=WEEKLY;BYDAY=TU,TH", "FREQ=MONTHLY;BYMONTHDAY=15")
ZONES = ("America/Chicago", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC")
TARGETS = {"ready": 5.0, "rss": 300.0, "p99": 1.0}


def populate(engine: Engine, now: datetime) -> list[tuple[int, int]]:
    """Bulk-insert the initiatives, their groups (bound to a channel each) and the series; (group, initiative) ids."""
    rng = random.Random(42)
    with Session(engine) as session:
        session.execute(insert(Initiative), [
            {"slug": f"bench-{i}", "name": f"Bench {i}", "common_agenda": "", "timezone": "UTC", "created_at": now}
            for i in range(INITIATIVES)])
        ids = list(session.exec(select(Initiative.id).order_by(Initiative.id)).all())
        session.execute(insert(Group), [
            {"initiative_id": i, "key": f"g{g}", "name": f"Group {g}", "kind": GroupKind.WORKING_GROUP,
             "purpose": "", "active": True} for i in ids for g in range(4)])
        groups = [(g, i) for g, i in session.exec(select(Group.id, Group.initiative_id).order_by(Group.id)).all()
                  if g is not None]
        session.execute(insert(ChannelBinding), [
            {"group_id": g, "platform": Platform.SLACK, "team_id": "TBENCH", "channel_id": f"C{g}"} for g, _ in groups])
        rows = []
        for n in range(CADENCES):
            group_id, initiative_id = groups[n % len(groups)]
            start = now + timedelta(days=rng.randint(1, 30), minutes=rng.randrange(0, 600, 15))
            rows.append(_cadence(initiative_id, group_id, f"Series {n}", rng.choice(RULES), start, rng.choice(ZONES)))
        session.execute(insert(Cadence), rows)
        session.commit()
    return groups


def add_burst(engine: Engine, groups: list[tuple[int, int]], start: datetime) -> dict[str, datetime]:
    """Series whose reminders (60 min before a daily meeting) fall due over 5 s from `start`; key part -> due time."""
    due = {f"Burst {n}": start + timedelta(seconds=5 * n // BURST) for n in range(BURST)}  # RRULEs have whole seconds
    with Session(engine) as session:
        session.execute(insert(Cadence), [
            _cadence(initiative_id, group_id, title, "FREQ=DAILY", due[title] + timedelta(hours=1), "UTC",
                     reminders="60", lead=120)
            for (title, (group_id, initiative_id)) in zip(due, groups, strict=False)])
        session.commit()
        rows = session.exec(select(Cadence.id, Cadence.title).where(col(Cadence.title).startswith("Burst "))).all()
    return {f"cadence-{cadence_id}": due[title] for cadence_id, title in rows}


def _cadence(initiative_id: int, group_id: int, title: str, rule: str, start: datetime, zone: str,
             reminders: str = "1440,60", lead: int = 2880) -> dict[str, object]:
    return {"initiative_id": initiative_id, "group_id": group_id, "title": title, "rrule": rule, "dtstart": start,
            "timezone": zone, "duration_minutes": 60, "place": "", "video_url": "", "reminder_minutes": reminders,
            "agenda_lead_minutes": lead, "paused": False, "confirmed": True, "next_event_at": None,
            "created_at": start}


async def measure(engine: Engine) -> dict[str, float]:
    """Populate, start the scheduler, wait for the burst; the figures."""
    groups = populate(engine, datetime.now(UTC))
    due = add_burst(engine, groups, datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=BURST_AFTER))
    scheduler = Scheduler(engine, registry=build_registry())
    scheduler.install(only=("meetings",))
    began = time.perf_counter()
    await scheduler.start()
    ready = time.perf_counter() - began
    deadline = time.monotonic() + 30
    lags: dict[str, float] = {}
    while time.monotonic() < deadline and len(lags) < BURST:
        await asyncio.sleep(0.5)
        with Session(engine) as session:
            rows = session.exec(select(OutboxMessage.key, OutboxMessage.created_at).where(
                col(OutboxMessage.key).startswith("meeting.reminder.60m:"))).all()
        for key, created in rows:
            cadence = key.split(":")[1]
            if cadence in due:
                lags[cadence] = (created - due[cadence]).total_seconds()
    await scheduler.shutdown()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    found = list(lags.values()) or [float("inf")]
    return {"ready": ready, "rss": rss, "p50": percentile(found, 50), "p99": percentile(found, 99),
            "fired": len(lags)}


def main() -> int:
    """Run the benchmark and print PASS/FAIL per figure; exit status 1 if any failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="", help="database URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    with scratch_database(args.url or None) as engine:
        figures = asyncio.run(measure(engine))
    verdicts = {
        "ready": figures["ready"] < TARGETS["ready"],
        "rss": figures["rss"] < TARGETS["rss"],
        "p99": figures["p99"] < TARGETS["p99"] and figures["fired"] == BURST,
    }
    print(f"series: {CADENCES + BURST} across {INITIATIVES} initiatives")
    print(f"time to ready:   {figures['ready']:.2f} s   (target < 5 s)    {verdict(verdicts['ready'])}")
    print(f"peak RSS:        {figures['rss']:.0f} MB   (target < 300 MB) {verdict(verdicts['rss'])}")
    print(f"firing lag:      p50 {figures['p50']:.3f} s, p99 {figures['p99']:.3f} s over {figures['fired']:.0f} "
          f"of {BURST} reminders (target p99 < 1 s) {verdict(verdicts['p99'])}")
    return 0 if all(verdicts.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
