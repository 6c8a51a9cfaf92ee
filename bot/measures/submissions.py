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
from typing import Any

from sqlmodel import Session, col, select

from bot.core.errors import UserError
from bot.core.time import day_text
from bot.measures.entries import Entry
from bot.measures.indicators import calendar_of, dimensions_of, reporters_of, zone_of
from bot.measures.periods import BadPeriod, Period, ladder
from bot.measures.units import RULES, format_value
from storage.ids import id_of
from storage.measures import Indicator, IndicatorReporter, Submission, SubmissionRevision, Unit


@dataclass(frozen=True)
class Recorded:
    """What a submission did: the stored row, the value it replaced (for corrections), and lateness.

    `kept` are the dimension keys whose stored cells a correction without them left in place.
    """

    submission: Submission
    previous: float | None
    late: bool
    kept: tuple[str, ...] = ()


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


def choose_period(indicator: Indicator, typed: str | None, today: date, *, late: str = "",
                  backbone: bool = False) -> Period:
    """The period named by `typed`, or the latest one that has ended.

    A period still running is refused, and so is one older than the indicator's window
    (`Indicator.open_periods` before the latest ended one) unless backbone staff add it
    with a `late` reason.
    """
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
    if not outside_window(indicator, period, today) or (backbone and late.strip()):
        return period
    latest = calendar.last_ended(today)
    oldest = calendar.before(latest, max(indicator.open_periods, 0))
    window = latest.label if oldest == latest else f"{oldest.label} to {latest.label}"
    if late.strip():
        raise UserError(f"{period.label} is too old for {indicator.key} to be submitted now; only backbone staff "
                        f"can add it late. You can submit {window}.")
    raise UserError(f"{period.label} is too old for {indicator.key} to be submitted now: you can submit {window}. "
                    "Backbone staff can still add an older period with --late and the reason.",
                    usage=f'/ci submit {indicator.key} VALUE --period {period.label} --late "why it comes now" '
                          "(backbone staff)")


def outside_window(indicator: Indicator, period: Period, today: date) -> bool:
    """True when `period` is older than the periods partners may submit (`Indicator.open_periods`)."""
    calendar = calendar_of(indicator)
    return period.start < calendar.before(calendar.last_ended(today), max(indicator.open_periods, 0)).start


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
        session.flush()  # a race for the same partner and period: the core runs the loser again, as a correction
        return Recorded(row, None, late)
    if not reason.strip():
        shown = format_value(Unit(indicator.unit), current.value)
        raise UserError(
            f"{reporter.partner} already submitted {shown} for {period.label} "
            f"(on {day_text(current.updated_at.date())}). To correct it, give a reason.",
            usage=f'/ci submit {indicator.key} VALUE --period {period.label} --reason "why it changed"')
    cells, kept = _corrected_cells(indicator, current, entry)
    session.add(SubmissionRevision(submission_id=id_of(current), changed_at=now, changed_by_id=by,
                                   old_value=current.value, old_cells=current.cells, old_note=current.note,
                                   new_value=float(entry.value), reason=reason.strip()[:500]))
    previous = current.value
    current.value, current.cells, current.updated_at = float(entry.value), cells, now
    current.note = note[:1000] or current.note
    session.add(current)
    return Recorded(current, previous, late, kept)


def _corrected_cells(indicator: Indicator, current: Submission,
                     entry: Entry) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The cells a correction stores: the new ones, and the stored ones of every dimension it leaves out.

    For a unit whose categories add up to the total, a stored breakdown that no longer
    adds up to the corrected total is refused, naming the dimension to give again.
    """
    new = entry.cells_json()
    kept = tuple(key for key in (current.cells or {}) if key not in new)
    if RULES[Unit(indicator.unit)].additive:
        names = {d.key: d.name for d in dimensions_of(indicator)}
        for key in kept:
            total = sum(float(v) for v in current.cells[key].values())
            if abs(total - float(entry.value)) > 1e-9 * max(1.0, abs(total)):
                unit = Unit(indicator.unit)
                raise UserError(
                    f"The stored breakdown by {names.get(key, key)} adds up to {format_value(unit, total)}, "
                    f"not the corrected total {format_value(unit, float(entry.value))}; give its categories "
                    "again with the new total.",
                    usage=f"/ci submit {indicator.key} --period {current.period} opens the form with "
                          "every category.")
    return {**{key: current.cells[key] for key in kept}, **new}, kept


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
