"""Where the initiative stands: totals per period, targets, trends, completeness, and one indicator in depth.

Totals are built from partner values (summed for counts and money, averaged for
percents, rates and days) from the per-period `SubmissionTotal` rows of the recent periods
of each reporting calendar, so `/ci progress` reads a few rows per indicator however
large the submission table grows.
A period is final once every reporter is in, or its due date has passed with enough
partners (`bot.core.disclosure`); the latest value, the change since baseline, the
trend and the chart use final periods only. Whatever the viewer may not see
(`bot.measures.visibility`) is left out here, before any reply, chart or export is made.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from bot.core.disclosure import is_final, suppressed
from bot.core.time import day_text
from bot.measures.entries import Dimension
from bot.measures.indicators import calendar_of, dimensions_of, reporters_of, target_for, targets_of
from bot.measures.periods import Calendar, ladder
from bot.measures.units import RULES, format_value
from bot.measures.visibility import (
    IN_PROGRESS,
    Viewer,
    min_contributors,
    sees_all_partners,
    sees_partner,
    total_withheld,
)
from storage.ids import id_of
from storage.measures import (
    Indicator,
    IndicatorReporter,
    IndicatorTarget,
    Polarity,
    Submission,
    SubmissionTotal,
    Unit,
)
from storage.models import Initiative

TREND_PERIODS = 4
RECENT_PERIODS = 6  # periods read for the overview: the trend's and a little slack


@dataclass(frozen=True)
class PeriodTotal:
    """The initiative's value for one period, how many partners it is built from, and whether it is final.

    `value` is None when withheld from the viewer, and `withheld` says why. `revised` is
    the day a final figure last changed (a correction or a late value), if it did.
    """

    period: str
    start: date
    value: float | None
    submitted: int
    expected: int = 0
    final: bool = True
    revised: date | None = None
    withheld: str = ""

    @property
    def reported(self) -> str:
        """"N of M partners have reported", for a period in progress."""
        return f"{self.submitted} of {self.expected} partners have reported"


@dataclass
class Summary:
    """One indicator at a glance."""

    indicator: Indicator
    totals: list[PeriodTotal]
    expected: int
    target: IndicatorTarget | None

    @property
    def headline(self) -> PeriodTotal | None:
        """The newest final period, whether the viewer may see its value or not."""
        finals = [t for t in self.totals if t.final]
        return finals[-1] if finals else None

    @property
    def latest(self) -> PeriodTotal | None:
        """The newest final period, when the viewer may see its value: what targets and baseline compare."""
        head = self.headline
        return head if head is not None and head.value is not None else None

    @property
    def final(self) -> list[PeriodTotal]:
        """The final periods whose value the viewer may see, oldest first: what trends and charts are made of."""
        return [t for t in self.totals if t.value is not None and t.final]

    @property
    def in_progress(self) -> PeriodTotal | None:
        """The newest period, when it is not final yet."""
        newest = self.totals[-1] if self.totals else None
        return newest if newest is not None and not newest.final else None

    @property
    def percent_of_target(self) -> float | None:
        """The latest value as a share of the target; 100 means met (for lower-is-better, target ÷ value)."""
        latest = self.latest
        if latest is None or latest.value is None or self.target is None:
            return None
        if self.indicator.polarity == Polarity.LOWER:
            return 100.0 * self.target.value / latest.value if latest.value else None
        return 100.0 * latest.value / self.target.value if self.target.value else None

    @property
    def percent_of_way(self) -> float | None:
        """How far the latest value has come from the baseline toward the target, in percent (0 at baseline)."""
        latest, base = self.latest, self.indicator.baseline_value
        if latest is None or latest.value is None or self.target is None or base is None:
            return None
        span = self.target.value - base
        return 100.0 * (latest.value - base) / span if span else None

    @property
    def change(self) -> float | None:
        """The latest value minus the baseline."""
        latest = self.latest
        base = self.indicator.baseline_value
        return None if latest is None or latest.value is None or base is None else latest.value - base

    @property
    def trend(self) -> str:
        """``improving``, ``worsening`` or ``steady`` over the last final periods, judged by polarity."""
        values = [t.value for t in self.final if t.value is not None][-TREND_PERIODS:]
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
    cells: dict[str, dict[str, float | None]] = field(default_factory=dict)  # None: a withheld cell
    dimensions: list[Dimension] = field(default_factory=list)
    minimum: int = 0  # partners a figure must be built from to be shown to members

    @property
    def gap(self) -> Gap | None:
        """The largest gap between the categories of any dimension that are shown, for `period`."""
        gaps = []
        for dim in self.dimensions:
            values = {cat: v for cat, v in self.cells.get(dim.key, {}).items() if v is not None}
            if len(values) > 1:
                high = max(values.items(), key=lambda kv: kv[1])
                low = min(values.items(), key=lambda kv: kv[1])
                gaps.append(Gap(dim.name, high, low))
        return max(gaps, key=lambda g: g.size, default=None)


def figure_text(unit: Unit, total: PeriodTotal) -> str:
    """A period's figure as a reader sees it: the value (revised on a day, or in progress), or why it is withheld."""
    if total.value is None:
        return f"in progress ({total.reported})" if total.withheld == IN_PROGRESS else total.withheld
    revised = f" (revised {day_text(total.revised)})" if total.revised else ""
    return format_value(unit, total.value) + revised + ("" if total.final else f", in progress ({total.reported})")


