"""Indicators for the sample initiative of `tests.factories`, declared the way the initiative file does.

- readiness: kindergarten readiness (percent, aggregate, quarterly, by race/ethnicity),
  reported by tom (school district), aisha (First Steps) and lena (Parents Together);
  nudges go to the data working group.
- enrolled: children in quality pre-K (count, public, quarterly, by zip code),
  reported by aisha and tom.
- wait: days to a developmental screening (lower is better, backbone only), reported by james.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.measures.entries import Dimension
from bot.measures.indicators import IndicatorSpec, sync_indicators
from storage.db import session_scope
from storage.measures import Indicator
from tests.factories import Seeded

RACE = Dimension("race", "Race/ethnicity", ("Black", "Hispanic/Latino", "White", "Other"))
ZIP = Dimension("zip", "Zip code", ("60601", "60602", "60603"))


def indicator_specs(**changes: dict) -> list[IndicatorSpec]:
    """The three sample indicators; `changes` maps a key to field overrides."""
    specs = [
        IndicatorSpec(key="readiness", name="Kindergarten readiness", unit="percent",
                      definition="Share of entering kindergartners meeting all readiness domains.",
                      term="kindergarten readiness", baseline_value=58.0, baseline_period="2025-Q4",
                      targets=[(65.0, date(2026, 12, 31), "year one"), (75.0, date(2028, 6, 30), "")],
                      dimensions=[RACE], reporters=[("tom", ""), ("aisha", ""), ("lena", "")],
                      visibility="aggregate", group="data"),
        IndicatorSpec(key="enrolled", name="Children in quality pre-K", unit="count", baseline_value=400,
                      baseline_period="2025-Q4", targets=[(600.0, date(2027, 6, 30), "")], dimensions=[ZIP],
                      reporters=[("aisha", ""), ("tom", "")], visibility="public", group="data"),
        IndicatorSpec(key="wait", name="Wait for developmental screening", unit="days", polarity="lower",
                      baseline_value=45, targets=[(21.0, date(2027, 12, 31), "")], reporters=[("james", "")],
                      visibility="backbone"),
    ]
    for spec in specs:
        for name, value in changes.get(spec.key, {}).items():
            setattr(spec, name, value)
    return specs


def add_indicators(engine: Engine, seeded: Seeded, **changes: dict) -> dict[str, int]:
    """Declare the sample indicators in `seeded`'s initiative and return their ids by key."""
    with session_scope(engine) as s:
        sync_indicators(s, seeded.initiative_id, indicator_specs(**changes), seeded.members, seeded.groups)
    with session_scope(engine) as s:
        return {ind.key: ind.id or 0 for ind in s.exec(select(Indicator))}
