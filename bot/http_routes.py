"""HTTP routes the serve process offers besides Slack's: calendar feeds and a health check."""

from __future__ import annotations

import asyncio

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.meetings.calendar import UnknownGroup, calendar_for_group
from storage.db import session_scope
from storage.models import Initiative


def routes(engine: Engine) -> list[web.RouteDef]:
    """`GET /calendar/{group}.ics[?initiative=SLUG]` and `GET /healthz`."""

    def feed(group: str, slug: str) -> bytes:
        with session_scope(engine) as session:
            initiative_id = None
            if slug:
                initiative = session.exec(select(Initiative).where(Initiative.slug == slug)).first()
                if initiative is None:
                    raise UnknownGroup(f"There is no initiative {slug!r}.")
                initiative_id = initiative.id
            return calendar_for_group(session, group, initiative_id=initiative_id)

    async def calendar(request: web.Request) -> web.Response:
        try:
            body = await asyncio.to_thread(feed, request.match_info["group"], request.query.get("initiative", ""))
        except UnknownGroup as exc:
            raise web.HTTPNotFound(text=str(exc)) from None
        return web.Response(body=body, content_type="text/calendar", charset="utf-8")

    def ping() -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    async def health(_request: web.Request) -> web.Response:
        await asyncio.to_thread(ping)
        return web.Response(text="ok")

    return [web.get("/calendar/{group}.ics", calendar), web.get("/healthz", health)]


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
