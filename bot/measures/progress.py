"""Where the initiative stands: totals per period, targets, trends, completeness, and one indicator in depth.

Totals are built from partner values (summed for counts and money, averaged for
percents, rates and days) in one grouped query, so `/ci progress` stays fast with
thousands of submissions. Whatever the viewer may not see (`bot.measures.visibility`)
is left out here, before any reply, chart or export is made from it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import case, func, literal
from sqlmodel import Session, col, select

from bot.measures.entries import Dimension
from bot.measures.indicators import calendar_of, dimensions_of, reporters_of, target_for, targets_of
from bot.measures.units import RULES
from bot.measures.visibility import Viewer, sees_all_partners, sees_partner, sees_total
from storage.ids import id_of
from storage.measures import (
    Indicator,
    IndicatorReporter,
    IndicatorTarget,
    Polarity,
    Submission,
    Unit,
)

TREND_PERIODS = 4
RECENT_PERIODS = 6  # periods read for the overview: the trend's and a little slack


@dataclass(frozen=True)
class PeriodTotal:
    """The initiative's value for one period and how many partners it is built from."""

    period: str
    start: date
    value: float | None  # None when withheld from this viewer
    submitted: int


@dataclass
class Summary:
    """One indicator at a glance."""

    indicator: Indicator
    totals: list[PeriodTotal]
    expected: int
    target: IndicatorTarget | None

    @property
    def latest(self) -> PeriodTotal | None:
        """The most recent period with a value the viewer may see."""
        shown = [t for t in self.totals if t.value is not None]
        return shown[-1] if shown else None

    @property
    def percent_of_target(self) -> float | None:
        """How far the latest value is toward the target; 100 means met (for lower-is-better, target ÷ value)."""
        latest = self.latest
        if latest is None or latest.value is None or self.target is None:
            return None
        if self.indicator.polarity == Polarity.LOWER:
            return 100.0 * self.target.value / latest.value if latest.value else None
        return 100.0 * latest.value / self.target.value if self.target.value else None

    @property
    def change(self) -> float | None:
        """The latest value minus the baseline."""
        latest = self.latest
        base = self.indicator.baseline_value
        return None if latest is None or latest.value is None or base is None else latest.value - base

    @property
    def trend(self) -> str:
        """``improving``, ``worsening`` or ``steady`` over the last periods, judged by polarity."""
        values = [t.value for t in self.totals if t.value is not None][-TREND_PERIODS:]
        if len(values) < 2:
            return "not enough periods yet"
        first, last = values[0], values[-1]
        if abs(last - first) <= 0.01 * max(abs(first), 1e-9):
            return "steady"
        rising = last > first
        return "improving" if rising == (self.indicator.polarity == Polarity.HIGHER) else "worsening"


@dataclass(frozen=True)
class PartnerValue:
    """One partner's value for a period, with its cells."""

    partner: str
    value: float
    cells: dict[str, dict[str, float]]
    note: str


@dataclass(frozen=True)
class Gap:
    """The widest difference between two categories of one dimension."""

    dimension: str
    high: tuple[str, float]
    low: tuple[str, float]

    @property
    def size(self) -> float:
        """How far apart the two categories are."""
        return self.high[1] - self.low[1]


@dataclass
class Detail:
    """One indicator in depth for one viewer."""

    summary: Summary
    targets: list[IndicatorTarget]
    period: str  # the period the partner and cell views are about
    partners: list[PartnerValue] | None  # None: withheld from this viewer
    own: list[PartnerValue] = field(default_factory=list)  # the viewer's own partners, always shown to them
    missing: list[str] = field(default_factory=list)  # partners who have not submitted `period`
    cells: dict[str, dict[str, float]] = field(default_factory=dict)
    dimensions: list[Dimension] = field(default_factory=list)

    @property
    def gap(self) -> Gap | None:
        """The largest gap between the categories of any dimension, for `period`."""
        gaps = []
        for dim in self.dimensions:
            values = self.cells.get(dim.key)
            if values and len(values) > 1:
                high = max(values.items(), key=lambda kv: kv[1])
                low = min(values.items(), key=lambda kv: kv[1])
                gaps.append(Gap(dim.name, high, low))
        return max(gaps, key=lambda g: g.size, default=None)


def combine(unit: Unit, values: list[float]) -> float:
    """Partner values combined into the initiative's: a sum for additive units, else the mean."""
    return sum(values) if RULES[unit].additive else sum(values) / len(values)


