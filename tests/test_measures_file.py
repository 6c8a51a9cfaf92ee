"""The `indicators:` section of the initiative file: loading the example, reloading, and mistakes by line."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.core.clock import ManualClock
from bot.core.core import Core
from bot.initiative_file import InitiativeFileError, load_initiative, parse_initiative
from bot.measures.exports import export_measures
from bot.measures.indicators import reporters_of, targets_of
from storage.db import session_scope
from storage.measures import Indicator, Submission
from tests.chat import Chat, text_of

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "initiative.yaml"
HEAD = """
initiative: {slug: tiny, name: Tiny initiative}
groups:
  - {key: data, name: Data group, kind: working_group}
members:
  - {key: ana, name: Ana, organization: Clinic}
indicators:
"""


def test_the_example_file_loads_its_indicators_and_a_reload_changes_nothing(engine: Engine) -> None:
    with session_scope(engine) as s:
        report = load_initiative(s, EXAMPLE)
    assert "indicators: 4 created" in "\n".join(t.line() for t in report.tallies)
    with session_scope(engine) as s:
        readiness = s.exec(select(Indicator).where(Indicator.key == "readiness")).one()
        assert (readiness.unit, readiness.visibility, readiness.baseline_value) == ("percent", "aggregate", 58.0)
        assert [d["key"] for d in readiness.dimensions] == ["race", "zip"]
        assert [(r.partner, m.key) for r, m in reporters_of(s, readiness.id or 0)] == [
            ("First Steps Family Center", "aisha"), ("Riverbend Unified School District", "tom")]
        assert [t.value for t in targets_of(s, readiness.id or 0)] == [65.0, 75.0]
        dollars = s.exec(select(Indicator).where(Indicator.key == "family-support-dollars")).one()
        assert (dollars.period_kind, dollars.fiscal_year_start) == ("annual", 7)
    with session_scope(engine) as s:
        again = load_initiative(s, EXAMPLE)
    assert "indicators: unchanged (4)" in "\n".join(t.line() for t in again.tallies)


@pytest.mark.parametrize(("entry", "message"), [
    ("  - {key: a, name: A, unit: kilos}", "'kilos' is not a known unit"),
    ("  - {key: a, name: A, unit: percent, targets: [{value: 120, by: 2027-01-01}]}", "between 0 and 100"),
    ("  - {key: a, name: A, unit: count, baseline: {value: 5, period: spring}}", "write it like 2026-Q1"),
    ("  - {key: a, name: A, unit: count, reporters: [anna]}",
     "reporter 'anna' is not a member key (did you mean ana?)"),
    ("  - {key: a, name: A, unit: count, group: dta}", "group 'dta' is not a group key (did you mean data?)"),
    ("  - {key: a, name: A, unit: count, disaggregate: [{key: z, categories: ['1: 2', b]}]}", "may not contain"),
    ("  - {key: a, name: A, unit: count, fiscal_year_start: jly}", "'jly' is not a month"),
    ("  - {key: a, name: A, unit: count, visibility: secret}", "'secret' is not a known visibility"),
    ("  - {key: a, name: A, unit: percent, reporters: [ana], values: [{period: 2026-Q1, reporter: ana, value: 120}]}",
     "between 0 and 100"),
    ("  - {key: a, name: A, unit: count, values: [{period: 2026-Q1, reporter: ana, value: 5}]}",
     "'ana' is not one of this indicator's reporters"),
    ("  - {key: a, name: A, unit: count, reporters: [ana], values: [{period: spring, reporter: ana, value: 5}]}",
     "write it like 2026-Q1"),
])
def test_mistakes_are_reported_with_their_line(entry: str, message: str) -> None:
    with pytest.raises(InitiativeFileError) as error:
        parse_initiative(HEAD + entry + "\n", "tiny.yaml")
    assert any(message in e and e.startswith("tiny.yaml line ") for e in error.value.errors), error.value.errors


def test_more_than_three_dimensions_are_refused() -> None:
    dims = ", ".join(f"{{key: d{i}, categories: [x, y]}}" for i in range(4))
    with pytest.raises(InitiativeFileError, match="broken down 3 ways at most"):
        parse_initiative(HEAD + f"  - {{key: a, name: A, unit: count, disaggregate: [{dims}]}}\n", "tiny.yaml")


def test_past_values_in_the_file_fill_empty_periods_and_never_replace_chat_submissions(
    engine: Engine, core: Core, clock: ManualClock,
) -> None:
    clock.set(datetime(2026, 11, 2, 15, 0, tzinfo=UTC))
    with session_scope(engine) as s:
        load_initiative(s, EXAMPLE)
    maria = Chat(core, user_id="maria")
    overview = text_of(maria.say("/ci progress"))
    assert "Kindergarten readiness rate (readiness): 62.5% in 2026-Q2" in overview
    assert "Children enrolled in quality pre-K (prek-enrolled): 1,370 in 2026-Q2" in overview
    assert "Trend: improving" in overview and maria.say("/ci progress readiness").image is not None
    assert "reported annually, due 30 days" in text_of(maria.say("/ci progress family-support-dollars"))
    maria.say('/ci submit readiness 64 --for tom --period 2026-Q2 --reason "recount"')
    with session_scope(engine) as s:
        again = load_initiative(s, EXAMPLE)
    assert "indicators: unchanged (4)" in "\n".join(t.line() for t in again.tallies)
    assert "63.8% in 2026-Q2" in text_of(maria.say("/ci progress"))  # (64 + 63.5) / 2: the correction stays
    with session_scope(engine) as s:
        assert len(s.exec(select(Submission)).all()) == 15
        csv = export_measures(s, s.exec(select(Indicator)).first().initiative_id)  # type: ignore[union-attr]
    assert ("readiness,Kindergarten readiness rate,percent,higher,aggregate,"
            "2025-Q4,2025-10-01,59.5,final,,2,2,58.0,65.0,2027-06-30") in csv
