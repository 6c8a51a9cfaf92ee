"""The measurement tables on SQLite and PostgreSQL: declaring indicators, storing values, totals."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from bot.measures.entries import check_entry
from bot.measures.indicators import calendar_of, reporters_of, sync_indicators, targets_of
from bot.measures.progress import summaries
from bot.measures.submissions import record
from bot.measures.visibility import Viewer, viewer_for
from storage.db import session_scope
from storage.measures import Indicator, IndicatorReporter, Submission, Unit
from tests.factories import seed
from tests.measures_factory import RACE, ZIP, add_indicators, indicator_specs

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def _indicator(engine: Engine, key: str) -> Indicator:
    with session_scope(engine) as s:
        return s.exec(select(Indicator).where(Indicator.key == key)).one()


def test_declaring_indicators_twice_changes_nothing_and_removals_deactivate(engine: Engine) -> None:
    seeded = seed(engine)
    add_indicators(engine, seeded)
    add_indicators(engine, seeded)
    with session_scope(engine) as s:
        readiness = s.exec(select(Indicator).where(Indicator.key == "readiness")).one()
        assert readiness.dimensions == [RACE.to_dict()]
        assert [(t.value, t.by) for t in targets_of(s, readiness.id or 0)] == [
            (65.0, date(2026, 12, 31)), (75.0, date(2028, 6, 30))]
        assert [r.partner for r, _ in reporters_of(s, readiness.id or 0)] == [
            "First Steps Family Center", "Parents Together", "Riverbend Unified School District"]
        assert len(s.exec(select(IndicatorReporter)).all()) == 6
    specs = [spec for spec in indicator_specs(readiness={"reporters": [("tom", ""), ("aisha", "")]})
             if spec.key != "wait"]
    with session_scope(engine) as s:
        sync_indicators(s, seeded.initiative_id, specs, seeded.members, seeded.groups)
    with session_scope(engine) as s:
        assert not s.exec(select(Indicator).where(Indicator.key == "wait")).one().active
        readiness = s.exec(select(Indicator).where(Indicator.key == "readiness")).one()
        assert [m.key for _, m in reporters_of(s, readiness.id or 0)] == ["aisha", "tom"]
        assert len(reporters_of(s, readiness.id or 0, everyone=True)) == 3  # Lena's row stays for her data


def test_values_and_cells_round_trip_and_a_period_is_stored_once_per_partner(engine: Engine) -> None:
    seeded = seed(engine)
    add_indicators(engine, seeded)
    enrolled = _indicator(engine, "enrolled")
    period = calendar_of(enrolled).parse("2025-Q4")
    entry = check_entry(Unit.COUNT, [ZIP], "1204", {"zip": {"60601": "600", "60602": "400", "60603": "204"}})
    with session_scope(engine) as s:
        reporter, _ = reporters_of(s, enrolled.id or 0)[0]
        record(s, enrolled, reporter, period, entry, by=seeded.members["aisha"], now=NOW, note="Fall count")
    with session_scope(engine) as s:
        sub = s.exec(select(Submission)).one()
        assert (sub.value, sub.period, sub.period_start, sub.note) == (1204.0, "2025-Q4", date(2025, 10, 1),
                                                                       "Fall count")
        assert sub.cells == {"zip": {"60601": 600.0, "60602": 400.0, "60603": 204.0}}
        assert sub.submitted_at == NOW
    with pytest.raises(IntegrityError), session_scope(engine) as s:
        s.add(Submission(indicator_id=enrolled.id or 0, reporter_id=sub.reporter_id, period="2025-Q4",
                         period_start=date(2025, 10, 1), value=1.0))


def test_totals_sum_counts_average_percents_and_count_own_values(engine: Engine) -> None:
    seeded = seed(engine)
    add_indicators(engine, seeded)
    values = {"enrolled": {"aisha": "300", "tom": "250"}, "readiness": {"aisha": "70", "tom": "60", "lena": "65"}}
    with session_scope(engine) as s:
        for key, by_member in values.items():
            ind = s.exec(select(Indicator).where(Indicator.key == key)).one()
            period = calendar_of(ind).parse("2025-Q4")
            for reporter, member in reporters_of(s, ind.id or 0):
                entry = check_entry(Unit(ind.unit), [], by_member[member.key])
                record(s, ind, reporter, period, entry, by=member.id or 0, now=NOW)
    with session_scope(engine) as s:
        indicators = list(s.exec(select(Indicator).order_by(Indicator.key)))
        full = {x.indicator.key: x for x in summaries(s, indicators, Viewer.operator(), date(2026, 3, 2))}
        assert full["enrolled"].latest.value == 550  # type: ignore[union-attr]
        assert full["readiness"].latest.value == pytest.approx(65.0)  # type: ignore[union-attr]
        assert full["readiness"].latest.submitted == 3  # type: ignore[union-attr]
        assert full["readiness"].expected == 3 and full["wait"].latest is None
        lena = viewer_for(s, seeded.members["lena"], backbone=False)
        assert lena.reports == {full["readiness"].indicator.id}
        mine = {x.indicator.key: x for x in summaries(s, indicators[1:2], lena, date(2026, 3, 2))}
        assert mine["readiness"].latest.value == pytest.approx(65.0)  # type: ignore[union-attr]


def test_the_overview_reaches_back_for_an_indicator_with_only_old_data(engine: Engine) -> None:
    seeded = seed(engine)
    add_indicators(engine, seeded)
    with session_scope(engine) as s:
        enrolled = s.exec(select(Indicator).where(Indicator.key == "enrolled")).one()
        reporter, member = reporters_of(s, enrolled.id or 0)[0]
        for label, value in (("2023-Q4", "300"), ("2025-Q4", "420")):
            record(s, enrolled, reporter, calendar_of(enrolled).parse(label), check_entry(Unit.COUNT, [], value),
                   by=member.id or 0, now=NOW)
        readiness = s.exec(select(Indicator).where(Indicator.key == "readiness")).one()
        reporter, member = reporters_of(s, readiness.id or 0)[0]
        record(s, readiness, reporter, calendar_of(readiness).parse("2023-Q1"), check_entry(Unit.PERCENT, [], "55"),
               by=member.id or 0, now=NOW)
    with session_scope(engine) as s:
        found = {x.indicator.key: x for x in summaries(s, [enrolled, readiness], Viewer.operator(), date(2026, 3, 2))}
        assert [t.period for t in found["enrolled"].totals] == ["2025-Q4"]  # the overview reads recent periods
        old = found["readiness"].in_progress  # 1 of 3 partners, past due: never final, so no latest figure
        assert old is not None and old.period == "2023-Q1" and found["readiness"].latest is None