def headline_text(summary: Summary) -> str:
    """An indicator's newest figure in one phrase: "62.5% in 2026-Q2", why it is withheld, or who has reported."""
    head, pending = summary.headline, summary.in_progress
    if head is not None:
        unit = Unit(summary.indicator.unit)
        if head.value is None:
            return f"{head.withheld} ({head.period})"
        revised = f" (revised {day_text(head.revised)})" if head.revised else ""
        return f"{format_value(unit, head.value)} in {head.period}{revised}"
    return f"{pending.period} in progress: {pending.reported}" if pending else "no value reported yet"


def combine(unit: Unit, values: list[float]) -> float:
    """Partner values combined into the initiative's: a sum for additive units, else the mean."""
    return sum(values) if RULES[unit].additive else sum(values) / len(values)


def summaries(session: Session, indicators: list[Indicator], viewer: Viewer, today: date,
              recent: int | None = RECENT_PERIODS) -> list[Summary]:
    """A `Summary` of each of `indicators` (already filtered to what `viewer` may see) as of `today`.

    With `recent`, totals cover the last `recent` periods of each indicator's calendar
    (enough for the latest value and the trend), reaching further back only for
    indicators with nothing newer.
    """
    ids = [ind.id for ind in indicators if ind.id is not None]
    if not ids:
        return []
    since: dict[int, date | None] = ({id_of(ind): _since(calendar_of(ind), today, recent) for ind in indicators}
                                     if recent else dict.fromkeys(ids))
    rows = _period_rows(session, viewer, since)
    stale = set(ids) - {row[0] for row in rows}
    if recent and stale:
        rows += _period_rows(session, viewer, dict.fromkeys(sorted(stale)))
    expected: dict[int, int] = dict(session.exec(
        select(IndicatorReporter.indicator_id, func.count())
        .where(col(IndicatorReporter.indicator_id).in_(ids), IndicatorReporter.active == True)  # noqa: E712
        .group_by(col(IndicatorReporter.indicator_id))
    ).all())
    targets: dict[int, list[IndicatorTarget]] = defaultdict(list)
    for target in session.exec(select(IndicatorTarget).where(col(IndicatorTarget.indicator_id).in_(ids))
                               .order_by(col(IndicatorTarget.by))):
        targets[target.indicator_id].append(target)
    initiative = session.get(Initiative, indicators[0].initiative_id)
    zone = ZoneInfo(initiative.timezone if initiative else "UTC")
    by_id = {ind.id: ind for ind in indicators}
    totals: dict[int, list[PeriodTotal]] = defaultdict(list)
    for ind_id, period, start, count, total, own, last_in, corrected in sorted(rows, key=lambda r: (r[0], r[2])):
        ind = by_id[ind_id]
        value = total if RULES[Unit(ind.unit)].additive else total / count
        totals[ind_id].append(_period_total(
            viewer, ind, min_contributors(ind, initiative), zone, today, expected.get(ind_id, 0),
            period, start, value, count, int(own or 0), last_in, corrected))
    return [Summary(ind, totals[id_of(ind)], expected.get(id_of(ind), 0), target_for(targets[id_of(ind)], today))
            for ind in indicators]


