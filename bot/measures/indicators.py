"""Indicators as the rest of the bot uses them: lookup, calendar, dimensions, reporters, targets.

Also `IndicatorSpec` and `sync_indicators`, which write the initiative file's
`indicators:` section into the database idempotently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from rapidfuzz import process
from sqlmodel import Session, col, select

from bot.core.errors import UserError
from bot.measures.entries import Dimension
from bot.measures.periods import Calendar, ladder
from bot.measures.visibility import Viewer, may_submit, sees_indicator
from storage.ids import id_of
from storage.measures import (
    Indicator,
    IndicatorReporter,
    IndicatorTarget,
    PeriodKind,
    Polarity,
    Submission,
    Unit,
    Visibility,
)
from storage.models import Initiative, Member


def calendar_of(indicator: Indicator) -> Calendar:
    """The reporting calendar of `indicator`."""
    return Calendar(PeriodKind(indicator.period_kind), indicator.fiscal_year_start)


def dimensions_of(indicator: Indicator) -> list[Dimension]:
    """The disaggregation dimensions of `indicator`, in declared order."""
    return [Dimension.from_dict(d) for d in indicator.dimensions or []]


def zone_of(session: Session, indicator: Indicator) -> ZoneInfo:
    """The timezone reminders for `indicator` follow: the initiative's."""
    initiative = session.get(Initiative, indicator.initiative_id)
    return ZoneInfo(initiative.timezone if initiative else "UTC")


def visible_indicators(
    session: Session, initiative_id: int, viewer: Viewer, *, submitting: bool = False
) -> list[Indicator]:
    """The active indicators of the initiative that `viewer` may see (or, `submitting`, may submit), by key."""
    rows = session.exec(
        select(Indicator).where(Indicator.initiative_id == initiative_id, Indicator.active == True)  # noqa: E712
        .order_by(Indicator.key)
    ).all()
    allowed = may_submit if submitting else sees_indicator
    return [ind for ind in rows if allowed(viewer, ind)]


def find_indicator(session: Session, initiative_id: int, key: str, viewer: Viewer, usage: str, *,
                   submitting: bool = False) -> Indicator:
    """The visible (or, `submitting`, submittable) indicator named `key`, or an error naming the closest ones.

    An indicator the viewer may not see is reported exactly like one that does not exist.
    """
    indicators = visible_indicators(session, initiative_id, viewer, submitting=submitting)
    by_key = {ind.key.lower(): ind for ind in indicators}
    found = by_key.get(key.strip().lower())
    if found is not None:
        return found
    close = [m for m, _, _ in process.extract(key.lower(), list(by_key), limit=3, score_cutoff=60)]
    hint = f" Did you mean {' or '.join(close)}?" if close else ""
    known = ", ".join(ind.key for ind in indicators) or "none yet"
    raise UserError(f"There is no indicator {key[:40]!r}.{hint} Indicators: {known}.", usage=usage)


def reporters_of(
    session: Session, indicator_id: int, *, everyone: bool = False
) -> list[tuple[IndicatorReporter, Member]]:
    """The partners that report `indicator_id` and their members, by partner name.

    Partners taken off the indicator are left out unless `everyone` is set.
    """
    query = (
        select(IndicatorReporter, Member)
        .join(Member, col(Member.id) == IndicatorReporter.member_id)
        .where(IndicatorReporter.indicator_id == indicator_id)
        .order_by(col(IndicatorReporter.partner), col(IndicatorReporter.id))
    )
    if not everyone:
        query = query.where(IndicatorReporter.active == True)  # noqa: E712
    return list(session.exec(query).all())


def targets_of(session: Session, indicator_id: int) -> list[IndicatorTarget]:
    """The targets of `indicator_id`, soonest first."""
    return list(session.exec(
        select(IndicatorTarget).where(IndicatorTarget.indicator_id == indicator_id).order_by(col(IndicatorTarget.by))
    ).all())


def target_for(targets: list[IndicatorTarget], day: date) -> IndicatorTarget | None:
    """The target that applies on `day`: the next one not yet past, else the last one."""
    upcoming = [t for t in targets if t.by >= day]
    return upcoming[0] if upcoming else (targets[-1] if targets else None)


# --- declaring indicators --------------------------------------------------------------

@dataclass
class IndicatorSpec:
    """An indicator as the initiative file declares it; members and groups by key."""

    key: str
    name: str
    unit: str
    definition: str = ""
    term: str = ""
    polarity: str = Polarity.HIGHER.value
    baseline_value: float | None = None
    baseline_period: str = ""
    targets: list[tuple[float, date, str]] = field(default_factory=list)
    period: str = PeriodKind.QUARTERLY.value
    fiscal_year_start: int = 1
    due_days: int = 10
    open_periods: int = 4  # earlier periods partners may still submit; older ones need backbone --late
    dimensions: list[Dimension] = field(default_factory=list)
    reporters: list[tuple[str, str]] = field(default_factory=list)  # (member key, partner name or "")
    visibility: str = Visibility.AGGREGATE.value
    min_contributors: int | None = None  # None: the initiative's
    group: str = ""
    prompt: bool = True
    follow_up_days: int = 3
    nudge: bool = True
    nudge_mentions: bool = False
    flag: bool = True
    values: list[tuple[str, str, float]] = field(default_factory=list)  # (period, member key, value) from before cibot


