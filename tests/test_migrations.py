"""Replicas that start together on an empty PostgreSQL database migrate it once, one after the other."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage.db import make_engine
from tests.db_helpers import PG_URL, require_postgres
from tests.process_helpers import CIBOT, ROOT, env_for


@pytest.fixture
def empty_schema() -> Iterator[str]:
    """A URL whose search_path is a new, empty schema (no migrations applied)."""
    require_postgres("the migration lock is a PostgreSQL advisory lock")
    admin = make_engine(PG_URL)
    schema = f"cibot_empty_{uuid.uuid4().hex[:8]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


# `cibot db upgrade`, held back after its imports until the test says go, so the three really race.
REPLICA = ("import sys; from bot import cli; print('ready', flush=True); sys.stdin.readline(); "
           "sys.argv = ['cibot', 'db', 'upgrade']; cli.main()")


def test_three_replicas_starting_at_once_migrate_the_database_once(empty_schema: str) -> None:
    starts = [subprocess.Popen([CIBOT[0], "-c", REPLICA], env=env_for(empty_schema), text=True, cwd=ROOT,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
              for _ in range(3)]
    for replica in starts:
        assert replica.stdout is not None and replica.stdout.readline().strip() == "ready"
    for replica in starts:
        assert replica.stdin is not None
        replica.stdin.write("go\n")
        replica.stdin.flush()
    results = [(p.wait(timeout=120), *p.communicate()) for p in starts]
    assert [code for code, _, _ in results] == [0, 0, 0], [err for _, _, err in results]
    assert all("database is up to date" in out for _, out, _ in results)
    engine = make_engine(empty_schema)
    with engine.connect() as conn:
        versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        tables = set(conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"))
                     .scalars())
    engine.dispose()
    assert len(versions) == 1 and {"glossaryterm", "decision", "outboxmessage", "apscheduler_jobs"} <= tables
