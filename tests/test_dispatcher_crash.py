"""Kill -9 the dispatcher in the middle of sending, restart it: every message arrives exactly once."""

from __future__ import annotations

import json
import signal
import subprocess
import time

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.core.delivery import Target
from bot.core.messages import Reply
from bot.runtime.outbox import enqueue
from storage.db import session_scope
from storage.outbox import OutboxMessage, OutboxStatus
from tests.fake_platform import FakePlatform
from tests.process_helpers import start_module

MESSAGES = 200


def dispatcher(db_url: str, platform_url: str, *extra: str) -> subprocess.Popen[str]:
    return start_module("tests.dispatcher_proc", db_url, platform_url, *extra)


def statuses(engine: Engine) -> dict[str, int]:
    with session_scope(engine) as session:
        rows = session.exec(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()
    return {str(status): count for status, count in rows}


def wait_for(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_kill_9_mid_send_loses_nothing_and_sends_nothing_twice(engine: Engine, db_url: str) -> None:
    with session_scope(engine) as session:
        for n in range(MESSAGES):
            enqueue(session, f"reminder:{n}", Target("slack", team_id="T1", channel_id=f"C{n}"),
                    Reply(f"Reminder {n}"))
    # Each answer comes 50 ms after the message is recorded: a kill leaves some delivered but unacknowledged.
    with FakePlatform(channel_interval=1.0, workspace_rate=100, delay=0.05) as platform:
        first = dispatcher(db_url, platform.url)
        wait_for(lambda: len(platform.deliveries) >= 60, 20, "the first deliveries")
        first.send_signal(signal.SIGKILL)
        first.wait(5)
        assert first.returncode == -signal.SIGKILL
        delivered_before_restart = len(platform.deliveries)
        assert delivered_before_restart < MESSAGES
        assert statuses(engine).get(OutboxStatus.SENDING, 0) >= 1  # the kill left messages in doubt

        second = dispatcher(db_url, platform.url, "--drain")
        out, _ = second.communicate(timeout=30)
        counts = json.loads(out.strip().splitlines()[-1])

    keys = platform.keys()
    assert set(keys) == {f"reminder:{n}" for n in range(MESSAGES)}
    assert max(keys.values()) == 1, [k for k, n in keys.items() if n > 1]
    assert statuses(engine) == {OutboxStatus.SENT: MESSAGES}
    assert counts.get("found", 0) >= 1  # delivered before the kill, recognised by key, not resent
    assert counts["sent"] == MESSAGES - delivered_before_restart
