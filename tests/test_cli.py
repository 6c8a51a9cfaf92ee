"""The `cibot` command line as a newcomer uses it: load, shell (scripted), glossary files, errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.process_helpers import EXAMPLE, ROOT, cibot


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cibot.db'}"


def test_help_is_fast_to_import_and_loads_no_platform_sdk() -> None:
    code = ("import sys; sys.argv=['cibot','--help']\nimport bot.cli\ntry:\n bot.cli.main()\n"
            "except SystemExit: pass\nprint(sorted(m for m in sys.modules if m.split('.')[0] in "
            "{'slack_bolt','slack_sdk','discord','sqlmodel','sqlalchemy'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert "load" in out.stdout and "shell" in out.stdout
    assert out.stdout.strip().endswith("[]")


def test_load_twice_then_script_the_shell(db: str, tmp_path: Path) -> None:
    first = cibot("load", str(EXAMPLE), db=db)
    assert first.returncode == 0, first.stderr
    assert "members: 13 created" in first.stdout
    second = cibot("load", str(EXAMPLE), db=db)
    assert "nothing changed" in second.stdout

    script = "/ci glossary bbo\n/ci glossary comon agenda\n1\nMeeting of minds\nWhen partners agree.\n\nquit\n"
    out = cibot("shell", "--as", "lena", db=db, stdin=script, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "backbone organization" in out.stdout
    assert "Did you mean common agenda?" in out.stdout
    assert "[1] Propose a definition" in out.stdout
    lookup = cibot("shell", "--as", "lena", db=db, stdin="/ci glossary meeting of minds\n", cwd=tmp_path)
    assert "When partners agree." in lookup.stdout
    assert "proposed" in lookup.stdout.lower()


def test_unknown_member_in_shell_is_told_how_to_register(db: str) -> None:
    cibot("load", str(EXAMPLE), db=db)
    out = cibot("shell", "--as", "zed", db=db, stdin="/ci agenda add Something\n")
    assert "cibot shell --as KEY" in out.stdout


def test_invalid_file_is_rejected_with_line_and_field(db: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("initiative:\n  slug: x\n  name: X\n  timezone: Mars/Olympus\n")
    out = cibot("load", str(bad), db=db)
    assert out.returncode == 2
    assert "line 4" in out.stderr and "timezone" in out.stderr


def test_unreachable_database_is_explained(tmp_path: Path) -> None:
    out = cibot("db", "upgrade", db="postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert out.returncode == 2
    assert "cannot connect to the database" in out.stderr and "DATABASE_URL" in out.stderr
    out = cibot("db", "upgrade", db="mysql+nonsense://x")
    assert out.returncode == 2 and "sqlite:///" in out.stderr


@pytest.mark.parametrize("url, message", [
    ("sqlite:////proc/no-such-folder/cibot.db", "cannot create the folder /proc/no-such-folder"),
    ("postgresql+asyncpg://x@127.0.0.1:1/y", "database driver that is not installed"),
    ("sqlite:///{tmp}", "Check that the file is a cibot SQLite database"),
    ("sqlite:///{tmp}/not-a-database.db", "file is not a database"),
])
def test_a_database_url_that_cannot_work_is_explained(tmp_path: Path, url: str, message: str) -> None:
    from storage.db import DatabaseError, make_engine

    (tmp_path / "not-a-database.db").write_text("hello\n" * 200)
    with pytest.raises(DatabaseError, match=message) as caught:
        make_engine(url.format(tmp=tmp_path))
    assert "DATABASE_URL" in str(caught.value)


def test_a_folder_given_as_a_file_is_named_as_one(db: str, tmp_path: Path) -> None:
    out = cibot("load", str(tmp_path), db=db)
    assert out.returncode == 2
    assert f"{tmp_path} is a folder, not a file" in out.stderr


def test_glossary_export_then_import_round_trips(db: str, tmp_path: Path) -> None:
    cibot("load", str(EXAMPLE), db=db)
    exported = tmp_path / "terms.csv"
    out = cibot("glossary", "export", "--format", "csv", "-o", str(exported), db=db)
    assert out.returncode == 0, out.stderr
    assert "backbone organization" in exported.read_text()
    again = cibot("glossary", "import", str(exported), db=db)
    assert again.returncode == 0, again.stderr
    assert "0 created, 0 updated" in again.stdout


def test_version_is_the_installed_package_version(tmp_path: Path) -> None:
    from importlib.metadata import version

    shown = cibot("--version", db=f"sqlite:///{tmp_path}/v.db")
    assert shown.returncode == 0 and shown.stdout.strip() == f"cibot {version('cibot')}"


def test_the_demo_shell_serves_the_public_page_while_it_runs(db: str, tmp_path: Path) -> None:
    import urllib.request

    from tests.process_helpers import env_for, free_port

    cibot("load", str(EXAMPLE), db=db)
    port = free_port()
    shell = subprocess.Popen([sys.executable, "-m", "bot.cli", "shell", "--as", "maria", "--web", str(port)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=tmp_path,
                             env=env_for(db))
    try:
        assert shell.stdout is not None
        line = shell.stdout.readline()
        assert f"http://127.0.0.1:{port}/p/riverbend" in line
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/p/riverbend", timeout=10).read().decode()
        assert "<main" in page and "enrol" in page.lower()
        busy = cibot("shell", "--as", "maria", "--web", str(port), db=db, stdin="quit\n")
        assert busy.returncode != 0 and "cannot listen" in busy.stdout + busy.stderr
    finally:
        shell.communicate("quit\n", timeout=30)
