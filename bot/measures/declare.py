"""Declaring or changing an indicator by command: `--option` values turned into a checked `IndicatorSpec`.

The same checks as the initiative file apply (`bot.measures.file_section.check_values`);
every problem is reported at once, named by its option.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

from sqlmodel import Session, select

from bot.core.errors import UserError
from bot.core.time import month_index
from bot.initiative_file.problems import Problems, Where, did_you_mean
from bot.measures.entries import Dimension
from bot.measures.file_section import check_values
from bot.measures.indicators import IndicatorSpec, dimensions_of, reporters_of, targets_of
from storage.ids import id_of
from storage.measures import Indicator, PeriodKind, Polarity, Unit, Visibility
from storage.models import Group, Member

OPTIONS = ("unit", "better", "period", "fiscal-start", "due", "visibility", "min-contributors", "group", "reporters",
           "baseline", "targets", "disaggregate", "definition", "term")
USAGE = ('/ci indicator add KEY NAME --unit count|percent|currency|rate_per_1000|days|number '
         '[--better higher|lower] [--period monthly|quarterly|annual] [--fiscal-start july] [--due 10] '
         '[--visibility public|aggregate|backbone] [--min-contributors 3|initiative] [--group KEY] '
         '[--reporters tom,aisha] [--baseline 58@2025-Q4] '
         '[--targets 65@2026-12-31,75@2028-06-30] [--disaggregate "Zip code: 60601, 60602; Age: 0-2, 3-5"] '
         '[--definition TEXT] [--term GLOSSARY-TERM]')
_KEY = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")


def valid_key(key: str) -> bool:
    """True for a usable indicator key: lowercase letters, digits, '-', '_' or '.'."""
    return bool(_KEY.fullmatch(key))


class _Collected(Problems):
    """Problems named by option, for `check_values`."""

    def __init__(self) -> None:
        super().__init__("")

    def add(self, where: Where, message: str) -> None:
        self.errors.append(f"--{where.path}: {message}")


def spec_of(session: Session, indicator: Indicator) -> IndicatorSpec:
    """The spec that would declare `indicator` as it is now."""
    reporters = [(m.key, r.partner) for r, m in reporters_of(session, id_of(indicator))]
    group = session.get(Group, indicator.group_id) if indicator.group_id else None
    return IndicatorSpec(
        key=indicator.key, name=indicator.name, unit=indicator.unit, definition=indicator.definition,
        term=indicator.term, polarity=indicator.polarity, baseline_value=indicator.baseline_value,
        baseline_period=indicator.baseline_period,
        targets=[(t.value, t.by, t.label) for t in targets_of(session, id_of(indicator))],
        period=indicator.period_kind, fiscal_year_start=indicator.fiscal_year_start, due_days=indicator.due_days,
        dimensions=dimensions_of(indicator), reporters=reporters, visibility=indicator.visibility,
        group=group.key if group else "", prompt=indicator.prompt, follow_up_days=indicator.follow_up_days,
        nudge=indicator.nudge, nudge_mentions=indicator.nudge_mentions, flag=indicator.flag,
        open_periods=indicator.open_periods, min_contributors=indicator.min_contributors,
    )


def apply_options(session: Session, initiative_id: int, spec: IndicatorSpec, options: dict[str, str]) -> IndicatorSpec:
    """`spec` changed by the command's `options`, checked; a `UserError` lists every problem."""
    errors: list[str] = []
    changes: dict[str, object] = {}

    def one_of(option: str, field: str, allowed: list[str]) -> None:
        if option in options:
            value = options[option].strip().lower()
            if value in allowed:
                changes[field] = value
            else:
                errors.append(f"--{option}: {value[:30]!r} is not one of {', '.join(allowed)}"
                              f"{did_you_mean(value, allowed)}")

    one_of("unit", "unit", [u.value for u in Unit])
    one_of("better", "polarity", [p.value for p in Polarity])
    one_of("period", "period", [p.value for p in PeriodKind])
    one_of("visibility", "visibility", [v.value for v in Visibility])
    for option, field in (("definition", "definition"), ("term", "term")):
        if option in options:
            changes[field] = options[option].strip()[:2000 if field == "definition" else 100]
    if "due" in options:
        due = options["due"].strip()
        if due.isascii() and due.isdigit() and int(due) <= 365:
            changes["due_days"] = int(due)
        else:
            errors.append(f"--due: {due[:30]!r} is not a number of days from 0 to 365")
    if "min-contributors" in options:
        least = options["min-contributors"].strip().lower()
        if least == "initiative":
            changes["min_contributors"] = None
        elif least.isascii() and least.isdigit() and 1 <= int(least) <= 100:
            changes["min_contributors"] = int(least)
        else:
            errors.append(f"--min-contributors: {least[:30]!r} is not a number of partners from 1 to 100; "
                          "write 3, or initiative for the initiative's")
    if "fiscal-start" in options:
        month = options["fiscal-start"].strip().lower()
        if month.isascii() and month.isdigit() and 1 <= int(month) <= 12:
            changes["fiscal_year_start"] = int(month)
        elif (index := month_index(month)) is not None:
            changes["fiscal_year_start"] = index
        else:
            errors.append(f"--fiscal-start: {month[:30]!r} is not a month; write july or 7")
    if "group" in options:
        changes["group"] = _group(session, initiative_id, options["group"].strip(), errors)
    if "reporters" in options:
        changes["reporters"] = _reporters(session, initiative_id, options["reporters"], errors)
    if "baseline" in options:
        value, period = _number_at(options["baseline"], "baseline", errors)
        changes["baseline_value"], changes["baseline_period"] = value, period
    if "targets" in options:
        changes["targets"] = _targets(options["targets"], errors)
    if "disaggregate" in options:
        changes["dimensions"] = _dimensions(options["disaggregate"], errors)
    result = replace(spec, **changes)  # type: ignore[arg-type]
    collected = _Collected()
    if not errors:
        check_values(result, lambda name: Where(1, name), collected)
    errors += collected.errors
    if errors:
        raise UserError("\n".join(errors), usage=USAGE)
    return result