def _period_total(viewer: Viewer, ind: Indicator, minimum: int, zone: ZoneInfo, today: date, expected: int,
                  period: str, start: date, value: float, count: int, own: int,
                  last_in: datetime, corrected: datetime | None) -> PeriodTotal:
    """One period's total as `viewer` may see it: final or in progress, revised or not, shown or withheld.

    A final figure counts as revised when a value was corrected after the period became
    final: when every partner was in, or at the due date if that came first.
    """
    due_date, late_after = _due(calendar_of(ind), start, ind.due_days, zone)
    final = is_final(count, expected, today > due_date, minimum)
    became_final = min(late_after, last_in) if count >= expected else late_after
    revised = corrected.astimezone(zone).date() if final and corrected and corrected > became_final else None
    why = total_withheld(viewer, ind, contributors=count, own=own, final=final, minimum=minimum)
    return PeriodTotal(period, start, None if why else value, count, expected, final, revised, why)


@lru_cache(maxsize=4096)
def _due(calendar: Calendar, start: date, due_days: int, zone: ZoneInfo) -> tuple[date, datetime]:
    """The due date of the period starting on `start`, and the moment after which it is late."""
    dates = ladder(calendar.containing(start), due_days, 0, zone)
    return dates.due_date, dates.late_after


@lru_cache(maxsize=256)
def _since(calendar: Calendar, today: date, recent: int) -> date:
    """The first day of the `recent` periods of `calendar` that ended before `today`."""
    return calendar.recent(today, recent)[0].start


def _period_rows(session: Session, viewer: Viewer, since: dict[int, date | None]) -> list[Any]:
    """Per indicator (from `since`, each from its date or from the start) and period: submissions,
    their sum, how many are the viewer's own, the last first submission and the last correction.

    The counts and sums come from `SubmissionTotal` (a row per period); only the viewer's own
    submissions are read from the submission table, by partner.
    """
    by_start: dict[date | None, list[int]] = defaultdict(list)
    for ind_id, start in since.items():
        by_start[start].append(ind_id)

    def within(indicator: Any, period_start: Any) -> Any:
        return or_(*(col(indicator).in_(ids) if start is None else and_(col(indicator).in_(ids), period_start >= start)
                     for start, ids in by_start.items()))

    own: dict[tuple[int, date], int] = {}
    if viewer.reporter_ids:
        own = {(ind, start): count for ind, start, count in session.exec(
            select(col(Submission.indicator_id), col(Submission.period_start), func.count())
            .where(col(Submission.reporter_id).in_(viewer.reporter_ids),
                   within(Submission.indicator_id, col(Submission.period_start)))
            .group_by(col(Submission.indicator_id), col(Submission.period_start)))}
    t = SubmissionTotal.__table__  # type: ignore[attr-defined]  # plain rows: no ORM objects to build
    rows = session.execute(select_columns(t.c.indicator_id, t.c.period, t.c.period_start, t.c.submitted, t.c.total,
                                  t.c.last_in, t.c.corrected_at).where(within(t.c.indicator_id, t.c.period_start)))
    return [(ind, period, start, count, total, own.get((ind, start)), last_in, corrected)
            for ind, period, start, count, total, last_in, corrected in rows]


