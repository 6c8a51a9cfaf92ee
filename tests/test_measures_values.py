"""Reporting calendars, value parsing by unit, whole-submission checks and the form layouts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.adapters.discord.dialect import DISCORD
from bot.adapters.slack.dialect import SLACK
from bot.measures.entries import Dimension, Refused, check_entry, parse_breakdown
from bot.measures.forms import field_errors, read_form, submission_form
from bot.measures.periods import BadPeriod, Calendar, ladder
from bot.measures.units import RULES, BadValue, format_value, is_valid, parse_value
from storage.measures import Indicator, PeriodKind, Submission, Unit

RACE = Dimension("race", "Race/ethnicity", ("Black", "Hispanic/Latino", "White", "Other"))
ZIP = Dimension("zip", "Zip code", ("60601", "60602"))


# ---------------------------------------------------------------- periods

def test_quarters_and_fiscal_years_are_named_and_parsed() -> None:
    calendar = Calendar(PeriodKind.QUARTERLY)
    q1 = calendar.containing(date(2026, 3, 2))
    assert (q1.label, q1.start, q1.last) == ("2026-Q1", date(2026, 1, 1), date(2026, 3, 31))
    assert calendar.last_ended(date(2026, 3, 2)).label == "2025-Q4"
    for typed in ("2026-Q1", "2026q1", "Q1 2026", "q1-2026"):
        assert calendar.parse(typed) == q1
    fiscal = Calendar(PeriodKind.QUARTERLY, fiscal_year_start=10)
    assert fiscal.containing(date(2025, 11, 5)).label == "FY2026-Q1"  # October 2025 starts FY2026
    assert fiscal.parse("FY2026-Q3").start == date(2026, 4, 1)
    assert Calendar(PeriodKind.ANNUAL, 7).containing(date(2026, 6, 30)).label == "FY2026"
    assert Calendar(PeriodKind.MONTHLY).parse("Mar 2026").label == "2026-03"
    with pytest.raises(BadPeriod, match="write it like 2026-Q1"):
        calendar.parse("spring")
    with pytest.raises(BadPeriod):
        Calendar(PeriodKind.MONTHLY).parse("2026-13")


def test_the_ladder_follows_the_due_rule_in_local_time() -> None:
    q1 = Calendar(PeriodKind.QUARTERLY).parse("2026-Q1")
    steps = ladder(q1, 10, 3, ZoneInfo("America/Chicago"))
    assert steps.due_date == date(2026, 4, 10)
    assert steps.prompt_at == datetime(2026, 4, 1, 14, 0, tzinfo=UTC)  # 09:00 CDT
    assert steps.follow_up_at == datetime(2026, 4, 7, 14, 0, tzinfo=UTC)
    assert steps.nudge_at == datetime(2026, 4, 10, 14, 0, tzinfo=UTC)
    assert steps.flag_at == datetime(2026, 4, 11, 14, 0, tzinfo=UTC)
    assert ladder(q1, 2, 3, ZoneInfo("UTC")).follow_up_at is None  # would come before the prompt


# ---------------------------------------------------------------- values

@pytest.mark.parametrize(("unit", "typed", "expected"), [
    (Unit.COUNT, "1,204", Decimal(1204)),
    (Unit.PERCENT, "82.5%", Decimal("82.5")),
    (Unit.CURRENCY, "$1,250.50", Decimal("1250.50")),
    (Unit.RATE, "12.25", Decimal("12.25")),
    (Unit.NUMBER, "-3.5", Decimal("-3.5")),
])
def test_values_people_type_are_read(unit: Unit, typed: str, expected: Decimal) -> None:
    assert parse_value(unit, typed) == expected


@pytest.mark.parametrize(("unit", "typed", "message"), [
    (Unit.PERCENT, "101", "between 0 and 100"),
    (Unit.COUNT, "12.5", "not a whole number"),
    (Unit.COUNT, "-3", "negative"),
    (Unit.CURRENCY, "10.555", "at most 2"),
    (Unit.COUNT, "twelve", "is not a count"),
    (Unit.COUNT, "1e3", "is not a count"),
    (Unit.PERCENT, "", "Please give a percent"),
])
def test_wrong_values_are_refused_with_the_reason(unit: Unit, typed: str, message: str) -> None:
    with pytest.raises(BadValue, match=message):
        parse_value(unit, typed)


@settings(max_examples=400, deadline=None)
@given(unit=st.sampled_from(list(Unit)),
       typed=st.one_of(st.text(max_size=30), st.floats(allow_nan=True, allow_infinity=True).map(str),
                       st.integers(min_value=-10**15, max_value=10**15).map(str),
                       st.decimals(allow_nan=True).map(str)))
def test_any_text_is_either_a_valid_value_or_a_clear_refusal(unit: Unit, typed: str) -> None:
    try:
        value = parse_value(unit, typed)
    except BadValue as exc:
        assert str(exc)
        return
    rules = RULES[unit]
    assert value.is_finite()
    assert rules.minimum is None or value >= rules.minimum
    assert rules.maximum is None or value <= rules.maximum
    assert is_valid(unit, float(value))


def test_values_are_shown_in_their_unit() -> None:
    assert format_value(Unit.COUNT, 1204) == "1,204"
    assert format_value(Unit.PERCENT, 82.5) == "82.5%"
    assert format_value(Unit.CURRENCY, 1250.5) == "$1,250.50"
    assert format_value(Unit.DAYS, 21) == "21.0 days"


# ---------------------------------------------------------------- whole submissions

def test_cells_of_a_count_must_add_up_and_the_refusal_says_by_how_much() -> None:
    with pytest.raises(Refused) as refused:
        check_entry(Unit.COUNT, [ZIP], "100", {"zip": {"60601": "60", "60602": "35"}})
    assert refused.value.errors == {
        "dim:zip": "Zip code adds up to 95, 5 less than the total 100; the categories must add up to the total."}
    entry = check_entry(Unit.COUNT, [ZIP], "100", {"zip": {"60601": "60", "60602": "40"}})
    assert entry.cells == {"zip": {"60601": Decimal(60), "60602": Decimal(40)}}


def test_percent_cells_do_not_add_up_and_blank_dimensions_are_not_reported() -> None:
    entry = check_entry(Unit.PERCENT, [RACE, ZIP], "70",
                        {"race": {"Black": "61", "Hispanic/Latino": "66", "White": "78", "Other": "70"}})
    assert set(entry.cells) == {"race"}


def test_a_half_filled_dimension_and_bad_cells_are_all_reported_together() -> None:
    with pytest.raises(Refused) as refused:
        check_entry(Unit.PERCENT, [RACE, ZIP], "170",
                    {"race": {"Black": "61"}, "zip": {"60601": "abc", "60602": "101"}})
    errors = refused.value.errors
    assert set(errors) == {"value", "dim:race", "cell:zip:60601", "cell:zip:60602"}
    assert "missing Hispanic/Latino, White, Other" in errors["dim:race"]


def test_a_breakdown_is_read_from_one_line_and_unknown_categories_named() -> None:
    cells, problem = parse_breakdown(ZIP, "60601: 1,200, 60602 = 30")
    assert problem is None and cells == {"60601": "1,200", "60602": "30"}
    _, problem = parse_breakdown(RACE, "Blak: 3")
    assert problem is not None and "did you mean Black?" in problem


def _indicator(dims: list[Dimension]) -> Indicator:
    return Indicator(id=7, initiative_id=1, key="readiness", name="Kindergarten readiness", unit=Unit.COUNT,
                     dimensions=[d.to_dict() for d in dims])


def test_forms_fit_discord_by_taking_one_field_per_dimension() -> None:
    period = Calendar(PeriodKind.QUARTERLY).parse("2026-Q1")
    slack = submission_form(_indicator([RACE, ZIP]), [RACE, ZIP], period, 3, SLACK, None)
    assert [f.name for f in slack.fields] == ["value", "c.0.0", "c.0.1", "c.0.2", "c.0.3", "c.1.0", "c.1.1", "note"]
    discord = submission_form(_indicator([RACE, ZIP]), [RACE, ZIP], period, 3, DISCORD, None)
    assert [f.name for f in discord.fields] == ["value", "d.0", "d.1", "note"]
    assert all(len(f.label) <= 45 for f in discord.fields) and len(discord.title) <= 24
    values = {"value": "100", "d.0": "", "d.1": "60601: 50; 60602: 40"}
    typed, problems = read_form([RACE, ZIP], values)
    assert problems == {}
    with pytest.raises(Refused) as refused:
        check_entry(Unit.COUNT, [RACE, ZIP], typed.total, typed.cells)
    assert field_errors([RACE, ZIP], refused.value, values) == {
        "d.1": "Zip code adds up to 90, 10 less than the total 100; the categories must add up to the total."}


def test_the_most_dimensions_allowed_still_fit_a_discord_modal_new_or_corrected() -> None:
    age = Dimension("age", "Age band", ("0-2", "3-4", "5"))
    dims = [RACE, ZIP, age]
    period = Calendar(PeriodKind.QUARTERLY).parse("2026-Q1")
    current = Submission(indicator_id=7, reporter_id=3, period=period.label, period_start=period.start, value=9,
                         cells={"age": {"0-2": 2, "3-4": 3, "5": 4}})
    for existing in (None, current):
        form = submission_form(_indicator(dims), dims, period, 3, DISCORD, existing)
        assert len(form.fields) == 5 and [f.name for f in form.fields][1:4] == ["d.0", "d.1", "d.2"]
    assert form.fields[3].initial == "0-2: 2; 3-4: 3; 5: 4" and form.fields[-1].name == "reason"
