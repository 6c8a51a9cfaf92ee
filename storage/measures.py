"""Shared measurement: indicators, who reports them, and the values partners submit.

An `Indicator` is declared once by the backbone (initiative file or command) with its
unit, polarity, reporting calendar, due rule, disaggregation dimensions, reminder
ladder and visibility. Each `IndicatorReporter` is one partner (an organization,
answered for by a member). A `Submission` is one partner's value for one period, with
its disaggregation cells; a correction replaces it and leaves a `SubmissionRevision`.
A `SubmissionTotal` per indicator and period is kept in step with every ORM write of
submissions, so progress reads a handful of rows whatever the size of the table.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Connection, Index, UniqueConstraint, case, delete, event, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, UOWTransaction
from sqlmodel import AutoString, Field, SQLModel

from storage.types import UTCDateTime, utcnow


class Unit(StrEnum):
    """What an indicator's values count, which decides how they are checked and shown."""

    COUNT = "count"
    PERCENT = "percent"
    CURRENCY = "currency"
    RATE = "rate_per_1000"
    DAYS = "days"
    NUMBER = "number"


class Polarity(StrEnum):
    """Whether a higher or a lower value is the better one."""

    HIGHER = "higher"
    LOWER = "lower"


class PeriodKind(StrEnum):
    """How often an indicator is reported."""

    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    ANNUAL = "annual"


class Visibility(StrEnum):
    """Who sees what: partner values for all, the initiative total only, or backbone only."""

    PUBLIC = "public"
    AGGREGATE = "aggregate"
    BACKBONE = "backbone"


