"""Engines, sessions and schema migrations for the bot's database."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, text
from sqlalchemy import exc as db_errors
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlmodel import Session, create_engine

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.engine.interfaces import DBAPIConnection

DEFAULT_DATABASE_URL = "sqlite:///data/cibot.db"
MIGRATIONS = Path(__file__).parent / "migrations"


class DatabaseError(Exception):
    """The database URL is wrong or the database cannot be reached; the message says how to fix it."""


def database_url() -> str:
    """The configured `DATABASE_URL`, or the embedded SQLite default."""
    return os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL


def make_engine(url: str | None = None) -> Engine:
    """Create an engine for `url` (SQLite or PostgreSQL) and check that it connects."""
    url = url or database_url()
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseError(
            f"DATABASE_URL {url!r} is not a database URL. Write it like "
            "sqlite:///data/cibot.db or postgresql+psycopg://user@127.0.0.1:5432/cibot"
        ) from exc
    sqlite = parsed.get_backend_name() == "sqlite"
    if sqlite:
        if parsed.database and parsed.database != ":memory:":
            folder = Path(parsed.database).parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseError(f"cannot create the folder {folder} for the SQLite database "
                                    f"({exc.strerror}); point DATABASE_URL at a writable place, like "
                                    "sqlite:///data/cibot.db") from exc
        engine = _create(url, pool_pre_ping=True, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
    elif parsed.get_backend_name() in ("postgresql", "postgres"):
        if parsed.drivername in ("postgresql", "postgres"):  # as hosting platforms hand them out
            parsed = parsed.set(drivername="postgresql+psycopg")
        engine = _create(parsed, pool_pre_ping=True, pool_size=10, max_overflow=20)
    else:
        raise DatabaseError(
            f"DATABASE_URL uses {parsed.get_backend_name()!r}; cibot supports sqlite:/// "
            "and postgresql+psycopg:// URLs"
        )
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        check = ("that the file is a cibot SQLite database in a writable folder" if sqlite
                 else "that the server is running")
        raise DatabaseError(
            f"cannot connect to the database at {parsed.render_as_string(hide_password=True)}: "
            f"{reason}. Check {check} and that DATABASE_URL is right."
        ) from exc
    return engine


def unreachable(error: BaseException) -> bool:
    """Whether `error` says the database cannot be reached right now (down, restarting, locked), not a bug.

    Such errors pass: a loop that meets one backs off and tries again, a command answers that
    nothing was changed.
    """
    if isinstance(error, db_errors.OperationalError | db_errors.InterfaceError | db_errors.TimeoutError):
        return True
    if isinstance(error, DBAPIError):
        return bool(error.connection_invalidated)
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return False
    return isinstance(error, psycopg.OperationalError | psycopg.InterfaceError)


def unique_violation(error: BaseException) -> bool:
    """Whether `error` is a unique (or primary key) constraint refusing a row another transaction just wrote."""
    if not isinstance(error, db_errors.IntegrityError):
        return False
    orig = error.orig
    if getattr(orig, "sqlstate", None) == "23505":  # PostgreSQL unique_violation
        return True
    name = getattr(orig, "sqlite_errorname", "")
    unique = ("SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY")
    return name in unique or "UNIQUE constraint failed" in str(orig)


def _create(url: str | URL, **options: Any) -> Engine:
    """`create_engine`, with a missing database driver explained instead of raised."""
    try:
        return create_engine(url, **options)
    except (ImportError, NoSuchModuleError) as exc:
        raise DatabaseError(
            f"DATABASE_URL names a database driver that is not installed ({exc}); cibot "
            "uses sqlite:///PATH and postgresql+psycopg://USER@HOST:PORT/DATABASE"
        ) from exc


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def alembic_config(engine: Engine) -> Config:
    """An Alembic config bound to `engine`, for running migrations programmatically."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine) -> None:
    """Apply every pending migration to the database behind `engine`."""
    from alembic import command

    command.upgrade(alembic_config(engine), "head")


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session committed when the block ends and rolled back when it raises."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
