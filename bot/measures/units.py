"""Reading and showing indicator values by unit: counts, percents, money, rates, days.

`parse_value` is the one gate every submitted number passes: it accepts what people
type (``1,204``, ``82.5%``, ``$1,250.00``) and refuses anything the unit does not
allow with a message saying what was wrong and how to write it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from storage.measures import Unit

MAX_MAGNITUDE = Decimal("1e12")
_NUMBER = re.compile(r"[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?|[+-]?\.\d+", re.ASCII)


class BadValue(ValueError):
    """A value the unit does not allow; the message says why and gives an example."""


@dataclass(frozen=True)
class UnitRules:
    """What one unit accepts: bounds, decimals, whether partner values add up."""

    noun: str
    example: str
    decimals: int
    minimum: Decimal | None = Decimal(0)
    maximum: Decimal | None = None
    additive: bool = False  # partner values and disaggregation cells sum to the total


RULES: dict[Unit, UnitRules] = {
    Unit.COUNT: UnitRules("a count", "1204", 0, additive=True),
    Unit.PERCENT: UnitRules("a percent", "82.5", 2, maximum=Decimal(100)),
    Unit.CURRENCY: UnitRules("an amount of money", "1250.00", 2, additive=True),
    Unit.RATE: UnitRules("a rate per 1,000", "12.5", 2),
    Unit.DAYS: UnitRules("a number of days", "21.5", 1),
    Unit.NUMBER: UnitRules("a number", "3.25", 4, minimum=None),
}


def parse_value(unit: Unit, text: str) -> Decimal:
    """`text` as a value of `unit`, or `BadValue` explaining what the unit needs."""
    rules = RULES[unit]
    raw = str(text).strip().replace(" ", "")
    if unit == Unit.CURRENCY:
        raw = raw.replace("$", "", 1)
    if unit == Unit.PERCENT:
        raw = raw.removesuffix("%")
    shown = str(text).strip()[:30]
    if not raw:
        raise BadValue(f"Please give {rules.noun}, like {rules.example}.")
    if not _NUMBER.fullmatch(raw):
        raise BadValue(f"{shown!r} is not {rules.noun}; write digits like {rules.example}.")
    try:
        value = Decimal(raw.replace(",", ""))
    except InvalidOperation as exc:  # the pattern admits only plain decimals; kept as a guard
        raise BadValue(f"{shown!r} is not {rules.noun}; write digits like {rules.example}.") from exc
    exponent = value.as_tuple().exponent
    places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    if places > rules.decimals:
        if rules.decimals == 0:
            raise BadValue(f"{shown!r} is not a whole number; {rules.noun} is written without decimals, "
                           f"like {rules.example}.")
        raise BadValue(f"{shown!r} has {places} decimals; {rules.noun} takes at most {rules.decimals}, "
                       f"like {rules.example}.")
    if rules.minimum is not None and value < rules.minimum:
        raise BadValue(f"{shown!r} is negative; {rules.noun} cannot be below {rules.minimum}.")
    if rules.maximum is not None and value > rules.maximum:
        raise BadValue(f"{shown!r} is more than {rules.maximum}; {rules.noun} is between 0 and {rules.maximum}.")
    if abs(value) >= MAX_MAGNITUDE:
        raise BadValue(f"{shown!r} is implausibly large; check the number.")
    return value + 0  # normalise -0 to 0


def is_valid(unit: Unit, value: float) -> bool:
    """True when a stored `value` is one `parse_value` could have produced for `unit`."""
    try:
        return parse_value(unit, format(Decimal(repr(value)).normalize(), "f")) == Decimal(repr(value))
    except BadValue:
        return False


def format_value(unit: Unit, value: float | Decimal | None) -> str:
    """`value` as a reader expects to see it in `unit` (``1,204``, ``82.5%``, ``$1,250.00``)."""
    if value is None:
        return "–"
    number = float(value)
    if unit == Unit.COUNT:
        return f"{number:,.0f}"
    if unit == Unit.PERCENT:
        return f"{number:,.1f}%"
    if unit == Unit.CURRENCY:
        return f"${number:,.2f}"
    if unit == Unit.RATE:
        return f"{number:,.1f} per 1,000"
    if unit == Unit.DAYS:
        return f"{number:,.1f} days"
    return f"{number:,.2f}"


def format_change(unit: Unit, delta: float) -> str:
    """A signed difference in `unit` (percent changes are in points)."""
    sign = "+" if delta > 0 else "−" if delta < 0 else "±"
    shown = format_value(unit, abs(delta))
    if unit == Unit.PERCENT:
        shown = shown.removesuffix("%") + " points"
    return f"{sign}{shown}"
