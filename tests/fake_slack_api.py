"""A local fake of the Slack Web API (and of response_url / file upload URLs) for tests and benchmarks.

It is a real HTTP server on 127.0.0.1, on a free port, running in a thread of its own
so it never competes with the event loop under test. Every request is recorded as a
`Call` (method, params from the form or JSON body, time of arrival); tests read what
Slack would have shown from them. `rate_limit(method)` makes the next call of a
method answer 429 with Retry-After, and `fail(method, error)` makes it answer
``ok: false``. Messages posted with chat.postMessage are kept per channel with their
metadata (`messages(channel)`), with a ts taken from the real time; `add_message`
puts someone else's message in a channel. conversations.history answers from them
the way Slack does: newest first, only those between ``oldest`` and ``latest``
(``inclusive`` to include the bounds), at most ``limit`` a page with ``has_more`` and
an opaque ``next_cursor`` to pass back as ``cursor``, metadata only with
``include_all_metadata``. `delay(method, seconds)` holds back each answer of a method
(a posted message is kept first), and `rate_limit_storm(methods, seconds)` answers
every call of those methods with 429 for a while.

    with FakeSlackApi() as slack:
        client = AsyncWebClient(token="xoxb-test", base_url=slack.api_url)
        ...
        call = await slack.wait_for("chat.postMessage")
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

TEAM_ID = "T1"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@dataclass
class Call:
    """One request the fake received: the API method (or ``response_url`` / ``upload``) and its params."""

    method: str
    params: dict[str, Any]
    at: float
    path: str = ""
    token: str = ""

    def json_param(self, name: str) -> Any:
        """A parameter that the SDK may have sent JSON-encoded inside a form (blocks, view)."""
        value = self.params.get(name)
        return json.loads(value) if isinstance(value, str) else value

    @property
    def blocks(self) -> list[dict[str, Any]]:
        """The blocks posted by this call (empty if none)."""
        return self.json_param("blocks") or []

    @property
    def view(self) -> dict[str, Any]:
        """The view opened or published by this call."""
        return self.json_param("view") or {}


@dataclass
class _Scripted:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class FakeSlackApi:
    """The fake server; start it with `with` (or `start()` / `stop()`)."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._scripted: dict[str, list[_Scripted]] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._messages: dict[str, list[dict[str, Any]]] = {}
        self._delays: dict[str, float] = {}
        self._storms: dict[str, float] = {}
        self._storm_retry_after = 1
        self._last_ts = 0.0
        self.users_by_email: dict[str, str] = {}  # users.lookupByEmail answers from these
        self.channels: list[dict[str, Any]] = []  # conversations.list answers from these, 2 a page
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle ---------------------------------------------------------------

    def __enter__(self) -> FakeSlackApi:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start serving in a background thread and wait until the port is bound."""
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def serve() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._start_site())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=serve, name="fake-slack-api", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the fake Slack API did not start")

    def stop(self) -> None:
        """Stop the server and its thread."""
        if self._loop is None or self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._runner.cleanup() if self._runner else asyncio.sleep(0),
                                         self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
        self._loop = None

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:PORT/ (with the trailing slash)."""
        return f"http://127.0.0.1:{self.port}/"

    @property
    def api_url(self) -> str:
        """The Web API base URL to give AsyncWebClient (ends with a slash)."""
        return self.base_url + "api/"

    def response_url(self, name: str = "cmd") -> str:
        """A fresh response_url that posts back to this fake."""
        return f"{self.base_url}response/{name}/{next(self._ids)}"

    # -- scripting and reading -----------------------------------------------------

    def rate_limit(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        """Answer the next `times` calls of `method` with 429 and Retry-After."""
        self._script(method, [_Scripted(429, {"ok": False, "error": "ratelimited"},
                                        {"Retry-After": str(retry_after)})] * times)

    def rate_limit_storm(self, methods: tuple[str, ...], seconds: float, retry_after: int = 1) -> float:
        """Answer every call of `methods` with 429 and Retry-After for the next `seconds` seconds; when it ends.

        The end is a `time.monotonic()` reading, comparable with `Call.at`.
        """
        until = time.monotonic() + seconds
        with self._lock:
            for method in methods:
                self._storms[method] = until
            self._storm_retry_after = retry_after
        return until

    def delay(self, method: str, seconds: float) -> None:
        """Hold back every answer of `method` by `seconds` (0 to stop); a posted message is kept meanwhile."""
        with self._lock:
            self._delays[method] = seconds

    def add_message(self, channel: str, text: str, *, user: str = "UHUMAN") -> str:
        """Someone else posts `text` in `channel` (no metadata); its ts."""
        with self._lock:
            ts = self._next_ts()
            self._messages.setdefault(channel, []).append({"type": "message", "user": user, "ts": ts, "text": text})
        return ts

    def fail(self, method: str, error: str) -> None:
        """Answer the next call of `method` with ``ok: false`` and `error`."""
        self._script(method, [_Scripted(200, {"ok": False, "error": error})])

    def of(self, method: str) -> list[Call]:
        """Every recorded call of `method`, oldest first."""
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """The messages posted to `channel` (its id, or a DM's ``D...`` id), oldest first."""
        with self._lock:
            return list(self._messages.get(channel, []))

    def clear(self) -> None:
        """Forget the calls recorded so far."""
        with self._lock:
            self.calls.clear()

    async def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> Call:
        """The `count`-th call of `method`, waiting up to `timeout` seconds for it to arrive."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.of(method)
            if len(found) >= count:
                return found[count - 1]
            if time.monotonic() > deadline:
                seen = [c.method for c in self.calls]
                raise AssertionError(f"no call #{count} of {method} within {timeout}s; saw {seen}")
            await asyncio.sleep(0.005)

    def _script(self, method: str, answers: list[_Scripted]) -> None:
        with self._lock:
            self._scripted.setdefault(method, []).extend(answers)

    # -- serving -----------------------------------------------------------------------

    async def _start_site(self) -> None:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        app.router.add_post("/response/{rest:.*}", self._response_url)
        app.router.add_post("/upload/{file_id}", self._upload)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            params.update(await request.json())
        elif request.can_read_body:
            params.update(dict(await request.post()))
        return params

    def _record(self, method: str, request: web.Request, params: dict[str, Any]) -> None:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        with self._lock:
            self.calls.append(Call(method, params, time.monotonic(), request.path, token))

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        self._record(method, request, params)
        with self._lock:
            queue = self._scripted.get(method)
            scripted = queue.pop(0) if queue else None
            delay = self._delays.get(method, 0.0)
            if scripted is None and self._storms.get(method, 0.0) > time.monotonic():
                scripted = _Scripted(429, {"ok": False, "error": "ratelimited"},
                                     {"Retry-After": str(self._storm_retry_after)})
        if scripted is not None:
            await asyncio.sleep(delay)
            return web.json_response(scripted.body, status=scripted.status, headers=scripted.headers)
        answer = self._answer(method, params)  # a message is kept before its (delayed) answer goes back
        await asyncio.sleep(delay)
        return web.json_response(answer)

    def _answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        n = next(self._ids)
        if method == "auth.test":
            return {"ok": True, "url": "https://example.slack.com/", "team": "Riverbend", "user": "cibot",
                    "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": BOT_ID}
        if method == "conversations.open":
            return {"ok": True, "channel": {"id": "D" + str(params.get("users", "")).lstrip("U")}}
        if method == "chat.postMessage":
            return {"ok": True, "channel": params.get("channel"), "ts": self._post(params)}
        if method == "chat.update":
            return {"ok": True, "channel": params.get("channel"), "ts": params.get("ts")}
        if method == "conversations.history":
            return self._history(params)
        if method == "users.lookupByEmail":
            user = self.users_by_email.get(str(params.get("email", "")))
            return {"ok": True, "user": {"id": user}} if user else {"ok": False, "error": "users_not_found"}
        if method == "conversations.list":
            start = int(params.get("cursor") or 0)
            more = start + 2 < len(self.channels)
            return {"ok": True, "channels": self.channels[start:start + 2],
                    "response_metadata": {"next_cursor": str(start + 2) if more else ""}}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"1700000000.{n:06d}"}
        if method in ("views.open", "views.publish", "views.update", "views.push"):
            return {"ok": True, "view": {"id": f"V{n}", **(json.loads(params["view"])
                                                          if isinstance(params.get("view"), str)
                                                          else params.get("view") or {})}}
        if method == "files.getUploadURLExternal":
            return {"ok": True, "upload_url": f"{self.base_url}upload/F{n}", "file_id": f"F{n}"}
        if method == "files.completeUploadExternal":
            files = json.loads(params.get("files", "[]"))
            return {"ok": True, "files": [{"id": f["id"], "title": f.get("title", "")} for f in files]}
        return {"ok": True}

    def _next_ts(self) -> str:
        """A fresh message ts from the real time, later than every one before (call under the lock)."""
        self._last_ts = max(round(time.time(), 6), round(self._last_ts + 0.000001, 6))
        return f"{self._last_ts:.6f}"

    def _post(self, params: dict[str, Any]) -> str:
        """Keep a posted message in its channel's history; return its ts."""
        message: dict[str, Any] = {"type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID,
                                   "text": params.get("text", "")}
        metadata = params.get("metadata")
        if metadata:
            message["metadata"] = json.loads(metadata) if isinstance(metadata, str) else metadata
        with self._lock:
            message["ts"] = self._next_ts()
            self._messages.setdefault(str(params.get("channel", "")), []).append(message)
        return str(message["ts"])

    def _history(self, params: dict[str, Any]) -> dict[str, Any]:
        """A conversations.history page, newest first, between `oldest` and `latest`, from `cursor` on."""
        limit = min(int(params.get("limit") or 100), 999)
        with_metadata = str(params.get("include_all_metadata", "")).lower() in ("1", "true")
        inclusive = str(params.get("inclusive", "")).lower() in ("1", "true")
        oldest, latest = float(params.get("oldest") or 0), float(params.get("latest") or time.time() + 1)
        start = int(base64.b64decode(params["cursor"]).decode().removeprefix("offset:")) if params.get("cursor") else 0
        with self._lock:
            in_channel = sorted(self._messages.get(str(params.get("channel", "")), []),
                                key=lambda m: float(m["ts"]), reverse=True)
        newest_first = [m for m in in_channel
                        if ((oldest <= float(m["ts"]) <= latest) if inclusive else (oldest < float(m["ts"]) < latest))]
        chunk = newest_first[start:start + limit]
        page = [m if with_metadata else {k: v for k, v in m.items() if k != "metadata"} for m in chunk]
        more = start + limit < len(newest_first)
        cursor = base64.b64encode(f"offset:{start + limit}".encode()).decode() if more else ""
        return {"ok": True, "messages": page, "has_more": more, "response_metadata": {"next_cursor": cursor}}

    async def _response_url(self, request: web.Request) -> web.Response:
        self._record("response_url", request, await self._params(request))
        return web.Response(text="ok")

    async def _upload(self, request: web.Request) -> web.Response:
        body = await request.read()
        self._record("upload", request, {"file_id": request.match_info["file_id"], "size": len(body)})
        return web.Response(text=f"OK - {len(body)}")


class SlackSide:
    """Slack's side of the events endpoint: payloads built and signed exactly as Slack sends them."""

    def __init__(self, http: Any, events_url: str, signing_secret: str, api: FakeSlackApi,
                 background: Any = None) -> None:
        self.http = http  # an aiohttp.ClientSession
        self.events_url = events_url
        self.api = api
        self.background = background  # the app's Background, when the test runs the app
        self.verifier = SignatureVerifier(signing_secret)

    async def settle(self) -> None:
        """Wait until the app has finished everything it started after acknowledging."""
        if self.background is not None:
            await self.background.drain(10)

    async def post(self, body: str, content_type: str, *, timestamp: int | None = None,
                   signature: str | None = None) -> tuple[int, str]:
        """POST `body` signed for `timestamp` (now by default); returns the status and response text."""
        ts = str(int(time.time()) if timestamp is None else timestamp)
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature or self.verifier.generate_signature(timestamp=ts, body=body),
        }
        async with self.http.post(self.events_url, data=body.encode(), headers=headers) as response:
            return response.status, await response.text()

    async def command(self, user: str, text: str, *, channel: str = "CSTEER", team: str = TEAM_ID,
                      **signing: Any) -> tuple[int, str]:
        """`/ci TEXT` typed by `user` in `channel`; the response_url points at the fake API."""
        body = urlencode({
            "token": "legacy", "team_id": team, "team_domain": "riverbend", "channel_id": channel,
            "channel_name": "steering", "user_id": user, "user_name": user.lower(), "command": "/ci",
            "text": text, "api_app_id": "A1", "response_url": self.api.response_url("cmd"),
            "trigger_id": f"trigger.{user}.{time.monotonic_ns()}",
        })
        return await self.post(body, "application/x-www-form-urlencoded", **signing)

    async def interactive(self, payload: dict[str, Any], **signing: Any) -> tuple[int, str]:
        """An interactivity payload (block_actions, view_submission), form-encoded as ``payload=JSON``."""
        return await self.post(urlencode({"payload": json.dumps(payload)}),
                               "application/x-www-form-urlencoded", **signing)

    async def click(self, user: str, button: dict[str, Any], *, channel: str | None = "CSTEER",
                    team: str = TEAM_ID) -> tuple[int, str]:
        """`user` clicks `button` (a posted button element) in `channel`, or on App Home when None."""
        payload: dict[str, Any] = {
            "type": "block_actions", "api_app_id": "A1", "token": "legacy",
            "user": {"id": user, "username": user.lower(), "team_id": team},
            "team": {"id": team, "domain": "riverbend"},
            "trigger_id": f"trigger.{user}.{time.monotonic_ns()}",
            "actions": [{"type": "button", "action_id": button["action_id"], "block_id": "b1",
                         "value": button.get("value", ""), "text": button["text"],
                         "action_ts": str(time.time())}],
        }
        if channel is None:
            payload["container"] = {"type": "view", "view_id": "VHOME"}
            payload["view"] = {"id": "VHOME", "type": "home"}
        else:
            payload["container"] = {"type": "message", "channel_id": channel, "is_ephemeral": True}
            payload["channel"] = {"id": channel, "name": "steering"}
            payload["response_url"] = self.api.response_url("click")
        return await self.interactive(payload)

    async def submit(self, user: str, view: dict[str, Any], values: dict[str, str],
                     team: str = TEAM_ID) -> tuple[int, str]:
        """`user` fills in the opened modal `view` with `values` and presses its submit button."""
        state: dict[str, Any] = {}
        for block in view["blocks"]:
            if block.get("type") != "input":
                continue
            element, value = block["element"], values.get(block["block_id"])
            if element["type"] == "static_select":
                chosen = next((o for o in element["options"] if o["value"] == value), None)
                entry = {"type": "static_select", "selected_option": chosen}
            else:
                entry = {"type": element["type"], "value": value or None}
            state[block["block_id"]] = {element["action_id"]: entry}
        payload = {
            "type": "view_submission", "api_app_id": "A1", "token": "legacy",
            "user": {"id": user, "username": user.lower(), "team_id": team},
            "team": {"id": team, "domain": "riverbend"},
            "trigger_id": f"trigger.{user}.{time.monotonic_ns()}",
            "view": {**view, "id": "VMODAL", "state": {"values": state}},
        }
        return await self.interactive(payload)

    async def event(self, event: dict[str, Any], team: str = TEAM_ID) -> tuple[int, str]:
        """An Events API callback carrying `event`."""
        body = {"token": "legacy", "team_id": team, "api_app_id": "A1", "type": "event_callback",
                "event": event, "event_id": f"Ev{time.monotonic_ns()}", "event_time": int(time.time()),
                "authorizations": [{"team_id": team, "user_id": BOT_USER_ID, "is_bot": True}]}
        return await self.post(json.dumps(body), "application/json")

    async def open_home(self, user: str, team: str = TEAM_ID) -> tuple[int, str]:
        """`user` opens the app's Home tab."""
        return await self.event({"type": "app_home_opened", "user": user, "channel": "D" + user.lstrip("U"),
                                 "tab": "home", "event_ts": str(time.time())}, team)


