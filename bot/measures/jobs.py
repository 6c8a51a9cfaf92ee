"""The data-submission ladder as scheduled jobs: prompt, follow-up, channel nudge, backbone flag.

For every active indicator the reconciler schedules the steps of the period being
collected and of the period under way; each prompt job schedules the next period's
steps, so the ladder keeps going without a restart. Every message goes through the
outbox under a key naming the step, indicator, period and person, so a job that runs
twice sends nothing twice. Steps switched off on the indicator are skipped.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from sqlmodel import Session, col, select

from bot.core.messages import Reply
from bot.core.registry import Registry
from bot.core.render import Dialect
from bot.measures import messages
from bot.measures.indicators import calendar_of, dimensions_of, zone_of
from bot.measures.periods import Period
from bot.measures.status import PartnerStatus, PeriodStatus, period_status
from bot.measures.submissions import existing
from bot.runtime.outbox import enqueue_to_group, enqueue_to_member
from bot.runtime.scheduler import Scheduler, scheduler_of
from storage.ids import id_of
from storage.measures import Indicator
from storage.models import Group, GroupKind, PlatformIdentity

GRACE = timedelta(days=1)  # a step missed while the bot was down still runs within a day
SWEEP_EVERY = timedelta(hours=1)


def register(registry: Registry) -> None:
    """Name the ladder's steps as jobs, and add the reconciler that runs at start (catching up on
    steps missed within a day) and every `SWEEP_EVERY` (picking up indicators changed meanwhile)."""
    for step in (prompt, follow_up, nudge, flag):
        registry.job(f"measures.{step.__name__}", step)
    registry.reconciler("measures", reconcile, every=SWEEP_EVERY)


def reconcile(session: Session, scheduler: Scheduler, now: datetime, *,
              sweep_every: timedelta = SWEEP_EVERY, sweeping: bool = False) -> None:
    """Schedule the ladder steps of every active indicator; at start (not `sweeping`), also run
    those missed less than a day ago, else only future steps that lack their job."""
    for indicator in session.exec(select(Indicator).where(Indicator.active == True)):  # noqa: E712
        schedule_indicator(session, scheduler, indicator, now, catch_up=not sweeping)


def schedule_indicator(session: Session, scheduler: Scheduler, indicator: Indicator, now: datetime, *,
                       catch_up: bool = False) -> None:
    """Schedule the steps of the period being collected and of the one under way.

    Steps in the future are scheduled (unless already at that time); with `catch_up`,
    steps less than a day overdue are run now.
    """
    calendar = calendar_of(indicator)
    today = now.astimezone(zone_of(session, indicator)).date()
    current = calendar.containing(today)
    for period in (calendar.before(current), current):
        _schedule_period(session, scheduler, indicator, period, now, catch_up)


def _schedule_period(session: Session, scheduler: Scheduler, indicator: Indicator, period: Period,
                     now: datetime, catch_up: bool) -> None:
    times = period_status(session, indicator, period, now).ladder
    steps = (
        ("prompt", times.prompt_at if indicator.prompt else None),
        ("follow_up", times.follow_up_at),
        ("nudge", times.nudge_at if indicator.nudge else None),
        ("flag", times.flag_at if indicator.flag else None),
    )
    for step, when in steps:
        job_id = f"measures:{indicator.id}:{period.label}:{step}"
        if when is None or when < now - (GRACE if catch_up else timedelta(0)):
            continue
        if scheduler.next_run(job_id) != max(when, now):
            scheduler.at(job_id, max(when, now), f"measures.{step}", grace=GRACE,
                         indicator_id=indicator.id, period=period.label)


def _status(session: Session, indicator_id: int, period: str, now: datetime) -> PeriodStatus | None:
    indicator = session.get(Indicator, indicator_id)
    if indicator is None or not indicator.active:
        return None
    return period_status(session, indicator, calendar_of(indicator).parse(period), now)


def ask(session: Session, status: PeriodStatus, partners: list[PartnerStatus], key: str, *,
        reminder: bool = False) -> int:
    """Send the prompt to the contact of each of `partners` (skipping those away without a delegate).

    Each message's key is `key` plus the partner and contact. Returns how many were queued.
    """
    dims = dimensions_of(status.indicator)
    previous = calendar_of(status.indicator).before(status.period).label
    queued = 0
    for partner in partners:
        if partner.contact is None or partner.contact.id is None:
            continue
        last = existing(session, id_of(status.indicator), id_of(partner.reporter), previous)
        queued += enqueue_to_member(
            session, partner.contact.id, f"{key}:{partner.reporter.id}:{partner.contact.id}",
            partial(messages.prompt, status=status, partner=partner, dims=dims, last=last, reminder=reminder))
    return queued


def prompt(session: Session, now: datetime, *, indicator_id: int, period: str) -> None:
    """Step 1, at the period's end: ask every outstanding partner; then schedule the next period."""
    status = _status(session, indicator_id, period, now)
    if status is None:
        return
    ask(session, status, status.outstanding, f"measures.prompt:{indicator_id}:{period}")
    schedule_indicator(session, scheduler_of(session), status.indicator, now)


def follow_up(session: Session, now: datetime, *, indicator_id: int, period: str) -> None:
    """Step 2, a few days before due: remind the outstanding, saying how many have submitted."""
    status = _status(session, indicator_id, period, now)
    if status is not None:
        ask(session, status, status.outstanding, f"measures.follow_up:{indicator_id}:{period}", reminder=True)


def nudge(session: Session, now: datetime, *, indicator_id: int, period: str) -> None:
    """Step 3, on the due date: name the outstanding partners in the working group's channel."""
    status = _status(session, indicator_id, period, now)
    if status is None or not status.outstanding or status.indicator.group_id is None:
        return
    member_ids = [p.member.id for p in status.outstanding]

    def build(m: Dialect) -> Reply:
        ids: dict[int, str] = {}
        if status.indicator.nudge_mentions and m.platform != "console":
            ids = {i.member_id: i.platform_user_id for i in session.exec(select(PlatformIdentity).where(
                PlatformIdentity.platform == m.platform, col(PlatformIdentity.member_id).in_(member_ids)))}
        return messages.nudge(m, status, ids)

    enqueue_to_group(session, status.indicator.group_id, f"measures.nudge:{indicator_id}:{period}", build)


def flag(session: Session, now: datetime, *, indicator_id: int, period: str) -> None:
    """Step 4, the day after due: flag the late partners in the backbone's channel."""
    status = _status(session, indicator_id, period, now)
    if status is None or not status.outstanding:
        return
    backbone = session.exec(select(Group).where(
        Group.initiative_id == status.indicator.initiative_id, Group.kind == GroupKind.BACKBONE,
        Group.active == True)).all()  # noqa: E712
    for group in backbone:
        enqueue_to_group(session, id_of(group), f"measures.flag:{indicator_id}:{period}",
                         lambda m: messages.flag(m, status))
