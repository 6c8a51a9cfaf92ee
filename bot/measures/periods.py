"""Reporting calendars: which period a day falls in, how periods are named, when data is due.

Quarters and years follow the indicator's (fiscal) year start; a fiscal year is named
for the calendar year it ends in (a year starting October 2025 is FY2026). Labels are
``2026-03`` (monthly), ``2026-Q1`` or ``FY2026-Q1`` (quarterly), ``2026`` or ``FY2026``.
Reminder times are 09:00 in the initiative's timezone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from storage.measures import PeriodKind

MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
REMINDER_HOUR = time(9, 0)
FIRST_YEAR, LAST_YEAR = 1900, 2999  # labels outside these years name no reporting period (and 9999-Q4 cannot end)
_MONTHLY = re.compile(r"(\d{4})[-/](\d{1,2})")
_MONTH_NAME = re.compile(r"([a-z]{3})[a-z]*[-\s]*(\d{4})")
_QUARTER = re.compile(r"(?:fy)?(\d{4})[-\s]*q([1-4])|q([1-4])[-\s]*(?:fy)?(\d{4})")
_ANNUAL = re.compile(r"(?:fy)?(\d{4})")


class BadPeriod(ValueError):
    """A period label that does not name a period of this calendar; the message shows examples."""


@dataclass(frozen=True, order=True)
class Period:
    """One reporting period: its first and last day and its label."""

    start: date
    last: date
    label: str


def add_months(day: date, months: int) -> date:
    """The first of the month `months` after `day`'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Calendar:
    """The reporting calendar of one indicator."""

    kind: PeriodKind
    fiscal_year_start: int = 1

    @property
    def months(self) -> int:
        """How many months one period spans."""
        return {PeriodKind.MONTHLY: 1, PeriodKind.QUARTERLY: 3, PeriodKind.ANNUAL: 12}[self.kind]

    @property
    def fiscal(self) -> bool:
        """True when years do not start in January (labels then carry FY)."""
        return self.fiscal_year_start != 1

    def containing(self, day: date) -> Period:
        """The period `day` falls in."""
        offset = (day.month - self.fiscal_year_start) % self.months if self.kind != PeriodKind.MONTHLY else 0
        return self._starting(add_months(date(day.year, day.month, 1), -offset))

    def last_ended(self, day: date) -> Period:
        """The most recent period that ended before `day`."""
        return self.before(self.containing(day))

    def before(self, period: Period, count: int = 1) -> Period:
        """The period `count` periods before `period`."""
        return self._starting(add_months(period.start, -self.months * count))

    def after(self, period: Period) -> Period:
        """The period right after `period`."""
        return self._starting(add_months(period.start, self.months))

    def recent(self, day: date, count: int) -> list[Period]:
        """The last `count` ended periods before `day`, oldest first."""
        latest = self.last_ended(day)
        return [self.before(latest, n) for n in range(count - 1, -1, -1)]

    def _starting(self, start: date) -> Period:
        last = add_months(start, self.months) - timedelta(days=1)
        return Period(start, last, self._label(start))

    def _label(self, start: date) -> str:
        if self.kind == PeriodKind.MONTHLY:
            return f"{start.year}-{start.month:02d}"
        fy_start_year = start.year if start.month >= self.fiscal_year_start else start.year - 1
        year = fy_start_year + 1 if self.fiscal else fy_start_year
        prefix = "FY" if self.fiscal else ""
        if self.kind == PeriodKind.ANNUAL:
            return f"{prefix}{year}"
        quarter = ((start.month - self.fiscal_year_start) % 12) // 3 + 1
        return f"{prefix}{year}-Q{quarter}"

    def example(self) -> str:
        """A label of this calendar, for error messages."""
        return self._label(self._year_start(2026))

    def _year_start(self, fiscal_year: int) -> date:
        year = fiscal_year - 1 if self.fiscal else fiscal_year
        return date(year, self.fiscal_year_start, 1)

    def parse(self, text: str) -> Period:
        """The period named by `text` (``2026-Q1``, ``Q1 2026``, ``2026-03``, ``Mar 2026``, ``FY2026``)."""
        raw = text.strip().lower()
        start = self._parse_start(raw)
        if start is None:
            raise BadPeriod(f"{text.strip()[:40]!r} is not a {self.kind.value} period; "
                            f"write it like {self.example()}")
        return self._starting(start)

    def _parse_start(self, raw: str) -> date | None:
        if self.kind == PeriodKind.MONTHLY:
            if match := _MONTHLY.fullmatch(raw):
                year, month = int(match[1]), int(match[2])
            elif (match := _MONTH_NAME.fullmatch(raw)) and match[1] in MONTHS:
                year, month = int(match[2]), MONTHS.index(match[1]) + 1
            else:
                return None
            return date(year, month, 1) if 1 <= month <= 12 and FIRST_YEAR <= year <= LAST_YEAR else None
        if self.kind == PeriodKind.QUARTERLY:
            match = _QUARTER.fullmatch(raw)
            if match is None:
                return None
            year, quarter = (int(match[1]), int(match[2])) if match[1] else (int(match[4]), int(match[3]))
            return add_months(self._year_start(year), 3 * (quarter - 1)) if FIRST_YEAR <= year <= LAST_YEAR else None
        match = _ANNUAL.fullmatch(raw)
        return self._year_start(int(match[1])) if match and FIRST_YEAR <= int(match[1]) <= LAST_YEAR else None


@dataclass(frozen=True)
class Ladder:
    """When each reminder step for one period happens (UTC), and when the data is late."""

    due_date: date
    prompt_at: datetime
    follow_up_at: datetime | None
    nudge_at: datetime
    flag_at: datetime
    late_after: datetime  # the end of the due date


def at_local(day: date, zone: ZoneInfo, moment: time = REMINDER_HOUR) -> datetime:
    """`day` at `moment` in `zone`, as a UTC-comparable aware datetime."""
    return datetime.combine(day, moment, tzinfo=zone)


def ladder(period: Period, due_days: int, follow_up_days: int, zone: ZoneInfo) -> Ladder:
    """The reminder times of `period` for a due rule of `due_days` after its last day."""
    due = period.last + timedelta(days=due_days)
    prompt_day = period.last + timedelta(days=1)
    follow_day = due - timedelta(days=follow_up_days)
    follow_up = at_local(follow_day, zone) if follow_up_days > 0 and follow_day > prompt_day else None
    return Ladder(
        due_date=due,
        prompt_at=at_local(prompt_day, zone),
        follow_up_at=follow_up,
        nudge_at=at_local(due, zone),
        flag_at=at_local(due + timedelta(days=1), zone),
        late_after=at_local(due + timedelta(days=1), zone, time(0, 0)),
    )
