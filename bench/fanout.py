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
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import Engine, make_url  # noqa: E402

from bot.core.delivery import Target  # noqa: E402
from bot.core.messages import Reply  # noqa: E402
from bot.dispatcher import Dispatcher, Pace  # noqa: E402
from bot.outbox import enqueue  # noqa: E402
from storage.db import DatabaseError, make_engine, session_scope, upgrade  # noqa: E402
from tests.fake_platform import FakePlatform, FakeSender  # noqa: E402

MESSAGES = 2000
WORKSPACE_RATE = 200.0  # messages per second across the workspace
CHANNEL_INTERVAL = 1.0  # seconds between two messages to one channel
PG_URL = os.environ.get("CIBOT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@contextmanager
def database() -> Iterator[tuple[str, Engine]]:
    """A freshly migrated database: a scratch PostgreSQL schema, or a temporary SQLite file."""
    try:
        admin = make_engine(PG_URL)
    except DatabaseError:
        with tempfile.TemporaryDirectory() as tmp:
            engine = make_engine(f"sqlite:///{tmp}/fanout.db")
            upgrade(engine)
            yield "SQLite", engine
            engine.dispose()
        return
    schema = f"cibot_bench_{uuid.uuid4().hex[:8]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        engine = make_engine(make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"}))
        upgrade(engine)
        yield "PostgreSQL", engine
        engine.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


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
    with database() as (name, engine):
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
        print(f"platform limits: {WORKSPACE_RATE:.0f} msg/s per workspace, 1 msg per {CHANNEL_INTERVAL:.0f} s per channel")
        print(f"delivered {len(keys)} messages to {len(keys)} channels in {elapsed:.2f} s "
              f"({delivered_rate:.1f} msg/s); 429 answers: {platform.rate_limited}")
        print(f"delivered rate / allowed rate: {delivered_rate / WORKSPACE_RATE:.3f} (target >= 0.95)")
        print(f"duplicates: {duplicates} (target 0)")
        print(f"losses: {losses} (target 0)")


if __name__ == "__main__":
    main()
