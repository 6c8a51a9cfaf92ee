"""Running the Bolt app: HTTP mode on /slack/events (production) or Socket Mode (development)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp

from bot.adapters.slack.app import build_slack_app
from bot.adapters.slack.background import Background
from bot.adapters.slack.settings import SlackSettings
from bot.core.core import Core
from bot.http_routes import serve_routes

EVENTS_PATH = "/slack/events"
SHUTDOWN_GRACE = 10.0  # seconds to finish replies already acknowledged


async def start_http(app: AsyncApp, host: str = "0.0.0.0", port: int = 3000,
                     routes: Sequence[web.RouteDef] = ()) -> tuple[web.AppRunner, int]:
    """Serve `app` on `host:port` at /slack/events, plus `routes`; returns the runner and the bound port."""
    web_app = app.web_app(path=EVENTS_PATH, port=port)
    web_app.add_routes(routes)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1] if runner.addresses else port
    return runner, bound


async def run_slack(core: Core, *, port: int = 3000, host: str = "0.0.0.0",
                    settings: SlackSettings | None = None, routes: Sequence[web.RouteDef] = ()) -> None:
    """Serve Slack until cancelled: Socket Mode when SLACK_APP_TOKEN is set, else HTTP on `port`.

    Extra HTTP `routes` (calendar feeds, health) are served on `port` in both modes.
    On the way out, replies already acknowledged get a few seconds to be posted.
    """
    settings = settings or SlackSettings.from_env()
    background = Background()
    app = build_slack_app(core, settings, background=background)
    try:
        if settings.app_token:
            handler = AsyncSocketModeHandler(app, settings.app_token)
            await handler.connect_async()
            try:
                await (serve_routes(list(routes), host, port) if routes else asyncio.Event().wait())
            finally:
                await handler.close_async()
        else:
            runner, _ = await start_http(app, host, port, routes)
            try:
                await asyncio.Event().wait()
            finally:
                await runner.cleanup()
    finally:
        await background.drain(SHUTDOWN_GRACE)
