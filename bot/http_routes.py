"""HTTP routes the serve process offers besides Slack's: calendar feeds, public pages, liveness and readiness checks."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from aiohttp import web
from alembic.script import ScriptDirectory
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.core import metrics
from bot.meetings.calendar import UnknownGroup, calendar_for_token
from bot.publish.site import HEADERS, page_html
from bot.runtime.outbox import pending_by_platform
from storage.db import alembic_config, session_scope, unreachable
from storage.models import Initiative

READY_TIMEOUT = 3.0  # seconds /readyz waits for the database before answering 503


def routes(engine: Engine) -> list[web.RouteDef]:
    """`GET /calendar/{group}/{token}.ics[?initiative=SLUG]`, `/healthz`, `/readyz` and `/metrics`.

    A calendar feed answers only with the group's secret token (see `bot.meetings.calendar`);
    a wrong token, an unknown group and the old tokenless address all answer 404.
    `/p/{slug}` is the initiative's public progress page (404 when it publishes nothing).
    `/healthz` says the process is alive (200, whatever the database does); `/readyz`
    answers 200 when the database is reachable and migrated to the newest version,
    503 otherwise (during an outage), for load balancers and orchestrators; `/metrics`
    is for Prometheus (see `bot.core.metrics`).
    """

    def feed(group: str, token: str, slug: str) -> bytes:
        with session_scope(engine) as session:
            initiative_id = None
            if slug:
                initiative = session.exec(select(Initiative).where(Initiative.slug == slug)).first()
                if initiative is None:
                    raise UnknownGroup(f"There is no initiative {slug!r}.")
                initiative_id = initiative.id
            return calendar_for_token(session, group, token, initiative_id=initiative_id)

    async def calendar(request: web.Request) -> web.Response:
        try:
            body = await asyncio.to_thread(feed, request.match_info["group"], request.match_info["token"],
                                           request.query.get("initiative", ""))
        except UnknownGroup as exc:
            raise web.HTTPNotFound(text=str(exc)) from None
        return web.Response(body=body, content_type="text/calendar", charset="utf-8")

    async def public(request: web.Request) -> web.Response:
        html = await asyncio.to_thread(page_html, engine, request.match_info["slug"], datetime.now(UTC))
        if html is None:  # unknown and unpublished initiatives look the same
            raise web.HTTPNotFound(text="There is no public page here.")
        return web.Response(text=html, content_type="text/html", charset="utf-8", headers=HEADERS)

    heads: list[str] = []

    def migrated() -> bool:
        """Whether the database answers and its schema is at the newest migration."""
        if not heads:
            heads.extend(ScriptDirectory.from_config(alembic_config(engine)).get_heads())
        with engine.connect() as conn:
            current = set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
        return current == set(heads)

    async def health(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def ready(_request: web.Request) -> web.Response:
        try:
            at_head = await asyncio.wait_for(asyncio.to_thread(migrated), READY_TIMEOUT)
        except Exception as exc:
            if not (unreachable(exc) or isinstance(exc, TimeoutError)):
                raise
            return web.Response(status=503, text="the database cannot be reached")
        if not at_head:
            return web.Response(status=503, text="the database schema is not at the newest migration")
        return web.Response(text="ok")

    def depth() -> list[tuple[str, int, float]]:
        try:
            with session_scope(engine) as session:
                waiting = pending_by_platform(session, datetime.now(UTC))
            return [(platform, count, age) for platform, (count, age) in waiting.items()]
        except Exception as exc:  # a scrape during an outage still gets every other metric
            if not unreachable(exc):
                raise
            return []

    metrics.watch_outbox(depth)

    async def prometheus(_request: web.Request) -> web.Response:
        body = await asyncio.to_thread(metrics.exposition)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    return [web.get("/calendar/{group}/{token}.ics", calendar), web.get("/healthz", health), web.get("/readyz", ready),
            web.get("/metrics", prometheus), web.get("/p/{slug}", public)]


async def serve_routes(route_defs: list[web.RouteDef], host: str, port: int) -> None:
    """Serve `route_defs` on `host:port` until cancelled."""
    app = web.Application()
    app.add_routes(route_defs)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()
