"""The public progress page: what the backbone published, as one self-contained HTML document.

Every figure comes from `bot.measures.progress` asked on behalf of `Viewer.public()`, so the
page follows the same disclosure rules as chat: a total the public may not see is never
read into the page, let alone written into it. Decisions show title, date and outcome (no
votes); meetings show day, time and series (no place or video link); the glossary shows
agreed terms only. The HTML has no script and its CSS is inline, so the same document is
served by `cibot serve` and opens from a file written by `cibot publish`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import jinja2
from sqlmodel import Session, col, select

from bot.core.render import TEMPLATES
from bot.core.time import day_text, moment_text
from bot.glossary.book import entries_of
from bot.measures.indicators import visible_indicators
from bot.measures.progress import Detail, PeriodTotal, detail, withheld_cells
from bot.measures.units import format_value
from bot.measures.visibility import Viewer
from bot.meetings.series import cadences_of, upcoming
from bot.publish.items import published, published_keys
from bot.publish.svg import Point, line_chart
from storage.decisions import Decision, DecisionStatus
from storage.ids import id_of
from storage.measures import Polarity, Unit
from storage.models import Group, Initiative, TermStatus
from storage.publish import PublishKind

MEETING_WINDOW = timedelta(days=62)  # how far ahead upcoming meetings are listed
MEETINGS_PER_SERIES = 4
DECISIONS_SHOWN = 50


@dataclass
class Figure:
    """A row of a data table: a period (or category) and its value, or why there is none."""

    period: str
    value: str
    note: str = ""


@dataclass
class Breakdown:
    """One disaggregation dimension of the latest period: each category's value, and the gap."""

    name: str
    cells: list[Figure]
    gap: str


@dataclass
class IndicatorView:
    """One published indicator as the public sees it."""

    key: str
    name: str
    definition: str
    better: str
    latest: Figure | None
    baseline: str
    target: str
    trend: str
    chart: str
    table: list[Figure]
    breakdowns: list[Breakdown] = field(default_factory=list)
    withheld_cells: str = ""  # why some categories are not shown


@dataclass
class DecisionView:
    """A decision made: title, day and outcome."""

    title: str
    day: str
    result: str
    outcome: str


@dataclass
class MeetingView:
    """An upcoming meeting: when, and which series."""

    when: str
    iso: str
    title: str
    group: str


@dataclass
class TermView:
    """An agreed glossary term and its meanings."""

    term: str
    meanings: list[tuple[str, str]]


@dataclass
class PublicPage:
    """Everything one initiative's public page shows."""

    name: str
    slug: str
    updated: str
    common_agenda: str = ""
    indicators: list[IndicatorView] = field(default_factory=list)
    decisions: list[DecisionView] = field(default_factory=list)
    meetings: list[MeetingView] = field(default_factory=list)
    glossary: list[TermView] = field(default_factory=list)


def public_page(session: Session, slug: str, now: datetime) -> PublicPage | None:
    """The page of initiative `slug` as of `now`, or None when it has none (unknown, or nothing published)."""
    initiative = session.exec(select(Initiative).where(Initiative.slug == slug)).first()
    if initiative is None or initiative.id is None:
        return None
    items = published(session, initiative.id)
    if not items:
        return None
    zone = ZoneInfo(initiative.timezone or "UTC")
    page = PublicPage(initiative.name, initiative.slug, moment_text(now, zone, with_zone=True))
    if any(item.kind == PublishKind.AGENDA for item in items):
        page.common_agenda = initiative.common_agenda
    wanted = published_keys(items, PublishKind.INDICATOR)
    viewer = Viewer.public()
    shown = {ind.key: ind for ind in visible_indicators(session, initiative.id, viewer)}
    today = now.astimezone(zone).date()
    page.indicators = [_indicator(detail(session, shown[key], viewer, today, final=True))
                       for key in wanted if key in shown]
    groups = {g.key: g for g in session.exec(select(Group).where(Group.initiative_id == initiative.id))}
    decided = [groups[k] for k in published_keys(items, PublishKind.DECISIONS) if k in groups]
    page.decisions = _decisions(session, decided, zone)
    meeting = [groups[k] for k in published_keys(items, PublishKind.MEETINGS) if k in groups and groups[k].active]
    page.meetings = _meetings(session, meeting, now, zone)
    if any(item.kind == PublishKind.GLOSSARY for item in items):
        page.glossary = [TermView(e.term, ([("", e.definition)] if e.definition else []) + e.senses)
                         for e in entries_of(session, initiative.id) if e.status == TermStatus.AGREED]
    return page


