"""Database outages and a locked database: commands answer plainly, the event loop keeps serving.

A core pointed at a database that refuses connections answers every command with
"cannot reach its database; nothing was changed" (no apology, nothing logged at
ERROR). The scheduler's job store is read and written off the event loop, so a
SQLite file locked for seconds while the scheduler starts never stalls the loop that
answers Slack and Discord.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import select

from bot.bootstrap import build_core
from bot.core.clock import ManualClock, SystemClock
from bot.core.context import Origin
from bot.core.core import UNREACHABLE
from bot.core.delivery import Target
from bot.core.messages import Reply
from bot.core.registry import Registry
from bot.runtime.backoff import Backoff
from bot.runtime.dispatcher import Dispatcher, Pace
from bot.runtime.outbox import enqueue
from bot.runtime.scheduler import Scheduler
from storage.db import make_engine, session_scope
from storage.outbox import OutboxMessage, OutboxStatus
from tests.chat import text_of
from tests.process_helpers import free_port

LOCKED_FOR = 4.0  # seconds the SQLite file stays locked


def test_commands_during_an_outage_say_the_database_is_unreachable_and_log_no_error(
        caplog: pytest.LogCaptureFixture) -> None:
    refused = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/cibot"  # nothing listens there
    core = build_core(create_engine(refused, pool_pre_ping=True))
    caplog.set_level(logging.INFO)
    replies = [core.command_sync(Origin("console", "maria"), "glossary add Readiness = Ready for school"),
               core.command_sync(Origin("slack", "UMARIA", "CSTEER", "T1"), "progress"),
               core.interact_sync(Origin("console", "aisha"), "decision.vote", "1:agree", {})]
    for reply in replies:
        assert text_of(reply).strip() == UNREACHABLE
        assert not isinstance(reply, dict) and getattr(reply, "ephemeral", False)
    assert UNREACHABLE == "cibot cannot reach its database right now; nothing was changed. Try again in a minute."
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == len(replies)  # one line per refused command, no traceback
    assert all(r.exc_info is None for r in warnings)
    assert core.complete_sync(Origin("discord", "1", "2", "3"), "term", "ba") == []  # autocomplete offers nothing
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def _hold_lock(path: Path, locked: threading.Event, seconds: float) -> None:
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        locked.set()
        time.sleep(seconds)
        conn.execute("COMMIT")
    finally:
        conn.close()


async def test_the_event_loop_stays_responsive_while_the_scheduler_waits_for_a_locked_database(
        sqlite_template: Path, tmp_path: Path) -> None:
    path = tmp_path / "cibot.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    ran: list[datetime] = []
    registry = Registry()
    registry.job("test.ran", lambda _session, now: ran.append(now))
    scheduler = Scheduler(engine, SystemClock(), registry)
    due = SystemClock().now() - timedelta(seconds=1)
    for n in range(3):  # stored when the scheduler starts, due at once
        scheduler.at(f"due-{n}", due, "test.ran")
    scheduler.every("soon", timedelta(seconds=1), "test.ran")  # fires (and is rescheduled) while locked

    locked = threading.Event()
    holder = threading.Thread(target=_hold_lock, args=(path, locked, LOCKED_FOR))
    holder.start()
    assert locked.wait(5)
    worst = 0.0
    stop = asyncio.Event()

    async def heartbeat() -> None:
        nonlocal worst
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            before = loop.time()
            await asyncio.sleep(0.05)
            worst = max(worst, loop.time() - before)

    beat = asyncio.create_task(heartbeat())
    await asyncio.sleep(0.1)  # the heartbeat is ticking before the scheduler starts
    started = time.monotonic()
    try:
        await scheduler.start()
        while len(ran) < 4 and time.monotonic() - started < LOCKED_FOR + 15:
            await asyncio.sleep(0.05)
        held_back = time.monotonic() - started
        assert len(ran) >= 4, "the due jobs did not run once the lock was released"
        # locked again while running: the every-second job comes due and must be rescheduled
        await asyncio.to_thread(holder.join)
        before = len(ran)
        locked.clear()
        holder = threading.Thread(target=_hold_lock, args=(path, locked, LOCKED_FOR * 0.75))
        holder.start()
        assert await asyncio.to_thread(locked.wait, 5)
        relocked = time.monotonic()
        while (holder.is_alive() or len(ran) < before + 2) and time.monotonic() - relocked < LOCKED_FOR + 15:
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await beat
        await scheduler.shutdown()
        await asyncio.to_thread(holder.join)
        engine.dispose()
    assert held_back >= LOCKED_FOR - 0.5  # the lock really held the scheduler back
    assert len(ran) >= before + 2, "the every-second job stopped after the second lock"
    assert worst < 1.0, f"the event loop stalled for {worst:.2f}s while the database was locked"


class CountingSender:
    """A platform that records every message it is sent, by outbox key."""

    platform = "slack"

    def __init__(self) -> None:
        self.sent: Counter[str] = Counter()

    async def send(self, target: Target, reply: Reply, *, key: str) -> str:
        self.sent[key] += 1
        return f"m-{key}"

    async def find(self, target: Target, key: str, *, since: datetime | None = None) -> str | None:
        return f"m-{key}" if self.sent[key] else None

    async def update(self, target: Target, message_id: str, reply: Reply) -> None:
        return None


def _gone() -> OperationalError:
    return OperationalError("UPDATE outbox ...", {}, Exception("server closed the connection unexpectedly"))


async def test_the_dispatcher_outlives_failed_claims_and_flushes_and_sends_each_message_once(
        engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    keys = [f"fan:{n}" for n in range(12)]
    with session_scope(engine) as session:
        for n, key in enumerate(keys):
            enqueue(session, key, Target("slack", team_id="T1", channel_id=f"C{n % 4}"), Reply(key))
    sender = CountingSender()
    dispatcher = Dispatcher(engine, {"slack": sender}, paces={"slack": Pace(0.0, 0.0)}, poll_interval=0.05)
    failures = {"claim": 2, "write": 3}  # the database drops twice while claiming, three times while recording
    claim, write = dispatcher._claim_due, dispatcher._write

    def flaky(kind: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            if failures[kind] and (kind == "claim" or sender.sent):  # writes fail only after something was sent
                failures[kind] -= 1
                raise _gone()
            return real(*args)
        return call

    dispatcher._claim_due = flaky("claim", claim)  # type: ignore[method-assign]
    dispatcher._write = flaky("write", write)  # type: ignore[method-assign]
    caplog.set_level(logging.INFO)
    running = asyncio.create_task(dispatcher.run())
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not running.done():
            with session_scope(engine) as session:
                statuses = {m.status for m in session.exec(select(OutboxMessage)).all()}
            if statuses == {OutboxStatus.SENT} and not any(failures.values()):
                break
            await asyncio.sleep(0.05)
        assert not running.done(), running.exception()
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    assert failures == {"claim": 0, "write": 0}
    assert sender.sent == dict.fromkeys(keys, 1)
    assert statuses == {OutboxStatus.SENT}
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    outage = [r.getMessage() for r in caplog.records if "cannot reach the database" in r.getMessage()]
    assert len(outage) <= 2, outage  # one warning per outage, not one per retry


def test_backoff_waits_longer_each_time_up_to_a_cap_and_logs_once_per_outage(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    backoff = Backoff("test loop", first=0.2, cap=10.0)
    delays = [backoff.failed(_gone()) for _ in range(10)]
    for n, delay in enumerate(delays):
        ceiling = min(10.0, 0.2 * 2 ** n)
        assert ceiling / 2 <= delay <= ceiling
    assert backoff.succeeded() and not backoff.succeeded()
    backoff.failed(_gone())
    logged = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in logged] == ["WARNING", "INFO", "WARNING"]
    assert "test loop: cannot reach the database" in logged[0][1]
    assert "reachable again after 10 failed attempts" in logged[1][1]


async def test_a_job_that_meets_an_outage_runs_again_when_the_database_is_back(
        sqlite_template: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "cibot.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    outage = {"left": 2}

    def remind(session: Any, now: datetime, *, key: str) -> None:
        if outage["left"]:
            outage["left"] -= 1
            raise _gone()
        enqueue(session, key, Target("slack", team_id="T1", channel_id="CSTEER"), Reply("Reminder"))

    registry = Registry()
    registry.job("test.remind", remind)
    clock = ManualClock(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))
    scheduler = Scheduler(engine, clock, registry)
    caplog.set_level(logging.INFO)
    await scheduler.start()
    try:
        scheduler.at("reminder", clock.now() + timedelta(minutes=5), "test.remind", key="reminder:1")
        assert await asyncio.to_thread(scheduler.run_due, clock.now() + timedelta(hours=1)) == 1
    finally:
        await scheduler.shutdown()
    with session_scope(engine) as session:
        assert [m.key for m in session.exec(select(OutboxMessage)).all()] == ["reminder:1"]
    engine.dispose()
    assert outage["left"] == 0
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
