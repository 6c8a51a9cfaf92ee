"""CSV exports of the shared measures: totals per indicator and period, and partner submissions.

Both go through the same visibility rules as replies: the default viewer is the
operator running `cibot export` on the server (who sees everything, like the
backbone); pass a member's `Viewer` to export what that member may see.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date

from sqlmodel import Session, col, select

from bot.measures.indicators import visible_indicators
from bot.measures.progress import summaries
from bot.measures.visibility import Viewer, sees_partner
from storage.measures import IndicatorReporter, Submission, SubmissionRevision
from storage.models import Member

MEASURE_COLUMNS = ("indicator", "name", "unit", "polarity", "visibility", "period", "period_start", "value",
                   "partners_submitted", "partners_expected", "baseline", "target", "target_by")
SUBMISSION_COLUMNS = ("indicator", "period", "period_start", "partner", "value", "cells", "note",
                      "submitted_by", "submitted_at", "updated_at", "corrections")


def _csv(columns: tuple[str, ...], rows: list[tuple[object, ...]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue()


def export_measures(session: Session, initiative_id: int, viewer: Viewer | None = None,
                    today: date | None = None) -> str:
    """CSV of every visible indicator's total per period (empty where withheld from `viewer`)."""
    viewer = viewer or Viewer.operator()
    indicators = visible_indicators(session, initiative_id, viewer)
    rows: list[tuple[object, ...]] = []
    for s in summaries(session, indicators, viewer, today or date.max, recent=None):
        ind = s.indicator
        for total in s.totals:
            rows.append((ind.key, ind.name, ind.unit, ind.polarity, ind.visibility, total.period,
                         total.start.isoformat(), "" if total.value is None else round(total.value, 4),
                         total.submitted, s.expected, "" if ind.baseline_value is None else ind.baseline_value,
                         s.target.value if s.target else "", s.target.by.isoformat() if s.target else ""))
    return _csv(MEASURE_COLUMNS, rows)


def export_submissions(session: Session, initiative_id: int, viewer: Viewer | None = None) -> str:
    """CSV of every partner submission `viewer` may see, with cells, note and the number of corrections."""
    viewer = viewer or Viewer.operator()
    indicators = {ind.id: ind for ind in visible_indicators(session, initiative_id, viewer)}
    if not indicators:
        return _csv(SUBMISSION_COLUMNS, [])
    found = session.exec(
        select(Submission, IndicatorReporter, Member)
        .join(IndicatorReporter, IndicatorReporter.id == Submission.reporter_id)  # type: ignore[arg-type]
        .join(Member, Member.id == Submission.submitted_by_id, isouter=True)  # type: ignore[arg-type]
        .where(col(Submission.indicator_id).in_(list(indicators)))
        .order_by(Submission.indicator_id, Submission.period_start, IndicatorReporter.partner)
    ).all()
    shown = [(s, r, m) for s, r, m in found if sees_partner(viewer, indicators[s.indicator_id], r.id or 0)]
    corrections: dict[int, int] = {}
    ids = [s.id for s, _, _ in shown]
    for submission_id in session.exec(select(SubmissionRevision.submission_id)
                                      .where(col(SubmissionRevision.submission_id).in_(ids))) if ids else []:
        corrections[submission_id] = corrections.get(submission_id, 0) + 1
    rows = [(indicators[s.indicator_id].key, s.period, s.period_start.isoformat(), r.partner, s.value,
             json.dumps(s.cells or {}, sort_keys=True), s.note, m.name if m else "", s.submitted_at.isoformat(),
             s.updated_at.isoformat(), corrections.get(s.id or 0, 0)) for s, r, m in shown]
    return _csv(SUBMISSION_COLUMNS, rows)
