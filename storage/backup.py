"""Backups of the bot's database: SQLite's online backup API, pg_dump and pg_restore on PostgreSQL.

A backup is one file: an SQLite database file, or a pg_dump archive in custom format.
Both are taken while the bot runs. Restoring replaces every table the backup holds with
its contents; migrations then bring an older backup up to this version.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import URL, Engine


class BackupError(Exception):
    """A backup or restore that could not be done, with what to do about it."""


def backup(engine: Engine, path: Path) -> None:
    """Write a consistent copy of the database behind `engine` to `path`."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        target = sqlite3.connect(path)
        try:
            with engine.connect() as conn:
                conn.connection.driver_connection.backup(target)  # type: ignore[union-attr]
        finally:
            target.close()
        return
    _run_pg("pg_dump", url, ["--format=custom", "--no-owner", f"--file={path}", *_schema_args(url)])


def restore(engine: Engine, path: Path) -> None:
    """Replace the database behind `engine` with the backup at `path`."""
    if not path.is_file():
        raise BackupError(f"{path} is not a backup file")
    url = engine.url
    if url.get_backend_name() == "sqlite":
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            tables = {row[0] for row in source.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{path} is not an SQLite backup of cibot ({exc})") from exc
        if "alembic_version" not in tables:
            source.close()
            raise BackupError(f"{path} is an SQLite file but not a cibot database")
        engine.dispose()  # no pooled connection may hold the old pages
        try:
            with engine.connect() as conn:
                source.backup(conn.connection.driver_connection)  # type: ignore[arg-type]
        finally:
            source.close()
        return
    with path.open("rb") as archive:
        if archive.read(5) != b"PGDMP":
            raise BackupError(f"{path} is not a pg_dump archive (make one with cibot db backup)")
    _run_pg("pg_restore", url, ["--clean", "--if-exists", "--no-owner", "--single-transaction", str(path)])


def _schema_args(url: URL) -> list[str]:
    """``--schema`` for a URL whose search_path names one schema (a scratch or tenant schema)."""
    options = str(url.query.get("options", ""))
    prefix = "-csearch_path="
    return [f"--schema={options[len(prefix):]}"] if options.startswith(prefix) else []


def _run_pg(tool: str, url: URL, args: list[str]) -> None:
    """Run PostgreSQL's `tool` against `url`, the password passed in the environment, not the command line."""
    if shutil.which(tool) is None:
        raise BackupError(f"{tool} is not installed; install the PostgreSQL client tools (Debian: postgresql-client)")
    env = {**os.environ, "PGPASSWORD": url.password or ""} if url.password else dict(os.environ)
    if options := url.query.get("options"):
        env["PGOPTIONS"] = str(options)
    target = url.set(drivername="postgresql", password=None, query={})
    done = subprocess.run([tool, f"--dbname={target.render_as_string(hide_password=False)}", *args],
                          capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise BackupError(f"{tool} failed: {done.stderr.strip() or done.stdout.strip()}")
