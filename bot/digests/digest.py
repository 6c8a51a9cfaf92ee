"""A group's digest: what happened and what is coming, built from each capability's public functions.

A digest covers one period (an ISO week or a month, in the initiative's timezone):
decisions made in it and due soon, the next meeting and its accepted agenda, progress
that changed (totals the group may see, under the measures' disclosure rules), data due
and late (late partners named only in the backbone's digest) and open action items.
The steering committee's digest adds the working groups' roll-up (`bot.rollup`) for the
period. The hourly `tick` job
posts each group's digest once per period through the outbox: the key names the group
and the period, so two replicas or a restart never post it twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot.core.messages import Reply
from bot.core.render import Dialect, Markup
from bot.core.time import day_text, moment_text
from bot.decisions import domain as decisions
from bot.measures.indicators import calendar_of, visible_indicators
from bot.measures.progress import summaries
from bot.measures.status import period_status
from bot.measures.submissions import deadline
from bot.measures.units import format_value
from bot.measures.visibility import Viewer
from bot.meetings import agenda, series
from bot.rollup import report as rollup
from bot.runtime.outbox import enqueue_to_group
from storage.decisions import DecisionStatus, outcome_of
from storage.ids import id_of
from storage.mail import DIGEST_CADENCES, DigestSetting
from storage.measures import Indicator, Unit
from storage.meetings import ActionItem, ActionStatus, ItemStatus
from storage.models import Group, GroupKind, Initiative, Member
from storage.outbox import OutboxMessage

CADENCES = DIGEST_CADENCES
DEFAULT_CADENCE = "week"
SEND_AT = time(8, 0)  # local time on the period's first day (Monday, or the 1st) from which it is posted
TICK_EVERY = timedelta(hours=1)
LATE = {"week": timedelta(days=2), "month": timedelta(days=5)}  # how late a digest may still be posted


@dataclass(frozen=True)
class Window:
    """The period a digest covers: its label, and its start and end (UTC)."""

    label: str
    since: datetime
    until: datetime


@dataclass
class Digest:
    """What one group's digest says, as plain values ready for a template."""

    group: Group
    window: Window
    decided: list[dict[str, str]] = field(default_factory=list)
    due_decisions: list[dict[str, str]] = field(default_factory=list)
    meeting: dict[str, object] | None = None
    progress: list[dict[str, str]] = field(default_factory=list)
    data: list[dict[str, object]] = field(default_factory=list)
    actions: list[dict[str, str]] = field(default_factory=list)
    timezone: str = "UTC"
    working_groups: list[rollup.GroupRollup] = field(default_factory=list)  # the steering committee's roll-up

    @property
    def empty(self) -> bool:
        """True when there is nothing to tell."""
        return not (self.decided or self.due_decisions or self.meeting or self.progress or self.data
                    or self.actions or self.working_groups)


def cadence_of(session: Session, group_id: int) -> str:
    """How often the group's digest is posted (``week`` unless the backbone chose otherwise)."""
    row = session.exec(select(DigestSetting).where(DigestSetting.group_id == group_id)).first()
    return row.every if row else DEFAULT_CADENCE


def set_cadence(session: Session, group_id: int, every: str, now: datetime) -> None:
    """Set how often the group's digest is posted: ``week``, ``month`` or ``off``."""
    row = session.exec(select(DigestSetting).where(DigestSetting.group_id == group_id)).first()
    row = row or DigestSetting(group_id=group_id)
    row.every, row.updated_at = every, now
    session.add(row)


def window_for(every: str, now: datetime, zone: ZoneInfo) -> Window:
    """The period that ended at the start of the current week or month (local time)."""
    today = now.astimezone(zone).date()
    if every == "month":
        start = today.replace(day=1)
        previous = (start - timedelta(days=1)).replace(day=1)
        label = f"{previous:%Y-%m}"
    else:
        start = today - timedelta(days=today.weekday())
        previous = start - timedelta(days=7)
        year, week, _ = previous.isocalendar()
        label = f"{year}-W{week:02d}"
    return Window(label, _local(previous, zone), _local(start, zone))


def due_now(every: str, now: datetime, zone: ZoneInfo) -> bool:
    """True from `SEND_AT` on the current week or month's first day (local time) until `LATE` after it.

    A digest not posted by then (the bot was down, or the cadence was only just chosen)
    is stale and is skipped; the next period's comes on time.
    """
    send = window_for(every, now, zone).until + timedelta(hours=SEND_AT.hour, minutes=SEND_AT.minute)
    return send <= now < send + LATE[every]


def build(session: Session, group: Group, window: Window, now: datetime) -> Digest:
    """Gather the digest of `group` for `window`."""
    initiative = session.get(Initiative, group.initiative_id)
    assert initiative is not None
    zone = ZoneInfo(initiative.timezone)
    digest = Digest(group, window, timezone=initiative.timezone)
    _decisions(session, digest, now)
    _meeting(session, digest, now, initiative.timezone)
    backbone = group.kind == GroupKind.BACKBONE
    everything = group.kind in (GroupKind.BACKBONE, GroupKind.STEERING)
    indicators = [ind for ind in visible_indicators(session, id_of(initiative), Viewer(None, backbone))
                  if everything or ind.group_id == group.id]
    _progress(session, digest, indicators, now, zone)
    _data(session, digest, indicators, now, zone, names=backbone)
    _actions(session, digest, now)
    if group.kind == GroupKind.STEERING:
        digest.working_groups = rollup.rollup(session, initiative, window.since, now)
    return digest


