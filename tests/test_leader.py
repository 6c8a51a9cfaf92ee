"""Leader election: one replica runs the scheduler and dispatcher; another takes over when it dies."""

from __future__ import annotations

import asyncio
import selectors
import signal
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot.runtime.leader import lead
from tests.fake_platform import FakePlatform
from tests.process_helpers import start_module

REMINDERS = 40


def replica(db_url: str, platform_url: str, start: float) -> subprocess.Popen[str]:
    return start_module("tests.leader_proc", db_url, platform_url, str(start), str(REMINDERS))


def elected(process: subprocess.Popen[str], timeout: float) -> bool:
    """Whether `process` says it became leader within `timeout` seconds."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            return False
    return process.stdout.readline().strip() == "leader"


async def test_on_sqlite_the_only_process_is_always_leader(tmp_path: Path) -> None:
    from storage.db import make_engine

    ran = []

    async def work() -> None:
        ran.append(True)

    await lead(make_engine(f"sqlite:///{tmp_path / 'one.db'}"), work)
    assert ran == [True]


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_a_standby_waits_and_takes_over_when_the_leader_stops(engine: Engine) -> None:
    events: list[str] = []

    def replica_work(name: str):  # type: ignore[no-untyped-def]
        async def work() -> None:
            events.append(f"{name} elected")
            await asyncio.Event().wait()

        return work

    first = asyncio.create_task(lead(engine, replica_work("first")))
    await asyncio.sleep(0.5)
    second = asyncio.create_task(lead(engine, replica_work("second"), retry_interval=0.2))
    await asyncio.sleep(1.0)
    assert events == ["first elected"]
    first.cancel()
    await asyncio.gather(first, return_exceptions=True)
    for _ in range(30):
        await asyncio.sleep(0.1)
        if len(events) == 2:
            break
    second.cancel()
    await asyncio.gather(second, return_exceptions=True)
    assert events == ["first elected", "second elected"]


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_kill_9_the_leader_and_the_standby_takes_over_without_duplicate_reminders(db_url: str) -> None:
    with FakePlatform(channel_interval=1.0, workspace_rate=100, delay=0.05) as platform:
        start = time.time() + 2.5
        leader = replica(db_url, platform.url, start)
        standby = None
        try:
            assert elected(leader, 10), "the first replica never became leader"
            standby = replica(db_url, platform.url, start)
            assert not elected(standby, 1.5), "two leaders at once"
            while len(platform.deliveries) < REMINDERS // 3:
                assert time.time() < start + 15, "the leader sent no reminders"
                time.sleep(0.01)
            leader.send_signal(signal.SIGKILL)
            killed_at = time.monotonic()
            assert elected(standby, 5), "the standby did not take over"
            takeover = time.monotonic() - killed_at
            deadline = time.monotonic() + 15
            while len(platform.keys()) < REMINDERS and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.5)  # anything sent twice would arrive by now
        finally:
            for process in (leader, standby):
                if process is not None and process.poll() is None:
                    process.send_signal(signal.SIGKILL)
                    process.wait(5)
    keys = platform.keys()
    assert set(keys) == {f"reminder:{n}" for n in range(REMINDERS)}
    assert max(keys.values()) == 1, [k for k, n in keys.items() if n > 1]
    assert takeover < 3.0


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_a_leader_that_loses_its_lock_connection_stops_its_work_and_stands_again(engine: Engine) -> None:
    from sqlalchemy import text

    from bot.runtime.leader import LOCK_CLASS

    events: list[str] = []

    async def work() -> None:
        events.append("elected")
        try:
            await asyncio.Event().wait()
        finally:
            events.append("stopped")

    task = asyncio.create_task(lead(engine, work, retry_interval=0.2))
    await asyncio.sleep(0.5)
    with engine.begin() as conn:
        terminated = conn.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND classid = :c "
            "AND objid = hashtext(current_schema())::oid"), {"c": LOCK_CLASS}).scalars().all()
    assert terminated == [True]
    for _ in range(30):
        await asyncio.sleep(0.1)
        if events.count("elected") == 2:
            break
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert events == ["elected", "stopped", "elected", "stopped"]
