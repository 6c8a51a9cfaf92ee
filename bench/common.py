"""What the benchmarks share: a scratch database, a seeded glossary, percentiles and verdicts.

The benchmarks import the tests' fakes and factories, so they run as modules from the
repository root: `.venv/bin/python -m bench.NAME`.
"""

from __future__ import annotations

import json
import random
import statistics
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Engine, make_url

from bot.glossary.book import TermEntry, upsert_terms
from storage.db import DatabaseError, make_engine, session_scope, upgrade
from tests.db_helpers import PG_URL, scratch_schema
from tests.factories import seed

WORDS = ("shared", "measure", "agenda", "readiness", "kindergarten", "family", "outcome", "partner",
         "indicator", "equity", "baseline", "target", "cohort", "literacy", "attendance", "referral")


@contextmanager
def scratch_database(url: str | None = None) -> Iterator[Engine]:
    """A freshly migrated database: a temporary SQLite file when `url` is None, a schema of its own
    (dropped afterwards) when `url` is PostgreSQL, or the database at `url` itself otherwise."""
    if url is None:
        with tempfile.TemporaryDirectory() as tmp, _migrated(f"sqlite:///{tmp}/bench.db") as engine:
            yield engine
        return
    if make_url(url).get_backend_name() != "postgresql":
        with _migrated(url) as engine:
            yield engine
        return
    with scratch_schema(url, "cibot_bench") as scoped, _connected(scoped) as engine:
        yield engine


def local_database_url() -> tuple[str, str | None]:
    """("PostgreSQL", `PG_URL`) when that server answers, else ("SQLite", None): what
    `scratch_database` takes."""
    try:
        make_engine(PG_URL).dispose()
    except DatabaseError as exc:
        print(f"note: PostgreSQL unreachable ({exc}); falling back to SQLite")
        return "SQLite", None
    return "PostgreSQL", PG_URL


@contextmanager
def local_database() -> Iterator[tuple[str, Engine]]:
    """A scratch schema on the PostgreSQL at `PG_URL` when it answers, else a temporary SQLite
    file; with the name of the database used."""
    name, url = local_database_url()
    with scratch_database(url) as engine:
        yield name, engine


@contextmanager
def _migrated(url: str) -> Iterator[Engine]:
    with _connected(url) as engine:
        upgrade(engine)
        yield engine


@contextmanager
def _connected(url: str) -> Iterator[Engine]:
    engine = make_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def glossary_terms(count: int) -> list[TermEntry]:
    """`count` distinct, plausible-looking terms with one-sentence definitions."""
    rng = random.Random(7)
    return [TermEntry(term=f"{rng.choice(WORDS)} {rng.choice(WORDS)} {i}",
                      definition=f"Definition number {i} of the initiative's shared vocabulary.")
            for i in range(count)]


def seed_glossary(engine: Engine, terms: int | list[TermEntry]) -> list[TermEntry]:
    """Seed the tests' sample initiative and its glossary: the entries `terms`, or that many from
    `glossary_terms`; the terms."""
    seeded = seed(engine)
    entries = glossary_terms(terms) if isinstance(terms, int) else terms
    with session_scope(engine) as session:
        upsert_terms(session, seeded.initiative_id, entries)
    return entries


def percentile(samples: list[float], p: float) -> float:
    """The `p`-th percentile (1-100) of `samples`; their maximum for p 100 or fewer than two samples."""
    if p >= 100 or len(samples) < 2:
        return max(samples)
    return statistics.quantiles(samples, n=100, method="inclusive")[int(p) - 1]


def verdict(ok: bool) -> str:
    """PASS or FAIL."""
    return "PASS" if ok else "FAIL"


RESULT = "BENCH-RESULT "  # the prefix of the lines `make bench` (bench.report) gathers into its table


def result(goal: str, figure: str, peer: str, ratio: float | None, target: str, ok: bool) -> bool:
    """Print one goal's figure, its peer's figure, their ratio and the verdict, as a line for
    the `make bench` table; return `ok`."""
    shown = f"{ratio:.2f}" if ratio is not None else "-"
    print(RESULT + json.dumps({"goal": goal, "figure": figure, "peer": peer, "ratio": shown, "target": target,
                               "verdict": verdict(ok)}), flush=True)
    return ok
