"""The scheduler: jobs persist in the database, time is driven in tests, and errors never stop it."""

from __future__ import annotations

import asyncio
import logging
import pickle
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from sqlalchemy import select as select_rows
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.bootstrap import build_registry
from bot.core.clock import ManualClock, SystemClock
from bot.core.delivery import Target
from bot.core.messages import Reply
from bot.core.registry import Registry
from bot.runtime.outbox import enqueue
from bot.runtime.scheduler import SWEEP_JOB, Scheduler, scheduler_of
from storage.db import alembic_config, session_scope, upgrade
from storage.jobs import scheduled_jobs
from storage.outbox import OutboxMessage
from tests.chat import Chat
from tests.factories import seed
from tests.meeting_helpers import add_series

TARGET = Target("slack", team_id="T1", channel_id="CSTEER")


def note(session: Session, now: datetime, *, key: str) -> None:
    """A job: leave a message in the outbox saying when it ran."""
    enqueue(session, f"{key}:{now.isoformat()}", TARGET, Reply(now.isoformat()))


def broken(session: Session, now: datetime, *, key: str) -> None:
    """A job that writes, then fails: its write must not survive."""
    note(session, now, key=key)
    raise RuntimeError("the job broke")


def chain(session: Session, now: datetime, *, key: str, left: int) -> None:
    """A job that schedules its own follow-up an hour later."""
    note(session, now, key=key)
    if left:
        scheduler_of(session).at(f"chain-{left}", now + timedelta(hours=1), "test.chain",
                                 key=key, left=left - 1)


def reconcile_two(session: Session, scheduler: Scheduler, now: datetime) -> None:
    """A reconciler: one job per 'meeting' the database knows (here: two, tomorrow)."""
    for n in (1, 2):
        scheduler.at(f"meeting-{n}", now + timedelta(days=1, hours=n), "test.note", key=f"m{n}")


JOBS = Registry()
for _job in (note, broken, chain):
    JOBS.job(f"test.{_job.__name__}", _job)


def notes(engine: Engine) -> list[str]:
    with session_scope(engine) as session:
        return [m.key for m in session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()]


async def test_jobs_survive_a_restart_and_run_at_their_time(engine: Engine, clock: ManualClock) -> None:
    when = clock.now() + timedelta(days=2)
    first = Scheduler(engine, clock, JOBS)
    await first.start()
    first.at("reminder-42", when, "test.note", key="reminder-42")
    await first.shutdown()

    second = Scheduler(engine, clock, JOBS)
    await second.start()
    assert second.next_run("reminder-42") == when
    assert second.run_due(when - timedelta(seconds=1)) == 0
    assert notes(engine) == []
    assert second.run_due(when + timedelta(days=1)) == 1
    assert notes(engine) == [f"reminder-42:{when.isoformat()}"]
    assert second.job_ids() == []
    await second.shutdown()


async def test_run_due_walks_the_clock_through_recurring_jobs_across_daylight_saving(
        engine: Engine, clock: ManualClock) -> None:
    scheduler = Scheduler(engine, clock, JOBS)
    await scheduler.start()
    weekly = CronTrigger(day_of_week="tue", hour=10, timezone="America/Chicago")
    scheduler.add("steering-weekly", weekly, "test.note", key="weekly")
    scheduler.at("once", clock.now() + timedelta(days=3, minutes=1), "test.note", key="once")
    end = datetime(2026, 3, 25, tzinfo=UTC)
    assert scheduler.run_due(end) == 5
    assert clock.now() == end
    # 10:00 in Chicago is 16:00 UTC before 8 March (CST) and 15:00 UTC after (CDT).
    assert notes(engine) == [
        "weekly:2026-03-03T16:00:00+00:00",
        "once:2026-03-05T15:01:00+00:00",
        "weekly:2026-03-10T15:00:00+00:00",
        "weekly:2026-03-17T15:00:00+00:00",
        "weekly:2026-03-24T15:00:00+00:00",
    ]
    assert scheduler.next_run("steering-weekly") == datetime(2026, 3, 31, 15, tzinfo=UTC)
    await scheduler.shutdown()


async def test_a_failing_job_is_logged_rolled_back_and_the_others_still_run(
        engine: Engine, clock: ManualClock, caplog: pytest.LogCaptureFixture) -> None:
    scheduler = Scheduler(engine, clock, JOBS)
    await scheduler.start()
    scheduler.at("bad-job", clock.now() + timedelta(minutes=1), "test.broken", key="bad")
    scheduler.at("good-job", clock.now() + timedelta(minutes=2), "test.note", key="good")
    with caplog.at_level(logging.ERROR):
        assert scheduler.run_due(clock.now() + timedelta(hours=1)) == 2
    assert [k.split(":")[0] for k in notes(engine)] == ["good"]
    assert "bad-job" in caplog.text and "the job broke" in caplog.text
    await scheduler.shutdown()


