"""Benchmark: `/ci progress` at 18k, 180k and 1.8M submissions, and the progress chart.

One initiative of 50 monthly indicators × 60 partners, each submission with three
disaggregation dimensions, in a scratch PostgreSQL schema at CIBOT_TEST_PG_URL (or
127.0.0.1:5432/test; a temporary SQLite file when PostgreSQL is unreachable). The table
grows the way a deployment's does, and is timed at each size through the real core:

- 18k: the initiative's last 6 months;
- 180k: five years of its history (60 months);
- 1.8M: nine more initiatives of the same shape and history share the database.

Rows are written with COPY (multi-row inserts on SQLite), then the per-period totals the
bulk load bypassed are recounted and the table vacuumed, as autovacuum would. Printed per size: `/ci progress`
p50/p99 as backbone staff and as a partner member (goal p99 ≤ 50 ms at 1.8M, growing less
than linearly with the table), and at 1.8M the chart render (goal p99 ≤ 150 ms) and, for
information, the whole `/ci progress INDICATOR` reply with its chart.

    .venv/bin/python -m bench.progress [--samples 200]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime

from sqlalchemy import insert, text
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bench.common import local_database, percentile, result, verdict
from bot.bootstrap import build_core
from bot.core.clock import ManualClock
from bot.core.context import Origin
from bot.measures.charts import progress_chart
from bot.measures.entries import Dimension
from bot.measures.indicators import calendar_of, targets_of
from bot.measures.periods import Period
from bot.measures.progress import detail
from bot.measures.visibility import Viewer
from storage.db import session_scope
from storage.measures import (
    Indicator,
    IndicatorReporter,
    IndicatorTarget,
    PeriodKind,
    Submission,
    Unit,
    rebuild_totals,
)
from storage.models import Initiative, Member, PlatformIdentity
from tests.factories import seed

INDICATORS, PARTNERS, MONTHS, INITIATIVES = 50, 60, 60, 10
RECENT = 6  # months of the first size
NOW = datetime(2026, 3, 15, 15, 0, tzinfo=UTC)
GOAL_MS = {"progress": 50.0, "chart": 150.0}
SUBMISSION_COLUMNS = ("indicator_id", "reporter_id", "period", "period_start", "value", "cells", "note",
                      "submitted_by_id", "submitted_at", "updated_at")
DIMENSIONS = (
    Dimension("race", "Race/ethnicity", ("Black", "Hispanic/Latino", "White", "Asian", "Other")),
    Dimension("zip", "Zip code", ("60601", "60602", "60603", "60604", "60605", "60606")),
    Dimension("age", "Age band", ("0-2", "3-4", "5")),
)


def split(total: int, parts: int, rng: random.Random) -> list[int]:
    """`total` split into `parts` non-negative integers that add up to it."""
    cuts = sorted(rng.randint(0, total) for _ in range(parts - 1))
    return [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]


class Cells:
    """Breakdowns as stored JSON, a few per value, so building a million rows stays quick."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.made: dict[tuple[int, int], str] = {}

    def of(self, value: int) -> str:
        """A JSON breakdown of `value` by every dimension (one of four made for it)."""
        key = (value, self.rng.randrange(4))
        if key not in self.made:
            self.made[key] = json.dumps({d.key: dict(zip(d.categories, split(value, len(d.categories), self.rng),
                                                         strict=True)) for d in DIMENSIONS})
        return self.made[key]