class Indicator(SQLModel, table=True):
    """One shared indicator of the initiative and the rules for collecting it.

    `dimensions` is a list of ``{"key", "name", "categories": [...]}``. The ladder
    fields switch each reminder step on or off: `prompt` at period end, a follow-up
    `follow_up_days` before the due date (0 skips it), a `nudge` in the channel of
    `group_id` on the due date, and a `flag` to the backbone the day after.
    A period older than `open_periods` before the latest ended one is closed to
    partners; backbone staff add it with ``--late REASON``.
    """

    __table_args__ = (UniqueConstraint("initiative_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    initiative_id: int = Field(foreign_key="initiative.id", index=True)
    key: str = Field(max_length=64)
    name: str = Field(max_length=200)
    definition: str = Field(default="", max_length=2000)
    term: str = Field(default="", max_length=100)  # glossary term the definition links to
    unit: Unit = Field(sa_type=AutoString, max_length=20)
    polarity: Polarity = Field(sa_type=AutoString, default=Polarity.HIGHER, max_length=8)
    baseline_value: float | None = None
    baseline_period: str = Field(default="", max_length=16)
    period_kind: PeriodKind = Field(sa_type=AutoString, default=PeriodKind.QUARTERLY, max_length=16)
    fiscal_year_start: int = 1  # month 1-12 the (fiscal) year starts in
    due_days: int = 10  # days after the period's last day
    open_periods: int = 4  # earlier periods, before the latest ended one, partners may still submit
    dimensions: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    visibility: Visibility = Field(sa_type=AutoString, default=Visibility.AGGREGATE, max_length=16)
    min_contributors: int | None = None  # overrides the initiative's for this indicator
    group_id: int | None = Field(default=None, foreign_key="group_.id")
    prompt: bool = True
    follow_up_days: int = 3
    nudge: bool = True
    nudge_mentions: bool = False
    flag: bool = True
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class IndicatorTarget(SQLModel, table=True):
    """A value the initiative means to reach by a date; an indicator may have several."""

    id: int | None = Field(default=None, primary_key=True)
    indicator_id: int = Field(foreign_key="indicator.id", index=True)
    value: float
    by: date
    label: str = Field(default="", max_length=200)


class IndicatorReporter(SQLModel, table=True):
    """A partner that reports an indicator, and the member who answers for it."""

    __table_args__ = (UniqueConstraint("indicator_id", "member_id"),)

    id: int | None = Field(default=None, primary_key=True)
    indicator_id: int = Field(foreign_key="indicator.id", index=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    partner: str = Field(max_length=200)  # the organization, as shown to readers
    active: bool = True  # False once taken off the indicator; kept for the values it sent


class Submission(SQLModel, table=True):
    """One partner's value of one indicator for one period, with its disaggregation cells.

    `cells` maps a dimension key to ``{category: value}``; a dimension left out was not
    reported.
    """

    __table_args__ = (
        UniqueConstraint("indicator_id", "reporter_id", "period"),
        Index("ix_submission_indicator_period", "indicator_id", "period_start"),
    )

    id: int | None = Field(default=None, primary_key=True)
    indicator_id: int = Field(foreign_key="indicator.id")
    reporter_id: int = Field(foreign_key="indicatorreporter.id", index=True)
    period: str = Field(max_length=16)
    period_start: date
    value: float
    cells: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    note: str = Field(default="", max_length=1000)
    submitted_by_id: int | None = Field(default=None, foreign_key="member.id")
    submitted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SubmissionRevision(SQLModel, table=True):
    """A correction: what the submission said before, who changed it, when and why."""

    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id", index=True)
    changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    changed_by_id: int | None = Field(default=None, foreign_key="member.id")
    old_value: float
    old_cells: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    old_note: str = Field(default="", max_length=1000)
    new_value: float
    reason: str = Field(max_length=500)


class SubmissionTotal(SQLModel, table=True):
    """One indicator's period as progress reads it: how many partners submitted, the sum of their
    values, the last first submission and the last correction (None if none)."""

    indicator_id: int = Field(foreign_key="indicator.id", primary_key=True)
    period_start: date = Field(primary_key=True)
    period: str = Field(max_length=16)
    submitted: int = 0
    total: float = 0.0
    last_in: datetime = Field(sa_type=UTCDateTime)
    corrected_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


def recount(connection: Connection, periods: Iterable[tuple[int, date, str]]) -> None:
    """Recount the `SubmissionTotal` of each (indicator id, period start, label) from its submissions.

    The total's row is locked first (an upsert), so two partners submitting the same
    period at once are both counted: the second recount waits, then sees the first's row.
    """
    totals, subs = SubmissionTotal.__table__, Submission.__table__  # type: ignore[attr-defined]
    upsert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    for indicator_id, start, label in sorted(set(periods)):
        connection.execute(upsert(totals).values(indicator_id=indicator_id, period_start=start, period=label,
                                                 submitted=0, total=0.0, last_in=utcnow())
                           .on_conflict_do_update(index_elements=["indicator_id", "period_start"],
                                                  set_={"period": label}))
        same = (subs.c.indicator_id == indicator_id) & (subs.c.period_start == start)
        found = connection.execute(select(func.count(), func.sum(subs.c.value), func.max(subs.c.submitted_at),
                                          func.max(case((subs.c.updated_at > subs.c.submitted_at,
                                                         subs.c.updated_at)))).where(same)).one()
        key = (totals.c.indicator_id == indicator_id) & (totals.c.period_start == start)
        if not found[0]:
            connection.execute(delete(totals).where(key))
            continue
        connection.execute(update(totals).where(key).values(submitted=found[0], total=found[1], last_in=found[2],
                                                             corrected_at=found[3]))


def rebuild_totals(connection: Connection) -> None:
    """Every `SubmissionTotal` recounted from scratch (after writing submissions in bulk, bypassing the ORM)."""
    totals, subs = SubmissionTotal.__table__, Submission.__table__  # type: ignore[attr-defined]
    connection.execute(delete(totals))
    connection.execute(insert(totals).from_select(
        ["indicator_id", "period_start", "period", "submitted", "total", "last_in", "corrected_at"],
        select(subs.c.indicator_id, subs.c.period_start, func.min(subs.c.period), func.count(), func.sum(subs.c.value),
               func.max(subs.c.submitted_at),
               func.max(case((subs.c.updated_at > subs.c.submitted_at, subs.c.updated_at))))
        .group_by(subs.c.indicator_id, subs.c.period_start)))


@event.listens_for(Session, "after_flush")
def _recount_flushed(session: Session, _context: UOWTransaction) -> None:
    """Keep `SubmissionTotal` in step with every submission the flush wrote, changed or removed."""
    touched = [(row.indicator_id, row.period_start, row.period)
               for row in (*session.new, *session.dirty, *session.deleted) if isinstance(row, Submission)]
    if touched:
        recount(session.connection(), touched)
