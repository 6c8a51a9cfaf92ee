"""Benchmark: how fast a vote click goes through the core, and how long closing a 500-vote decision takes.

    .venv/bin/python -m bench.votes                      # a temporary SQLite file
    .venv/bin/python -m bench.votes --db postgresql+psycopg://postgres@127.0.0.1:5432/test

On PostgreSQL the benchmark works in a schema of its own and drops it afterwards.
Prints p50/p99 of a click (target: p99 under 50 ms) and the close-and-tally time
(target: under 1 s), each with PASS or FAIL; exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bench.common import percentile, scratch_database, verdict
from bot.bootstrap import build_core
from bot.core.clock import ManualClock
from bot.core.context import Origin
from bot.core.core import Core
from bot.decisions.jobs import close_vote
from storage.db import session_scope
from storage.decisions import Decision
from storage.models import (
    Group,
    GroupKind,
    Initiative,
    Member,
    Membership,
    Platform,
    PlatformIdentity,
    Role,
)

CLICK_TARGET_MS = 50.0
CLOSE_TARGET_S = 1.0
START = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def populate(engine: Engine, voters: int) -> None:
    """An initiative with one backbone proposer and a steering committee of `voters` members."""
    with session_scope(engine) as s:
        initiative = Initiative(slug="bench", name="Bench", timezone="UTC")
        s.add(initiative)
        s.flush()
        backbone = Group(initiative_id=initiative.id, key="backbone", name="Backbone", kind=GroupKind.BACKBONE)  # type: ignore[arg-type]
        steering = Group(initiative_id=initiative.id, key="steering", name="Steering", kind=GroupKind.STEERING)  # type: ignore[arg-type]
        s.add_all([backbone, steering])
        s.flush()
        keys = ["staff"] + [f"v{i}" for i in range(voters)]
        s.execute(insert(Member), [{"initiative_id": initiative.id, "key": k, "name": k,
                                    "organization": f"Org {i % 50}",
                                    "sector": "", "timezone": "", "email": "", "active": True}
                                   for i, k in enumerate(keys)])
        ids = dict(s.exec(select(Member.key, Member.id)).all())
        s.execute(insert(PlatformIdentity), [{"initiative_id": initiative.id, "member_id": ids[k],
                                              "platform": Platform.CONSOLE, "platform_user_id": k} for k in keys])
        s.execute(insert(Membership), [{"member_id": ids["staff"], "group_id": backbone.id, "role": Role.STAFF}]
                  + [{"member_id": ids[k], "group_id": steering.id, "role": Role.MEMBER} for k in keys[1:]])


async def clicks(core: Core, decision_id: str, voters: int) -> list[float]:
    """Every voter clicks once (sequentially); the milliseconds each click took through the core."""
    timings = []
    choices = ("agree", "disagree", "abstain")
    for i in range(voters):
        started = time.perf_counter()
        await core.interact(Origin("console", f"v{i}"), "decision.vote", f"{decision_id}:{choices[i % 3]}")
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="a PostgreSQL URL (default: a temporary SQLite file)")
    parser.add_argument("--votes", type=int, default=500)
    options = parser.parse_args()
    with scratch_database(options.db) as engine:
        populate(engine, options.votes)
        clock = ManualClock(START)
        core = build_core(engine, clock)
        opened = core.command_sync(Origin("console", "staff"), 'propose "Bench budget" --closes 3d --quorum 50%')
        decision_id = opened.title.split("#")[1].split(":")[0]
        timings = asyncio.run(clicks(core, decision_id, options.votes))
        p50, p99 = percentile(timings, 50), percentile(timings, 99)
        started = time.perf_counter()
        with session_scope(engine) as s:
            close_vote(s, START + timedelta(days=3), int(decision_id))
        closing = time.perf_counter() - started
        with session_scope(engine) as s:
            status = s.exec(select(Decision.status).where(col(Decision.id) == int(decision_id))).one()
    backend = "PostgreSQL" if options.db else "SQLite"
    print(f"vote click through the core ({backend}, {options.votes} clicks): "
          f"p50 {p50:.1f} ms, p99 {p99:.1f} ms (target p99 < {CLICK_TARGET_MS:.0f} ms) "
          f"{verdict(p99 < CLICK_TARGET_MS)}")
    print(f"close and tally {options.votes} votes: {closing * 1000:.0f} ms, result {status} "
          f"(target < {CLOSE_TARGET_S:.0f} s) {verdict(closing < CLOSE_TARGET_S)}")
    return 0 if p99 < CLICK_TARGET_MS and closing < CLOSE_TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
