"""Glossary files: import terms from CSV or YAML, export them so the export imports back.

CSV has the columns term, definition, aliases, acronyms, context, status (aliases and
acronyms separated by ``;``); several rows with the same term give it one meaning per
context. YAML is a list of terms, or a mapping with a ``glossary:`` key holding one,
each item ``{term, definition | senses: [{context, definition}], aliases, acronyms,
status}``. Imports check every row before writing anything.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import yaml
from sqlmodel import Session
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.core.errors import UserError
from bot.glossary.book import TermEntry, UpsertResult, entries_of, normalize, upsert_terms

CSV_COLUMNS = ("term", "definition", "aliases", "acronyms", "context", "status")
YAML_KEYS = {"term", "definition", "senses", "aliases", "acronyms", "status"}
FORMATS = ("csv", "yaml")
MAX_REPORTED = 15


def import_terms(session: Session, initiative_id: int, path: str | Path) -> UpsertResult:
    """Load the terms in the CSV or YAML file at `path` into the initiative's glossary.

    All or nothing: every row is checked first, and any problem raises `UserError`
    naming the row (or line) and field, with nothing written.
    """
    path = Path(path)
    kind = _format_of(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise UserError(f"There is no file at {path}.") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"Cannot read {path} as UTF-8 text: {exc}.") from exc
    located, problems = _read_csv(text) if kind == "csv" else _read_yaml(text)
    problems += [f"{where} ({_label(entry)}): {name}: {message}"
                 for where, entry in located for name, message in entry.field_errors().items()]
    if problems:
        shown = problems[:MAX_REPORTED]
        more = f"\n…and {len(problems) - len(shown)} more." if len(problems) > len(shown) else ""
        raise UserError(f"{path.name} was not imported; nothing was changed. Fix these first:\n"
                        + "\n".join(shown) + more)
    try:
        return upsert_terms(session, initiative_id, [entry for _, entry in located])
    except UserError as exc:
        raise UserError(f"{path.name} was not imported; nothing was changed. {exc.message}") from exc


def export_terms(session: Session, initiative_id: int, fmt: str) -> str:
    """The initiative's glossary as CSV or YAML text that `import_terms` reads back unchanged."""
    entries = entries_of(session, initiative_id)
    if fmt == "csv":
        return _write_csv(entries)
    if fmt in ("yaml", "yml"):
        items = [_yaml_item(entry) for entry in entries]
        return yaml.safe_dump({"glossary": items}, allow_unicode=True, sort_keys=False, width=100)
    raise UserError(f"Cannot export the glossary as “{fmt}”; choose one of {', '.join(FORMATS)}.")


def _format_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix in (".yaml", ".yml"):
        return "yaml"
    raise UserError(f"{path.name}: glossary files must end in .csv, .yaml or .yml.")


def _label(entry: TermEntry) -> str:
    return f"“{entry.term[:40]}”" if entry.term.strip() else "no term"


# ---------------------------------------------------------------- CSV

def _read_csv(text: str) -> tuple[list[tuple[str, TermEntry]], list[str]]:
    """Entries from CSV text, each with the row it starts on (the header is row 1), and problems."""
    reader = csv.DictReader(io.StringIO(text))
    columns = [c.strip().lower() for c in reader.fieldnames or []]
    if "term" not in columns:
        raise UserError("The CSV file needs a header row with the columns " + ", ".join(CSV_COLUMNS) + ".")
    unknown = [c for c in columns if c not in CSV_COLUMNS]
    if unknown:
        raise UserError(f"The CSV file has unknown column(s) {', '.join(unknown)}; "
                        f"the columns are {', '.join(CSV_COLUMNS)}.")
    reader.fieldnames = columns
    located: dict[str, tuple[str, TermEntry]] = {}
    problems: list[str] = []
    for number, row in enumerate(reader, start=2):
        if None in row:
            problems.append(f"row {number}: has more cells than the header has columns")
            continue
        cells = {k: (v or "").strip() for k, v in row.items()}
        if not any(cells.values()):
            continue
        key = normalize(cells.get("term", ""))
        where = f"row {number}"
        if key not in located or not key:
            entry = TermEntry(term=cells.get("term", ""), status=cells.get("status") or "agreed")
            located[key or where] = (where, entry)
        else:
            where, entry = located[key]
            if cells.get("status") and cells["status"] != entry.status:
                problems.append(f"row {number}: status: “{cells['status']}” differs from "
                                f"“{entry.status}” given for the same term on {where}")
        problem = _add_meaning(entry, cells.get("context", ""), cells.get("definition", ""))
        if problem:
            problems.append(f"row {number}: {problem}")
        entry.aliases += _split(cells.get("aliases", ""))
        entry.acronyms += _split(cells.get("acronyms", ""))
    return list(located.values()), problems


