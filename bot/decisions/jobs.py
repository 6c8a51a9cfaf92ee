"""Scheduled work for decisions: reminding non-voters, closing votes on time, review-date reminders.

A daily job also posts the audit chain's head to the backbone (`bot.decisions.audit_head`).

Each job is idempotent and re-reads the decision, so a job that fires after an
extension, a withdrawal or an early close does nothing wrong. `reconcile` makes
the stored jobs match the open decisions; `register` names the jobs and adds it as
a reconciler run every minute, so decisions opened from chat get their jobs promptly.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import or_
from sqlmodel import Session, col, select

from bot.core.registry import Registry
from bot.decisions import audit_head, posts
from bot.decisions import domain as decisions
from bot.decisions.cards import reminder_card, review_card
from bot.runtime.outbox import enqueue_to_group, enqueue_to_member
from bot.runtime.scheduler import Scheduler
from storage.decisions import Decision, DecisionStatus
from storage.ids import id_of
from storage.models import Group, GroupKind

SWEEP_EVERY = timedelta(minutes=1)


def _stamp(moment: datetime) -> str:
    return f"{moment:%Y%m%dT%H%MZ}"


def close_vote(session: Session, now: datetime, decision_id: int) -> None:
    """Close the vote if it is due, and post the tally, quorum and the rule's result."""
    result = decisions.close(session, decision_id, now)
    if result is not None:
        decision = session.get(Decision, decision_id)
        assert decision is not None
        posts.closed(session, decision, result)


def remind_voters(session: Session, now: datetime, decision_id: int) -> None:
    """Privately remind every eligible member who has not voted, once per closing time."""
    decision = session.get(Decision, decision_id)
    if decision is None or decision.status != DecisionStatus.OPEN or decision.closes_at <= now:
        return
    if decision.reminded_for == decision.closes_at:
        return
    for member in decisions.non_voters(session, decision):
        enqueue_to_member(session, id_of(member),
                          f"decision:{decision.id}:remind:{_stamp(decision.closes_at)}:{member.id}",
                          partial(reminder_card, session, decision=decision, member=member))
    decision.reminded_for = decision.closes_at
    session.add(decision)


def review_due(session: Session, now: datetime, decision_id: int) -> None:
    """Tell the backbone a decision is due for review (it also appears on the group's agenda)."""
    decision = session.get(Decision, decision_id)
    if decision is None or decision.review_at is None or decision.review_at > now:
        return
    if decision.review_sent_for == decision.review_at:
        return
    backbone = session.exec(select(Group).where(Group.initiative_id == decision.initiative_id,
                                                Group.kind == GroupKind.BACKBONE,
                                                Group.active == True)).all()  # noqa: E712
    for group in backbone:
        enqueue_to_group(session, id_of(group), f"decision:{decision.id}:review:{_stamp(decision.review_at)}",
                         lambda m: review_card(session, m, decision))
    decision.review_sent_for = decision.review_at
    session.add(decision)


def reconcile(session: Session, scheduler: Scheduler, now: datetime, *,
              sweep_every: timedelta = SWEEP_EVERY, sweeping: bool = False) -> None:
    """Give every open decision its reminder and closing jobs, and every pending review its reminder.

    Work already due runs at once, in this transaction.
    """
    open_ = session.exec(select(Decision).where(Decision.status == DecisionStatus.OPEN)).all()
    for decision in open_:
        assert decision.id is not None
        remind_at = decision.closes_at - timedelta(hours=decision.remind_hours)
        if decision.reminded_for != decision.closes_at and remind_at > decision.created_at:
            _plan(session, scheduler, now, f"decision:{decision.id}:remind", remind_at, remind_voters, decision.id)
        _plan(session, scheduler, now, f"decision:{decision.id}:close", decision.closes_at, close_vote, decision.id)
    reviews = session.exec(select(Decision).where(
        col(Decision.review_at).is_not(None),
        or_(col(Decision.review_sent_for).is_(None), col(Decision.review_sent_for) != Decision.review_at))).all()
    for decision in reviews:
        assert decision.id is not None and decision.review_at is not None
        _plan(session, scheduler, now, f"decision:{decision.id}:review", decision.review_at, review_due, decision.id)


def _plan(session: Session, scheduler: Scheduler, now: datetime, job_id: str, when: datetime,
          job: Callable[[Session, datetime, int], None], decision_id: int) -> None:
    if when <= now:
        job(session, now, decision_id)
        scheduler.cancel(job_id)
    elif scheduler.next_run(job_id) != when:
        scheduler.at(job_id, when, f"decisions.{job.__name__}", decision_id=decision_id)


def register(registry: Registry) -> None:
    """Name the reminder, closing and review jobs, and add the reconciler swept every minute."""
    for job in (close_vote, remind_voters, review_due):
        registry.job(f"decisions.{job.__name__}", job)
    registry.reconciler("decisions", reconcile, every=SWEEP_EVERY)
    registry.job(audit_head.JOB, audit_head.post_head)
    registry.periodic("decisions:audit-head", audit_head.DAILY, audit_head.JOB)
