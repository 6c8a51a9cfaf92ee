"""The `cibot` command line. Heavy imports happen inside commands so `cibot --help` stays fast."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

app = typer.Typer(help="cibot: the chat bot that keeps a collective impact initiative's rhythm.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
glossary_app = typer.Typer(help="Import and export the glossary.", no_args_is_help=True)
discord_app = typer.Typer(help="Discord application maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(glossary_app, name="glossary")
app.add_typer(discord_app, name="discord")

InitiativeOption = Annotated[str, typer.Option("--initiative", help="Initiative slug (needed only when there are several).")]


def fail(message: str) -> typer.Exit:
    """Print `message` as an error and return the exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def open_database() -> Engine:
    """Connect to DATABASE_URL and apply pending migrations."""
    from storage.db import DatabaseError, make_engine, upgrade

    try:
        engine = make_engine()
    except DatabaseError as exc:
        raise fail(str(exc)) from None
    upgrade(engine)
    return engine


def pick_initiative(session, slug: str):  # type: ignore[no-untyped-def]
    """The initiative named `slug`, or the only one there is."""
    from sqlmodel import select

    from storage.models import Initiative

    if slug:
        found = session.exec(select(Initiative).where(Initiative.slug == slug)).first()
        if found is None:
            raise fail(f"no initiative with slug {slug!r}; load one with `cibot load FILE`")
        return found
    all_ = session.exec(select(Initiative)).all()
    if not all_:
        raise fail("there is no initiative yet; load one with `cibot load examples/initiative.yaml`")
    if len(all_) > 1:
        raise fail("there are several initiatives; say which with --initiative " + "|".join(i.slug for i in all_))
    return all_[0]


@app.command()
def load(path: Annotated[Path, typer.Argument(help="The initiative YAML file.")]) -> None:
    """Create or update an initiative from a YAML file (idempotent; nothing is deleted silently)."""
    from bot.core.errors import UserError
    from bot.initiative_file import load_initiative
    from storage.db import session_scope

    if not path.is_file():
        raise fail(f"{path} does not exist; give the path of an initiative YAML file")
    engine = open_database()
    try:
        with session_scope(engine) as session:
            report = load_initiative(session, path)
    except UserError as exc:
        raise fail(exc.message) from None
    for line in report.lines():
        typer.echo(line)


@app.command()
def shell(
    as_: Annotated[str, typer.Option("--as", help="Member key to speak as (from the initiative YAML).")] = "",
) -> None:
    """Chat with the bot in this terminal; pipe commands in to script it."""
    from bot.adapters.console import ConsoleSession
    from bot.app import build_core
    from bot.core.context import Origin

    engine = open_database()
    session = ConsoleSession(build_core(engine), Origin("console", as_ or "guest"),
                             read=_reader(), out=sys.stdout)
    session.run()


def _reader():  # type: ignore[no-untyped-def]
    if sys.stdin.isatty():
        import readline  # noqa: F401  (line editing and history for input())

        def ask(prompt: str) -> str | None:
            try:
                return input(prompt)
            except EOFError:
                return None
        return ask

    def read_line(prompt: str) -> str | None:
        line = sys.stdin.readline()
        if not line:
            return None
        sys.stdout.write(f"{prompt}{line if line.endswith(chr(10)) else line + chr(10)}")
        return line.rstrip("\n")
    return read_line


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending database migrations (cibot also does this on every start)."""
    from storage.db import database_url

    open_database()
    typer.echo(f"database is up to date ({database_url().split('@')[-1]})")


@glossary_app.command("import")
def glossary_import(
    path: Annotated[Path, typer.Argument(help="A .csv or .yaml file of terms.")],
    initiative: InitiativeOption = "",
) -> None:
    """Add or update glossary terms from a CSV or YAML file (all or nothing)."""
    from bot.core.errors import UserError
    from bot.glossary_files import import_terms
    from storage.db import session_scope

    if not path.is_file():
        raise fail(f"{path} does not exist")
    engine = open_database()
    try:
        with session_scope(engine) as session:
            result = import_terms(session, pick_initiative(session, initiative).id, path)
    except UserError as exc:
        raise fail(exc.message) from None
    typer.echo(f"glossary: {result.created} created, {result.updated} updated, {result.unchanged} unchanged")


@glossary_app.command("export")
def glossary_export(
    fmt: Annotated[str, typer.Option("--format", help="csv or yaml")] = "yaml",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")] = None,
    initiative: InitiativeOption = "",
) -> None:
    """Write every glossary term as CSV or YAML."""
    from bot.core.errors import UserError
    from bot.glossary_files import export_terms
    from storage.db import session_scope

    if fmt not in {"csv", "yaml"}:
        raise fail("--format must be csv or yaml")
    engine = open_database()
    try:
        with session_scope(engine) as session:
            text = export_terms(session, pick_initiative(session, initiative).id, fmt)
    except UserError as exc:
        raise fail(exc.message) from None
    if output:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}")
    else:
        sys.stdout.write(text)


def main() -> None:
    """Entry point of the `cibot` console script."""
    app()


if __name__ == "__main__":
    main()
