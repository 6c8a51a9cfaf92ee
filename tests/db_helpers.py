"""The PostgreSQL the tests and benchmarks use, and a scratch schema of their own on it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage.db import DatabaseError, make_engine, upgrade

PG_URL = os.environ.get("CIBOT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def require_postgres(why: str) -> None:
    """Skip the test, saying `why` it needs PostgreSQL, when the server is unreachable; under CI=true, fail."""
    try:
        make_engine(PG_URL).dispose()
    except DatabaseError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI but unreachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}; {why} ({exc})")


@contextmanager
def scratch_schema(url: str, prefix: str) -> Iterator[str]:
    """A fresh, migrated schema named `prefix`_RANDOM on the PostgreSQL server at `url`, dropped
    afterwards; yields a URL whose search_path is that schema."""
    admin = make_engine(url)
    schema = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        scoped = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
        rendered = scoped.render_as_string(hide_password=False)
        engine = make_engine(rendered)
        upgrade(engine)
        engine.dispose()
        yield rendered
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
