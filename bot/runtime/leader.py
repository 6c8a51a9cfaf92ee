"""Which replica runs the scheduler and the dispatcher: leader election on PostgreSQL.

Every replica calls `lead`. On PostgreSQL the replica that takes a session-level
advisory lock, held on a dedicated connection outside the pool, is the leader and
runs `on_elected`; the others try again every second. When the leader dies its
database session ends, PostgreSQL releases the lock, and a standby takes over.
A leader that loses its lock connection stops its work at once and stands by again.
A database outage (no connection, or a database error out of the work) is the same:
the replica stands by and tries again with backoff (`Backoff`) until the database
is back. On SQLite there is a single process: it is always the leader.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import psycopg
from sqlalchemy.engine import Engine

from bot.runtime.backoff import Backoff, outliving_outages
from storage.db import unreachable

log = logging.getLogger(__name__)

LOCK_CLASS = 0x63696274  # "cibt": the advisory lock space of cibot's leader election


async def lead(
    engine: Engine,
    on_elected: Callable[[], Awaitable[None]],
    *,
    retry_interval: float = 1.0,
) -> None:
    """Run `on_elected()` while this replica is the leader; stand by and retry otherwise.

    `on_elected` should run until cancelled (start the scheduler, run the dispatcher).
    It is cancelled when leadership is lost, and elected again later if this replica
    wins again. Returns only if `on_elected` returns; cancel `lead` to stop.
    The lock is per database schema, so separate deployments in one database do not
    block each other.
    """
    if engine.dialect.name != "postgresql":
        await outliving_outages("scheduled work", on_elected)
        return
    backoff = Backoff("leader election")
    connection: psycopg.AsyncConnection | None = None
    try:
        while True:
            try:
                if connection is None or connection.closed:
                    connection = await _lock_connection(engine)
                if await _try_lock(connection):
                    backoff.succeeded()
                    log.info("elected leader")
                    if await _work_while_held(connection, on_elected, retry_interval):
                        return
                    log.warning("lost leadership; standing by")
                    await _close(connection)
                    connection = None
                else:
                    backoff.succeeded()
                delay = retry_interval
            except Exception as exc:  # the database went away: stand by, back off, try again
                if not unreachable(exc):
                    raise
                if connection is not None:
                    await _close(connection)
                    connection = None
                delay = backoff.failed(exc)
            await asyncio.sleep(delay)
    finally:
        if connection is not None:
            await _close(connection)


async def _close(connection: psycopg.AsyncConnection) -> None:
    """Close the lock connection; ending its session releases the lock."""
    with contextlib.suppress(Exception):
        await connection.close()


async def _lock_connection(engine: Engine) -> psycopg.AsyncConnection:
    """A fresh connection of our own (never from the pool), with the engine's settings."""
    cargs, cparams = engine.dialect.create_connect_args(engine.url)
    cparams.pop("context", None)
    return await psycopg.AsyncConnection.connect(*cargs, autocommit=True, **cparams)


async def _try_lock(connection: psycopg.AsyncConnection) -> bool:
    cursor = await connection.execute(
        "SELECT pg_try_advisory_lock(%s, hashtext(current_schema()))", (LOCK_CLASS,))
    row = await cursor.fetchone()
    return bool(row and row[0])


async def _work_while_held(
    connection: psycopg.AsyncConnection, on_elected: Callable[[], Awaitable[None]], interval: float
) -> bool:
    """Run `on_elected` until it returns (True) or the lock connection dies (False)."""
    work = asyncio.ensure_future(on_elected())
    try:
        while not work.done():
            await asyncio.wait({work}, timeout=interval)
            if not work.done() and not await _alive(connection, 3 * interval):
                return False
        work.result()
        return True
    finally:
        if not work.done():
            work.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await work


async def _alive(connection: psycopg.AsyncConnection, timeout: float) -> bool:
    try:
        await asyncio.wait_for(connection.execute("SELECT 1"), timeout)
    except (psycopg.Error, TimeoutError):
        return False
    return True
