"""Benchmark: `/ci progress` over 50 indicators × 100 partners × 36 periods with 3 disaggregation dimensions.

Bulk-loads 180,000 submissions (each with race/ethnicity, zip code and age band cells)
into a scratch PostgreSQL schema at CIBOT_TEST_PG_URL (or 127.0.0.1:5432/test), or a
temporary SQLite file when PostgreSQL is unreachable, then times through the real core:

- `/ci progress` as backbone staff and as a partner member (target < 200 ms each),
- one indicator's detail: totals per period, partners and cells (target < 200 ms),
- the chart render (target < 300 ms),
and, for information, the whole `/ci progress INDICATOR` reply with its chart.

    .venv/bin/python -m bench.progress [--repeat 15]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime

from sqlalchemy import insert, text
from sqlalchemy.engine import Engine

from bench.common import local_database, verdict
from bot.bootstrap import build_core
from bot.core.clock import ManualClock
from bot.core.context import Origin
from bot.measures.charts import progress_chart
from bot.measures.entries import Dimension
from bot.measures.indicators import calendar_of, targets_of
from bot.measures.progress import detail
from bot.measures.visibility import Viewer
from storage.db import session_scope
from storage.measures import Indicator, IndicatorReporter, IndicatorTarget, PeriodKind, Submission
from storage.models import Member, PlatformIdentity
from tests.factories import seed

INDICATORS, PARTNERS, PERIODS = 50, 100, 36
NOW = datetime(2026, 3, 15, 15, 0, tzinfo=UTC)
TARGET_MS = {"progress": 200.0, "detail": 200.0, "chart": 300.0}
DIMENSIONS = (
    Dimension("race", "Race/ethnicity", ("Black", "Hispanic/Latino", "White", "Asian", "Other")),
    Dimension("zip", "Zip code", ("60601", "60602", "60603", "60604", "60605", "60606")),
    Dimension("age", "Age band", ("0-2", "3-4", "5")),
)


def split(total: int, parts: int, rng: random.Random) -> list[int]:
    """`total` split into `parts` non-negative integers that add up to it."""
    cuts = sorted(rng.randint(0, total) for _ in range(parts - 1))
    return [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]


def load(engine: Engine) -> str:
    """Bulk-insert the partners, indicators, reporters and submissions; return the key of an indicator."""
    seeded = seed(engine)
    rng = random.Random(5)
    with session_scope(engine) as s:
        s.execute(insert(Member), [
            {"initiative_id": seeded.initiative_id, "key": f"partner{p:03d}", "name": f"Contact {p}",
             "organization": f"Partner organization {p:03d}", "sector": "nonprofit", "timezone": "",
             "email": "", "active": True} for p in range(PARTNERS)])
        partners = dict(s.execute(text("SELECT key, id FROM member WHERE key LIKE 'partner%'")).all())
        s.execute(insert(PlatformIdentity), [
            {"initiative_id": seeded.initiative_id, "member_id": member_id, "platform": "console",
             "platform_user_id": key} for key, member_id in partners.items()])
        s.execute(insert(Indicator), [
            {"initiative_id": seeded.initiative_id, "key": f"ind{i:02d}", "name": f"Indicator {i}",
             "definition": "", "term": "", "unit": "count", "polarity": "higher" if i % 3 else "lower",
             "baseline_value": 5000.0, "baseline_period": "2023-03", "period_kind": PeriodKind.MONTHLY,
             "fiscal_year_start": 1, "due_days": 10, "dimensions": [d.to_dict() for d in DIMENSIONS],
             "visibility": ("public", "aggregate", "backbone")[i % 3], "group_id": seeded.groups["data"],
             "prompt": True, "follow_up_days": 3, "nudge": True, "nudge_mentions": False, "flag": True,
             "active": True, "created_at": NOW} for i in range(INDICATORS)])
        indicators = list(s.execute(text("SELECT id FROM indicator ORDER BY id")).scalars())
        s.execute(insert(IndicatorTarget), [{"indicator_id": i, "value": 7000.0, "by": date(2027, 6, 30), "label": ""}
                                            for i in indicators])
        s.execute(insert(IndicatorReporter), [
            {"indicator_id": i, "member_id": member_id, "partner": f"Partner organization {key[7:]}", "active": True}
            for i in indicators for key, member_id in partners.items()])
        reporters = s.execute(text("SELECT id, indicator_id, member_id FROM indicatorreporter")).all()
    calendar = calendar_of(Indicator(initiative_id=0, key="x", name="x", unit="count", period_kind=PeriodKind.MONTHLY))
    periods = calendar.recent(NOW.date(), PERIODS)
    columns = ("indicator_id", "reporter_id", "period", "period_start", "value", "cells", "note",
               "submitted_by_id", "submitted_at", "updated_at")
    rows = []
    for reporter_id, indicator_id, member_id in reporters:
        for n, period in enumerate(periods):
            value = 40 + n + rng.randint(0, 20)
            cells = {d.key: dict(zip(d.categories, split(value, len(d.categories), rng), strict=True))
                     for d in DIMENSIONS}
            rows.append((indicator_id, reporter_id, period.label, period.start, float(value), cells, "",
                         member_id, NOW, NOW))
    _bulk(engine, columns, rows)
    return "ind01"


def _bulk(engine: Engine, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Insert submission `rows`: COPY on PostgreSQL, executemany on SQLite."""
    if engine.dialect.name == "postgresql":
        raw = engine.raw_connection()
        try:
            with raw.cursor() as cursor, cursor.copy(f"COPY submission ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([json.dumps(v) if isinstance(v, dict) else v for v in row])
            raw.commit()
        finally:
            raw.close()
        return
    with engine.begin() as conn:
        conn.execute(insert(Submission), [dict(zip(columns, row, strict=True)) for row in rows])


def timed(fn: Callable[[], object], repeat: int) -> float:
    """The median milliseconds of `repeat` calls of `fn` after one warm-up call."""
    fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def report(name: str, ms: float, target: float | None) -> None:
    outcome = "" if target is None else f"target < {target:.0f} ms  {verdict(ms < target)}"
    print(f"{name:<44} {ms:8.1f} ms   {outcome}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    repeat = parser.parse_args().repeat
    with local_database() as (name, engine):
        started = time.perf_counter()
        key = load(engine)
        with engine.connect() as conn:
            count = conn.execute(text("SELECT count(*) FROM submission")).scalar()
            if engine.dialect.name == "postgresql":
                conn.execute(text("ANALYZE"))
        print(f"database: {name}; loaded {count:,} submissions "
              f"({INDICATORS} indicators × {PARTNERS} partners × {PERIODS} periods, "
              f"{len(DIMENSIONS)} dimensions) in {time.perf_counter() - started:.1f} s")
        core = build_core(engine, ManualClock(NOW))
        backbone, partner = Origin("console", "maria"), Origin("console", "partner007")
        assert "Indicator 1" in core.command_sync(backbone, "progress").plain_text()
        report("/ci progress (backbone, 50 indicators)", timed(lambda: core.command_sync(backbone, "progress"), repeat),
               TARGET_MS["progress"])
        report("/ci progress (partner member)", timed(lambda: core.command_sync(partner, "progress"), repeat),
               TARGET_MS["progress"])
        with session_scope(engine) as s:
            indicator = s.exec(text("SELECT id FROM indicator WHERE key = :k").bindparams(k=key)).scalar_one()
            ind = s.get(Indicator, indicator)
            assert ind is not None
            view = detail(s, ind, Viewer.operator(), NOW.date())
            assert len(view.partners or []) == PARTNERS and len(view.summary.totals) == PERIODS
            report("one indicator's detail (periods, partners, cells)",
                   timed(lambda: detail(s, ind, Viewer.operator(), NOW.date()), repeat), TARGET_MS["detail"])
            targets = targets_of(s, ind.id or 0)
            report("chart render (PNG)", timed(lambda: progress_chart(ind, view.summary.totals, targets), repeat),
                   TARGET_MS["chart"])
        report(f"/ci progress {key} (whole reply with chart)",
               timed(lambda: core.command_sync(backbone, f"progress {key}"), repeat), None)
        print(f"(medians of {repeat} runs after a warm-up; the partner member answers for "
              f"{INDICATORS} indicators)")


if __name__ == "__main__":
    main()