def render(m: Dialect, digest: Digest) -> Reply:
    """The digest as a message for dialect `m`."""
    text = m.render("digests/digest.j2", d=digest, period=digest.window.label, group=digest.group.name,
                    since=day_text(digest.window.since.date()),
                    until=day_text((digest.window.until - timedelta(days=1)).date()))
    sections = _split(text)
    if digest.working_groups:
        sections += _split(rollup.render(m, digest.working_groups, digest.window.since, digest.timezone))
    return Reply(title=f"{digest.group.name}: digest for {digest.window.label}", sections=sections)


def tick(session: Session, now: datetime) -> int:
    """Post every active group's digest for the period just ended, once; how many messages were queued."""
    queued = 0
    for group, initiative in session.exec(select(Group, Initiative).join(
            Initiative, col(Initiative.id) == Group.initiative_id).where(Group.active == True)):  # noqa: E712
        every = cadence_of(session, id_of(group))
        zone = ZoneInfo(initiative.timezone)
        if every == "off" or not due_now(every, now, zone):
            continue
        window = window_for(every, now, zone)
        key = f"digest:{group.id}:{window.label}"
        if session.exec(select(OutboxMessage.id).where(col(OutboxMessage.key).startswith(f"{key}@")).limit(1)).first():
            continue  # posted by an earlier run
        digest = build(session, group, window, now)
        if digest.empty:
            continue
        queued += enqueue_to_group(session, id_of(group), key, lambda m, d=digest: render(m, d))  # type: ignore[misc]
    return queued


# -- the parts --------------------------------------------------------------------------------------


def _decisions(session: Session, digest: Digest, now: datetime) -> None:
    group = digest.group
    for d in decisions.search(session, group.initiative_id, group_id=group.id, limit=200):
        if d.status == DecisionStatus.OPEN and d.closes_at <= now + (digest.window.until - digest.window.since):
            digest.due_decisions.append({"id": str(d.id), "title": d.title, "closes": day_text(d.closes_at.date())})
        elif (d.status in (DecisionStatus.PASSED, DecisionStatus.FAILED) and d.closed_at is not None
              and digest.window.since <= d.closed_at < digest.window.until):
            digest.decided.append({"id": str(d.id), "title": d.title, "status": outcome_of(d), "outcome": d.outcome})


def _meeting(session: Session, digest: Digest, now: datetime, timezone: str) -> None:
    occurrence = series.next_for_group(session, id_of(digest.group), now)
    if occurrence is None:
        return
    items = agenda.items_of(session, occurrence.meeting.id, ItemStatus.ACCEPTED) if occurrence.meeting and \
        occurrence.meeting.id else []
    digest.meeting = {"title": occurrence.cadence.title, "at": moment_text(occurrence.starts_at, timezone),
                      "items": [item.text for item in items]}


def _progress(session: Session, digest: Digest, indicators: list[Indicator], now: datetime, zone: ZoneInfo) -> None:
    viewer = Viewer(None, digest.group.kind == GroupKind.BACKBONE)
    since = digest.window.since.astimezone(zone).date()
    for s in summaries(session, indicators, viewer, now.astimezone(zone).date()):
        latest = s.latest
        if latest is None or latest.value is None:
            continue
        final_at = deadline(session, s.indicator, calendar_of(s.indicator).parse(latest.period))
        revised = latest.revised is not None and latest.revised >= since
        if not (digest.window.since <= final_at < now or revised):
            continue
        percent = s.percent_of_target
        digest.progress.append({"name": s.indicator.name, "value": format_value(Unit(s.indicator.unit), latest.value),
                                "period": latest.period, "trend": s.trend,
                                "percent": f"{percent:.0f}%" if percent is not None else ""})


def _data(session: Session, digest: Digest, indicators: list[Indicator], now: datetime, zone: ZoneInfo, *,
          names: bool) -> None:
    for ind in indicators:
        calendar = calendar_of(ind)
        status = period_status(session, ind, calendar.last_ended(now.astimezone(zone).date()), now)
        if not status.partners:
            continue
        late = now > status.ladder.late_after
        if not status.outstanding and not (digest.window.since <= status.ladder.late_after < now):
            continue
        digest.data.append({"name": ind.name, "period": status.period.label, "due": day_text(status.ladder.due_date),
                            "late": late and bool(status.outstanding), "submitted": len(status.submitted),
                            "expected": len(status.partners),
                            "outstanding": [p.name for p in status.outstanding] if names else []})


def _actions(session: Session, digest: Digest, now: datetime) -> None:
    rows = session.exec(select(ActionItem, Member).join(Member, col(Member.id) == ActionItem.owner_id).where(
        ActionItem.group_id == digest.group.id, ActionItem.status == ActionStatus.OPEN)
        .order_by(col(ActionItem.due), col(ActionItem.id))).all()
    for item, owner in rows:
        digest.actions.append({"id": str(item.id), "text": item.text, "owner": owner.name,
                               "due": day_text(item.due) if item.due else "",
                               "overdue": "yes" if item.due and item.due < now.date() else ""})


def _local(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone)


def _split(text: Markup, limit: int = 2800) -> list[Markup]:
    """The digest cut at blank lines into sections no platform finds too long."""
    sections: list[Markup] = []
    current = ""
    for block in text.split("\n\n"):
        if current and len(current) + len(block) + 2 > limit:
            sections.append(Markup(current))
            current = ""
        current = f"{current}\n\n{block}" if current else block
    if current:
        sections.append(Markup(current))
    return sections