@dataclass
class IndicatorChanges:
    """What `sync_indicators` did, by indicator key."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)
    unchanged: int = 0


def sync_indicators(
    session: Session, initiative_id: int, specs: list[IndicatorSpec],
    members: dict[str, int], groups: dict[str, int],
) -> IndicatorChanges:
    """Make the initiative's indicators match `specs` (keys of members and groups resolved by the maps).

    Indicators and reporters left out are deactivated, never deleted, so the values
    they sent stay. Loading the same specs again changes nothing.
    """
    changes = IndicatorChanges()
    existing = {ind.key: ind for ind in session.exec(select(Indicator).where(Indicator.initiative_id == initiative_id))}
    for spec in specs:
        outcome = upsert_indicator(session, initiative_id, spec, members, groups, existing.pop(spec.key, None))
        if outcome == "unchanged":
            changes.unchanged += 1
        else:
            (changes.created if outcome == "created" else changes.updated).append(spec.key)
    for gone in existing.values():
        if gone.active:
            gone.active = False
            session.add(gone)
            changes.deactivated.append(gone.key)
    return changes


def upsert_indicator(
    session: Session, initiative_id: int, spec: IndicatorSpec, members: dict[str, int], groups: dict[str, int],
    ind: Indicator | None,
) -> str:
    """Create `spec` as an indicator, or make `ind` match it; returns created, updated or unchanged."""
    before = _snapshot(session, ind) if ind is not None else None
    if ind is None:
        ind = Indicator(initiative_id=initiative_id, key=spec.key, name=spec.name, unit=Unit(spec.unit))
    ind.name, ind.definition, ind.term = spec.name, spec.definition, spec.term
    ind.unit, ind.polarity = Unit(spec.unit), Polarity(spec.polarity)
    ind.baseline_value, ind.baseline_period = spec.baseline_value, spec.baseline_period
    ind.period_kind, ind.fiscal_year_start = PeriodKind(spec.period), spec.fiscal_year_start
    ind.due_days, ind.visibility = spec.due_days, Visibility(spec.visibility)
    ind.open_periods, ind.min_contributors = spec.open_periods, spec.min_contributors
    ind.dimensions = [d.to_dict() for d in spec.dimensions]
    ind.group_id = groups.get(spec.group) if spec.group else None
    ind.prompt, ind.follow_up_days, ind.nudge = spec.prompt, spec.follow_up_days, spec.nudge
    ind.nudge_mentions, ind.flag, ind.active = spec.nudge_mentions, spec.flag, True
    session.add(ind)
    session.flush()
    assert ind.id is not None
    _sync_targets(session, ind.id, spec.targets)
    _sync_reporters(session, ind.id, spec.reporters, members)
    session.flush()
    added = _add_past_values(session, ind, spec.values)
    if before is None:
        return "created"
    return "updated" if added or before != _snapshot(session, ind) else "unchanged"


def _snapshot(session: Session, ind: Indicator) -> tuple[Any, ...]:
    """Everything a load can change about `ind`, to tell whether it did."""
    fields = {name: getattr(ind, name) for name in Indicator.model_fields if name not in ("id", "created_at")}
    targets = [(t.value, t.by, t.label) for t in targets_of(session, id_of(ind))]
    reporters = [(r.member_id, r.partner, r.active) for r, _ in reporters_of(session, id_of(ind), everyone=True)]
    return (json.dumps(fields, sort_keys=True, default=str), targets, sorted(reporters))


def _sync_targets(session: Session, indicator_id: int, targets: list[tuple[float, date, str]]) -> None:
    current = targets_of(session, indicator_id)
    if [(t.value, t.by, t.label) for t in current] == sorted(targets, key=lambda t: t[1]):
        return
    for old in current:
        session.delete(old)
    for value, by, label in targets:
        session.add(IndicatorTarget(indicator_id=indicator_id, value=value, by=by, label=label))


def _add_past_values(session: Session, ind: Indicator, values: list[tuple[str, str, float]]) -> int:
    """Store the values collected before cibot for partner periods that have none; returns how many.

    A value already in the database (submitted or corrected in chat) is never replaced.
    Each counts as submitted on time, by its reporter, with a note saying where it came from.
    """
    reporters = {member.key: reporter for reporter, member in reporters_of(session, id_of(ind))}
    calendar, zone = calendar_of(ind), zone_of(session, ind)
    added = 0
    for label, member_key, value in values:
        reporter = reporters.get(member_key)
        period = calendar.parse(label)
        if reporter is None or session.exec(select(Submission.id).where(
                Submission.indicator_id == ind.id, Submission.reporter_id == reporter.id,
                Submission.period == period.label)).first() is not None:
            continue
        at = ladder(period, ind.due_days, 0, zone).prompt_at
        session.add(Submission(indicator_id=id_of(ind), reporter_id=id_of(reporter), period=period.label,
                               period_start=period.start, value=value, note="from the initiative file",
                               submitted_by_id=reporter.member_id, submitted_at=at, updated_at=at))
        added += 1
    return added


def _sync_reporters(session: Session, indicator_id: int, reporters: list[tuple[str, str]],
                    members: dict[str, int]) -> None:
    wanted = {members[key]: partner for key, partner in reporters if key in members}
    for reporter, member in reporters_of(session, indicator_id, everyone=True):
        reporter.active = member.id in wanted
        if reporter.active:
            reporter.partner = wanted.pop(id_of(member)) or member.organization or member.name
        session.add(reporter)
    if wanted:
        names = {m.id: m for m in session.exec(select(Member).where(col(Member.id).in_(wanted)))}
        for member_id, partner in wanted.items():
            member = names[member_id]
            session.add(IndicatorReporter(indicator_id=indicator_id, member_id=member_id,
                                          partner=partner or member.organization or member.name))
