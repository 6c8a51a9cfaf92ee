"""Importing and exporting the glossary as CSV and YAML: round trips, and all-or-nothing errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import select

from bot.core.errors import UserError
from bot.glossary.book import TermEntry, upsert_terms
from bot.glossary.files import export_terms, import_terms
from storage.db import session_scope
from storage.models import GlossaryTerm, Initiative
from tests.chat import Chat
from tests.factories import seed

TERMS = [
    TermEntry("Backbone", "The staff who support the initiative.", aliases=["backbone organisation"],
              acronyms=["BBO"]),
    TermEntry("Équité", senses=[("health", "Fair access to care."), ("education", "Fair schooling; \"for all\".")]),
    TermEntry("Family voice", "Parents shape decisions,\nnot just attend.", status="proposed"),
    TermEntry("Kindergarten readiness", "Ready to learn.", senses=[("funders", "Counted by the KRA.")],
              aliases=["school readiness", "readiness"], acronyms=["KR"]),
]


def terms_in(engine, initiative_id: int) -> int:
    with session_scope(engine) as session:
        return session.exec(select(func.count()).select_from(GlossaryTerm)
                            .where(GlossaryTerm.initiative_id == initiative_id)).one()


def run_import(engine, initiative_id: int, path: Path):
    with session_scope(engine) as session:
        return import_terms(session, initiative_id, path)


def run_export(engine, initiative_id: int, fmt: str) -> str:
    with session_scope(engine) as session:
        return export_terms(session, initiative_id, fmt)


def file_of(tmp_path: Path, name: str, content: str) -> Path:
    """A file `name` holding `content`, to import."""
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def refusal(engine, initiative_id: int, path: Path) -> str:
    """The message with which importing `path` is refused (the test fails if it is imported)."""
    with pytest.raises(UserError) as error:
        run_import(engine, initiative_id, path)
    return error.value.message


@pytest.mark.parametrize("fmt", ["csv", "yaml"])
def test_export_imports_back_unchanged_and_into_another_initiative(engine, tmp_path, fmt) -> None:
    first = seed(engine)
    with session_scope(engine) as session:
        upsert_terms(session, first.initiative_id, TERMS)
        other = Initiative(slug="other", name="Another initiative")
        session.add(other)
        session.flush()
        assert other.id is not None
        second_id = other.id
    exported = run_export(engine, first.initiative_id, fmt)
    path = file_of(tmp_path, f"glossary.{fmt}", exported)
    same = run_import(engine, first.initiative_id, path)
    assert (same.created, same.updated, same.unchanged) == (0, 0, len(TERMS))
    copied = run_import(engine, second_id, path)
    assert copied.created == len(TERMS)
    assert run_export(engine, second_id, fmt) == exported


def test_imported_terms_answer_lookups(chat: Chat, engine, tmp_path) -> None:
    seeded = seed(engine)
    path = file_of(
        tmp_path, "terms.csv",
        "term,definition,aliases,acronyms,context,status\n"
        "Collective impact,Working together on one agenda.,CI approach;joint work,CI,,\n"
        "Collective impact,Pooled grants.,,,funders,\n"
        "Data walk,Looking at data together.,,,,proposed\n")
    result = run_import(engine, seeded.initiative_id, path)
    assert (result.created, result.updated, result.unchanged) == (2, 0, 0)
    card = chat.say("/ci glossary joint work")
    assert card.title == "Collective impact"
    assert card.sections == ["Working together on one agenda.", "funders: Pooled grants."]
    assert chat.say("/ci glossary data walk").title == "Data walk (proposed)"


def test_a_csv_with_one_bad_row_writes_nothing_and_names_row_and_field(engine, tmp_path) -> None:
    seeded = seed(engine)
    message = refusal(engine, seeded.initiative_id, file_of(
        tmp_path, "terms.csv",
        "term,definition,aliases\n"
        "Backbone,Support staff.,\n"
        "Common agenda,,\n"
        "Equity,Fairness.,\n"))
    assert "terms.csv was not imported; nothing was changed" in message
    assert "row 3 (“Common agenda”): definition: the definition is empty" in message
    assert terms_in(engine, seeded.initiative_id) == 0


def test_yaml_errors_name_the_line_and_field(engine, tmp_path) -> None:
    seeded = seed(engine)
    message = refusal(engine, seeded.initiative_id, file_of(
        tmp_path, "glossary.yaml",
        "glossary:\n"
        "  - term: Backbone\n"
        "    definition: Support staff.\n"
        "  - term: Equity\n"
        "    senses:\n"
        "      - context: health\n"
        "        definition: Fair access.\n"
        "    status: maybe\n"
        "  - term: Family voice\n"
        "    defintion: Parents shape decisions.\n"))
    assert "line 4 (“Equity”): status: status “maybe” is not one of proposed, agreed" in message
    assert "line 9: defintion: unknown field" in message
    assert terms_in(engine, seeded.initiative_id) == 0


def test_a_yaml_key_written_twice_is_refused_with_both_lines(engine, tmp_path) -> None:
    seeded = seed(engine)
    message = refusal(engine, seeded.initiative_id, file_of(
        tmp_path, "glossary.yaml",
        "glossary:\n"
        "  - term: Backbone\n"
        "    term: Bulletin board\n"
        "    definition: Support staff.\n"
        "glossary:\n"
        "  - term: Equity\n"
        "    definition: Fairness.\n"))
    assert "line 3: term: written twice (lines 2 and 3); keep one" in message
    assert "line 5: glossary: written twice (lines 1 and 5); keep one" in message
    assert terms_in(engine, seeded.initiative_id) == 0


def test_a_plain_yaml_list_imports(engine, tmp_path) -> None:
    seeded = seed(engine)
    path = file_of(tmp_path, "glossary.yml", "- term: Backbone\n  definition: Support staff.\n  acronyms: [BBO]\n"
                   "- {term: Equity, definition: Fairness., aliases: fairness; justice}\n")
    result = run_import(engine, seeded.initiative_id, path)
    assert result.created == 2
    assert "fairness; justice" not in run_export(engine, seeded.initiative_id, "yaml")
    assert "- fairness\n" in run_export(engine, seeded.initiative_id, "yaml")


def test_an_alias_that_names_another_term_is_refused(engine, tmp_path) -> None:
    seeded = seed(engine)
    path = file_of(tmp_path, "terms.csv",
                   "term,definition,acronyms\nBackbone,Support staff.,BB\nBulletin board,A wall.,BB\n")
    assert "The alias “BB” of “Bulletin board” already names “Backbone”" in refusal(
        engine, seeded.initiative_id, path)
    assert terms_in(engine, seeded.initiative_id) == 0


@pytest.mark.parametrize("name, content, message", [
    ("terms.txt", "term\n", "must end in .csv, .yaml or .yml"),
    ("terms.csv", "word,meaning\nx,y\n", "needs a header row with the columns term, definition"),
    ("terms.csv", "term,definition,colour\nx,y,red\n", "unknown column(s) colour"),
    ("terms.yaml", "glossary: [term: x\n", "not valid YAML at line"),
    ("terms.yaml", "terms:\n  - term: x\n", "must be a list of terms, or have a `glossary:` key"),
])
def test_unreadable_files_are_explained(engine, tmp_path, name, content, message) -> None:
    seeded = seed(engine)
    assert message in refusal(engine, seeded.initiative_id, file_of(tmp_path, name, content))


def test_a_missing_file_and_an_unknown_export_format_are_explained(engine, tmp_path) -> None:
    seeded = seed(engine)
    with pytest.raises(UserError, match="There is no file at"):
        run_import(engine, seeded.initiative_id, tmp_path / "nothing.csv")
    with pytest.raises(UserError, match="choose one of csv, yaml"):
        run_export(engine, seeded.initiative_id, "xlsx")
