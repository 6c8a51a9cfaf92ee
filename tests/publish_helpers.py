"""An initiative with something to publish and something it must never publish, for the public page tests.

- readiness (aggregate, 3 partners, by race/ethnicity): 2025-Q3 and 2025-Q4 final, all three
  reported: the public sees the totals (56.5%, then 63.5%) and the race breakdown; 2026-Q1
  is in progress (only Tom's 64.25): never shown.
- enrolled (made aggregate, 2 partners): too few partners, its figures are never shown.
- wait (backbone only): never shown, even when a row says it is published.
- glossary: the agreed term is shown, the proposed one is not.
- decisions: the steering committee's passed one is shown (not its votes or reasons), an
  open one and the data group's are not.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.glossary.book import TermEntry, upsert_terms
from bot.measures.entries import Entry
from bot.measures.indicators import calendar_of
from bot.measures.submissions import record
from storage.db import session_scope
from storage.decisions import Decision, DecisionStatus, DecisionVote
from storage.measures import Indicator, IndicatorReporter
from storage.publish import PublishedItem, PublishKind
from tests.conftest import START
from tests.factories import Seeded, seed
from tests.measures_factory import add_indicators

READINESS = {  # period -> partner -> (value, race cells)
    "2025-Q3": {"tom": ("57.5", None), "aisha": ("60", None), "lena": ("52", None)},
    "2025-Q4": {"tom": ("61.25", {"Black": "52.25", "Hispanic/Latino": "58.75", "White": "70.25", "Other": "61.75"}),
                "aisha": ("73.75", {"Black": "66.25", "Hispanic/Latino": "71.75", "White": "80.25", "Other": "74.25"}),
                "lena": ("55.5", {"Black": "49.75", "Hispanic/Latino": "52.25", "White": "61.25", "Other": "57.25"})},
    "2026-Q1": {"tom": ("64.25", None)},
}
ENROLLED = {"aisha": "4173", "tom": "3891"}  # sum 8064: from two partners, never public
WAIT = "93.7"  # backbone only
SECRET_TEXT = ("Zebra budget line", "Quagga reason", "Okapi proposal",  # unpublished decision, vote reason, open one
               "Gnu pending term")  # a proposed glossary term

# What a visitor must never find in the page, in any form a number can be written.
WITHHELD = ["61.25", "61.2%", "73.75", "73.8%", "55.5%", "57.5%", "52.0%", "64.25", "64.2%", "4,173", "4173",
            "3,891", "3891", "8,064", "8064", "93.7", "Wait for developmental screening", *SECRET_TEXT]


def publishing_world(engine: Engine) -> Seeded:
    """The sample initiative with the data above, publishing the agenda, every indicator, the steering
    committee's decisions and meetings, and the glossary."""
    seeded = seed(engine)
    add_indicators(engine, seeded, enrolled={"visibility": "aggregate"})
    with session_scope(engine) as s:
        by_key = {ind.key: ind for ind in s.exec(select(Indicator))}
        reporters = {(r.indicator_id, r.member_id): r for r in s.exec(select(IndicatorReporter))}

        def put(key: str, member: str, period: str, value: str, cells: dict[str, str] | None = None) -> None:
            ind = by_key[key]
            entry = Entry(Decimal(value), {"race": {k: Decimal(v) for k, v in cells.items()}} if cells else {})
            record(s, ind, reporters[(ind.id, seeded.members[member])], calendar_of(ind).parse(period), entry,
                   by=seeded.members[member], now=START)

        for period, values in READINESS.items():
            for member, (value, cells) in values.items():
                put("readiness", member, period, value, cells)
        for member, value in ENROLLED.items():
            put("enrolled", member, "2025-Q4", value)
        put("wait", "james", "2025-Q4", WAIT)
        steering, data = seeded.groups["steering"], seeded.groups["data"]
        passed = Decision(initiative_id=seeded.initiative_id, group_id=steering, title="Adopt the readiness measure",
                          rule="majority", status=DecisionStatus.PASSED, closes_at=START - timedelta(days=3),
                          closed_at=START - timedelta(days=3), outcome="The committee adopts it for 2026.")
        s.add(passed)
        s.add(Decision(initiative_id=seeded.initiative_id, group_id=data, title=SECRET_TEXT[0], rule="majority",
                       status=DecisionStatus.PASSED, closes_at=START - timedelta(days=2)))
        s.add(Decision(initiative_id=seeded.initiative_id, group_id=steering, title=SECRET_TEXT[2], rule="majority",
                       closes_at=START + timedelta(days=2)))
        s.flush()
        s.add(DecisionVote(decision_id=passed.id or 0, member_id=seeded.members["james"], choice="agree",
                           reason=SECRET_TEXT[1]))
        upsert_terms(s, seeded.initiative_id, [
            TermEntry("Backbone organization", "The staff who convene the partners & keep the data.", status="agreed"),
            TermEntry(SECRET_TEXT[3], "Not agreed yet.", status="proposed")])
        for kind, key in ((PublishKind.AGENDA, ""), (PublishKind.GLOSSARY, ""), (PublishKind.DECISIONS, "steering"),
                          (PublishKind.MEETINGS, "steering"), (PublishKind.INDICATOR, "readiness"),
                          (PublishKind.INDICATOR, "enrolled"), (PublishKind.INDICATOR, "wait")):
            s.add(PublishedItem(initiative_id=seeded.initiative_id, kind=kind, key=key))
    return seeded
