"""A stand-in for Discord's HTTP API that records what the bot sends, and interaction payloads.

`FakeDiscord.install(client)` replaces both ways discord.py talks to Discord: the
interaction webhook adapter (callbacks, follow-ups, edits of the original response)
and the bot's REST client (`client.http`, used for channel messages and DMs). Every
request becomes a `Sent` record with its callback type, flags, embeds, components and
allowed mentions; replies are shaped like Discord's so discord.py carries on normally.

The payload builders produce INTERACTION_CREATE events shaped like the ones Discord
sends (see discord.py's tests/test_app_commands_invoke.py and the API reference):
type 2 application commands, 3 component clicks, 4 autocomplete, 5 modal submits.
`FakeDiscord.dispatch` feeds one to the real client and waits for the bot to finish.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any

import discord
from discord.user import ClientUser
from discord.webhook.async_ import AsyncWebhookAdapter, async_context

from bot.adapters.discord.client import build_discord_client
from bot.adapters.discord.settings import DiscordSettings
from bot.core.core import Core

APPLICATION_ID = 700000000000000001
BOT_USER_ID = 700000000000000002
CALLBACK_MESSAGE, CALLBACK_DEFER, CALLBACK_DEFER_UPDATE, CALLBACK_UPDATE = 4, 5, 6, 7
CALLBACK_AUTOCOMPLETE, CALLBACK_MODAL = 8, 9
EPHEMERAL = 64
TIMESTAMP = "2026-03-02T15:00:00.000000+00:00"


@dataclass
class Sent:
    """One request the bot made: method, route path and the JSON body (multipart unpacked)."""

    method: str
    path: str
    body: Any = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    response: Any = None

    @property
    def callback_type(self) -> int | None:
        """The interaction callback type (4 message, 7 update, 9 modal ...) or None for other routes."""
        return self.body.get("type") if self.path.endswith("/callback") else None

    @property
    def data(self) -> dict[str, Any]:
        """The message (or modal, or choices) part of the request."""
        if self.path.endswith("/callback"):
            return self.body.get("data") or {}
        return self.body

    @property
    def embeds(self) -> list[dict[str, Any]]:
        """The embeds sent."""
        return self.data.get("embeds") or []

    @property
    def components(self) -> list[dict[str, Any]]:
        """The top-level components sent (action rows, or labels in a modal)."""
        return self.data.get("components") or []

    @property
    def flags(self) -> int:
        """The message flags sent (64 = ephemeral)."""
        return int(self.data.get("flags") or 0)

    @property
    def ephemeral(self) -> bool:
        """Whether only the person who asked sees the message."""
        return bool(self.flags & EPHEMERAL)

    @property
    def allowed_mentions(self) -> dict[str, Any] | None:
        """The allowed_mentions object sent, if any."""
        return self.data.get("allowed_mentions")

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """Every button in the message's action rows."""
        return [c for row in self.components for c in row.get("components", []) if c.get("type") == 2]

    @property
    def inputs(self) -> list[dict[str, Any]]:
        """Every input of a modal, each with the label (and description) it is shown under."""
        found = []
        for top in self.components:
            if top.get("type") == 18:  # label
                found.append({**top["component"], "label": top["label"], "description": top.get("description")})
            else:
                found += top.get("components", [])
        return found


class _RecordingWebhookAdapter(AsyncWebhookAdapter):
    def __init__(self, fake: FakeDiscord) -> None:
        super().__init__()
        self.fake = fake

    async def request(self, route: Any, session: Any, *, payload: dict[str, Any] | None = None,
                      multipart: list[dict[str, Any]] | None = None, files: Any = None, **_: Any) -> Any:
        return self.fake.record(route.method, _path(route), payload, multipart)


def _path(route: Any) -> str:
    return route.url.removeprefix(route.BASE)


