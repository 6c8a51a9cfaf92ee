"""A local fake chat platform (HTTP on 127.0.0.1, port 0) and the `Sender` that talks to it.

The server records every accepted message with the outbox key it carried, answers
lookups by key (as Slack message metadata or a Discord nonce would let us), and
can enforce a per-channel interval and a workspace-wide rate by answering 429 with
Retry-After in whole seconds, as Slack does. `fail_next(n)` makes the next n sends
fail with HTTP 500; `delay` holds each answer back after the message is recorded,
so a client killed in that window leaves a message delivered but unacknowledged.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import aiohttp

from bot.core.delivery import DeliveryFailed, RateLimited, Target
from bot.core.messages import Reply


@dataclass(frozen=True)
class Delivery:
    """One message the platform accepted."""

    id: str
    key: str
    team: str
    channel: str
    user: str
    text: str
    at: float  # time.monotonic() on arrival


class FakePlatform:
    """The fake platform server; use as a context manager or call `start`/`stop`."""

    def __init__(
        self,
        *,
        channel_interval: float = 0.0,
        workspace_rate: float = 0.0,
        workspace_burst: float | None = None,
        delay: float = 0.0,
        unknown_channels: tuple[str, ...] = (),
    ) -> None:
        self.channel_interval = channel_interval
        self.workspace_rate = workspace_rate
        self.workspace_burst = workspace_burst if workspace_burst is not None else max(1.0, workspace_rate)
        self.delay = delay
        self.unknown_channels = set(unknown_channels)
        self.deliveries: list[Delivery] = []
        self.rate_limited = 0
        self.rate_limited_at: list[float] = []
        self._failures = 0
        self._lock = threading.Lock()
        self._last: dict[tuple[str, str], float] = {}
        self._buckets: dict[str, tuple[float, float]] = {}  # team -> (tokens, at)
        self._server = _Server(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The base URL of the running server."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakePlatform:
        """Serve in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakePlatform:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def fail_next(self, count: int) -> None:
        """Answer the next `count` sends with HTTP 500."""
        with self._lock:
            self._failures = count

    def keys(self) -> Counter[str]:
        """How many times each outbox key was delivered."""
        with self._lock:
            return Counter(d.key for d in self.deliveries)

    def accept(self, body: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Decide on one send: (HTTP status, JSON body, extra headers)."""
        now = time.monotonic()
        team, channel, user = body.get("team", ""), body.get("channel", ""), body.get("user", "")
        lane = (team, channel or "@" + user)
        with self._lock:
            if self._failures:
                self._failures -= 1
                return 500, {"ok": False, "error": "internal_error"}, {}
            if channel in self.unknown_channels:
                return 404, {"ok": False, "error": "channel_not_found"}, {}
            wait = 0.0
            last = self._last.get(lane)
            if self.channel_interval and last is not None and now - last < self.channel_interval:
                wait = self.channel_interval - (now - last)
            tokens = self.workspace_burst
            if self.workspace_rate:
                tokens, at = self._buckets.get(team, (self.workspace_burst, now))
                tokens = min(self.workspace_burst, tokens + (now - at) * self.workspace_rate)
                if tokens < 1:
                    wait = max(wait, (1 - tokens) / self.workspace_rate)
            if wait:
                self.rate_limited += 1
                self.rate_limited_at.append(now)
                return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(max(1, math.ceil(wait)))}
            if self.workspace_rate:
                self._buckets[team] = (tokens - 1, now)
            self._last[lane] = now
            delivery = Delivery(f"m{len(self.deliveries) + 1}", body.get("key", ""), team, channel, user,
                                body.get("text", ""), now)
            self.deliveries.append(delivery)
        return 200, {"ok": True, "id": delivery.id}, {}

    def find(self, query: dict[str, str]) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Look a message up by its key in a channel or a person's DMs."""
        with self._lock:
            for d in self.deliveries:
                if (d.key, d.team, d.channel, d.user) == (query.get("key"), query.get("team", ""),
                                                          query.get("channel", ""), query.get("user", "")):
                    return 200, {"ok": True, "id": d.id}, {}
        return 404, {"ok": False, "error": "message_not_found"}, {}


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # the default 5 drops bursts of new connections for a second
    daemon_threads = True


def _handler(platform: FakePlatform) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            if self.path == "/send":
                answer = platform.accept(body)
                if answer[0] == 200 and platform.delay:
                    time.sleep(platform.delay)
            else:
                answer = (200, {"ok": True}, {})
            self._answer(*answer)

        def do_GET(self) -> None:  # noqa: N802
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            self._answer(*(platform.find(query) if url.path == "/find" else (404, {"ok": False}, {})))

        def _answer(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            """Stay quiet."""

    return Handler


class FakeSender:
    """A `bot.core.delivery.Sender` for the fake platform at `url`."""

    def __init__(self, url: str, platform: str = "slack") -> None:
        self.url = url
        self.platform = platform
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64))
        return self._session

    async def send(self, target: Target, reply: Reply, *, key: str) -> str:
        """Post `reply`, carrying `key`; return the platform's message id."""
        body = {"team": target.team_id, "channel": target.channel_id, "user": target.user_id,
                "key": key, "text": reply.plain_text()}
        async with self._http().post(f"{self.url}/send", json=body) as response:
            data = await response.json()
            if response.status == 429:
                raise RateLimited(float(response.headers["Retry-After"]))
            if response.status == 404:
                raise DeliveryFailed(data["error"])
            if response.status != 200:
                raise RuntimeError(f"fake platform answered HTTP {response.status}")
            return str(data["id"])

    async def find(self, target: Target, key: str, *, since: object = None) -> str | None:
        """The id of the message carrying `key` in the target's channel (its whole history), or None."""
        params = {"team": target.team_id, "channel": target.channel_id, "user": target.user_id, "key": key}
        async with self._http().get(f"{self.url}/find", params=params) as response:
            data = await response.json()
            return str(data["id"]) if response.status == 200 else None

    async def update(self, target: Target, message_id: str, reply: Reply) -> None:
        """Replace the text of message `message_id`."""
        body = {"id": message_id, "text": reply.plain_text()}
        async with self._http().post(f"{self.url}/update", json=body) as response:
            response.raise_for_status()

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None
