"""A PostgreSQL outage in the middle of delivery: `cibot serve` stays up and every message arrives once.

A private cluster (tests/pg_cluster.py) backs a real `cibot serve` talking to the fake
Slack Web API. While the leader fans out a batch of outbox messages the server is
stopped (`pg_ctl stop -m fast`) for 5 seconds and started again: the process keeps
running, `/healthz` stays 200, `/readyz` answers 503 during the outage and 200 again
after it, and every message reaches Slack exactly once.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.core.delivery import Target
from bot.core.messages import Reply
from bot.runtime.outbox import enqueue
from storage.db import make_engine, session_scope
from storage.outbox import OutboxMessage, OutboxStatus
from tests.fake_slack_api import SIGNING_SECRET, FakeSlackApi
from tests.pg_cluster import PgCluster, require_server_binaries
from tests.process_helpers import CIBOT, EXAMPLE, ROOT, cibot, env_for, free_port

TEAM = "T05RVRBND1"  # the example's Slack workspace
CHANNELS = [f"C0FANOUT{n}" for n in range(6)]
PER_CHANNEL = 5
OUTAGE = 5.0  # seconds the database is down


@pytest.fixture
def cluster() -> Iterator[PgCluster]:
    with PgCluster.create(require_server_binaries()) as pg:
        yield pg


class Probe(threading.Thread):
    """Polls /healthz and /readyz every 0.2 s and records (label, status) for each."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.seen: dict[str, list[tuple[float, int]]] = {"/healthz": [], "/readyz": []}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            for path, statuses in self.seen.items():
                statuses.append((time.monotonic(), self._status(path)))
            self.done.wait(0.2)

    def _status(self, path: str) -> int:
        try:
            with urllib.request.urlopen(self.url + path, timeout=5) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return exc.code
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return 0  # no answer at all


def serve(db: str, api: FakeSlackApi, log: Path) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    env = env_for(db, SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=api.api_url)
    with log.open("w") as err:
        process = subprocess.Popen([*CIBOT, "serve", "--platform", "slack", "--port", str(port),
                                    "--host", "127.0.0.1"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                   stderr=err, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert process.poll() is None, f"cibot serve exited with {process.returncode}:\n{log.read_text()}"
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=2) as response:
                if response.status == 200:
                    return process, url
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    process.kill()
    raise AssertionError(f"/readyz did not answer 200 within 20s:\n{log.read_text()}")


def delivered(api: FakeSlackApi) -> Counter[str]:
    """How many times each outbox key reached the fake Slack."""
    return Counter((m.get("metadata") or {}).get("event_payload", {}).get("key", "")
                   for channel in CHANNELS for m in api.messages(channel))


def test_serve_outlives_a_database_outage_and_delivers_every_message_exactly_once(
        cluster: PgCluster, tmp_path: Path) -> None:
    loaded = cibot("load", str(EXAMPLE), db=cluster.url)
    assert loaded.returncode == 0, loaded.stderr
    log = tmp_path / "serve.log"
    with FakeSlackApi() as api:
        process, url = serve(cluster.url, api, log)
        probe = Probe(url)
        try:
            engine = make_engine(cluster.url)
            keys = [f"outage:{channel}:{n}" for n in range(PER_CHANNEL) for channel in CHANNELS]
            with session_scope(engine) as session:
                for key in keys:
                    channel = key.split(":")[1]
                    assert enqueue(session, key, Target("slack", team_id=TEAM, channel_id=channel), Reply(title=key))
            engine.dispose()
            probe.start()
            deadline = time.monotonic() + 10
            while sum(delivered(api).values()) < 6 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert 0 < sum(delivered(api).values()) < len(keys), "the outage must fall in the middle of delivery"

            cluster.stop()
            time.sleep(OUTAGE)
            assert process.poll() is None, f"cibot serve exited during the outage:\n{log.read_text()}"
            cluster.start()

            deadline = time.monotonic() + 25
            while set(delivered(api)) < set(keys) and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(1.5)  # a few more dispatcher rounds: nothing is sent twice
            assert process.poll() is None, f"cibot serve exited after the outage:\n{log.read_text()}"
            ready_again = time.monotonic()
            while probe.seen["/readyz"][-1][1] != 200 and time.monotonic() < ready_again + 5:
                time.sleep(0.1)
        finally:
            probe.done.set()
            if probe.is_alive():
                probe.join(10)
            process.send_signal(signal.SIGTERM)
            try:
                code = process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                code = process.wait()
        output = log.read_text()
        counts = delivered(api)
    assert {key: counts[key] for key in keys} == dict.fromkeys(keys, 1), output
    assert set(counts) == set(keys)
    ready = [status for _, status in probe.seen["/readyz"]]
    assert ready[0] == 200 and 503 in ready and ready[-1] == 200, ready
    assert {status for _, status in probe.seen["/healthz"]} == {200}
    assert code == 0, output
    assert "Traceback" not in output, output
    engine = make_engine(cluster.url)
    with engine.connect() as conn:
        statuses = conn.execute(select(OutboxMessage.status).where(  # type: ignore[call-overload]
            OutboxMessage.key.startswith("outage:"))).scalars().all()
    engine.dispose()
    assert statuses == [OutboxStatus.SENT] * len(keys)