class FakeDiscord:
    """Everything the bot sent, in order, and the messages it would have created."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self.messages: dict[str, dict[str, Any]] = {}  # message id -> message payload
        self._ids = itertools.count(950000000000000001)

    def next_id(self) -> str:
        """A fresh snowflake-like id."""
        return str(next(self._ids))

    def install(self, client: discord.Client) -> None:
        """Route `client`'s REST calls and this context's interaction webhook calls to the recorder."""
        client.http.request = self._http_request  # type: ignore[method-assign]
        async_context.set(_RecordingWebhookAdapter(self))

    async def _http_request(self, route: Any, *, files: Any = None, form: Any = None, **kwargs: Any) -> Any:
        multipart = form if form else None
        return self.record(route.method, _path(route), kwargs.get("json"), multipart)

    def record(self, method: str, path: str, payload: dict[str, Any] | None,
               multipart: list[dict[str, Any]] | None) -> Any:
        """Store one request and answer it the way Discord would."""
        body: Any = payload if payload is not None else {}
        files: list[str] = []
        for part in multipart or []:
            if part.get("name") == "payload_json":
                body = json.loads(part["value"])
            elif part.get("filename"):
                files.append(part["filename"])
        sent = Sent(method, path, body, files)
        sent.response = self._respond(sent)
        self.sent.append(sent)
        return sent.response

    def _respond(self, sent: Sent) -> Any:
        if sent.method == "DELETE":
            return None
        if sent.path.endswith("/callback"):
            kind = sent.callback_type
            interaction_id = sent.path.split("/")[2]
            answer: dict[str, Any] = {"interaction": {"id": interaction_id, "type": 2,
                                                      "response_message_loading": kind == CALLBACK_DEFER,
                                                      "response_message_ephemeral": sent.ephemeral}}
            if kind in (CALLBACK_MESSAGE, CALLBACK_UPDATE, CALLBACK_DEFER):
                message = self._message(sent.data)
                answer["interaction"]["response_message_id"] = message["id"]
                answer["resource"] = {"type": kind, "message": message}
            return answer
        if sent.method == "PUT" and sent.path.endswith("/commands"):
            return [{**command, "id": self.next_id(), "application_id": str(APPLICATION_ID), "version": "1"}
                    for command in sent.body]
        if sent.path == "/users/@me/channels":
            return {"id": "960" + str(sent.body["recipient_id"])[3:], "type": 1, "recipients": []}
        return self._message(sent.data)

    def _message(self, data: dict[str, Any]) -> dict[str, Any]:
        message = message_payload(self.next_id(), data)
        self.messages[message["id"]] = message
        return message

    # ------------------------------------------------------------- reading

    def since(self, mark: int) -> list[Sent]:
        """What was sent after `len(self.sent)` was `mark`."""
        return self.sent[mark:]

    def last(self) -> Sent:
        """The most recent request."""
        return self.sent[-1]

    async def dispatch(self, client: discord.Client, payload: dict[str, Any]) -> list[Sent]:
        """Feed an INTERACTION_CREATE `payload` to `client` and return what the bot sent for it."""
        mark = len(self.sent)
        before = asyncio.all_tasks()
        client._connection.parse_interaction_create(payload)  # type: ignore[arg-type]
        await settle(before)
        return self.since(mark)


async def settle(before: set[asyncio.Task[Any]], timeout: float = 10.0) -> None:
    """Wait until every task started since `before` is done (view timeout timers excepted)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        pending = [t for t in asyncio.all_tasks() - before
                   if t is not asyncio.current_task() and not t.done() and not _is_timer(t)]
        if not pending:
            return
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise TimeoutError(f"the bot is still busy with {pending}")
        await asyncio.wait(pending, timeout=remaining)


def _is_timer(task: asyncio.Task[Any]) -> bool:
    """View timeouts and the client's unanswered-interaction watch only sleep; nobody waits for them."""
    return ("timeout_task_impl" in getattr(task.get_coro(), "__qualname__", "")
            or task.get_name() == "discord.py: on_interaction")


# ----------------------------------------------------------------- payloads

_counter = itertools.count(1)


def _user(user_id: str, name: str) -> dict[str, Any]:
    return {"id": user_id, "username": name, "discriminator": "0", "global_name": name.title(), "avatar": None}


