"""`cibot db backup` and `cibot db restore`: a round trip on SQLite and on PostgreSQL, as an operator runs them."""

from __future__ import annotations

from pathlib import Path

from tests.process_helpers import EXAMPLE, cibot


def glossary(db_url: str, term: str) -> str:
    return cibot("shell", "--as", "maria", db=db_url, stdin=f"/ci glossary {term}\n").stdout


def test_a_backup_restores_what_was_there_and_drops_what_came_after(db_url: str, tmp_path: Path) -> None:
    assert cibot("load", str(EXAMPLE), db=db_url).returncode == 0
    archive = tmp_path / "cibot.backup"
    made = cibot("db", "backup", str(archive), db=db_url)
    assert made.returncode == 0, made.stderr
    assert f"wrote {archive}" in made.stdout and archive.stat().st_size > 0

    added = cibot("shell", "--as", "maria", db=db_url, stdin="/ci glossary add Zebra crossing = A striped walkway\n")
    assert "Zebra crossing" in added.stdout
    assert "A striped walkway" in glossary(db_url, "zebra crossing")

    restored = cibot("db", "restore", str(archive), "--yes", db=db_url)
    assert restored.returncode == 0, restored.stderr
    assert "A striped walkway" not in glossary(db_url, "zebra crossing")  # came after the backup
    assert "Acronyms: BBO" in glossary(db_url, "BBO")  # was in the backup


def test_restore_refuses_a_file_that_is_not_a_backup_and_changes_nothing(db_url: str, tmp_path: Path) -> None:
    assert cibot("load", str(EXAMPLE), db=db_url).returncode == 0
    junk = tmp_path / "notes.txt"
    junk.write_text("not a database\n")
    refused = cibot("db", "restore", str(junk), "--yes", db=db_url)
    assert refused.returncode == 2 and "not" in refused.stderr and "backup" in refused.stderr
    missing = cibot("db", "restore", str(tmp_path / "nowhere.backup"), "--yes", db=db_url)
    assert missing.returncode == 2 and "is not a backup file" in missing.stderr
    asked = cibot("db", "restore", str(junk), db=db_url, stdin="n\n")
    assert asked.returncode == 2 and "nothing was restored" in asked.stderr
    assert "Acronyms: BBO" in glossary(db_url, "BBO")
