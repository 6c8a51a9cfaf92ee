"""`cibot serve`: the platforms' front ends on every replica, scheduled work on the leader only.

Every replica answers Slack's HTTP requests and Discord's interactions from the shared
database. One replica, elected with a PostgreSQL advisory lock (always the only process
on SQLite), also runs the scheduler, the outbox dispatcher and the vote-card refresher.
A database outage never ends the process: each loop backs off and resumes, commands
answer that nothing was changed, and `/readyz` answers 503 until the database is back.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from bot import bootstrap as composition
from bot.adapters.email.web import routes as email_pages
from bot.core import metrics
from bot.core.core import Core
from bot.core.delivery import Sender
from bot.http_routes import routes, serve_routes
from bot.runtime.backoff import outliving_outages
from bot.runtime.leader import lead
from bot.runtime.outbox import unserved

if TYPE_CHECKING:
    from bot.adapters.discord.settings import DiscordSettings
    from bot.adapters.slack.settings import SlackSettings

log = logging.getLogger(__name__)
PLATFORMS = ("slack", "discord")


class ConfigError(Exception):
    """`cibot serve` cannot start as configured (a missing token, a taken port); the message says what to fix."""


@dataclass(frozen=True)
class Settings:
    """The settings of the platforms to serve (None: that platform is not served)."""

    slack: SlackSettings | None = None
    discord: DiscordSettings | None = None

    @property
    def platforms(self) -> list[str]:
        """The platforms to serve, by name."""
        return [name for name in PLATFORMS if getattr(self, name) is not None]


def settings_for(platforms: list[str]) -> Settings:
    """Read the chosen platforms' settings from the environment; `ConfigError` names what is missing."""
    slack = discord = None
    if "slack" in platforms:
        from bot.adapters.slack.settings import SlackConfigError, SlackSettings

        try:
            slack = SlackSettings.from_env()
        except SlackConfigError as exc:
            raise ConfigError(str(exc)) from None
    if "discord" in platforms:
        from bot.adapters.discord.settings import DiscordConfigError, DiscordSettings

        try:
            discord = DiscordSettings.from_env()
        except DiscordConfigError as exc:
            raise ConfigError(str(exc)) from None
    return Settings(slack, discord)


def check_port(host: str, port: int) -> None:
    """Raise `ConfigError` when this machine cannot listen on `host:port` (taken, or not its address)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the HTTP server will
            probe.bind(address)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port} ({exc.strerror or exc}); "
                          "stop what is using it or choose another --port / --host") from None


async def serve(engine: Engine, settings: Settings, *, host: str = "0.0.0.0", port: int = 3000) -> None:
    """Run the configured platforms, the HTTP routes and (when elected) the background work."""
    core = composition.build_core(engine)
    senders: dict[str, Sender] = {}
    front_ends: list[Coroutine[Any, Any, None]] = []
    ready: list[Callable[[], Awaitable[None]]] = []
    web_routes = routes(engine) + email_pages(core)
    if settings.slack is not None:
        from bot.adapters.slack.sender import SlackSender
        from bot.adapters.slack.server import run_slack

        senders["slack"] = SlackSender(settings.slack.web_client(retry_rate_limited=False))
        front_ends.append(run_slack(core, port=port, host=host, settings=settings.slack, routes=web_routes))
    else:
        front_ends.append(serve_routes(web_routes, host, port))
    if settings.discord is not None:
        from bot.adapters.discord.client import build_discord_client, run_discord
        from bot.adapters.discord.sender import DiscordSender

        client = build_discord_client(core, settings.discord)
        senders["discord"] = DiscordSender(client)
        front_ends.append(run_discord(core, client=client))
        ready.append(client.wait_until_ready)
    email = email_sender(engine)
    if email is not None:
        senders[email.platform] = email
    log.info("serving %s on %s:%d", ", ".join(settings.platforms), host, port)
    unserved(engine, settings.platforms)  # logs bound platforms not served and what waits for them
    async with asyncio.TaskGroup() as parts:  # one part failing stops the others: no half-running bot
        for front_end in front_ends:
            parts.create_task(front_end)
        # a database outage is not a failure: the leader's work backs off and resumes inside
        parts.create_task(outliving_outages("leader", lambda: lead(engine, lambda: background(core, senders, ready))))


def email_sender(engine: Engine) -> Sender | None:
    """The SMTP sender when `SMTP_URL` is set (email is off without it); `ConfigError` when it is wrong."""
    from bot.adapters.email.sender import EmailSender
    from bot.adapters.email.settings import EmailConfigError, EmailSettings

    try:
        settings = EmailSettings.from_env()
    except EmailConfigError as exc:
        raise ConfigError(str(exc)) from None
    return EmailSender(engine, settings) if settings is not None else None


async def until_terminated(work: Awaitable[None]) -> None:
    """Await `work`; SIGTERM cancels it (running its clean-ups) and returns normally.

    Ctrl-C (SIGINT) keeps asyncio's own handling: the work is cancelled the same way
    and `asyncio.run` raises KeyboardInterrupt afterwards. Call from the main thread.
    """
    task = asyncio.ensure_future(work)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if not task.cancelled() or (current is not None and current.cancelling()):
            raise  # cancelled from outside (Ctrl-C), not by SIGTERM
        log.info("stopped by SIGTERM")
    finally:
        loop.remove_signal_handler(signal.SIGTERM)


async def background(core: Core, senders: dict[str, Sender],
                     ready: list[Callable[[], Awaitable[None]]]) -> None:
    """The leader's work: scheduler, outbox dispatcher and vote-card refresher, until cancelled."""
    from bot.decisions.posts import keep_posts_fresh
    from bot.runtime.dispatcher import Dispatcher

    for wait in ready:
        await wait()
    scheduler = composition.build_scheduler(core)
    await scheduler.start()
    metrics.LEADER.set(1)
    try:
        async with asyncio.TaskGroup() as work:
            work.create_task(Dispatcher(core.engine, senders, core.clock).run())
            work.create_task(keep_posts_fresh(core.engine, core.registry, senders))
    finally:
        metrics.LEADER.set(0)
        await scheduler.shutdown()
