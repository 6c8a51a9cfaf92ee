"""Reading YAML as nodes that remember their line, so every error can point at it.

`compose` turns text into a node tree (yaml.compose keeps each node's start mark);
`record` reads one mapping against a table of `Field`s, reporting unknown keys (with a
"did you mean" hint), duplicate keys (with both lines), missing required fields and
wrong values to a `Problems` list instead of stopping at the first one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.initiative_file.problems import Problems, Where, did_you_mean

NULL_TAG = "tag:yaml.org,2002:null"


class Invalid(Exception):
    """A value is wrong; the message says why and how to write it."""


@dataclass(frozen=True)
class At:
    """A YAML node and the field path that leads to it."""

    node: Node
    path: str
    key_line: int = 0  # the line of the key, for a value inside a mapping

    @property
    def where(self) -> Where:
        """The node's line and path, for error messages."""
        return Where(self.node.start_mark.line + 1, self.path)

    @property
    def key_where(self) -> Where:
        """The line of the key that leads to this value (its own line outside a mapping)."""
        return Where(self.key_line, self.path) if self.key_line else self.where

    def field(self, name: str, node: Node) -> At:
        """The value `node` of field `name` inside this mapping."""
        return At(node, self.where.field(name))

    def item(self, index: int, node: Node) -> At:
        """The `index`-th item `node` of this list."""
        return At(node, f"{self.path}[{index}]")


Reader = Callable[[At, Problems], Any]


@dataclass(frozen=True)
class Field:
    """How to read one field of a mapping: its reader, and whether it must be there."""

    read: Reader
    required: bool = False


def compose(text: str, problems: Problems) -> At | None:
    """The root node of `text`, or None (with the syntax error recorded) if it is not YAML."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        reason = " ".join(part for part in (exc.context, exc.problem) if part)
        problems.add(Where(line, ""), f"this is not valid YAML: {reason}")
        return None
    except yaml.YAMLError as exc:
        problems.add(Where(1, ""), f"this is not valid YAML: {exc}")
        return None
    if root is None or is_empty(root):
        problems.add(Where(1, ""), "the file is empty; start it with an `initiative:` section")
        return None
    return At(root, "")


def is_empty(node: Node) -> bool:
    """True for a null or blank scalar (``key:`` with nothing after it)."""
    return isinstance(node, ScalarNode) and (node.tag == NULL_TAG or node.value.strip() == "")


def describe(node: Node) -> str:
    """What kind of YAML value `node` is, in words."""
    if isinstance(node, MappingNode):
        return "a mapping (key: value lines)"
    if isinstance(node, SequenceNode):
        return "a list"
    return f"the text {node.value!r}"


def entries(at: At, problems: Problems, what: str) -> list[tuple[str, At]] | None:
    """The key/value pairs of the mapping at `at`; None (reported) if it is not a mapping.

    A key that appears twice is reported with both lines and its second value ignored.
    """
    if not isinstance(at.node, MappingNode):
        problems.add(at.where, f"expected {what}, found {describe(at.node)}")
        return None
    seen: dict[str, int] = {}
    pairs: list[tuple[str, At]] = []
    for key_node, value_node in at.node.value:
        if not isinstance(key_node, ScalarNode) or is_empty(key_node):
            problems.add(At(key_node, at.path).where, "a key must be plain text")
            continue
        key = key_node.value
        line = key_node.start_mark.line + 1
        if key in seen:
            problems.add(Where(line, at.where.field(key)),
                         f"{key!r} appears twice (lines {seen[key]} and {line}); keep one")
            continue
        seen[key] = line
        pairs.append((key, At(value_node, at.where.field(key), line)))
    return pairs


def items(at: At, problems: Problems, what: str, *, single_ok: bool = False) -> list[At]:
    """The items of the list at `at` (a lone value counts as a one-item list if `single_ok`)."""
    if isinstance(at.node, SequenceNode):
        return [at.item(i, node) for i, node in enumerate(at.node.value)]
    if single_ok:
        return [at]
    problems.add(at.where, f"expected a list of {what}, found {describe(at.node)}")
    return []


@dataclass
class Record:
    """The valid fields of one mapping, and where each field was written."""

    values: dict[str, Any]
    spots: dict[str, Where]
    where: Where

    def spot(self, name: str) -> Where:
        """Where field `name` was written (the mapping's own line if it was not)."""
        return self.spots.get(name, self.where)


def record(at: At, fields: Mapping[str, Field], problems: Problems, what: str) -> Record | None:
    """Read the mapping at `at` field by field; None if it is not a mapping.

    The result holds the fields that were present, not empty and valid; everything
    else is reported to `problems`.
    """
    pairs = entries(at, problems, f"{what} fields (key: value lines)")
    if pairs is None:
        return None
    values: dict[str, Any] = {}
    spots = {key: value.where for key, value in pairs}
    for key, value in pairs:
        field = fields.get(key)
        if field is None:
            problems.add(value.key_where, f"unknown field{did_you_mean(key, fields)}; "
                         f"{what} takes {', '.join(fields)}")
            continue
        if is_empty(value.node):
            continue
        try:
            values[key] = field.read(value, problems)
        except Invalid as exc:
            problems.add(value.where, str(exc))
            values[key] = None
    for key, field in fields.items():
        if field.required and key not in values:
            problems.add(Where(at.where.line, at.where.field(key)), f"missing; every {what} needs a {key}")
    valid = {key: value for key, value in values.items() if value is not None}
    return Record(valid, spots, at.where)


def records(at: At, fields: Mapping[str, Field], problems: Problems, what: str, name: str, *,
            needed: Iterable[str] | None = None, shorthand: str | None = None) -> list[Record]:
    """The mappings of the list at `at` (a list of `what`), each read against `fields` as one `name`.

    Those lacking a `needed` field (by default, the required ones) are left out, their
    problems reported. With `shorthand`, a plain value stands for a mapping holding only
    that field, and a lone item for a one-item list.
    """
    needed = [key for key, field in fields.items() if field.required] if needed is None else list(needed)
    found = []
    for item in items(at, problems, what, single_ok=shorthand is not None):
        if shorthand is not None and isinstance(item.node, ScalarNode):
            try:
                found.append(Record({shorthand: fields[shorthand].read(item, problems)}, {}, item.where))
            except Invalid as exc:
                problems.add(item.where, str(exc))
            continue
        rec = record(item, fields, problems, name)
        if rec is not None and all(key in rec.values for key in needed):
            found.append(rec)
    return found


def scalar_text(at: At) -> str:
    """The text of the scalar at `at`, exactly as written (so ``no`` stays ``no``)."""
    if not isinstance(at.node, ScalarNode):
        raise Invalid(f"expected text, found {describe(at.node)}")
    return at.node.value.strip()