def summaries(session: Session, indicators: list[Indicator], viewer: Viewer, today: date,
              recent: int | None = RECENT_PERIODS) -> list[Summary]:
    """A `Summary` of each of `indicators` (already filtered to what `viewer` may see).

    With `recent`, totals cover the last `recent` periods (enough for the latest value
    and the trend), reaching further back only for indicators with nothing newer.
    """
    ids = [ind.id for ind in indicators if ind.id is not None]
    if not ids:
        return []
    since = min(calendar_of(ind).recent(today, recent)[0].start for ind in indicators) if recent else None
    rows = _period_rows(session, ids, viewer, since)
    stale = set(ids) - {row[0] for row in rows}
    if since is not None and stale:
        rows += _period_rows(session, sorted(stale), viewer, None)
    expected = dict(session.exec(
        select(IndicatorReporter.indicator_id, func.count())
        .where(col(IndicatorReporter.indicator_id).in_(ids), IndicatorReporter.active == True)  # noqa: E712
        .group_by(col(IndicatorReporter.indicator_id))
    ).all())
    targets: dict[int, list[IndicatorTarget]] = defaultdict(list)
    for target in session.exec(select(IndicatorTarget).where(col(IndicatorTarget.indicator_id).in_(ids))
                               .order_by(col(IndicatorTarget.by))):
        targets[target.indicator_id].append(target)
    by_id = {ind.id: ind for ind in indicators}
    totals: dict[int, list[PeriodTotal]] = defaultdict(list)
    for ind_id, period, start, count, total, own_count in rows:
        ind = by_id[ind_id]
        value = total if RULES[Unit(ind.unit)].additive else total / count
        shown = value if sees_total(viewer, ind, count - int(own_count or 0)) else None
        totals[ind_id].append(PeriodTotal(period, start, shown, count))
    return [Summary(ind, totals[id_of(ind)], expected.get(id_of(ind), 0), target_for(targets[id_of(ind)], today))
            for ind in indicators]


def _period_rows(session: Session, ids: list[int], viewer: Viewer, since: date | None) -> list[Any]:
    """Per indicator and period: submissions, their sum, and how many are the viewer's own."""
    own = list(viewer.reporter_ids)
    mine = case((col(Submission.reporter_id).in_(own), 1), else_=0) if own else literal(0)
    query = (
        select(Submission.indicator_id, Submission.period, Submission.period_start,  # type: ignore[call-overload]
               func.count(), func.sum(Submission.value), func.sum(mine))  # sqlmodel types at most 4 columns
        .where(col(Submission.indicator_id).in_(ids))
        .group_by(Submission.indicator_id, Submission.period, Submission.period_start)
        .order_by(Submission.indicator_id, Submission.period_start)
    )
    if since is not None:
        query = query.where(Submission.period_start >= since)
    return list(session.exec(query).all())


def detail(session: Session, indicator: Indicator, viewer: Viewer, today: date) -> Detail:
    """`indicator` in depth for `viewer`: every period, and partners and cells of the latest one."""
    summary = summaries(session, [indicator], viewer, today, recent=None)[0]
    latest = summary.totals[-1] if summary.totals else None
    period = latest.period if latest else ""
    rows = session.exec(
        select(Submission, IndicatorReporter)
        .join(IndicatorReporter, col(IndicatorReporter.id) == Submission.reporter_id)
        .where(Submission.indicator_id == indicator.id, Submission.period == period)
        .order_by(IndicatorReporter.partner)
    ).all() if latest else []
    values = [(id_of(reporter), PartnerValue(reporter.partner, sub.value, sub.cells or {}, sub.note))
              for sub, reporter in rows]
    dims = dimensions_of(indicator)
    submitted = {rid for rid, _ in values}
    return Detail(
        summary=summary,
        targets=targets_of(session, id_of(indicator)),
        period=period,
        partners=[v for _, v in values] if sees_all_partners(viewer, indicator) else None,
        own=[v for rid, v in values if sees_partner(viewer, indicator, rid) and rid in viewer.reporter_ids],
        missing=([r.partner for r, _ in reporters_of(session, id_of(indicator)) if r.id not in submitted]
                 if latest else []),
        cells=_cells(indicator, dims, values, viewer),
        dimensions=dims,
    )


def _cells(indicator: Indicator, dims: list[Dimension], values: list[tuple[int, PartnerValue]],
           viewer: Viewer) -> dict[str, dict[str, float]]:
    """Each dimension's categories combined across the partners that reported it, if the viewer may see them.

    For additive units the cells of a dimension add up to the total of the partners
    that reported it, so the period's total minus them is the sum of the partners that
    did not: that difference must not single out one other partner either.
    """
    unit = Unit(indicator.unit)
    combined: dict[str, dict[str, float]] = {}
    submitted = {rid for rid, _ in values}
    for dim in dims:
        reported = [(rid, v.cells[dim.key]) for rid, v in values if dim.key in v.cells]
        inside = {rid for rid, _ in reported}
        outside = len(submitted - inside - viewer.reporter_ids) if RULES[unit].additive else 0
        if not reported or not (sees_total(viewer, indicator, len(inside - viewer.reporter_ids))
                                and sees_total(viewer, indicator, outside)):
            continue
        combined[dim.key] = {cat: combine(unit, [float(cells[cat]) for _, cells in reported if cat in cells])
                             for cat in dim.categories}
    return combined
