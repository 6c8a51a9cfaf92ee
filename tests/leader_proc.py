"""A replica for the leader test: ``python -m tests.leader_proc DB_URL PLATFORM_URL START COUNT``.

It stands for election; once leader it prints ``leader`` and runs the scheduler and
the dispatcher. The scheduler holds COUNT reminders, one every 0.1 s from START (a
UNIX time); each reminder job puts a keyed message in the outbox. Its reconciler
re-creates the reminders not yet in the outbox, as a real reconciler rebuilds jobs
from the database.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from bot.core.delivery import Target
from bot.core.messages import Reply
from bot.core.registry import Registry
from bot.runtime.dispatcher import Dispatcher, Pace
from bot.runtime.leader import lead
from bot.runtime.outbox import enqueue
from bot.runtime.scheduler import Scheduler
from storage.db import make_engine
from storage.outbox import OutboxMessage
from tests.fake_platform import FakeSender


def remind(session: Session, now: datetime, *, n: int) -> None:
    """The reminder job: one keyed message to channel C<n>."""
    enqueue(session, f"reminder:{n}", Target("slack", team_id="T1", channel_id=f"C{n}"), Reply(f"Reminder {n}"))


def reminders(start: datetime, count: int):  # type: ignore[no-untyped-def]
    """A reconciler scheduling every reminder that is not in the outbox yet."""

    def reconcile(session: Session, scheduler: Scheduler, now: datetime) -> None:
        queued = set(session.exec(select(OutboxMessage.key)).all())
        for n in range(count):
            if f"reminder:{n}" not in queued:
                scheduler.at(f"reminder-{n}", start + timedelta(seconds=0.1 * n), "test.remind", n=n)

    return reconcile


async def main(db_url: str, platform_url: str, start: float, count: int) -> None:
    engine = make_engine(db_url)
    sender = FakeSender(platform_url)

    async def on_elected() -> None:
        print("leader", flush=True)  # noqa: T201 (the test reads it)
        jobs = Registry()
        jobs.job("test.remind", remind)
        scheduler = Scheduler(engine, registry=jobs)
        scheduler.add_reconciler(reminders(datetime.fromtimestamp(start, UTC), count))
        await scheduler.start()
        try:
            await Dispatcher(engine, {"slack": sender},
                             paces={"slack": Pace(channel_interval=1.0, workspace_rate=100)}).run()
        finally:
            await scheduler.shutdown()

    await lead(engine, on_elected)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])))
