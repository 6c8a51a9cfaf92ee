"""Two `cibot serve` replicas on one PostgreSQL database, behind a round-robin proxy on 127.0.0.1.

What an operator running several replicas relies on: Slack's requests are answered by
whichever replica the load balancer picks; only the elected leader delivers the outbox,
so a message goes out once however many replicas run; and when the leader is killed the
other replica takes over delivery while the balancer keeps serving through it.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterator

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import select

from bot.core.delivery import Target
from bot.core.messages import Reply
from bot.runtime.outbox import enqueue
from storage.db import make_engine, session_scope
from storage.outbox import OutboxMessage, OutboxStatus
from tests.db_helpers import PG_URL, require_postgres, scratch_schema
from tests.fake_slack_api import SIGNING_SECRET, FakeSlackApi, SlackSide
from tests.process_helpers import EXAMPLE, cibot
from tests.test_serve import BACKBONE_CHANNEL, LENA, TEAM, Served, start_serving

HOP_BY_HOP = {"host", "content-length", "connection", "keep-alive", "transfer-encoding", "upgrade"}
TAKEOVER = 10.0  # seconds the survivor may take to deliver after the leader is killed


class RoundRobin:
    """A load balancer in a few lines: each request goes to the next backend; a refused one is tried on the other.

    `served[i]` counts the requests backend i answered, `refused[i]` the attempts that could not reach it.
    """

    def __init__(self, backends: list[str]) -> None:
        self.backends = backends
        self.served: Counter[int] = Counter()
        self.refused: Counter[int] = Counter()
        self._turn = 0
        self._http: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def __aenter__(self) -> RoundRobin:
        # a new connection per request, as a health-checking balancer would open to a dead backend: refused at once
        self._http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True),
                                           timeout=aiohttp.ClientTimeout(total=5))
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self.forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *_exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._http is not None:
            await self._http.close()

    async def forward(self, request: web.Request) -> web.Response:
        assert self._http is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        first, self._turn = self._turn, self._turn + 1
        for attempt in range(len(self.backends)):
            backend = (first + attempt) % len(self.backends)
            try:
                async with self._http.request(request.method, self.backends[backend] + request.path_qs,
                                              headers=headers, data=body, allow_redirects=False) as answer:
                    content = await answer.read()
                    kept = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP}
            except aiohttp.ClientConnectionError:
                self.refused[backend] += 1
                continue
            self.served[backend] += 1
            return web.Response(status=answer.status, body=content, headers={**kept, "X-Backend": str(backend)})
        return web.Response(status=502, text="no backend answered")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL schema of this test's own (its own leader lock), the example initiative loaded."""
    require_postgres("two replicas share their leader lock through it")
    with scratch_schema(PG_URL, f"cibot_replicas_{os.getpid()}") as url:
        loaded = cibot("load", str(EXAMPLE), db=url)
        assert loaded.returncode == 0, loaded.stderr
        yield url


@pytest.fixture
def api() -> Iterator[FakeSlackApi]:
    with FakeSlackApi() as fake:
        yield fake


async def metrics(http: aiohttp.ClientSession, replica: Served) -> dict[str, float]:
    """The replica's own /metrics (asked directly, not through the proxy), as {series: value}."""
    async with http.get(replica.url + "/metrics", timeout=aiohttp.ClientTimeout(total=5)) as response:
        assert response.status == 200
        page = await response.text()
    return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in page.splitlines()
            if line.startswith("cibot_")}


def channel_of(key: str) -> str:
    """Each scheduled message goes to a channel of its own, so the dispatcher's per-channel pace does not queue them."""
    return f"{BACKBONE_CHANNEL}{key.upper().replace('-', '')}"


def delivered(api: FakeSlackApi, key: str) -> list[dict[str, object]]:
    """The messages Slack holds in the channel of outbox key `key` carrying that key."""
    return [m for m in api.messages(channel_of(key))
            if (m.get("metadata") or {}).get("event_payload", {}).get("key") == key]


