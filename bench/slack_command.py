"""Benchmark: `/ci glossary TERM` answered at response_url by `cibot serve` and by a bare Bolt app.

For SQLite and for PostgreSQL (when it answers), seeds the tests' sample initiative with
10,000 glossary terms, then starts two processes: `cibot serve --platform slack` on that
database, and `bench.bare_bolt` (a Bolt app that acknowledges, then calls respond(),
with the same database driver imported). Both talk to one local fake Slack Web API in
this process, which notes when each answer arrives at its response_url.

Times, per request, from sending the signed slash command to its answer arriving at
response_url: 300 requests a side one at a time, interleaved (cibot, bare, cibot, ...),
then 20 at once per side, 15 rounds, interleaved. Also the time from starting each
process to its port accepting connections, and each one's RSS once idle.

    .venv/bin/python -m bench.slack_command [--requests 300] [--terms 10000]

Goals: answer p50 <= 1.5x and p99 <= 2x the bare app's; 20 at once p50 <= 2x; cibot
starts in <= 1 s; idle RSS <= 1.3x the bare app's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from slack_sdk.signature import SignatureVerifier
from sqlalchemy.engine import Engine

from bench.common import local_database_url, percentile, result, scratch_database, seed_glossary
from tests.fake_slack_api import SIGNING_SECRET, TEAM_ID, FakeSlackApi

ROOT = Path(__file__).resolve().parent.parent
CIBOT = ROOT / ".venv" / "bin" / "cibot"
CONCURRENT, ROUNDS, WARMUP = 20, 15, 30


class AnsweringSlack(FakeSlackApi):
    """The fake Web API, also waking whoever waits for the answer at one response_url."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Future[float]]] = {}
        self.guard = threading.Lock()

    async def _response_url(self, request: web.Request) -> web.Response:
        arrived = time.perf_counter()
        await request.read()
        with self.guard:
            waiter = self.waiting.pop(request.path, None)
        if waiter is not None:
            loop, future = waiter
            loop.call_soon_threadsafe(_resolve, future, arrived)
        return web.Response(text="ok")


def _resolve(future: asyncio.Future[float], value: float) -> None:
    if not future.done():
        future.set_result(value)