def add_initiative(engine: Engine, number: int) -> tuple[int, list[tuple[int, int, int]]]:
    """Initiative `number` (0 is the tests' sample one, with the console people) with its partners,
    indicators and reporters; its id and its (reporter, indicator, member) ids."""
    if number == 0:
        initiative_id = seed(engine).initiative_id
    else:
        with session_scope(engine) as s:
            row = Initiative(slug=f"bench{number}", name=f"Initiative {number}", timezone="America/Chicago")
            s.add(row)
            s.flush()
            initiative_id = row.id or 0
    with session_scope(engine) as s:
        s.execute(insert(Member), [
            {"initiative_id": initiative_id, "key": f"partner{p:03d}", "name": f"Contact {p}",
             "organization": f"Partner organization {p:03d}", "sector": "nonprofit", "timezone": "",
             "email": "", "active": True} for p in range(PARTNERS)])
        partners = dict(s.execute(text("SELECT key, id FROM member WHERE initiative_id = :i AND key LIKE 'partner%'")
                                  .bindparams(i=initiative_id)).all())
        if number == 0:
            s.execute(insert(PlatformIdentity), [
                {"initiative_id": initiative_id, "member_id": member_id, "platform": "console",
                 "platform_user_id": key} for key, member_id in partners.items()])
        s.execute(insert(Indicator), [
            {"initiative_id": initiative_id, "key": f"ind{i:02d}", "name": f"Indicator {i}",
             "definition": "", "term": "", "unit": "count", "polarity": "higher" if i % 3 else "lower",
             "baseline_value": 2500.0, "baseline_period": "2021-03", "period_kind": PeriodKind.MONTHLY,
             "fiscal_year_start": 1, "due_days": 10, "dimensions": [d.to_dict() for d in DIMENSIONS],
             "visibility": ("public", "aggregate", "backbone")[i % 3], "group_id": None,
             "prompt": True, "follow_up_days": 3, "nudge": True, "nudge_mentions": False, "flag": True,
             "active": True, "created_at": NOW} for i in range(INDICATORS)])
        indicators = list(s.execute(text("SELECT id FROM indicator WHERE initiative_id = :i ORDER BY id")
                                    .bindparams(i=initiative_id)).scalars())
        s.execute(insert(IndicatorTarget), [{"indicator_id": i, "value": 4000.0, "by": date(2027, 6, 30), "label": ""}
                                            for i in indicators])
        s.execute(insert(IndicatorReporter), [
            {"indicator_id": i, "member_id": member_id, "partner": f"Partner organization {key[7:]}", "active": True}
            for i in indicators for key, member_id in partners.items()])
        reporters = [tuple(r) for r in s.execute(text(
            "SELECT r.id, r.indicator_id, r.member_id FROM indicatorreporter r JOIN indicator i "
            "ON i.id = r.indicator_id WHERE i.initiative_id = :i").bindparams(i=initiative_id)).all()]
    return initiative_id, reporters


def submissions(reporters: list[tuple[int, int, int]], periods: list[Period], cells: Cells,
                rng: random.Random) -> Iterator[tuple[object, ...]]:
    """One submission row per reporter and period."""
    for reporter_id, indicator_id, member_id in reporters:
        for period in periods:
            value = 40 + period.start.month + rng.randint(0, 20)
            yield (indicator_id, reporter_id, period.label, period.start, float(value), cells.of(value), "",
                   member_id, NOW, NOW)


def bulk(engine: Engine, rows: Iterator[tuple[object, ...]]) -> None:
    """Write submission `rows`: COPY on PostgreSQL, multi-row inserts on SQLite."""
    if engine.dialect.name == "postgresql":
        raw = engine.raw_connection()
        try:
            with raw.cursor() as cursor, cursor.copy(  # type: ignore[attr-defined]
                    f"COPY submission ({', '.join(SUBMISSION_COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            raw.commit()
        finally:
            raw.close()
        return
    batch: list[dict[str, object]] = []
    with engine.begin() as conn:
        for row in rows:
            batch.append(dict(zip(SUBMISSION_COLUMNS, row, strict=True)) | {"cells": json.loads(str(row[5]))})
            if len(batch) == 5000:
                conn.execute(insert(Submission), batch)
                batch.clear()
        if batch:
            conn.execute(insert(Submission), batch)


def others(engine: Engine, history: list[Period], cells: Cells, rng: random.Random) -> None:
    """The other initiatives sharing the database, each with the whole history."""
    for number in range(1, INITIATIVES):
        bulk(engine, submissions(add_initiative(engine, number)[1], history, cells, rng))


def samples(fn: Callable[[], object], count: int) -> list[float]:
    """Milliseconds of `count` calls of `fn`, after three warm-up calls."""
    for _ in range(3):
        fn()
    found = []
    for _ in range(count):
        started = time.perf_counter()
        fn()
        found.append((time.perf_counter() - started) * 1000)
    return found


def settle(engine: Engine) -> int:
    """Recount the per-period totals the bulk load bypassed and refresh the planner's statistics
    (PostgreSQL); the number of submissions."""
    with engine.begin() as conn:
        rebuild_totals(conn)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("VACUUM ANALYZE"))  # what autovacuum does to a table that grew
        return int(conn.execute(text("SELECT count(*) FROM submission")).scalar() or 0)


