"""`cibot serve`: the platforms' front ends on every replica, scheduled work on the leader only.

Every replica answers Slack's HTTP requests and Discord's interactions from the shared
database. One replica, elected with a PostgreSQL advisory lock (always the only process
on SQLite), also runs the scheduler, the outbox dispatcher and the vote-card refresher.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.engine import Engine

from bot import app as composition
from bot.core.core import Core
from bot.core.delivery import Sender
from bot.http_routes import routes, serve_routes
from bot.leader import lead

log = logging.getLogger(__name__)
PLATFORMS = ("slack", "discord")


async def serve(engine: Engine, platforms: list[str], *, host: str = "0.0.0.0", port: int = 3000) -> None:
    """Run the chosen platforms, the HTTP routes and (when elected) the background work."""
    core = composition.build_core(engine)
    senders: dict[str, Sender] = {}
    front_ends: list[Awaitable[None]] = []
    ready: list[Callable[[], Awaitable[None]]] = []
    if "slack" in platforms:
        from bot.adapters.slack import SlackSender, SlackSettings, run_slack

        slack = SlackSettings.from_env()
        senders["slack"] = SlackSender(slack.web_client(retry_rate_limited=False))
        front_ends.append(run_slack(core, port=port, host=host, settings=slack, routes=routes(engine)))
    else:
        front_ends.append(serve_routes(routes(engine), host, port))
    if "discord" in platforms:
        from bot.adapters.discord.client import build_discord_client, run_discord
        from bot.adapters.discord.sender import DiscordSender
        from bot.adapters.discord.settings import DiscordSettings

        client = build_discord_client(core, DiscordSettings.from_env())
        senders["discord"] = DiscordSender(client)
        front_ends.append(run_discord(core, client=client))
        ready.append(client.wait_until_ready)
    log.info("serving %s on %s:%d", ", ".join(platforms), host, port)
    await asyncio.gather(*front_ends, lead(engine, lambda: background(core, senders, ready)))


async def background(core: Core, senders: dict[str, Sender],
                     ready: list[Callable[[], Awaitable[None]]]) -> None:
    """The leader's work: scheduler, outbox dispatcher and vote-card refresher, until cancelled."""
    from bot.decision_posts import keep_posts_fresh
    from bot.dispatcher import Dispatcher
    from bot.scheduler import Scheduler

    for wait in ready:
        await wait()
    scheduler = Scheduler(core.engine, core.clock)
    composition.install_jobs(scheduler)
    await scheduler.start()
    try:
        await asyncio.gather(
            Dispatcher(core.engine, senders, core.clock).run(),
            keep_posts_fresh(core.engine, senders),
        )
    finally:
        await scheduler.shutdown()