def interaction_payload(kind: int, data: dict[str, Any], *, user_id: str, user_name: str = "someone",
                        channel_id: str = "", guild_id: str = "",
                        message: dict[str, Any] | None = None) -> dict[str, Any]:
    """An INTERACTION_CREATE event of `kind` from `user_id` in a guild channel (or a DM without guild)."""
    number = next(_counter)
    payload: dict[str, Any] = {
        "id": str(980000000000000000 + number), "application_id": str(APPLICATION_ID),
        "token": f"token-{number}", "version": 1, "type": kind, "data": data,
        "attachment_size_limit": 10 * 1024 * 1024, "locale": "en-US", "app_permissions": "0",
    }
    user = _user(user_id, user_name)
    if guild_id:
        payload["guild_id"] = guild_id
        payload["member"] = {"user": user, "roles": [], "joined_at": TIMESTAMP, "deaf": False, "mute": False,
                             "flags": 0, "permissions": "0"}
        payload["channel"] = {"id": channel_id, "type": 0, "guild_id": guild_id, "name": "channel",
                              "position": 0, "permission_overwrites": [], "nsfw": False, "parent_id": None}
    else:
        payload["user"] = user
        payload["channel"] = {"id": channel_id or "960" + user_id[3:], "type": 1, "recipients": [user]}
    if message is not None:
        payload["message"] = message
    return payload


def command_data(path: list[str], options: dict[str, str], *, focused: str = "") -> dict[str, Any]:
    """The `data` of a chat-input command `/ci PATH...` with string `options` (one may be focused)."""
    leaf = [{"type": 3, "name": name, "value": value, **({"focused": True} if name == focused else {})}
            for name, value in options.items()]
    inner: list[dict[str, Any]] = leaf
    for depth, name in reversed(list(enumerate(path))):
        kind = 1 if depth == len(path) - 1 else 2
        inner = [{"type": kind, "name": name, "options": inner}]
    return {"id": "990000000000000001", "name": "ci", "type": 1, "options": inner}


def click_data(custom_id: str) -> dict[str, Any]:
    """The `data` of a button click."""
    return {"custom_id": custom_id, "component_type": 2}


def modal_data(custom_id: str, values: dict[str, str | list[str]]) -> dict[str, Any]:
    """The `data` of a modal submit: each value inside the label that wraps its input.

    A string is typed into a text input; a list is what was picked in a select menu.
    """
    def component(i: int, name: str, value: str | list[str]) -> dict[str, Any]:
        if isinstance(value, list):
            return {"type": 3, "id": i + 100, "custom_id": name, "values": value}
        return {"type": 4, "id": i + 100, "custom_id": name, "value": value}
    return {"custom_id": custom_id,
            "components": [{"type": 18, "id": i + 1, "component": component(i, name, value)}
                           for i, (name, value) in enumerate(values.items())]}


def message_payload(message_id: str, data: dict[str, Any], channel_id: str = "900000000000000001") -> dict[str, Any]:
    """A message as Discord returns it, carrying the content, embeds, components and flags sent."""
    return {
        "id": message_id, "channel_id": channel_id, "type": 0, "content": data.get("content") or "",
        "author": {**_user(str(BOT_USER_ID), "cibot"), "bot": True}, "timestamp": TIMESTAMP,
        "edited_timestamp": None, "tts": False, "mention_everyone": False, "mentions": [],
        "mention_roles": [], "attachments": [], "embeds": data.get("embeds") or [], "pinned": False,
        "components": data.get("components") or [], "flags": int(data.get("flags") or 0),
    }


# ----------------------------------------------------------------- harness

GUILD = "800000000000000001"
STEERING = "900000000000000001"