class Peer:
    """One served app (a child process) and how to reach it."""

    def __init__(self, name: str, command: list[str], env: dict[str, str], port: int) -> None:
        self.name, self.port = name, port
        started = time.perf_counter()
        self.process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True)
        self.start_seconds = self._wait_for_port(started)
        self.url = f"http://127.0.0.1:{port}/slack/events"

    def _wait_for_port(self, started: float) -> float:
        deadline = started + 30
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.process.stderr.read() if self.process.stderr else ''}")
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return time.perf_counter() - started
            time.sleep(0.005)
        raise RuntimeError(f"{self.name} did not open port {self.port} within 30 s")

    def rss_mb(self) -> float:
        """The process's resident set size now, in MB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        """Terminate the process and wait for it."""
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def peers(api: AnsweringSlack, database_url: str, driver: str) -> Iterator[tuple[Peer, Peer]]:
    """cibot serve and the bare Bolt app, each in its own process, stopped afterwards."""
    env = {**os.environ, "DATABASE_URL": database_url, "SLACK_BOT_TOKEN": "xoxb-test",
           "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": api.api_url, "LOG_LEVEL": "WARNING"}
    cibot_port, bare_port = free_port(), free_port()
    with ExitStack() as stack:
        cibot = Peer("cibot", [str(CIBOT), "serve", "--platform", "slack", "--host", "127.0.0.1",
                               "--port", str(cibot_port)], env, cibot_port)
        stack.callback(cibot.stop)
        bare = Peer("bare Bolt", [sys.executable, "-m", "bench.bare_bolt", "--port", str(bare_port), "--api-url",
                                  api.api_url, "--signing-secret", SIGNING_SECRET, "--driver", driver], env, bare_port)
        stack.callback(bare.stop)
        yield cibot, bare


async def answer_ms(http: aiohttp.ClientSession, api: AnsweringSlack, peer: Peer, text: str) -> float:
    """Milliseconds from sending `/ci TEXT` to `peer` until its answer reaches response_url."""
    response_url = api.response_url(peer.name.replace(" ", "-"))
    path = "/" + response_url.split("/", 3)[3]
    loop = asyncio.get_running_loop()
    answered: asyncio.Future[float] = loop.create_future()
    with api.guard:
        api.waiting[path] = (loop, answered)
    body = urlencode({
        "token": "legacy", "team_id": TEAM_ID, "team_domain": "riverbend", "channel_id": "CSTEER",
        "channel_name": "steering", "user_id": "UMARIA", "user_name": "maria", "command": "/ci", "text": text,
        "api_app_id": "A1", "response_url": response_url, "trigger_id": f"trigger.{time.monotonic_ns()}"})
    ts = str(int(time.time()))
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": ts,
               "X-Slack-Signature": SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=ts, body=body) or ""}
    sent = time.perf_counter()
    async with http.post(peer.url, data=body.encode(), headers=headers) as response:
        if response.status != 200:
            raise RuntimeError(f"{peer.name} answered HTTP {response.status}")
    arrived = await asyncio.wait_for(answered, 10)
    return (arrived - sent) * 1000


async def measure(api: AnsweringSlack, cibot: Peer, bare: Peer, lookups: list[str],
                  ) -> tuple[dict[str, list[float]], dict[str, list[float]], dict[str, float]]:
    """Sequential and concurrent answer times per side, and the idle RSS of each."""
    sequential: dict[str, list[float]] = {cibot.name: [], bare.name: []}
    concurrent: dict[str, list[float]] = {cibot.name: [], bare.name: []}
    async with aiohttp.ClientSession() as http:
        for text in lookups[:WARMUP]:
            for peer in (cibot, bare):
                await answer_ms(http, api, peer, text)
        await asyncio.sleep(1)
        rss = {peer.name: peer.rss_mb() for peer in (cibot, bare)}
        for i, text in enumerate(lookups[WARMUP:]):
            for peer in (cibot, bare) if i % 2 == 0 else (bare, cibot):
                sequential[peer.name].append(await answer_ms(http, api, peer, text))
        for round_ in range(ROUNDS):
            texts = [random.Random(round_ * 100 + n).choice(lookups) for n in range(CONCURRENT)]
            for peer in (cibot, bare) if round_ % 2 == 0 else (bare, cibot):
                concurrent[peer.name] += await asyncio.gather(*(answer_ms(http, api, peer, t) for t in texts))
    return sequential, concurrent, rss


def report(database: str, cibot: Peer, bare: Peer, sequential: dict[str, list[float]],
           concurrent: dict[str, list[float]], rss: dict[str, float]) -> bool:
    """Print the figures and the verdicts of one database; True when every goal is met."""
    c, b = sequential[cibot.name], sequential[bare.name]
    cc, bc = concurrent[cibot.name], concurrent[bare.name]
    where = f"slack /ci glossary at response_url, {database}"
    for label, values in (("cibot", c), ("bare", b), ("cibot x20", cc), ("bare x20", bc)):
        print(f"  {label:>10}: p50 {statistics.median(values):6.2f} ms   p99 {percentile(values, 99):6.2f} ms"
              f"   ({len(values)} answers)")
    p50 = statistics.median(c) / statistics.median(b)
    p99 = percentile(c, 99) / percentile(b, 99)
    p50c = statistics.median(cc) / statistics.median(bc)
    return all([
        result(f"{where}: p50", f"{statistics.median(c):.2f} ms", f"{statistics.median(b):.2f} ms", p50,
               "<= 1.5x", p50 <= 1.5),
        result(f"{where}: p99", f"{percentile(c, 99):.2f} ms", f"{percentile(b, 99):.2f} ms", p99, "<= 2x",
               p99 <= 2.0),
        result(f"{where}: 20 at once, p50", f"{statistics.median(cc):.2f} ms", f"{statistics.median(bc):.2f} ms",
               p50c, "<= 2x", p50c <= 2.0),
        result(f"cibot serve ({database}): start to open port", f"{cibot.start_seconds:.2f} s",
               f"{bare.start_seconds:.2f} s", cibot.start_seconds / bare.start_seconds, "<= 1 s",
               cibot.start_seconds <= 1.0),
        result(f"cibot serve ({database}): idle RSS", f"{rss[cibot.name]:.0f} MB", f"{rss[bare.name]:.0f} MB",
               rss[cibot.name] / rss[bare.name], "<= 1.3x", rss[cibot.name] <= 1.3 * rss[bare.name]),
    ])


def run_on(database: str, url: str | None, requests: int, terms: int) -> bool:
    """Seed a scratch database of kind `database`, serve both apps on it and report."""
    with ExitStack() as stack:
        if url is None:
            folder = stack.enter_context(tempfile.TemporaryDirectory())
            url = f"sqlite:///{folder}/bench.db"
        engine: Engine = stack.enter_context(scratch_database(url))
        entries = seed_glossary(engine, terms)
        database_url = engine.url.render_as_string(hide_password=False)
        engine.dispose()
        rng = random.Random(5)
        lookups = [f"glossary {rng.choice(entries).term}" for _ in range(WARMUP + requests)]
        api = AnsweringSlack()
        stack.enter_context(api)
        cibot, bare = stack.enter_context(peers(api, database_url, engine.dialect.name))
        sequential, concurrent, rss = asyncio.run(measure(api, cibot, bare, lookups))
        print(f"{database}: {terms:,} terms")
        return report(database, cibot, bare, sequential, concurrent, rss)


def main() -> int:
    """Run on SQLite and on PostgreSQL (when it answers); exit status 1 when a goal is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--terms", type=int, default=10_000)
    args = parser.parse_args()
    verdicts = [run_on("SQLite", None, args.requests, args.terms)]
    name, pg = local_database_url()
    if pg is not None:
        verdicts.append(run_on(name, pg, args.requests, args.terms))
    return 0 if all(verdicts) else 1


if __name__ == "__main__":
    raise SystemExit(main())