def _indicator(d: Detail) -> IndicatorView:
    """The public view of one indicator: only the totals and cells `detail` let the public see."""
    s = d.summary
    ind = s.indicator
    unit = Unit(ind.unit)

    def fmt(value: float) -> str:
        return format_value(unit, value)

    shown = [(t, t.value) for t in s.final if t.value is not None]
    base = "" if ind.baseline_value is None else (
        fmt(ind.baseline_value) + (f" ({ind.baseline_period})" if ind.baseline_period else ""))
    better = "higher is better" if ind.polarity == Polarity.HIGHER else "lower is better"
    chart = ""
    if shown:
        goals = [t for t in d.targets if s.target is None or t.by <= s.target.by]
        description = (f"{ind.name}, {better}. " + "; ".join(f"{t.period}: {fmt(v)}" for t, v in shown) + "."
                       + (f" Baseline {base}." if base else "")
                       + "".join(f" Target {fmt(t.value)} by {t.by:%b %Y}." for t in goals))
        chart = line_chart(f"chart-{ind.key}", f"{ind.name} by period", description,
                           [Point(t.start, v, t.period) for t, v in shown],
                           [Point(t.by, t.value, f"{t.by:%b %Y}") for t in goals], ind.baseline_value, fmt)
    latest = s.latest
    return IndicatorView(
        key=ind.key, name=ind.name, definition=ind.definition, better=better,
        latest=Figure(latest.period, fmt(latest.value)) if latest and latest.value is not None else None,
        baseline=base, target=f"{fmt(s.target.value)} by {s.target.by:%b %Y}" if s.target else "",
        trend=s.trend, chart=chart, table=[_row(t, fmt) for t in s.totals],
        breakdowns=_breakdowns(d, fmt) if latest is not None and latest.period == d.period else [],
        withheld_cells=withheld_cells(d),
    )


def _row(total: PeriodTotal, fmt: Callable[[float], str]) -> Figure:
    """One period of the data table: its value once final, else why there is none."""
    if total.value is not None and total.final:
        return Figure(total.period, fmt(total.value))
    if not total.final:
        return Figure(total.period, "", f"in progress: {total.reported}")
    return Figure(total.period, "", total.withheld or "withheld")


def _breakdowns(d: Detail, fmt: Callable[[float], str]) -> list[Breakdown]:
    """Each dimension of the latest final period that may be shown, with its widest gap."""
    found = []
    for dim in d.dimensions:
        cells = d.cells.get(dim.key)
        if not cells:
            continue
        known = {cat: v for cat, v in cells.items() if v is not None}
        gap = ""
        if len(known) > 1:
            high, low = max(known.items(), key=lambda kv: kv[1]), min(known.items(), key=lambda kv: kv[1])
            gap = f"{high[0]} {fmt(high[1])}, {low[0]} {fmt(low[1])}"
        found.append(Breakdown(dim.name, [Figure(cat, "" if v is None else fmt(v), "" if v is not None else "withheld")
                                          for cat, v in cells.items()], gap))
    return found


def _decisions(session: Session, groups: list[Group], zone: ZoneInfo) -> list[DecisionView]:
    """Decisions the published groups made (passed or not), newest first: title, day and outcome only."""
    ids = [g.id for g in groups if g.id is not None]
    if not ids:
        return []
    rows = session.exec(select(Decision).where(
        col(Decision.group_id).in_(ids), col(Decision.status).in_([DecisionStatus.PASSED, DecisionStatus.FAILED]),
    ).order_by(col(Decision.closed_at).desc()).limit(DECISIONS_SHOWN))
    return [DecisionView(row.title, day_text((row.closed_at or row.closes_at).astimezone(zone).date()),
                         "Agreed" if row.status == DecisionStatus.PASSED else "Not agreed", row.outcome)
            for row in rows]


def _meetings(session: Session, groups: list[Group], now: datetime, zone: ZoneInfo) -> list[MeetingView]:
    """The next scheduled meetings of the published groups' series, soonest first."""
    names = {id_of(g): g.name for g in groups}
    found = []
    for cadence in cadences_of(session, names):
        if cadence.paused:
            continue
        soon = [o for o in upcoming(session, cadence, now, scheduled_only=True) if o.starts_at < now + MEETING_WINDOW]
        found += soon[:MEETINGS_PER_SERIES]
    found.sort(key=lambda o: o.starts_at)
    return [MeetingView(moment_text(o.starts_at, zone, with_zone=True), o.starts_at.isoformat(),
                        o.cadence.title, names[o.cadence.group_id]) for o in found]


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES / "publish"), autoescape=True,
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render_page(page: PublicPage) -> str:
    """The page as a complete HTML document (inline CSS, no script)."""
    return _environment().get_template("page.html.j2").render(page=page)
