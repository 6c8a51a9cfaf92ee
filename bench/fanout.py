"""Fan-out benchmark: 2,000 messages to distinct channels through the dispatcher.

The messages go into a local fake platform that allows one message per second per
channel and WORKSPACE_RATE messages per second across the workspace (answering 429
with Retry-After beyond that). Prints the delivered rate divided by the allowed
rate (target >= 0.95), duplicates and losses (target 0). Uses PostgreSQL at
CIBOT_TEST_PG_URL (or 127.0.0.1:5432/test) when reachable, in a scratch schema;
SQLite otherwise.
"""

from __future__ import annotations

import asyncio
import time

from sqlalchemy.engine import Engine

from bench.common import local_database
from bot.core.delivery import Target
from bot.core.messages import Reply
from bot.runtime.dispatcher import Dispatcher, Pace
from bot.runtime.outbox import enqueue
from storage.db import session_scope
from tests.fake_platform import FakePlatform, FakeSender

MESSAGES = 2000
WORKSPACE_RATE = 200.0  # messages per second across the workspace
CHANNEL_INTERVAL = 1.0  # seconds between two messages to one channel


async def fan_out(engine: Engine, platform: FakePlatform) -> float:
    """Deliver everything; return the seconds from the dispatcher's start to the last delivery."""
    sender = FakeSender(platform.url)
    dispatcher = Dispatcher(engine, {"slack": sender},
                            paces={"slack": Pace(CHANNEL_INTERVAL, WORKSPACE_RATE)})
    started = time.monotonic()
    try:
        await dispatcher.drain()
    finally:
        await sender.close()
    return max(d.at for d in platform.deliveries) - started


def main() -> None:
    with local_database() as (name, engine):
        with session_scope(engine) as session:
            for n in range(MESSAGES):
                enqueue(session, f"announcement:{n}", Target("slack", team_id="T1", channel_id=f"C{n:05d}"),
                        Reply("Steering committee", sections=[f"Agenda posted for channel {n}"]))
        with FakePlatform(channel_interval=CHANNEL_INTERVAL, workspace_rate=WORKSPACE_RATE) as platform:
            elapsed = asyncio.run(fan_out(engine, platform))
        keys = platform.keys()
        duplicates = sum(count - 1 for count in keys.values())
        losses = MESSAGES - len(keys)
        delivered_rate = len(keys) / elapsed
        print(f"database: {name}")
        print(f"platform limits: {WORKSPACE_RATE:.0f} msg/s per workspace, "
              f"1 msg per {CHANNEL_INTERVAL:.0f} s per channel")
        print(f"delivered {len(keys)} messages to {len(keys)} channels in {elapsed:.2f} s "
              f"({delivered_rate:.1f} msg/s); 429 answers: {platform.rate_limited}")
        print(f"delivered rate / allowed rate: {delivered_rate / WORKSPACE_RATE:.3f} (target >= 0.95)")
        print(f"duplicates: {duplicates} (target 0)")
        print(f"losses: {losses} (target 0)")


if __name__ == "__main__":
    main()