def detail(session: Session, indicator: Indicator, viewer: Viewer, today: date, *, final: bool = False) -> Detail:
    """`indicator` in depth for `viewer`: every period, and partners and cells of the latest one
    (with `final`, of the latest final period the viewer may see, as the public page shows it)."""
    summary = summaries(session, [indicator], viewer, today, recent=None)[0]
    latest = summary.latest if final else summary.totals[-1] if summary.totals else None
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
    minimum = min_contributors(indicator, session.get(Initiative, indicator.initiative_id))
    return Detail(
        summary=summary,
        targets=targets_of(session, id_of(indicator)),
        period=period,
        partners=[v for _, v in values] if sees_all_partners(viewer, indicator) else None,
        own=[v for rid, v in values if sees_partner(viewer, indicator, rid) and rid in viewer.reporter_ids],
        missing=([r.partner for r, _ in reporters_of(session, id_of(indicator)) if r.id not in submitted]
                 if latest else []),
        cells=_cells(indicator, dims, values, viewer, minimum) if latest is not None and latest.value is not None
        else {},
        dimensions=dims,
        minimum=minimum,
    )


def _cells(indicator: Indicator, dims: list[Dimension], values: list[tuple[int, PartnerValue]],
           viewer: Viewer, minimum: int) -> dict[str, dict[str, float | None]]:
    """Each dimension's categories combined across the partners that reported it; None for a withheld cell.

    Called only when the viewer may see the period's total. Whoever sees every partner
    sees every cell. For anyone else a cell from fewer than `minimum` partners (for
    additive units, partners with a count other than 0 in it), or from one partner
    besides their own, is withheld, with a complementary one
    (`bot.core.disclosure.suppressed`). For additive units the period's total minus a
    dimension's cells is the sum of the partners that did not break it down: when that is
    a few partners, the whole dimension is withheld.
    """
    unit = Unit(indicator.unit)
    everyone = sees_all_partners(viewer, indicator)
    combined: dict[str, dict[str, float | None]] = {}
    submitted = {rid for rid, _ in values}
    for dim in dims:
        reported = [(rid, v.cells[dim.key]) for rid, v in values if dim.key in v.cells]
        if not reported:
            continue
        outside = submitted - {rid for rid, _ in reported} if RULES[unit].additive else set()
        if not everyone and outside - viewer.reporter_ids and total_withheld(
                viewer, indicator, contributors=len(outside), own=len(outside & viewer.reporter_ids), final=True,
                minimum=minimum):
            continue
        cells: dict[str, tuple[int, float]] = {}
        for cat in dim.categories:
            inside = [(rid, float(c[cat])) for rid, c in reported if cat in c]
            if inside:
                # a partner whose count in a category is 0 adds nothing to it: the others' values would show
                adding = [rid for rid, v in inside if v or not RULES[unit].additive]
                shown = everyone or not adding or not total_withheld(
                    viewer, indicator, contributors=len(adding), final=True, minimum=minimum,
                    own=sum(1 for rid in adding if rid in viewer.reporter_ids))
                cells[cat] = (max(len(adding), minimum) if shown else 0, combine(unit, [v for _, v in inside]))
        hidden = set() if everyone else suppressed(cells, minimum)
        if len(hidden) < len(cells):
            combined[dim.key] = {cat: None if cat in hidden else value for cat, (_, value) in cells.items()}
        else:
            combined[dim.key] = {}  # every category withheld: the dimension is left out, the note says why
    return combined


def withheld_cells(detail: Detail) -> str:
    """Why some cells of `detail` are not shown, or "" when every one is."""
    if not any(not cells or None in cells.values() for cells in detail.cells.values()):
        return ""
    return (f"Categories from fewer than {detail.minimum} partners are withheld, "
            "with another one so they cannot be worked out from the total.")
