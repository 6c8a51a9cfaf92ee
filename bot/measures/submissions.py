"""Recording partners' values: who submits for which partner and period, and corrections with history.

The value itself is checked by `bot.measures.entries`; this module decides the
partner (a member answers for their own organization, a delegate for a colleague who
is away, the backbone for anyone), the period (one that has ended), and whether the
write is a first submission or a correction, which needs a reason and leaves a
revision behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.core.errors import UserError
from bot.core.time import day_text
from bot.measures.entries import Entry
from bot.measures.indicators import calendar_of, reporters_of, zone_of
from bot.measures.periods import BadPeriod, Period, ladder
from bot.measures.units import format_value
from storage.ids import id_of
from storage.measures import Indicator, IndicatorReporter, Submission, SubmissionRevision, Unit


@dataclass(frozen=True)
class Recorded:
    """What a submission did: the stored row, the value it replaced (for corrections), and lateness."""

    submission: Submission
    previous: float | None
    late: bool


def choose_partner(
    session: Session, indicator: Indicator, member_id: int, *, backbone: bool, named: str = ""
) -> IndicatorReporter:
    """The partner a submission by `member_id` is for; `named` (a partner or member key) picks one.

    Backbone staff may submit for any partner; others only for their own, and those of
    colleagues who delegate to them.
    """
    everyone = reporters_of(session, id_of(indicator))
    allowed = everyone if backbone else [(r, m) for r, m in everyone
                                         if m.id == member_id or m.delegate_id == member_id]
    names = ", ".join(r.partner for r, _ in everyone) or "nobody yet"
    if named:
        wanted = named.strip().lower()
        for reporter, member in allowed:
            if wanted in (reporter.partner.lower(), member.key.lower()):
                return reporter
        raise UserError(f"You cannot submit {indicator.key} for {named[:60]!r}. "
                        f"You can submit for: {', '.join(r.partner for r, _ in allowed) or 'no partner'}.")
    if len(allowed) == 1:
        return allowed[0][0]
    if not allowed:
        raise UserError(f"You are not a reporter of {indicator.key}. It is reported by {names}; "
                        "ask your backbone team if you should be one.")
    raise UserError(f"You submit {indicator.key} for several partners ({', '.join(r.partner for r, _ in allowed)}); "
                    "say which with --for PARTNER.")


def choose_period(indicator: Indicator, typed: str | None, today: date) -> Period:
    """The period named by `typed`, or the latest one that has ended; a period still running is refused."""
    calendar = calendar_of(indicator)
    if not typed:
        return calendar.last_ended(today)
    try:
        period = calendar.parse(typed)
    except BadPeriod as exc:
        raise UserError(str(exc), usage=f"Add --period {calendar.example()} for another period.") from exc
    if period.last >= today:
        opens = period.last.toordinal() + 1
        raise UserError(f"{period.label} has not ended yet (its last day is {day_text(period.last)}); "
                        f"you can submit it from {day_text(date.fromordinal(opens))}.")
    return period


def existing(session: Session, indicator_id: int, reporter_id: int, period: str) -> Submission | None:
    """The partner's current submission for `period`, if any."""
    return session.exec(select(Submission).where(
        Submission.indicator_id == indicator_id, Submission.reporter_id == reporter_id, Submission.period == period,
    )).first()


def deadline(session: Session, indicator: Indicator, period: Period) -> datetime:
    """The moment after which a submission for `period` counts as late (the end of the due date)."""
    return ladder(period, indicator.due_days, 0, zone_of(session, indicator)).late_after


def record(
    session: Session,
    indicator: Indicator,
    reporter: IndicatorReporter,
    period: Period,
    entry: Entry,
    *,
    by: int,
    now: datetime,
    note: str = "",
    reason: str = "",
) -> Recorded:
    """Store `entry` as the partner's value for `period`; a second one is a correction and needs `reason`."""
    assert indicator.id is not None and reporter.id is not None
    current = existing(session, indicator.id, reporter.id, period.label)
    late = now >= deadline(session, indicator, period)
    if current is None:
        row = Submission(indicator_id=indicator.id, reporter_id=reporter.id, period=period.label,
                         period_start=period.start, value=float(entry.value), cells=entry.cells_json(),
                         note=note[:1000], submitted_by_id=by, submitted_at=now, updated_at=now)
        session.add(row)
        try:
            session.flush()
        except IntegrityError as exc:  # another submission for the same partner and period won the race
            raise UserError(f"{reporter.partner}'s {period.label} value was submitted by someone else a moment "
                            "ago. Look at it with /ci progress and correct it if needed.") from exc
        return Recorded(row, None, late)
    if not reason.strip():
        shown = format_value(Unit(indicator.unit), current.value)
        raise UserError(
            f"{reporter.partner} already submitted {shown} for {period.label} "
            f"(on {day_text(current.updated_at.date())}). To correct it, give a reason.",
            usage=f'/ci submit {indicator.key} VALUE --period {period.label} --reason "why it changed"')
    session.add(SubmissionRevision(submission_id=id_of(current), changed_at=now, changed_by_id=by,
                                   old_value=current.value, old_cells=current.cells, old_note=current.note,
                                   new_value=float(entry.value), reason=reason.strip()[:500]))
    previous = current.value
    current.value, current.cells, current.updated_at = float(entry.value), entry.cells_json(), now
    current.note = note[:1000] or current.note
    session.add(current)
    return Recorded(current, previous, late)


def history(session: Session,
            indicator_id: int) -> list[tuple[Submission, IndicatorReporter, list[SubmissionRevision]]]:
    """Every submission of `indicator_id`, newest period first, each with its corrections (oldest first)."""
    rows = session.exec(
        select(Submission, IndicatorReporter)
        .join(IndicatorReporter, col(IndicatorReporter.id) == Submission.reporter_id)
        .where(Submission.indicator_id == indicator_id)
        .order_by(col(Submission.period_start).desc(), col(IndicatorReporter.partner))
    ).all()
    ids = [s.id for s, _ in rows]
    revisions: dict[int, list[SubmissionRevision]] = {}
    if ids:
        for rev in session.exec(select(SubmissionRevision).where(col(SubmissionRevision.submission_id).in_(ids))
                                .order_by(col(SubmissionRevision.changed_at), col(SubmissionRevision.id))):
            revisions.setdefault(rev.submission_id, []).append(rev)
    return [(s, r, revisions.get(id_of(s), [])) for s, r in rows]
