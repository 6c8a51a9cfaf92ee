"""The data-submission form: one field per disaggregation cell, or one per dimension where forms are small.

Slack modals and the console take every cell as its own field. A Discord modal holds
at most five inputs, so when the cells do not fit, each dimension becomes one text
field written ``Black: 12; White: 30``. Both layouts come back through `read_form`,
which maps every problem to the field it is about.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.args import read_id
from bot.core.messages import FieldKind, Form, FormField, clip
from bot.core.render import Dialect
from bot.measures.entries import Dimension, Refused, parse_breakdown
from bot.measures.periods import Period
from bot.measures.units import RULES, format_value
from storage.ids import id_of
from storage.measures import Indicator, Submission, Unit

SUBMIT_ACTION = "measures.submit"
LABEL_LIMIT = 45  # labels stay short on every platform (Discord allows no more)
PLACEHOLDER_LIMIT = 100


@dataclass(frozen=True)
class FormInput:
    """What a submitted form said, before checking: the total, typed cells, note and reason."""

    total: str
    cells: dict[str, dict[str, str]]
    note: str
    reason: str


def form_value(indicator_id: int, period: str, reporter_id: int) -> str:
    """The state a prompt button and its form carry: indicator, period and partner."""
    return f"{indicator_id}:{period}:{reporter_id}"


def parse_form_value(value: str) -> tuple[int, str, int] | None:
    """The inverse of `form_value`; None for a value that is not one."""
    parts = value.split(":")
    if len(parts) != 3:
        return None
    indicator_id, reporter_id = read_id(parts[0]), read_id(parts[2])
    if indicator_id is None or reporter_id is None:
        return None
    return indicator_id, parts[1], reporter_id


def submission_form(
    indicator: Indicator, dims: list[Dimension], period: Period, reporter_id: int, markup: Dialect,
    current: Submission | None, *, late: str | None = None,
) -> Form:
    """The form for one partner's `period` of `indicator`; prefilled with `current` when it corrects it.

    `late` (backbone staff adding a period older than the indicator's window) adds a
    field for the reason, prefilled with it.
    """
    unit = Unit(indicator.unit)
    rules = RULES[unit]
    cells = sum(len(d.categories) for d in dims)
    compact = markup.form_page_size is not None and 2 + cells > markup.form_page_size
    old = current.cells if current else {}
    fields = [FormField("value", _label(f"{indicator.name} ({unit.value.replace('_', ' ')})"), FieldKind.NUMBER,
                        placeholder=rules.example, hint=f"{indicator.name}, {period.label}",
                        initial=_plain(current.value) if current else "", max_length=30)]
    for d_index, dim in enumerate(dims):
        previous = old.get(dim.key, {})
        if compact:
            fields.append(FormField(
                f"d.{d_index}", _label(f"{dim.name} (category: value; ...)"), FieldKind.LONG_TEXT, required=False,
                placeholder="; ".join(f"{c}: …" for c in dim.categories)[:PLACEHOLDER_LIMIT],
                initial="; ".join(f"{c}: {_plain(previous[c])}" for c in dim.categories if c in previous),
                max_length=1000, hint=f"Categories: {', '.join(dim.categories)}"))
        else:
            for c_index, category in enumerate(dim.categories):
                fields.append(FormField(
                    f"c.{d_index}.{c_index}", _label(f"{dim.name}: {category}"), FieldKind.NUMBER, required=False,
                    initial=_plain(previous[category]) if category in previous else "", max_length=30))
    if current is None:
        fields.append(FormField("note", "Note (optional)", FieldKind.LONG_TEXT, required=False, max_length=1000))
    else:
        fields.append(FormField("reason", "Why is this being corrected?", FieldKind.LONG_TEXT, max_length=500,
                                hint=f"Currently {format_value(unit, current.value)}"))
    if late is not None:
        fields.append(FormField("late", "Why is this period added late?", FieldKind.LONG_TEXT, max_length=500,
                                initial=late, hint=f"{period.label} is older than partners may submit."))
    return Form(title=f"Submit {period.label}"[:24], action=SUBMIT_ACTION,
                fields=tuple(fields), value=form_value(id_of(indicator), period.label, reporter_id))


def read_form(dims: list[Dimension], values: dict[str, str]) -> tuple[FormInput, dict[str, str]]:
    """What the form said, and the problems reading it (field name -> message)."""
    cells: dict[str, dict[str, str]] = {}
    errors: dict[str, str] = {}
    for d_index, dim in enumerate(dims):
        if f"d.{d_index}" in values:
            found, problem = parse_breakdown(dim, values[f"d.{d_index}"])
            if problem:
                errors[f"d.{d_index}"] = problem
            cells[dim.key] = found
        else:
            cells[dim.key] = {cat: values.get(f"c.{d_index}.{c_index}", "")
                              for c_index, cat in enumerate(dim.categories)}
    read = FormInput(values.get("value", ""), cells, values.get("note", "").strip(), values.get("reason", "").strip())
    return read, errors


def field_errors(dims: list[Dimension], refused: Refused, values: dict[str, str]) -> dict[str, str]:
    """`refused`'s problems keyed by the form field each is about."""
    index = {dim.key: i for i, dim in enumerate(dims)}
    errors: dict[str, str] = {}
    for key, message in refused.errors.items():
        kind, _, rest = key.partition(":")
        name = "value"
        if kind in ("cell", "dim"):
            dim_key, _, category = rest.partition(":")
            d_index = index[dim_key]
            if f"d.{d_index}" in values:
                name = f"d.{d_index}"
            else:
                c_index = dims[d_index].categories.index(category) if category else 0
                name = f"c.{d_index}.{c_index}"
        errors[name] = f"{errors[name]} {message}" if name in errors else message
    return errors


def _label(text: str) -> str:
    return clip(text, LABEL_LIMIT)


def _plain(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".")
