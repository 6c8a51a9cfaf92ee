"""The `indicators:` section of the initiative file: reading, checking and loading it.

    indicators:
      - key: readiness
        name: Kindergarten readiness rate
        definition: Share of entering kindergartners who meet all readiness domains.
        term: kindergarten readiness        # the glossary term the definition links to
        unit: percent                       # count, percent, currency, rate_per_1000, days, number
        better: higher                      # or lower
        baseline: {value: 58, period: 2025-Q4}
        targets: [{value: 65, by: 2026-12-31}, {value: 75, by: 2028-06-30, label: five-year goal}]
        period: quarterly                   # monthly, quarterly or annual
        fiscal_year_start: july             # optional; quarters and years then follow it
        due_days: 10                        # days after the period ends
        open_periods: 4                     # earlier periods partners may still submit (older: backbone --late)
        disaggregate: [{key: race, name: Race/ethnicity, categories: [Black, White, Other]}]
        reporters: [tom, {member: aisha, organization: First Steps Family Center}]
        visibility: aggregate               # public, aggregate or backbone
        min_contributors: 3                 # optional; else the initiative's (figures from fewer are withheld)
        group: data                         # whose channel hears the due-date nudge
        reminders: {prompt: yes, follow_up_days: 3, nudge: yes, mention: no, flag: yes}
        values: [{period: 2025-Q4, reporter: tom, value: 61.5}]   # collected before cibot (optional)

The rows of `FIELDS` are read with the file's own node readers, so every mistake is
reported with its line; `check_indicators` checks references to members and groups.
`values` fill partner periods that have no value yet; loading never replaces one
submitted or corrected in chat.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from bot.core.time import month_index
from bot.initiative_file.nodes import At, Field, Invalid, Record, record, records, scalar_text
from bot.initiative_file.problems import Problems, Where, did_you_mean
from bot.initiative_file.report import Tally
from bot.initiative_file.values import choice, day_or_time, key, text, text_list, yes_no
from bot.measures.entries import MAX_DIMENSIONS, Dimension
from bot.measures.indicators import IndicatorSpec, sync_indicators
from bot.measures.periods import BadPeriod, Calendar
from bot.measures.units import BadValue, parse_value
from storage.ids import id_of
from storage.measures import PeriodKind, Polarity, Unit, Visibility

if TYPE_CHECKING:
    from bot.initiative_file.spec import InitiativeSpec
    from bot.initiative_file.sync import Run

_CATEGORY_FORBIDDEN = (":", ";", "=", ", ", "\n")


def number(at: At, _problems: Problems) -> float:
    """A plain number (``58``, ``1250.5``)."""
    value = scalar_text(at).replace(",", "")
    try:
        return float(value)
    except ValueError:
        raise Invalid(f"{value[:30]!r} is not a number; write digits like 58 or 1250.5") from None


def whole(low: int, high: int) -> Any:
    """A reader of whole numbers from `low` to `high`."""
    def read(at: At, _problems: Problems) -> int:
        value = scalar_text(at)
        if not (value.isascii() and value.isdigit()) or not low <= int(value) <= high:
            raise Invalid(f"{value[:30]!r} is not a whole number from {low} to {high}")
        return int(value)
    return read


def month(at: At, _problems: Problems) -> int:
    """A month: its number (7) or name (july, Jul)."""
    value = scalar_text(at).lower()
    if value.isascii() and value.isdigit() and 1 <= int(value) <= 12:
        return int(value)
    if (index := month_index(value)) is not None:
        return index
    raise Invalid(f"{value[:30]!r} is not a month; write its name (july) or number (7)")


def day(at: At, problems: Problems) -> date:
    """A date such as 2026-12-31."""
    value = day_or_time(at, problems)
    return value.date() if isinstance(value, datetime) else value


BASELINE_FIELDS = {"value": Field(number, required=True), "period": Field(text(16))}
TARGET_FIELDS = {"value": Field(number, required=True), "by": Field(day, required=True), "label": Field(text(200))}
DIMENSION_FIELDS = {"key": Field(key, required=True), "name": Field(text(100)),
                    "categories": Field(text_list(60), required=True)}
REPORTER_FIELDS = {"member": Field(key, required=True), "organization": Field(text(200))}
PAST_VALUE_FIELDS = {"period": Field(text(16), required=True), "reporter": Field(key, required=True),
                     "value": Field(number, required=True)}
REMINDER_FIELDS = {"prompt": Field(yes_no), "follow_up_days": Field(whole(0, 60)), "nudge": Field(yes_no),
                   "mention": Field(yes_no), "flag": Field(yes_no)}


def _each(fields: dict[str, Field], what: str, build: Any) -> Any:
    """A reader of a list of mappings, each read against `fields` and turned into a value by `build`."""
    def read(at: At, problems: Problems) -> list[Any]:
        found = [build(rec, problems) for rec in records(at, fields, problems, what, what)]
        return [f for f in found if f is not None]
    return read


def _target(rec: Record, _problems: Problems) -> tuple[float, date, str]:
    return rec.values["value"], rec.values["by"], rec.values.get("label", "")


def _dimension(rec: Record, problems: Problems) -> Dimension | None:
    values = rec.values
    categories = values["categories"]
    bad = [c for c in categories if any(mark in c for mark in _CATEGORY_FORBIDDEN)]
    if bad:
        problems.add(rec.where, f"category {bad[0]!r} may not contain ':', ';', '=' or ', ' (they separate "
                     "categories when people type a breakdown)")
        return None
    if len(categories) < 2 or len({c.lower() for c in categories}) != len(categories):
        problems.add(rec.where, "a dimension needs at least two categories, each named once")
        return None
    return Dimension(values["key"], values.get("name", values["key"]), tuple(categories))


def _past_value(rec: Record, _problems: Problems) -> tuple[str, str, float]:
    return rec.values["period"], rec.values["reporter"], rec.values["value"]


def _reporter(at: At, problems: Problems) -> list[tuple[str, str]]:
    """`reporters:`: member keys, or mappings naming the member and the organization they report for."""
    return [(rec.values["member"], rec.values.get("organization", ""))
            for rec in records(at, REPORTER_FIELDS, problems, "reporters (member keys)", "reporter",
                               shorthand="member")]


FIELDS = {
    "key": Field(key, required=True),
    "name": Field(text(200), required=True),
    "definition": Field(text(2000)),
    "term": Field(text(100)),
    "unit": Field(choice([u.value for u in Unit], "unit"), required=True),
    "better": Field(choice([p.value for p in Polarity], "direction")),
    "baseline": Field(lambda at, problems: record(at, BASELINE_FIELDS, problems, "baseline")),
    "targets": Field(_each(TARGET_FIELDS, "target", _target)),
    "period": Field(choice([p.value for p in PeriodKind], "reporting period")),
    "fiscal_year_start": Field(month),
    "due_days": Field(whole(0, 365)),
    "open_periods": Field(whole(1, 120)),
    "disaggregate": Field(_each(DIMENSION_FIELDS, "dimension", _dimension)),
    "reporters": Field(_reporter),
    "visibility": Field(choice([v.value for v in Visibility], "visibility")),
    "min_contributors": Field(whole(1, 100)),
    "group": Field(key),
    "reminders": Field(lambda at, problems: record(at, REMINDER_FIELDS, problems, "reminders")),
    "values": Field(_each(PAST_VALUE_FIELDS, "value", _past_value)),
}


def read_indicators(at: At, problems: Problems) -> list[IndicatorSpec]:
    """The `indicators:` section: the shared measures, each checked against its unit and calendar."""
    found = []
    for rec in records(at, FIELDS, problems, "indicators (each with key, name, unit, ...)", "indicator"):
        v = rec.values
        reminders = v["reminders"].values if v.get("reminders") else {}
        spec = IndicatorSpec(
            key=v["key"], name=v["name"], unit=v["unit"], definition=v.get("definition", ""),
            term=v.get("term", ""), polarity=v.get("better", Polarity.HIGHER.value),
            targets=sorted(v.get("targets", []), key=lambda t: t[1]),
            period=v.get("period", PeriodKind.QUARTERLY.value), fiscal_year_start=v.get("fiscal_year_start", 1),
            due_days=v.get("due_days", 10), open_periods=v.get("open_periods", 4),
            dimensions=v.get("disaggregate", []),
            reporters=v.get("reporters", []), visibility=v.get("visibility", Visibility.AGGREGATE.value),
            min_contributors=v.get("min_contributors"),
            group=v.get("group", ""), prompt=reminders.get("prompt", True),
            follow_up_days=reminders.get("follow_up_days", 3), nudge=reminders.get("nudge", True),
            nudge_mentions=reminders.get("mention", False), flag=reminders.get("flag", True),
            values=v.get("values", []),
        )
        if v.get("baseline"):
            spec.baseline_value = v["baseline"].values.get("value")
            spec.baseline_period = v["baseline"].values.get("period", "")
        check_values(spec, rec.spot, problems)
        found.append(spec)
    return found


def check_values(spec: IndicatorSpec, spot: Any, problems: Problems) -> None:
    """Baseline, targets and past values fit the unit, their periods the calendar; dimensions are few enough."""
    unit = Unit(spec.unit)
    numbers = [("baseline", spec.baseline_value)] if spec.baseline_value is not None else []
    for value, _, _ in spec.targets:
        numbers.append(("targets", value))
    numbers += [("values", value) for _, _, value in spec.values]
    for name, value in numbers:
        try:
            parse_value(unit, f"{value:f}".rstrip("0").rstrip("."))
        except BadValue as exc:
            problems.add(spot(name), f"{exc}".replace("'", ""))
    if spec.baseline_period:
        try:
            spec.baseline_period = Calendar(PeriodKind(spec.period), spec.fiscal_year_start).parse(
                spec.baseline_period).label
        except BadPeriod as exc:
            problems.add(spot("baseline"), str(exc))
    spec.values = [(_past_period(spec, label, spot, problems), member, value) for label, member, value in spec.values]
    for _, member, _ in spec.values:
        if member not in {key for key, _ in spec.reporters}:
            problems.add(spot("values"), f"{member!r} is not one of this indicator's reporters")
    if len(spec.dimensions) > MAX_DIMENSIONS:
        problems.add(spot("disaggregate"), f"{len(spec.dimensions)} dimensions; an indicator can be broken down "
                     f"{MAX_DIMENSIONS} ways at most, so its form stays usable")
    if len({d.key for d in spec.dimensions}) != len(spec.dimensions):
        problems.add(spot("disaggregate"), "each dimension needs its own key")


def _past_period(spec: IndicatorSpec, label: str, spot: Any, problems: Problems) -> str:
    """`label` as the indicator's calendar names it, or reported and kept as typed."""
    try:
        return Calendar(PeriodKind(spec.period), spec.fiscal_year_start).parse(label).label
    except BadPeriod as exc:
        problems.add(spot("values"), str(exc))
        return label


