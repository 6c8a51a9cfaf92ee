"""Shared fixtures: a fresh, migrated database per test on SQLite and on PostgreSQL.

PostgreSQL tests run in a schema of their own inside the `test` database at
127.0.0.1:5432 (override with CIBOT_TEST_PG_URL). Without a server they are skipped
with a message; under CI (CI=true) an unreachable server fails the run instead.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from bot.bootstrap import build_core
from bot.core.clock import ManualClock
from bot.core.core import Core
from bot.glossary.book import forget_indexes
from storage.db import make_engine, upgrade
from tests.browser import browser  # noqa: F401 - the real-browser fixture, for every test module
from tests.chat import Chat
from tests.db_helpers import PG_URL, require_postgres, scratch_schema
from tests.fake_slack_api import FakeSlackApi

START = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # a Monday, 09:00 in Chicago


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_schema_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh, migrated schema for this test run."""
    require_postgres("skipping PostgreSQL tests")
    with scratch_schema(PG_URL, f"cibot_t_{os.getpid()}") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty, migrated database: once on SQLite, once on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "cibot.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("pg_schema_url")
    yield url
    engine = make_engine(url)
    with engine.begin() as conn:
        _empty_postgres_schema(conn)
    engine.dispose()
    forget_indexes()  # the next test reuses this URL and its ids: nothing cached may carry over


def _empty_postgres_schema(conn: Connection) -> None:
    """Empty the tables a test wrote to and restart the id sequences it used (all tables at once cost 0.2 s)."""
    tables = conn.execute(text(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'alembic_version'"
    )).scalars().all()
    filled = conn.execute(text(" UNION ALL ".join(
        f"SELECT '{t}' WHERE EXISTS (SELECT 1 FROM \"{t}\")" for t in tables))).scalars().all() if tables else []
    if filled:
        conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in filled) + " RESTART IDENTITY CASCADE"))
    used = conn.execute(text(
        "SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema() AND last_value IS NOT NULL"
    )).scalars().all()
    for sequence in used:
        conn.execute(text(f'ALTER SEQUENCE "{sequence}" RESTART'))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on the test database."""
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> ManualClock:
    """A clock that starts on Monday 2 March 2026, 15:00 UTC, and moves only when told."""
    return ManualClock(START)


@pytest.fixture
def core(engine: Engine, clock: ManualClock) -> Core:
    """The real core with every flow, on the test database and the manual clock."""
    return build_core(engine, clock)


@pytest.fixture
def chat(core: Core) -> Chat:
    """A console-markup conversation with the bot, as people of the sample initiative."""
    return Chat(core)


@pytest.fixture
def api() -> Iterator[FakeSlackApi]:
    """A fake Slack Web API on 127.0.0.1, recording every call (see tests/fake_slack_api.py)."""
    with FakeSlackApi() as fake:
        yield fake
