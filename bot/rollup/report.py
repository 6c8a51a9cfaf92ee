"""The working groups' roll-up: what each group reports up to the steering committee.

For each active working group, built from the group's own records since a moment
(by default the steering committee's last meeting): where its indicators stand, as the
figures `bot.measures` lets every steering member see (final periods, disclosure rules
applied there); the decisions it closed; and its open action items, overdue ones and
those opened since. The steering agenda shows it as "From the working groups" and
`/ci rollup` prints the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, or_, select

from bot.core.registry import AgendaView
from bot.core.render import Dialect, Markup
from bot.core.time import day_text, moment_text
from bot.decisions.domain import outcome_of
from bot.measures.indicators import visible_indicators
from bot.measures.progress import Summary, summaries
from bot.measures.units import Unit, format_change, format_value
from bot.measures.visibility import Viewer
from bot.meetings import series
from storage.decisions import Decision, DecisionStatus
from storage.meetings import ActionItem, ActionStatus
from storage.models import Group, GroupKind, Initiative, Member

AGENDA_ORDER = 25  # after the committee's own progress and decisions, before its actions and items
LOOKBACK = timedelta(days=31)  # the window when the steering committee has not met before
SEARCH_BACK = timedelta(days=400)  # how far back the steering committee's last meeting is looked for
ACTIONS_SHOWN = 5  # open actions listed per group; the rest are counted


@dataclass
class GroupRollup:
    """What one working group reports up: progress lines, decisions closed, open actions."""

    group: Group
    progress: list[str] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    more_actions: int = 0

    @property
    def empty(self) -> bool:
        """True when the group has nothing to report."""
        return not (self.progress or self.decisions or self.actions)


def steering_group(session: Session, initiative_id: int) -> Group | None:
    """The initiative's (first) active steering committee."""
    return session.exec(select(Group).where(
        Group.initiative_id == initiative_id, Group.kind == GroupKind.STEERING, Group.active == True,  # noqa: E712
    ).order_by(col(Group.id))).first()


def since_last_meeting(session: Session, group: Group | None, moment: datetime) -> datetime:
    """When `group` last met before `moment` (skipped meetings do not count), else `LOOKBACK` before it."""
    starts = [o.starts_at for cadence in series.cadences_of(session, [group.id] if group and group.id else [])
              for o in series.occurrences_between(session, cadence, moment - SEARCH_BACK, moment)]
    return max(starts, default=moment - LOOKBACK)


def rollup(session: Session, initiative: Initiative, since: datetime, now: datetime) -> list[GroupRollup]:
    """Each active working group's report since `since`, by name, as any steering member may see it."""
    assert initiative.id is not None
    groups = list(session.exec(select(Group).where(
        Group.initiative_id == initiative.id, Group.kind == GroupKind.WORKING_GROUP,
        Group.active == True,  # noqa: E712
    ).order_by(col(Group.name))))
    reports = {g.id: GroupRollup(g) for g in groups}
    today = now.astimezone(ZoneInfo(initiative.timezone)).date()
    viewer = Viewer(None, backbone=False)  # the steering committee's members, speaking for no partner here
    indicators = [i for i in visible_indicators(session, initiative.id, viewer) if i.group_id in reports]
    for summary in summaries(session, indicators, viewer, today):
        reports[summary.indicator.group_id].progress.append(progress_line(summary))
    for decision in session.exec(select(Decision).where(
            col(Decision.group_id).in_(list(reports)), col(Decision.status).in_([DecisionStatus.PASSED,
                                                                           DecisionStatus.FAILED]),
            col(Decision.closed_at) >= since).order_by(col(Decision.closed_at), col(Decision.id))):
        reports[decision.group_id].decisions.append(f"#{decision.id} {decision.title}: {outcome_of(decision)}")
    _add_actions(session, reports, since, today)
    return [r for r in reports.values() if not r.empty]


def progress_line(summary: Summary) -> str:
    """One indicator's latest final figure, its change from the period before, target and trend."""
    unit, final = Unit(summary.indicator.unit), summary.final
    newest = summary.totals[-1] if summary.totals else None
    withheld = newest.withheld if newest is not None and newest.final and newest.withheld else "no final figure yet"
    parts = [f"{summary.indicator.name}: {withheld}"]
    values = [(t.period, t.value) for t in final if t.value is not None]
    if values:
        period, value = values[-1]
        parts[0] = f"{summary.indicator.name}: {format_value(unit, value)} in {period}"
        if len(values) > 1:
            parts[0] += f" ({format_change(unit, value - values[-2][1])} since {values[-2][0]})"
        if summary.percent_of_target is not None:
            parts.append(f"{summary.percent_of_target:.0f}% of target")
        parts.append(summary.trend)
    if (pending := summary.in_progress) is not None:
        parts.append(f"{pending.period} in progress: {pending.reported}")
    return " · ".join(parts)


def _add_actions(session: Session, reports: dict[int | None, GroupRollup], since: datetime, today: date) -> None:
    """The groups' open actions that are overdue or were opened since `since`, oldest first."""
    rows = session.exec(select(ActionItem, Member).join(Member, col(Member.id) == ActionItem.owner_id).where(
        col(ActionItem.group_id).in_(list(reports)), ActionItem.status == ActionStatus.OPEN,
        or_(col(ActionItem.created_at) >= since, col(ActionItem.due) < today),
    ).order_by(col(ActionItem.id))).all()
    for action, owner in rows:
        report = reports[action.group_id]
        if len(report.actions) == ACTIONS_SHOWN:
            report.more_actions += 1
            continue
        due = ""
        if action.due is not None:
            due = f" (due {day_text(action.due)}{', overdue' if action.due < today else ''})"
        report.actions.append(f"#{action.id} {owner.name}: {action.text}{due}")


def render(markup: Dialect, reports: list[GroupRollup], since: datetime, timezone: str) -> Markup:
    """The roll-up as a message section ("" when no group has anything to report)."""
    if not reports:
        return Markup()
    return markup.render("rollup/rollup.j2", reports=reports, since=moment_text(since, timezone))


def agenda_section(view: AgendaView) -> Markup:
    """The steering committee's agenda section "From the working groups", since its last meeting."""
    if view.group.kind != GroupKind.STEERING:
        return Markup()
    initiative = view.session.get(Initiative, view.group.initiative_id)
    if initiative is None:
        return Markup()
    since = since_last_meeting(view.session, view.group, view.starts_at)
    return render(view.markup, rollup(view.session, initiative, since, view.now), since, view.cadence.timezone)
