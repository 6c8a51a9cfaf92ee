"""CSV exports of the shared measures: totals per indicator and period, and partner submissions.

Both go through the same visibility rules as replies: the default viewer is the
operator running `cibot export` on the server (who sees everything, like the
backbone); pass a member's `Viewer` to export what that member may see.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import date

from sqlmodel import Session, col, select

from bot.measures.indicators import target_for, targets_of, visible_indicators
from bot.measures.progress import summaries
from bot.measures.visibility import IN_PROGRESS, Viewer, sees_all_partners, sees_partner
from storage.ids import id_of
from storage.measures import IndicatorReporter, Submission, SubmissionRevision
from storage.models import Member

MEASURE_COLUMNS = ("indicator", "name", "unit", "polarity", "visibility", "period", "period_start", "value",
                   "status", "revised", "partners_submitted", "partners_expected", "baseline", "target", "target_by")
SUBMISSION_COLUMNS = ("indicator", "period", "period_start", "partner", "value", "cells", "note",
                      "submitted_by", "submitted_at", "updated_at", "corrections")


def _csv(columns: tuple[str, ...], rows: Sequence[tuple[object, ...]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue()


def export_measures(session: Session, initiative_id: int, viewer: Viewer | None = None) -> str:
    """CSV of every visible indicator's total per period (empty where withheld from `viewer`, with why).

    `status` is final, in progress or why the value is withheld; `revised` the day a final
    figure last changed. A member's export leaves out how many partners a final figure
    is built from, as replies do. Each row carries the target that applied to its period: the first one due on or after
    the period's start.
    """
    viewer = viewer or Viewer.operator()
    indicators = visible_indicators(session, initiative_id, viewer)
    rows: list[tuple[object, ...]] = []
    for s in summaries(session, indicators, viewer, date.max, recent=None):  # every period; targets per row
        ind = s.indicator
        targets = targets_of(session, id_of(ind))
        for total in s.totals:
            target = target_for(targets, total.start)
            status = total.withheld or ("final" if total.final else IN_PROGRESS)
            counted = total.submitted if sees_all_partners(viewer, ind) or not total.final else ""
            rows.append((ind.key, ind.name, ind.unit, ind.polarity, ind.visibility, total.period,
                         total.start.isoformat(), "" if total.value is None else round(total.value, 4), status,
                         total.revised.isoformat() if total.revised else "",
                         counted, s.expected, "" if ind.baseline_value is None else ind.baseline_value,
                         target.value if target else "", target.by.isoformat() if target else ""))
    return _csv(MEASURE_COLUMNS, rows)


def export_submissions(session: Session, initiative_id: int, viewer: Viewer | None = None) -> str:
    """CSV of every partner submission `viewer` may see, with cells, note and the number of corrections."""
    viewer = viewer or Viewer.operator()
    indicators = {ind.id: ind for ind in visible_indicators(session, initiative_id, viewer)}
    if not indicators:
        return _csv(SUBMISSION_COLUMNS, [])
    found = session.exec(
        select(Submission, IndicatorReporter, Member)
        .join(IndicatorReporter, col(IndicatorReporter.id) == Submission.reporter_id)
        .join(Member, col(Member.id) == Submission.submitted_by_id, isouter=True)
        .where(col(Submission.indicator_id).in_(list(indicators)))
        .order_by(col(Submission.indicator_id), col(Submission.period_start), col(IndicatorReporter.partner))
    ).all()
    shown = [(s, r, m) for s, r, m in found if sees_partner(viewer, indicators[s.indicator_id], id_of(r))]
    corrections: dict[int, int] = {}
    ids = [s.id for s, _, _ in shown]
    for submission_id in session.exec(select(SubmissionRevision.submission_id)
                                      .where(col(SubmissionRevision.submission_id).in_(ids))) if ids else []:
        corrections[submission_id] = corrections.get(submission_id, 0) + 1
    rows = [(indicators[s.indicator_id].key, s.period, s.period_start.isoformat(), r.partner, s.value,
             json.dumps(s.cells or {}, sort_keys=True), s.note, m.name if m else "", s.submitted_at.isoformat(),
             s.updated_at.isoformat(), corrections.get(id_of(s), 0)) for s, r, m in shown]
    return _csv(SUBMISSION_COLUMNS, rows)
