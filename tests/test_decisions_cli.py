"""`cibot audit verify` and `cibot export decisions` as a maintainer runs them: real processes on a SQLite file."""

from __future__ import annotations

import csv
import io
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.process_helpers import EXAMPLE, cibot


@pytest.fixture(scope="module")
def voted_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example initiative with an open vote (#1) and a secret ballot (#2), voted on in the shell."""
    path = tmp_path_factory.mktemp("decisions") / "cibot.db"
    db = f"sqlite:///{path}"
    assert cibot("load", str(EXAMPLE), db=db).returncode == 0
    opened = cibot("shell", "--as", "maria", db=db, stdin=(
        '/ci propose "Adopt the readiness measure" --closes 3d\n'
        '/ci propose "=Rename the initiative" --closes 3d --anonymous yes\n'))
    assert "Decision #1" in opened.stdout and "Decision #2" in opened.stdout, opened.stdout
    for who, first, second in (("james", "agree", "disagree"), ("olga", "disagree", "agree")):
        out = cibot("shell", "--as", who, db=db, stdin=f"/ci vote 1 {first}\n/ci vote 2 {second}\n")
        assert out.stdout.count("Recorded") == 2, out.stdout
    return path


@pytest.fixture
def voted(voted_template: Path, tmp_path: Path) -> tuple[str, Path]:
    """A fresh copy of the voted database for one test: its URL and file."""
    path = tmp_path / "cibot.db"
    shutil.copy(voted_template, path)
    return f"sqlite:///{path}", path


def test_audit_verify_passes_then_finds_an_edited_vote(voted: tuple[str, Path]) -> None:
    db, path = voted
    ok = cibot("audit", "verify", db=db)
    assert ok.returncode == 0, ok.stderr
    with sqlite3.connect(path) as conn:
        (events,) = conn.execute("SELECT count(*) FROM auditevent").fetchone()
        assert events >= 6  # at least 2 proposals and 4 votes
        assert f"audit log intact: {events} events checked" in ok.stdout
        (event_id,) = conn.execute("SELECT id FROM auditevent WHERE kind = 'decision.vote' ORDER BY id").fetchone()
        conn.execute("DROP TRIGGER auditevent_no_update")  # someone with raw database access
        conn.execute("UPDATE auditevent SET data = replace(data, 'agree', 'disagree') WHERE id = ?", (event_id,))
    broken = cibot("audit", "verify", db=db)
    assert broken.returncode == 1
    assert f"audit log BROKEN at event {event_id}" in broken.stderr and "edited" in broken.stderr


def test_audit_verify_finds_a_deleted_event(voted: tuple[str, Path]) -> None:
    db, path = voted
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TRIGGER auditevent_no_delete")  # someone with raw database access
        conn.execute("DELETE FROM auditevent WHERE id = 3")
    broken = cibot("audit", "verify", db=db)
    assert broken.returncode == 1 and "BROKEN at event 4" in broken.stderr and "deleted" in broken.stderr


def test_export_decisions_as_csv_with_counts_and_no_secret_votes(voted: tuple[str, Path], tmp_path: Path) -> None:
    db, _ = voted
    out = cibot("export", "decisions", "--format", "csv", db=db)
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert [(r["id"], r["status"], r["anonymous"]) for r in rows] == [("1", "open", "no"), ("2", "open", "yes")]
    assert (rows[0]["agree"], rows[0]["disagree"], rows[0]["voted"], rows[0]["eligible"]) == ("1", "1", "2", "8")
    assert rows[1]["title"] == "'=Rename the initiative"  # no formula for a spreadsheet to run
    assert (rows[1]["agree"], rows[1]["disagree"], rows[1]["voted"]) == ("", "", "2")  # secret: hidden until close
    assert "James" not in out.stdout and "Olga" not in out.stdout  # only counts, for open and secret votes alike

    target = tmp_path / "decisions.csv"
    written = cibot("export", "decisions", "--format", "csv", "-o", str(target), db=db)
    assert written.returncode == 0 and f"wrote {target}" in written.stdout
    assert target.read_text(encoding="utf-8") == out.stdout


def test_export_decisions_refuses_an_unknown_format(voted: tuple[str, Path]) -> None:
    db, _ = voted
    out = cibot("export", "decisions", "--format", "xlsx", db=db)
    assert out.returncode == 2 and "--format csv" in out.stderr and out.stdout == ""