async def until(check: Callable[[], object], timeout: float, what: str) -> None:
    """Wait (bounded) until `check()` is true."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what} within {timeout}s"
        await asyncio.sleep(0.05)


async def commands(slack: SlackSide, api: FakeSlackApi, n: int) -> None:
    """Send `n` signed `/ci glossary BBO` commands and check each is answered once through its response_url."""
    before = len(api.of("response_url"))
    for _ in range(n):
        status, _ = await slack.command(LENA, "glossary BBO", team=TEAM, channel="C05FAMILIES")
        assert status == 200
    await api.wait_for("response_url", count=before + n, timeout=10)
    answers = api.of("response_url")[before:]
    assert len(answers) == n and len({a.path for a in answers}) == n, [a.path for a in answers]
    assert all("backbone organization" in str(a.params).lower() for a in answers)


def enqueue_keys(db: str, *keys: str) -> None:
    engine = make_engine(db)
    try:
        with session_scope(engine) as session:
            for key in keys:
                assert enqueue(session, key, Target("slack", team_id=TEAM, channel_id=channel_of(key)),
                               Reply(title=f"Scheduled {key}"))
    finally:
        engine.dispose()


def statuses(db: str) -> dict[str, OutboxStatus]:
    engine = make_engine(db)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(OutboxMessage.key, OutboxMessage.status).where(  # type: ignore[call-overload]
                OutboxMessage.key.like("replicas-%"))).all()  # type: ignore[attr-defined]
        return {key: OutboxStatus(status) for key, status in rows}
    finally:
        engine.dispose()


async def test_two_replicas_share_requests_deliver_once_and_survive_the_leaders_death(
        pg_url: str, api: FakeSlackApi) -> None:
    started = await asyncio.gather(asyncio.to_thread(start_serving, pg_url, api),
                                   asyncio.to_thread(start_serving, pg_url, api), return_exceptions=True)
    replicas = [r for r in started if isinstance(r, Served)]
    if len(replicas) < 2:  # one failed to start: stop the other, then say why
        for replica in replicas:
            replica.process.kill()
            replica.process.communicate(timeout=5)
        raise next(r for r in started if isinstance(r, BaseException))
    logs: dict[int, str] = {}
    try:
        async with RoundRobin([r.url for r in replicas]) as proxy, aiohttp.ClientSession() as http:
            slack = SlackSide(http, proxy.url + "/slack/events", SIGNING_SECRET, api)

            # 1. Slack's requests spread over both replicas, and every one is answered
            await commands(slack, api, 6)
            assert proxy.served == {0: 3, 1: 3}, proxy.served
            ok = 'cibot_commands_total{name="glossary",outcome="ok"}'
            handled = [(await metrics(http, r)).get(ok, 0.0) for r in replicas]
            assert handled == [3.0, 3.0], f"each replica should have handled 3 commands itself: {handled}"

            # 2. one leader; each scheduled message is delivered exactly once
            keys = [f"replicas-{n}" for n in range(3)]
            enqueue_keys(pg_url, *keys)
            await until(lambda: all(delivered(api, k) for k in keys), 15, "the outbox messages were not delivered")
            await asyncio.sleep(1.5)  # a few more dispatcher rounds on both replicas: no second post
            assert {k: len(delivered(api, k)) for k in keys} == dict.fromkeys(keys, 1)
            seen = [await metrics(http, r) for r in replicas]
            leaders = [i for i, m in enumerate(seen) if m["cibot_leader"] == 1]
            assert len(leaders) == 1, f"exactly one replica should lead: {[m['cibot_leader'] for m in seen]}"
            leader = leaders[0]
            survivor = 1 - leader
            sent = 'cibot_sends_total{platform="slack",status="sent"}'
            assert seen[leader].get(sent, 0) >= len(keys) and seen[survivor].get(sent, 0) == 0, \
                "the standby sent messages"

            # 3. kill -9 the leader: the survivor takes over delivery, the proxy serves through it
            replicas[leader].process.send_signal(signal.SIGKILL)
            killed_at = time.monotonic()
            logs[leader] = replicas[leader].process.communicate(timeout=5)[1]
            enqueue_keys(pg_url, "replicas-after")
            await until(lambda: delivered(api, "replicas-after"), TAKEOVER,
                        "the survivor did not deliver after the leader was killed")
            takeover = time.monotonic() - killed_at
            served_before = proxy.served.copy()
            await commands(slack, api, 4)
            await asyncio.sleep(1.5)
            assert len(delivered(api, "replicas-after")) == 1
            assert {k: len(delivered(api, k)) for k in keys} == dict.fromkeys(keys, 1)
            assert proxy.served[leader] == served_before[leader] and proxy.refused[leader] >= 2, \
                (proxy.served, proxy.refused)
            assert proxy.served[survivor] == served_before[survivor] + 4
            assert (await metrics(http, replicas[survivor]))["cibot_leader"] == 1
        assert statuses(pg_url) == dict.fromkeys([*keys, "replicas-after"], OutboxStatus.SENT)
        code, logs[survivor] = replicas[survivor].stop(signal.SIGTERM)
        assert code == 0, logs[survivor]
    finally:
        for replica in replicas:
            if replica.process.poll() is None:
                replica.process.kill()
                replica.process.communicate(timeout=5)
    assert "elected leader" in logs[leader], logs[leader]
    assert logs[survivor].count("elected leader") == 1, logs[survivor]
    assert "Traceback" not in logs[survivor], logs[survivor]
    assert takeover < TAKEOVER