@asynccontextmanager
async def running_app(app: Any, api: FakeSlackApi, background: Any = None) -> AsyncIterator[SlackSide]:
    """Serve the Bolt `app` on 127.0.0.1 (a free port) and yield Slack's side of it."""
    from bot.adapters.slack.server import start_http

    runner, port = await start_http(app, "127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as http:
            side = SlackSide(http, f"http://127.0.0.1:{port}/slack/events", SIGNING_SECRET, api, background)
            yield side
            await side.settle()
    finally:
        await runner.cleanup()


@asynccontextmanager
async def cibot_on_slack(core: Any, api: FakeSlackApi) -> AsyncIterator[SlackSide]:
    """cibot's Slack app for `core`, talking to the fake Web API, served on a free local port."""
    from bot.adapters.slack.app import build_slack_app
    from bot.adapters.slack.background import Background
    from bot.adapters.slack.settings import SlackSettings

    background = Background()
    settings = SlackSettings("xoxb-test", SIGNING_SECRET, api_url=api.api_url)
    async with running_app(build_slack_app(core, settings, background=background), api, background) as side:
        yield side


async def deliver_outbox(engine: Any, api: FakeSlackApi) -> Any:
    """Deliver everything due in the outbox to the fake API, as the leader's dispatcher would; counts by outcome."""
    from bot.adapters.slack.sender import SlackSender
    from bot.adapters.slack.settings import SlackSettings
    from bot.runtime.dispatcher import UNLIMITED, Dispatcher

    client = SlackSettings("xoxb-test", SIGNING_SECRET, api_url=api.api_url).web_client(retry_rate_limited=False)
    return await Dispatcher(engine, {"slack": SlackSender(client, interval=0.0)}, paces={"slack": UNLIMITED}).drain()
