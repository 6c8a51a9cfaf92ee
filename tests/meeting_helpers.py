"""Shared steps of the meeting tests: add a series by chat, read the outbox, walk the scheduler."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.bootstrap import build_registry
from bot.core.clock import ManualClock
from bot.core.messages import Reply, reply_from_dict
from bot.meetings import jobs as meeting_jobs
from bot.runtime.scheduler import Scheduler
from storage.meetings import Cadence
from storage.outbox import OutboxMessage
from tests.chat import Chat, text_of


def add_series(chat: Chat, group: str, title: str, rule: str, extra: str = "", who: str = "maria") -> Reply:
    """Add a meeting series by chat as backbone staff and click Confirm; the confirmation reply."""
    preview = chat.as_(who).say(f'/ci meeting add {group} "{title}" {rule} {extra}')
    assert [b.label for b in preview.buttons] == ["Confirm", "Cancel"], text_of(preview)
    confirmed = chat.as_(who).click(preview.buttons[0])
    assert isinstance(confirmed, Reply) and "saved" in confirmed.title, text_of(confirmed)
    return confirmed


def outbox(engine: Engine, prefix: str = "", platform: str | None = "slack") -> list[OutboxMessage]:
    """Queued messages whose key starts with `prefix`, on one platform (every one for None), oldest first."""
    query = select(OutboxMessage).where(col(OutboxMessage.key).startswith(prefix))
    if platform is not None:
        query = query.where(OutboxMessage.platform == platform)
    with Session(engine) as session:
        return list(session.exec(query.order_by(col(OutboxMessage.id))).all())


def outbox_text(message: OutboxMessage) -> str:
    """What a reader sees of a queued message."""
    return text_of(reply_from_dict(json.loads(message.payload)))


def cadence_ids(engine: Engine) -> list[int]:
    """Ids of every cadence."""
    with Session(engine) as session:
        return [c for c in session.exec(select(Cadence.id)).all() if c is not None]


@asynccontextmanager
async def running_scheduler(engine: Engine, clock: ManualClock,
                            sweep_every: timedelta = timedelta(days=1)) -> AsyncIterator[Scheduler]:
    """A scheduler on the manual clock with the meetings reconciler, started (and so reconciled), then shut down."""
    scheduler = Scheduler(engine, clock, build_registry())
    scheduler.install(only=("meetings",), every={"meetings": sweep_every})
    await scheduler.start()
    try:
        yield scheduler
    finally:
        await scheduler.shutdown()


def walk(scheduler: Scheduler, engine: Engine, until: datetime) -> list[tuple[datetime, str]]:
    """Run cadence jobs one due time at a time up to `until`; (time the job ran, slack outbox key) pairs."""
    seen = {m.key for m in outbox(engine)}
    fired: list[tuple[datetime, str]] = []
    while True:
        runs = [r for c in cadence_ids(engine) if (r := scheduler.next_run(meeting_jobs.job_id(c))) is not None]
        sweep = scheduler.next_run("meetings:sweep")
        step = min([*runs, *([sweep] if sweep else [])], default=None)
        if step is None or step > until:
            break
        scheduler.run_due(step)
        for message in outbox(engine):
            if message.key not in seen:
                seen.add(message.key)
                fired.append((step, message.key))
    scheduler.run_due(until)
    return fired