class DiscordHarness:
    """A real cibot Discord client that never logs in, talking to a `FakeDiscord`.

    Methods play what a person does in Discord (run a slash command, click a button
    on a message they saw, submit a modal) and return what the bot sent back.
    """

    def __init__(self, client: discord.Client, fake: FakeDiscord | None = None) -> None:
        self.client = client
        self.fake = fake or FakeDiscord()

    @classmethod
    async def serving(cls, core: Core, fake: FakeDiscord | None = None) -> DiscordHarness:
        """A started harness around a new cibot client on `core`: a fresh bot process, as after a restart."""
        return await cls(build_discord_client(core, DiscordSettings("token", APPLICATION_ID)), fake).start()

    async def start(self) -> DiscordHarness:
        """Give the client its event loop (as login would) and put the recorder in place."""
        await self.client._async_setup_hook()
        state = self.client._connection
        state.user = ClientUser(state=state, data={**_user(str(BOT_USER_ID), "cibot"), "bot": True})
        self.fake.install(self.client)
        return self

    async def dispatch(self, payload: dict[str, Any]) -> list[Sent]:
        """Feed `payload` to the client and return what the bot sent for it."""
        async_context.set(_RecordingWebhookAdapter(self.fake))
        return await self.fake.dispatch(self.client, payload)

    async def slash(self, user_id: str, path: list[str], options: dict[str, str] | None = None, *,
                    channel_id: str = STEERING, guild_id: str = GUILD) -> list[Sent]:
        """`user_id` runs `/ci PATH... option:value ...`."""
        return await self.dispatch(interaction_payload(2, command_data(path, options or {}), user_id=user_id,
                                                       channel_id=channel_id, guild_id=guild_id))

    async def autocomplete(self, user_id: str, path: list[str], option: str, typed: str, *,
                           channel_id: str = STEERING, guild_id: str = GUILD) -> list[str]:
        """The choice names offered while `user_id` types `typed` into `option`."""
        data = command_data(path, {option: typed}, focused=option)
        sent = await self.dispatch(interaction_payload(4, data, user_id=user_id, channel_id=channel_id,
                                                       guild_id=guild_id))
        assert sent and sent[-1].callback_type == CALLBACK_AUTOCOMPLETE, sent
        return [choice["name"] for choice in sent[-1].data["choices"]]

    async def click(self, user_id: str, message: dict[str, Any], custom_id: str, *,
                    channel_id: str = STEERING, guild_id: str = GUILD) -> list[Sent]:
        """`user_id` clicks the button `custom_id` on `message` (a message payload the bot sent)."""
        return await self.dispatch(interaction_payload(3, click_data(custom_id), user_id=user_id,
                                                       channel_id=channel_id, guild_id=guild_id, message=message))

    async def submit(self, user_id: str, modal: Sent, values: dict[str, str | list[str]], *,
                     channel_id: str = STEERING, guild_id: str = GUILD) -> list[Sent]:
        """`user_id` fills in the modal the bot opened (`modal`) with `values` and submits it."""
        data = modal_data(modal.data["custom_id"], values)
        return await self.dispatch(interaction_payload(5, data, user_id=user_id, channel_id=channel_id,
                                                       guild_id=guild_id))


def shown_message(sent: list[Sent]) -> dict[str, Any] | None:
    """The message payload a person sees after the bot's answer `sent` (None for a modal)."""
    for request in reversed(sent):
        if request.method == "DELETE" or request.callback_type in (CALLBACK_MODAL, CALLBACK_AUTOCOMPLETE):
            continue
        if request.callback_type in (CALLBACK_DEFER, CALLBACK_DEFER_UPDATE):
            continue
        if request.callback_type is not None:
            return request.response["resource"]["message"]
        return request.response
    return None


def button(message: dict[str, Any], label: str) -> str:
    """The custom id of the button labelled `label` on `message`."""
    for row in message.get("components", []):
        for component in row.get("components", []):
            if component.get("type") == 2 and component.get("label") == label:
                return component["custom_id"]
    raise AssertionError(f"no button {label!r} on {message}")


def visible_text(message: dict[str, Any]) -> str:
    """What a reader sees in `message`: content and embeds, markdown escapes resolved, zero-width spaces gone."""
    parts = [message.get("content") or ""]
    for embed in message.get("embeds", []):
        parts += [embed.get("title") or "", embed.get("description") or ""]
        for embed_field in embed.get("fields", []):
            parts += [embed_field["name"], embed_field["value"]]
        parts.append((embed.get("footer") or {}).get("text", ""))
    return _UNESCAPE.sub(r"\1", "\n".join(p for p in parts if p)).replace("\u200b", "")


_UNESCAPE = re.compile(r"\\([^\w\s])")