def check_indicators(spec: InitiativeSpec, problems: Problems) -> None:
    """Indicator keys are unique; reporters name members and `group` names a group of the file."""
    members = {m.key for m in spec.members}
    groups = {g.key for g in spec.groups}
    line = spec.lines.get("indicators", 1)
    seen: set[str] = set()
    for ind in spec.indicators:
        where = Where(line, f"indicators.{ind.key}")
        if ind.key in seen:
            problems.add(where, f"indicator key {ind.key!r} is used twice; each must be used once")
        seen.add(ind.key)
        for member_key, _ in ind.reporters:
            if member_key not in members:
                problems.add(where, f"reporter {member_key!r} is not a member key{did_you_mean(member_key, members)}")
        if ind.group and ind.group not in groups:
            problems.add(where, f"group {ind.group!r} is not a group key{did_you_mean(ind.group, groups)}")


def sync_indicator_section(run: Run) -> Tally | None:
    """The load step for `indicators:`: create, update or deactivate the initiative's indicators."""
    if not run.spec.indicators:
        return None
    changes = sync_indicators(run.session, run.initiative_id, run.spec.indicators,
                              {k: id_of(m) for k, m in run.members.items()},
                              {k: id_of(g) for k, g in run.groups.items()})
    return Tally("indicators", "deactivated", created=changes.created, updated=changes.updated,
                 unchanged=changes.unchanged, gone=changes.deactivated)
