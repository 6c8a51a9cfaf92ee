"""Who has submitted a period, who is outstanding, who is late, and whom to ask.

A reporter who is out of office is not asked; their delegate is, if they named one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from bot.measures.indicators import reporters_of, zone_of
from bot.measures.periods import Ladder, Period, ladder
from storage.ids import id_of
from storage.measures import Indicator, IndicatorReporter, Submission
from storage.models import Member


@dataclass(frozen=True)
class PartnerStatus:
    """One partner's standing for a period; `contact` is whom to ask (None: away with no delegate)."""

    reporter: IndicatorReporter
    member: Member
    submission: Submission | None
    late: bool
    contact: Member | None

    @property
    def name(self) -> str:
        """The partner as readers see it: the member and their organization."""
        if self.reporter.partner and self.reporter.partner != self.member.name:
            return f"{self.member.name} ({self.reporter.partner})"
        return self.member.name


@dataclass(frozen=True)
class PeriodStatus:
    """The reporting state of one indicator for one period."""

    indicator: Indicator
    period: Period
    ladder: Ladder
    partners: list[PartnerStatus]

    @property
    def submitted(self) -> list[PartnerStatus]:
        """Partners that have submitted."""
        return [p for p in self.partners if p.submission is not None]

    @property
    def outstanding(self) -> list[PartnerStatus]:
        """Partners that have not submitted yet."""
        return [p for p in self.partners if p.submission is None]


def contact_for(member: Member, delegates: dict[int, Member], now: datetime) -> Member | None:
    """Whom to ask on `member`'s behalf at `now`: themselves, or their delegate while they are away."""
    away = member.out_of_office_until is not None and member.out_of_office_until > now
    if not away:
        return member
    delegate = delegates.get(member.delegate_id or 0)
    return delegate if delegate is not None and delegate.active else None


def period_status(session: Session, indicator: Indicator, period: Period, now: datetime) -> PeriodStatus:
    """Who has and has not submitted `period` of `indicator`, as of `now`."""
    times = ladder(period, indicator.due_days, indicator.follow_up_days, zone_of(session, indicator))
    rows = reporters_of(session, id_of(indicator))
    submissions = {s.reporter_id: s for s in session.exec(
        select(Submission).where(Submission.indicator_id == indicator.id, Submission.period == period.label))}
    delegate_ids = [m.delegate_id for _, m in rows if m.delegate_id]
    delegates = {id_of(m): m for m in session.exec(select(Member).where(col(Member.id).in_(delegate_ids)))}
    partners = []
    for reporter, member in rows:
        sub = submissions.get(id_of(reporter))
        late = sub.submitted_at >= times.late_after if sub else now >= times.late_after
        partners.append(PartnerStatus(reporter, member, sub, late, contact_for(member, delegates, now)))
    return PeriodStatus(indicator, period, times, partners)