def _add_meaning(entry: TermEntry, context: str, definition: str) -> str:
    """Give `entry` the meaning from one row; the problem, if the row repeats a context."""
    if not context and not entry.definition and not entry.senses:
        entry.definition = definition
        return ""
    if any(normalize(c) == normalize(context) for c, _ in entry.senses_to_store()):
        which = f"context “{context}”" if context else "no context"
        return f"context: “{entry.term}” already has a definition with {which}"
    entry.senses.append((context, definition))
    return ""


def _split(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(";") if part.strip()]


def _write_csv(entries: list[TermEntry]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for entry in entries:
        extra = {"aliases": "; ".join(entry.aliases), "acronyms": "; ".join(entry.acronyms),
                 "status": entry.status}
        meanings = entry.senses_to_store()
        for number, (context, definition) in enumerate(meanings):
            first = extra if number == 0 else {}
            writer.writerow([entry.term, definition, first.get("aliases", ""), first.get("acronyms", ""),
                             context, first.get("status", "")])
    return out.getvalue()


# ---------------------------------------------------------------- YAML

def _read_yaml(text: str) -> tuple[list[tuple[str, TermEntry]], list[str]]:
    """Entries from YAML text, each with the line its item starts on, and problems."""
    loader = yaml.SafeLoader(text)  # one parse gives the nodes (with lines) and the data
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise UserError(f"The YAML file is not valid YAML{where}: {getattr(exc, 'problem', exc)}.") from exc
    finally:
        loader.dispose()
    duplicates = _duplicate_keys(root) if root is not None else []
    if duplicates:
        return [], duplicates
    items, nodes = data, root
    if isinstance(data, dict):
        if "glossary" not in data:
            raise UserError("The YAML file must be a list of terms, or have a `glossary:` key holding one.")
        items = data["glossary"]
        nodes = next(value for key, value in root.value if key.value == "glossary")
    if items is None:
        return [], []
    if not isinstance(items, list):
        raise UserError("The glossary in the YAML file must be a list of terms (items starting with -).")
    located: list[tuple[str, TermEntry]] = []
    problems: list[str] = []
    for item, node in zip(items, nodes.value, strict=True):
        where = f"line {node.start_mark.line + 1}"
        try:
            located.append((where, _yaml_entry(item)))
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
    return located, problems


def _duplicate_keys(node: Node) -> list[str]:
    """Every key written twice in one mapping under `node` (YAML would keep the last silently)."""
    found: list[str] = []
    if isinstance(node, MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            line = key.start_mark.line + 1
            if isinstance(key, ScalarNode) and key.value in seen:
                found.append(f"line {line}: {key.value}: written twice (lines {seen[key.value]} and "
                             f"{line}); keep one")
            elif isinstance(key, ScalarNode):
                seen[key.value] = line
            found += _duplicate_keys(value)
    elif isinstance(node, SequenceNode):
        for item in node.value:
            found += _duplicate_keys(item)
    return found


def _yaml_entry(item: Any) -> TermEntry:
    """One YAML item as a `TermEntry`; `ValueError` names the field that is wrong."""
    if not isinstance(item, dict):
        raise ValueError("term: each item must be a mapping like {term: ..., definition: ...}")
    unknown = set(item) - YAML_KEYS
    if unknown:
        raise ValueError(f"{sorted(unknown)[0]}: unknown field; the fields are {', '.join(sorted(YAML_KEYS))}")
    senses = []
    for sense in item.get("senses") or []:
        if not isinstance(sense, dict) or "definition" not in sense:
            raise ValueError("senses: each sense needs a definition (and optionally a context)")
        senses.append((_text(sense.get("context"), "senses"), _text(sense["definition"], "senses")))
    return TermEntry(
        term=_text(item.get("term"), "term"),
        definition=_text(item.get("definition"), "definition"),
        aliases=_names(item.get("aliases"), "aliases"),
        acronyms=_names(item.get("acronyms"), "acronyms"),
        senses=senses,
        status=_text(item.get("status"), "status") or "agreed",
    )


def _text(value: Any, name: str) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        raise ValueError(f"{name}: must be text, not a {'mapping' if isinstance(value, dict) else 'list'}")
    return str(value).strip()


def _names(value: Any, name: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return _split(value)
    if isinstance(value, list):
        return [_text(v, name) for v in value]
    raise ValueError(f"{name}: must be a list of names")


def _yaml_item(entry: TermEntry) -> dict[str, Any]:
    item: dict[str, Any] = {"term": entry.term}
    if entry.definition:
        item["definition"] = entry.definition
    if entry.senses:
        item["senses"] = [{"context": c, "definition": d} for c, d in entry.senses]
    if entry.aliases:
        item["aliases"] = list(entry.aliases)
    if entry.acronyms:
        item["acronyms"] = list(entry.acronyms)
    item["status"] = entry.status
    return item