def main() -> int:
    """Grow the table through the three sizes, time each, print the table; exit 1 if a goal is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=200)
    count = parser.parse_args().samples
    rng, cells = random.Random(5), Cells(random.Random(6))
    calendar = calendar_of(Indicator(initiative_id=0, key="x", name="x", unit=Unit.COUNT,
                                     period_kind=PeriodKind.MONTHLY))
    history = calendar.recent(NOW.date(), MONTHS)
    with local_database() as (name, engine):
        _, sample = add_initiative(engine, 0)
        core = build_core(engine, ManualClock(NOW))
        backbone, partner = Origin("console", "maria"), Origin("console", "partner007")
        sizes = [("18k", lambda: bulk(engine, submissions(sample, history[-RECENT:], cells, rng))),
                 ("180k", lambda: bulk(engine, submissions(sample, history[:-RECENT], cells, rng))),
                 ("1.8M", lambda: others(engine, history, cells, rng))]
        figures: dict[str, dict[str, list[float]]] = {}
        print(f"database: {name}; {INDICATORS} monthly indicators × {PARTNERS} partners per initiative, "
              f"{len(DIMENSIONS)} dimensions; {count} samples per figure")
        print(f"{'size':>6} {'rows':>10} {'load s':>7}  {'progress (backbone) p50/p99':>28}  "
              f"{'progress (member) p50/p99':>26}")
        for label, grow in sizes:
            started = time.perf_counter()
            grow()
            rows = settle(engine)
            loaded = time.perf_counter() - started
            assert "Indicator 1" in core.command_sync(backbone, "progress").plain_text()
            figures[label] = {who: samples(lambda o=origin: core.command_sync(o, "progress"), count)  # type: ignore[misc]
                              for who, origin in (("backbone", backbone), ("member", partner))}
            shown = [f"{percentile(figures[label][w], 50):6.1f} / {percentile(figures[label][w], 99):6.1f} ms"
                     for w in ("backbone", "member")]
            print(f"{label:>6} {rows:>10,} {loaded:>7.1f}  {shown[0]:>28}  {shown[1]:>26}")
        with session_scope(engine) as s:
            indicator = s.exec(select(Indicator).where(Indicator.key == "ind01").order_by(col(Indicator.id))).first()
            assert indicator is not None
            view = detail(s, indicator, Viewer.operator(), NOW.date())
            targets = targets_of(s, indicator.id or 0)
            chart = samples(lambda: progress_chart(indicator, view.summary.totals, targets), max(count // 4, 20))
        whole = samples(lambda: core.command_sync(backbone, "progress ind01"), max(count // 4, 20))
    print(f"chart render (PNG, {MONTHS} periods): p50 {percentile(chart, 50):.1f} ms, "
          f"p99 {percentile(chart, 99):.1f} ms")
    print(f"/ci progress ind01 (whole reply with chart, for information): p50 {percentile(whole, 50):.1f} ms, "
          f"p99 {percentile(whole, 99):.1f} ms")
    return 0 if report(figures, chart) else 1


def report(figures: dict[str, dict[str, list[float]]], chart: list[float]) -> bool:
    """Print each goal's verdict (and its `make bench` line); True when every goal is met."""
    ok = True
    for who in ("backbone", "member"):
        p99 = {label: percentile(found[who], 99) for label, found in figures.items()}
        growth = p99["1.8M"] / p99["18k"]
        met = p99["1.8M"] <= GOAL_MS["progress"]
        sublinear = growth < 100 and p99["1.8M"] / p99["180k"] < 10
        print(f"/ci progress ({who}) p99 at 1.8M {p99['1.8M']:.1f} ms (goal ≤ {GOAL_MS['progress']:.0f} ms) "
              f"{verdict(met)}; ×{growth:.2f} for 100× the rows (goal: less than linear) {verdict(sublinear)}")
        ok &= result(f"/ci progress p99 at 1.8M ({who})", f"{p99['1.8M']:.1f} ms", f"{p99['18k']:.1f} ms at 18k",
                     growth, f"≤ {GOAL_MS['progress']:.0f} ms, sublinear", met and sublinear)
    chart_p99 = percentile(chart, 99)
    print(f"chart p99 {chart_p99:.1f} ms (goal ≤ {GOAL_MS['chart']:.0f} ms) {verdict(chart_p99 <= GOAL_MS['chart'])}")
    ok &= result("progress chart p99", f"{chart_p99:.1f} ms", "-", None, f"≤ {GOAL_MS['chart']:.0f} ms",
                 chart_p99 <= GOAL_MS["chart"])
    return ok


if __name__ == "__main__":
    raise SystemExit(main())
