"""Checking one submission as a whole: the total, every disaggregation cell, and their sums.

A submission is accepted entirely or not at all: `check_entry` collects every problem
(keyed by what it is about) and raises them together, so a form can mark each field
and a command can list them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from rapidfuzz import process

from bot.measures.units import RULES, BadValue, format_value, parse_value
from storage.measures import Unit

MAX_DIMENSIONS = 3
_BREAKDOWN_SPLIT = re.compile(r"[\n;]|,\s+")
_LABELLED = re.compile(r"\s*(.+?)\s*[:=]\s*(.*?)\s*")


@dataclass(frozen=True)
class Dimension:
    """A way values are broken down (race/ethnicity, zip code) and its categories."""

    key: str
    name: str
    categories: tuple[str, ...]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Dimension:
        """The dimension stored as ``{"key", "name", "categories"}``."""
        return cls(str(data["key"]), str(data.get("name") or data["key"]), tuple(data["categories"]))

    def to_dict(self) -> dict[str, Any]:
        """The form the indicator table stores."""
        return {"key": self.key, "name": self.name, "categories": list(self.categories)}


@dataclass(frozen=True)
class Entry:
    """A checked submission: the total and the cells of each reported dimension."""

    value: Decimal
    cells: dict[str, dict[str, Decimal]]

    def cells_json(self) -> dict[str, dict[str, float]]:
        """The cells as stored (floats)."""
        return {dim: {cat: float(v) for cat, v in values.items()} for dim, values in self.cells.items()}


class Refused(ValueError):
    """Everything wrong with a submission, keyed by ``value``, ``cell:DIM:CATEGORY`` or ``dim:DIM``."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors

    def message(self) -> str:
        """The problems as one text, one per line."""
        return "\n".join(self.errors.values())


def check_entry(
    unit: Unit,
    dimensions: list[Dimension],
    total: str,
    cells: Mapping[str, Mapping[str, str]] | None = None,
) -> Entry:
    """Check `total` and the typed `cells` (dimension key -> category -> text) against the unit.

    A dimension whose cells are all empty was not reported; one that is partly filled
    is refused. For additive units (counts, money) each reported dimension must add up
    to the total, and the refusal says by how much it differs.
    """
    errors: dict[str, str] = {}
    value: Decimal | None = None
    try:
        value = parse_value(unit, total)
    except BadValue as exc:
        errors["value"] = f"Total: {exc}"
    clean: dict[str, dict[str, Decimal]] = {}
    for dim in dimensions:
        typed = {cat: str((cells or {}).get(dim.key, {}).get(cat, "") or "").strip() for cat in dim.categories}
        if not any(typed.values()):
            continue
        missing = [cat for cat, text in typed.items() if not text]
        if missing:
            errors[f"dim:{dim.key}"] = (f"{dim.name}: fill in every category or leave them all empty "
                                        f"(missing {', '.join(missing)}).")
            continue
        parsed: dict[str, Decimal] = {}
        for cat, text in typed.items():
            try:
                parsed[cat] = parse_value(unit, text)
            except BadValue as exc:
                errors[f"cell:{dim.key}:{cat}"] = f"{dim.name} {cat}: {exc}"
        if len(parsed) < len(dim.categories):
            continue
        if RULES[unit].additive and value is not None and (diff := sum(parsed.values()) - value):
            errors[f"dim:{dim.key}"] = (
                f"{dim.name} adds up to {format_value(unit, sum(parsed.values()))}, "
                f"{format_value(unit, abs(diff))} {'more' if diff > 0 else 'less'} than the total "
                f"{format_value(unit, value)}; the categories must add up to the total.")
            continue
        clean[dim.key] = parsed
    if errors:
        raise Refused(errors)
    assert value is not None
    return Entry(value, clean)


def parse_breakdown(dim: Dimension, text: str) -> tuple[dict[str, str], str | None]:
    """Read ``Black: 12; White: 30`` (or one category per line) into category -> typed text.

    Returns the cells and, when something could not be read, a message saying what.
    Category names match case-insensitively; an unknown one is named with the closest.
    """
    found: dict[str, str] = {}
    by_lower = {cat.lower(): cat for cat in dim.categories}
    for chunk in _BREAKDOWN_SPLIT.split(text or ""):
        if not chunk.strip():
            continue
        match = _LABELLED.fullmatch(chunk)
        if match is None:
            return {}, (f"{dim.name}: write each category with its value, like "
                        f"{dim.categories[0]}: 12; {dim.categories[-1]}: 30.")
        label, typed = match[1], match[2]
        category = by_lower.get(label.lower())
        if category is None:
            close = process.extractOne(label, dim.categories, score_cutoff=60)
            hint = f" (did you mean {close[0]}?)" if close else ""
            return {}, (f"{dim.name}: {label[:40]!r} is not a category{hint}; "
                        f"the categories are {', '.join(dim.categories)}.")
        if category in found:
            return {}, f"{dim.name}: {category} is given twice; give each category once."
        found[category] = typed
    return found, None
