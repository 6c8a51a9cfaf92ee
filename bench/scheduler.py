"""Benchmark: the scheduler's start with 1,000, 10,000 and 50,000 meeting series.

Per size, in a child process of its own (so its peak RSS is its own) on a fresh SQLite
file or PostgreSQL schema: the series are spread over initiatives (100 series each),
each group bound to a channel. A first scheduler starts on the empty job store (it
works out every series' next meeting and stores the imminent jobs) and stops; a second
one starts on what the first left, as a restarted replica does. Prints both start
times and the child's peak RSS; the peer of a later start is the first one.

    .venv/bin/python -m bench.scheduler [--sizes 1000,10000,50000] [--url postgresql+psycopg://...]

Goals at 50,000 series: first start <= 3 s, later starts <= 0.1 s, peak RSS <= 200 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bench.common import result, scratch_database
from bot.bootstrap import build_registry
from bot.runtime.scheduler import Scheduler
from storage.meetings import Cadence
from storage.models import ChannelBinding, Group, GroupKind, Initiative, Platform

ROOT = Path(__file__).resolve().parent.parent
PER_INITIATIVE = 100
RULES = ("FREQ=WEEKLY;BYDAY=MO", "FREQ=WEEKLY;INTERVAL=2;BYDAY=WE", "FREQ=MONTHLY;BYDAY=+2TU",
         "FREQ=MONTHLY;BYDAY=-1FR", "FREQ=WEEKLY;BYDAY=TU,TH", "FREQ=MONTHLY;BYMONTHDAY=15")
ZONES = ("America/Chicago", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC")
GOAL_FIRST, GOAL_LATER, GOAL_RSS = 3.0, 0.1, 200.0


def populate(engine: Engine, now: datetime, cadences: int) -> list[tuple[int, int]]:
    """Bulk-insert the initiatives, their groups (bound to a channel each) and the series; (group, initiative) ids."""
    rng = random.Random(42)
    initiatives = max(1, cadences // PER_INITIATIVE)
    with Session(engine) as session:
        session.execute(insert(Initiative), [
            {"slug": f"bench-{i}", "name": f"Bench {i}", "common_agenda": "", "timezone": "UTC", "created_at": now}
            for i in range(initiatives)])
        ids = list(session.exec(select(Initiative.id).order_by(col(Initiative.id))).all())
        session.execute(insert(Group), [
            {"initiative_id": i, "key": f"g{g}", "name": f"Group {g}", "kind": GroupKind.WORKING_GROUP,
             "purpose": "", "active": True} for i in ids for g in range(4)])
        groups = [(g, i) for g, i in session.exec(select(Group.id, Group.initiative_id).order_by(col(Group.id))).all()
                  if g is not None]
        session.execute(insert(ChannelBinding), [
            {"group_id": g, "platform": Platform.SLACK, "team_id": "TBENCH", "channel_id": f"C{g}"} for g, _ in groups])
        rows = []
        for n in range(cadences):
            group_id, initiative_id = groups[n % len(groups)]
            start = now + timedelta(days=rng.randint(1, 30), minutes=rng.randrange(0, 600, 15))
            rows.append(_cadence(initiative_id, group_id, f"Series {n}", rng.choice(RULES), start, rng.choice(ZONES)))
        session.execute(insert(Cadence), rows)
        session.commit()
    return groups


def _cadence(initiative_id: int, group_id: int, title: str, rule: str, start: datetime, zone: str,
             reminders: str = "1440,60", lead: int = 2880) -> dict[str, object]:
    return {"initiative_id": initiative_id, "group_id": group_id, "title": title, "rrule": rule, "dtstart": start,
            "timezone": zone, "duration_minutes": 60, "place": "", "video_url": "", "reminder_minutes": reminders,
            "agenda_lead_minutes": lead, "paused": False, "confirmed": True, "next_event_at": None,
            "created_at": start}


async def starts(engine: Engine) -> tuple[float, float]:
    """Seconds for a first start on an empty job store, then for a later start on what it stored."""
    seconds = []
    registry = build_registry()  # imports every capability: the process's start, not the scheduler's
    for _ in range(2):
        scheduler = Scheduler(engine, registry=registry)
        scheduler.install(only=("meetings",))
        began = time.perf_counter()
        await scheduler.start()
        seconds.append(time.perf_counter() - began)
        await scheduler.shutdown()
    return seconds[0], seconds[1]


def child(url: str | None, cadences: int) -> None:
    """In a child process: populate, start twice, print the figures as JSON."""
    with scratch_database(url) as engine:
        populate(engine, datetime.now(UTC), cadences)
        first, later = asyncio.run(starts(engine))
    print(json.dumps({"first": first, "later": later,
                      "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def main() -> int:
    """Run every size in its own process and print the verdicts; exit status 1 if a goal is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.url or None, args.child)
        return 0
    ok = True
    for size in (int(s) for s in args.sizes.split(",")):
        done = subprocess.run([sys.executable, "-m", "bench.scheduler", "--child", str(size), "--url", args.url],
                              cwd=ROOT, capture_output=True, text=True, check=True)
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"scheduler, {size:,} series: first start {figures['first']:.2f} s, later start "
              f"{figures['later']:.3f} s, peak RSS {figures['rss']:.0f} MB")
        if size >= 50_000:
            label = f"scheduler {size:,} series"
            ok = all([
                result(f"{label}: first start", f"{figures['first']:.2f} s", "-", None, f"<= {GOAL_FIRST:g} s",
                       figures["first"] <= GOAL_FIRST),
                result(f"{label}: later start", f"{figures['later']:.3f} s", f"first {figures['first']:.2f} s",
                       figures["later"] / figures["first"], f"<= {GOAL_LATER:g} s", figures["later"] <= GOAL_LATER),
                result(f"{label}: peak RSS", f"{figures['rss']:.0f} MB", "-", None, f"<= {GOAL_RSS:g} MB",
                       figures["rss"] <= GOAL_RSS),
            ]) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