async def test_jobs_can_schedule_follow_ups(engine: Engine, clock: ManualClock) -> None:
    scheduler = Scheduler(engine, clock, JOBS)
    await scheduler.start()
    scheduler.at("chain-start", clock.now() + timedelta(hours=1), "test.chain", key="c", left=2)
    assert scheduler.run_due(clock.now() + timedelta(days=1)) == 3
    assert len(notes(engine)) == 3
    await scheduler.shutdown()


async def test_reconcilers_rebuild_jobs_on_start(engine: Engine, clock: ManualClock) -> None:
    scheduler = Scheduler(engine, clock, JOBS)
    scheduler.add_reconciler(reconcile_two)
    await scheduler.start()
    assert scheduler.job_ids() == ["meeting-1", "meeting-2"]
    scheduler.cancel("meeting-1")
    scheduler.reconcile_now()
    assert scheduler.job_ids() == ["meeting-1", "meeting-2"]
    await scheduler.shutdown()


async def test_an_unknown_job_name_is_refused_when_scheduled(engine: Engine, clock: ManualClock) -> None:
    scheduler = Scheduler(engine, clock, JOBS)
    await scheduler.start()
    with pytest.raises((ImportError, LookupError, ValueError)):
        scheduler.at("typo", clock.now(), "test.no_such_job")
    await scheduler.shutdown()


async def test_in_real_time_jobs_fire_on_their_own_and_a_failure_does_not_stop_the_next(
        engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    scheduler = Scheduler(engine, SystemClock(), JOBS)
    await scheduler.start()
    soon = datetime.now(UTC)
    scheduler.at("bad-soon", soon + timedelta(seconds=0.2), "test.broken", key="bad")
    scheduler.at("good-soon", soon + timedelta(seconds=0.4), "test.note", key="good")
    with caplog.at_level(logging.ERROR):
        for _ in range(50):
            await asyncio.sleep(0.1)
            if notes(engine):
                break
    await scheduler.shutdown()
    assert [k.split(":")[0] for k in notes(engine)] == ["good"]
    assert "bad-soon" in caplog.text


async def test_after_downtime_a_job_runs_late_within_its_grace_but_not_beyond(engine: Engine) -> None:
    scheduler = Scheduler(engine, SystemClock(), JOBS)
    now = datetime.now(UTC)
    scheduler.at("recent", now - timedelta(minutes=4), "test.note", key="recent",
                 grace=timedelta(minutes=5))
    scheduler.at("stale", now - timedelta(minutes=6), "test.note", key="stale",
                 grace=timedelta(minutes=5))
    await scheduler.start()
    for _ in range(30):
        await asyncio.sleep(0.1)
        if notes(engine):
            break
    await asyncio.sleep(0.3)
    await scheduler.shutdown()
    assert [k.split(":")[0] for k in notes(engine)] == ["recent"]
    assert scheduler.job_ids() == []


async def test_jobs_stored_by_module_path_before_the_reshape_are_rebuilt_by_name(
        engine: Engine, clock: ManualClock, chat: Chat) -> None:
    """A database written by a bot that stored jobs as module paths starts cleanly after `cibot db upgrade`."""
    seed(engine)
    add_series(chat, "steering", "Steering", "monthly on 2nd tue at 10:00")
    command.downgrade(alembic_config(engine), "0006")
    old = {"version": 1, "id": "cadence:1", "func": "bot.scheduler:run_job", "trigger": DateTrigger(clock.now()),
           "executor": "default", "args": ("cadence:1", "bot.meeting_jobs:fire"), "kwargs": {"cadence_id": 1},
           "name": "bot.meeting_jobs:fire", "misfire_grace_time": 1800, "coalesce": True, "max_instances": 1,
           "next_run_time": clock.now()}
    with engine.begin() as conn:
        conn.execute(scheduled_jobs.insert().values(id="cadence:1", next_run_time=clock.now().timestamp(),
                                                    job_state=pickle.dumps(old)))
    upgrade(engine)
    registry = build_registry()
    scheduler = Scheduler(engine, clock, registry)
    scheduler.install(every={name: timedelta(days=1) for name in ("meetings", "decisions", "measures")})
    await scheduler.start()
    try:
        with engine.connect() as conn:
            states = [pickle.loads(row) for row in conn.execute(select_rows(scheduled_jobs.c.job_state)).scalars()]
        assert states and all(state["func"] == "bot.runtime.scheduler:run_job" for state in states)
        names = {state["args"][1] for state in states}
        assert names <= set(registry.jobs) | {SWEEP_JOB}
        assert not any(":" in name for name in names)  # names, never module paths
        assert scheduler.next_run("meetings:sweep") is not None
        clock.advance(timedelta(days=9))
        scheduler.run_due(clock.now())
    finally:
        await scheduler.shutdown()
    assert any(key.startswith("meeting.") for key in notes(engine))  # the series' reminders went out
