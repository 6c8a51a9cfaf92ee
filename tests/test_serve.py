"""`cibot serve` end to end: the real process, a SQLite file and the fake Slack Web API on 127.0.0.1.

One process answers a signed slash command, delivers an outbox message from its
leader's dispatcher, serves calendar feeds, and stops cleanly on SIGTERM or SIGINT.
Misconfigured starts exit 2 with a message saying what to set.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import select

from bot.core.delivery import Target
from bot.core.messages import Reply
from bot.runtime.outbox import enqueue
from storage.db import make_engine, session_scope
from storage.models import Group
from storage.outbox import OutboxMessage, OutboxStatus
from tests.fake_slack_api import SIGNING_SECRET, FakeSlackApi, SlackSide
from tests.process_helpers import CIBOT, EXAMPLE, ROOT, cibot, env_for, free_port

TEAM = "T05RVRBND1"  # the example's Slack workspace
LENA = "U05LFISCHR6"  # lena's Slack id in the example
BACKBONE_CHANNEL = "C05BACKBONE"  # the backbone group's Slack channel in the example
STARTUP = 20.0  # seconds the process may take to answer /healthz
STOP = 8.0  # seconds it may take to exit after SIGTERM / SIGINT


@dataclass
class Served:
    """A running `cibot serve` process and how to reach it."""

    process: subprocess.Popen[str]
    url: str
    db: str
    api: FakeSlackApi

    def stop(self, sig: signal.Signals) -> tuple[int, str]:
        """Send `sig`, wait for the exit, and return the exit code and everything logged."""
        self.process.send_signal(sig)
        try:
            _, err = self.process.communicate(timeout=STOP)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _, err = self.process.communicate()
            raise AssertionError(f"cibot serve did not exit within {STOP}s of {sig.name}:\n{err}") from None
        return self.process.returncode, err


def loaded_database(directory: Path) -> str:
    """A SQLite file with the example initiative loaded, as a DATABASE_URL."""
    db = f"sqlite:///{directory / 'cibot.db'}"
    loaded = cibot("load", str(EXAMPLE), db=db)
    assert loaded.returncode == 0, loaded.stderr
    return db


def start_serving(db: str, api: FakeSlackApi, *, address_in_env: bool = False, **extra_env: str) -> Served:
    """Start `cibot serve --platform slack` and wait (bounded) until /healthz answers 200.

    The port and host are given as options, or with `address_in_env` as PORT and HOST.
    """
    port = free_port()
    address = {"PORT": str(port), "HOST": "127.0.0.1"}
    env = env_for(db, **{"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                         "SLACK_API_URL": api.api_url, **(address if address_in_env else {}), **extra_env})
    options = [] if address_in_env else ["--port", address["PORT"], "--host", address["HOST"]]
    process = subprocess.Popen([*CIBOT, "serve", "--platform", "slack", *options],
                               env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    served = Served(process, f"http://127.0.0.1:{port}", db, api)
    deadline = time.monotonic() + STARTUP
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"cibot serve exited with {process.returncode}:\n{process.communicate()[1]}")
        try:
            with urllib.request.urlopen(served.url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return served
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    process.kill()
    raise AssertionError(f"/healthz did not answer within {STARTUP}s:\n{process.communicate()[1]}")


@pytest.fixture(scope="module")
def api() -> Iterator[FakeSlackApi]:
    with FakeSlackApi() as fake:
        yield fake


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    return loaded_database(tmp_path_factory.mktemp("serve"))


@pytest.fixture(scope="module")
def served(db: str, api: FakeSlackApi) -> Iterator[Served]:
    running = start_serving(db, api)
    yield running
    if running.process.poll() is None:
        running.process.kill()
        running.process.communicate()


async def test_a_member_slash_command_is_answered_through_response_url(served: Served) -> None:
    async with aiohttp.ClientSession() as http:
        slack = SlackSide(http, served.url + "/slack/events", SIGNING_SECRET, served.api)
        before = len(served.api.of("response_url"))
        status, _ = await slack.command(LENA, "glossary BBO", team=TEAM, channel="C05FAMILIES")
        assert status == 200
        reply = await served.api.wait_for("response_url", count=before + 1, timeout=10)
    assert "backbone organization" in str(reply.params).lower()


async def test_a_forged_slash_command_is_refused(served: Served) -> None:
    async with aiohttp.ClientSession() as http:
        slack = SlackSide(http, served.url + "/slack/events", "not-the-secret", served.api)
        status, _ = await slack.command(LENA, "glossary BBO", team=TEAM)
    assert status == 401


async def test_the_leader_delivers_an_outbox_message_exactly_once(served: Served) -> None:
    engine = make_engine(served.db)
    try:
        with session_scope(engine) as session:
            queued = enqueue(session, "test-serve-hello", Target("slack", team_id=TEAM, channel_id=BACKBONE_CHANNEL),
                             Reply(title="Hello from the outbox"))
        assert queued

        def mine() -> list[dict[str, object]]:
            return [m for m in served.api.messages(BACKBONE_CHANNEL)
                    if (m.get("metadata") or {}).get("event_payload", {}).get("key") == "test-serve-hello"]

        deadline = time.monotonic() + 15
        while not mine() and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert len(mine()) == 1, "the dispatcher did not post the outbox message"
        assert "Hello from the outbox" in str(mine()[0]["text"])
        await asyncio.sleep(1.5)  # a few more dispatcher rounds: no second post
        assert len(mine()) == 1
        with engine.connect() as conn:
            status = conn.execute(select(OutboxMessage.status).where(  # type: ignore[call-overload]
                OutboxMessage.key == "test-serve-hello")).scalar_one()
        assert status == OutboxStatus.SENT
    finally:
        engine.dispose()


async def test_metrics_show_commands_sends_leadership_and_the_waiting_outbox(served: Served) -> None:
    engine = make_engine(served.db)
    try:
        with session_scope(engine) as session:  # a message for a platform this replica does not serve: it waits
            enqueue(session, "test-serve-waits", Target("discord", channel_id="981234567890200001"), Reply("later"))
    finally:
        engine.dispose()
    async with aiohttp.ClientSession() as http:
        slack = SlackSide(http, served.url + "/slack/events", SIGNING_SECRET, served.api)
        before = len(served.api.of("response_url"))
        await slack.command(LENA, "glossary BBO", team=TEAM, channel="C05FAMILIES")
        await slack.command(LENA, "no-such-command", team=TEAM, channel="C05FAMILIES")
        await served.api.wait_for("response_url", count=before + 2, timeout=10)
        deadline = time.monotonic() + 10
        while True:
            async with http.get(served.url + "/metrics") as response:
                assert response.status == 200 and response.content_type == "text/plain"
                page = await response.text()
            if 'cibot_sends_total{platform="slack",status="sent"}' in page or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
    values = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in page.splitlines()
              if line.startswith("cibot_")}
    assert values['cibot_commands_total{name="glossary",outcome="ok"}'] >= 1
    assert values['cibot_commands_total{name="unknown command",outcome="refused"}'] >= 1
    assert values["cibot_reply_seconds_count"] >= 2
    assert values['cibot_sends_total{platform="slack",status="sent"}'] >= 1
    assert values["cibot_leader"] == 1
    assert values['cibot_outbox_pending{platform="discord"}'] >= 1
    assert values['cibot_outbox_oldest_pending_seconds{platform="discord"}'] >= 0
    assert "cibot_scheduler_lag_seconds_bucket" in page


async def test_calendar_feeds_need_the_groups_secret_token(served: Served) -> None:
    """The feed carries places and video links: only its secret address opens it, and rotating closes the old one."""
    from bot.meetings.calendar import feed_token, rotate_token

    engine = make_engine(served.db)
    with session_scope(engine) as session:
        steering = session.exec(select(Group).where(Group.key == "steering")).scalars().one()
        token = feed_token(session, steering.id)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{served.url}/calendar/steering/{token}.ics") as response:
            body = await response.text()
            assert response.status == 200
            assert response.content_type == "text/calendar"
        assert "BEGIN:VCALENDAR" in body
        assert "RRULE:FREQ=MONTHLY" in body
        for path in ("/calendar/steering.ics", f"/calendar/steering/{token[:-1]}.ics", "/calendar/steering/x.ics",
                     f"/calendar/data/{token}.ics", f"/calendar/no-such-group/{token}.ics"):
            async with http.get(served.url + path) as response:
                assert response.status == 404, path
                assert "VCALENDAR" not in await response.text()
        with session_scope(engine) as session:
            fresh = rotate_token(session, steering.id, datetime.now(UTC))
        async with http.get(f"{served.url}/calendar/steering/{token}.ics") as response:
            assert response.status == 404
        async with http.get(f"{served.url}/calendar/steering/{fresh}.ics") as response:
            assert response.status == 200
    engine.dispose()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_the_process_cleanly(sig: signal.Signals, db: str, api: FakeSlackApi) -> None:
    running = start_serving(db, api)
    code, err = running.stop(sig)
    assert code == 0, err
    assert "Traceback" not in err
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(running.url + "/healthz", timeout=2)


def test_an_unknown_platform_exits_2_with_the_choices(db: str) -> None:
    out = cibot("serve", "--platform", "telegram", db=db)
    assert out.returncode == 2
    assert "telegram" in out.stderr and "slack" in out.stderr and "discord" in out.stderr


def test_slack_without_a_bot_token_exits_2_saying_where_to_find_it(db: str) -> None:
    out = cibot("serve", "--platform", "slack", "--port", str(free_port()), "--host", "127.0.0.1",
                db=db, SLACK_SIGNING_SECRET=SIGNING_SECRET)
    assert out.returncode == 2, out.stderr
    assert "SLACK_BOT_TOKEN is not set" in out.stderr
    assert "Traceback" not in out.stderr


def test_discord_without_a_token_exits_2_saying_where_to_find_it(db: str) -> None:
    out = cibot("serve", "--platform", "discord", "--port", str(free_port()), "--host", "127.0.0.1",
                db=db)
    assert out.returncode == 2, out.stderr
    assert "DISCORD_TOKEN is not set" in out.stderr
    assert "Traceback" not in out.stderr


def test_a_taken_port_exits_2_saying_so(db: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        out = cibot("serve", "--platform", "slack", "--port", port, "--host", "127.0.0.1",
                    db=db, SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET=SIGNING_SECRET)
    assert out.returncode == 2, out.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in out.stderr
    assert "Traceback" not in out.stderr