def _group(session: Session, initiative_id: int, key: str, errors: list[str]) -> str:
    keys = list(session.exec(select(Group.key).where(Group.initiative_id == initiative_id)))
    if key and key not in keys:
        errors.append(f"--group: no group has the key {key[:40]!r}{did_you_mean(key, keys)}")
    return key


def _reporters(session: Session, initiative_id: int, text: str, errors: list[str]) -> list[tuple[str, str]]:
    keys = list(session.exec(select(Member.key).where(Member.initiative_id == initiative_id,
                                                      Member.active == True)))  # noqa: E712
    wanted = [k.strip().lower() for k in text.split(",") if k.strip()]
    for key in wanted:
        if key not in keys:
            errors.append(f"--reporters: no member has the key {key[:40]!r}{did_you_mean(key, keys)}")
    return [(key, "") for key in wanted]


def _number_at(text: str, option: str, errors: list[str]) -> tuple[float | None, str]:
    """``58@2025-Q4`` (or just ``58``) as a number and the text after the @."""
    number, _, after = text.strip().partition("@")
    try:
        return float(number.replace(",", "")), after.strip()
    except ValueError:
        errors.append(f"--{option}: {number[:30]!r} is not a number; write it like 58@2025-Q4")
        return None, ""


def _targets(text: str, errors: list[str]) -> list[tuple[float, date, str]]:
    targets = []
    for part in (p for p in text.split(",") if p.strip()):
        value, by = _number_at(part, "targets", errors)
        try:
            when = date.fromisoformat(by)
        except ValueError:
            errors.append(f"--targets: {by[:30]!r} is not a date; write each target like 65@2026-12-31")
            continue
        if value is not None:
            targets.append((value, when, ""))
    return sorted(targets, key=lambda t: t[1])


def _dimensions(text: str, errors: list[str]) -> list[Dimension]:
    dims = []
    for part in (p for p in text.split(";") if p.strip()):
        name, colon, categories = part.partition(":")
        cats = [c.strip() for c in categories.split(",") if c.strip()]
        key = re.sub(r"[^a-z0-9]+", "-", name.strip().lower()).strip("-")[:64]
        if not colon or len(cats) < 2 or not _KEY.fullmatch(key):
            errors.append(f"--disaggregate: write each dimension as NAME: CATEGORY, CATEGORY "
                          f"(found {part.strip()[:40]!r})")
            continue
        dims.append(Dimension(key, name.strip()[:100], tuple(cats)))
    return dims
