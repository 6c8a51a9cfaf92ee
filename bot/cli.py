"""The `cibot` command line. Heavy imports happen inside commands so `cibot --help` stays fast."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from sqlalchemy.engine import Engine
    from sqlmodel import Session

    from storage.models import Initiative

app = typer.Typer(help="cibot: the chat bot that keeps a collective impact initiative's rhythm.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
glossary_app = typer.Typer(help="Import and export the glossary.", no_args_is_help=True)
discord_app = typer.Typer(help="Discord application maintenance.", no_args_is_help=True)
slack_app = typer.Typer(help="Slack workspace set-up.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
export_app = typer.Typer(help="Export records as CSV.", no_args_is_help=True)
config_app = typer.Typer(help="Settings from the environment.", no_args_is_help=True)
outbox_app = typer.Typer(help="Messages the bot sends: see what waits, retry or drop.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
app.add_typer(export_app, name="export")
app.add_typer(config_app, name="config")
app.add_typer(outbox_app, name="outbox")
app.add_typer(glossary_app, name="glossary")
app.add_typer(discord_app, name="discord")
app.add_typer(slack_app, name="slack")

def _print_version(wanted: bool) -> None:
    if wanted:
        from importlib.metadata import version

        typer.echo(f"cibot {version('cibot')}")
        raise typer.Exit()


@app.callback()
def options(
    version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                          help="Print cibot's version and exit.")] = False,
) -> None:
    """cibot: the chat bot that keeps a collective impact initiative's rhythm."""
    read_secret_files()


SECRETS = ("DATABASE_URL", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "DISCORD_TOKEN",
           "SMTP_URL", "CIBOT_SECRET_KEY")


def read_secret_files() -> None:
    """Set each secret NAME from the file NAME_FILE names (Docker and Kubernetes secrets), unless NAME is set."""
    import os

    for name in SECRETS:
        path = os.environ.get(f"{name}_FILE")
        if path and not os.environ.get(name):
            try:
                os.environ[name] = Path(path).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise fail(f"{name}_FILE names {path}, which cannot be read ({exc.strerror})") from None


InitiativeOption = Annotated[str, typer.Option("--initiative",
                                               help="Initiative slug (needed only when there are several).")]


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


@contextmanager
def database_session() -> Iterator[Session]:
    """A session on the migrated database, committed on success; a `UserError` becomes an error exit."""
    from bot.core.errors import UserError
    from storage.db import session_scope

    try:
        with session_scope(open_database()) as session:
            yield session
    except UserError as exc:
        raise fail(exc.message) from None


def _write(text: str, output: Path | None) -> None:
    """Write `text` to the file `output`, saying so, or to stdout when there is none."""
    if output:
        output.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {output}")
    else:
        sys.stdout.write(text)


def _not_a_file(path: Path) -> str:
    """Why `path`, which is not a readable file, cannot be loaded."""
    return "is a folder, not a file" if path.is_dir() else "does not exist"


def pick_initiative(session: Session, slug: str) -> Initiative:
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
    from bot.initiative_file import load_initiative

    if not path.is_file():
        raise fail(f"{path} {_not_a_file(path)}; give the path of an initiative YAML file")
    with database_session() as session:
        report = load_initiative(session, path)
    for line in report.lines():
        typer.echo(line)


@app.command()
def permissions() -> None:
    """Print who may run each /ci command (the permission matrix in the README)."""
    from bot.bootstrap import build_registry
    from bot.core.permissions import matrix

    sys.stdout.write(matrix(build_registry()))


@app.command()
def shell(
    as_: Annotated[str, typer.Option("--as", help="Member key to speak as (from the initiative YAML).")] = "",
    initiative: InitiativeOption = "",
    web: Annotated[int, typer.Option("--web", metavar="PORT",
                                     help="Also serve the public pages and calendar feeds on 127.0.0.1:PORT.")] = 0,
) -> None:
    """Chat with the bot in this terminal; pipe commands in to script it."""
    from sqlmodel import select

    from bot.adapters.console import ConsoleSession
    from bot.bootstrap import build_core
    from bot.core.context import Origin
    from storage.db import session_scope
    from storage.models import Initiative

    engine = open_database()
    with session_scope(engine) as db:
        several = len(db.exec(select(Initiative.id).limit(2)).all()) > 1
        slug = pick_initiative(db, initiative).slug if initiative or several else ""
    if web:
        _serve_web_beside(engine, web)
    session = ConsoleSession(build_core(engine), Origin("console", as_ or "guest", initiative=slug),
                             read=_reader(), out=sys.stdout)
    session.run()


def _serve_web_beside(engine: Engine, port: int) -> None:
    """Serve the HTTP routes (public pages, calendar feeds) on 127.0.0.1:`port` while the console runs."""
    import asyncio
    import contextlib
    import socket
    import threading
    import time

    from sqlmodel import select

    from bot.http_routes import routes, serve_routes
    from bot.serve import ConfigError, check_port
    from storage.db import session_scope
    from storage.models import Initiative

    try:
        check_port("127.0.0.1", port)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    threading.Thread(target=asyncio.run, args=(serve_routes(routes(engine), "127.0.0.1", port),),
                     name="web", daemon=True).start()
    for _ in range(100):  # up to 5 s for the server to listen before its address is printed
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            break
        time.sleep(0.05)
    with session_scope(engine) as db:
        slugs = db.exec(select(Initiative.slug)).all()
    for slug in slugs:
        sys.stdout.write(f"Public progress page: http://127.0.0.1:{port}/p/{slug} (404 until something is published)\n")


def _reader() -> Callable[[str], str | None]:
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


@db_app.command("backup")
def db_backup(path: Annotated[Path, typer.Argument(help="The backup file to write.")]) -> None:
    """Write a backup of the database to FILE while the bot runs (SQLite file or pg_dump archive)."""
    from storage.backup import BackupError, backup

    try:
        backup(open_database(), path)
    except BackupError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"wrote {path} ({path.stat().st_size:,} bytes)")


@db_app.command("restore")
def db_restore(
    path: Annotated[Path, typer.Argument(help="A backup written by cibot db backup.")],
    yes: Annotated[bool, typer.Option("--yes", help="Replace the database without asking.")] = False,
) -> None:
    """Replace the whole database with a backup, then bring it up to this version. Stop the bot first."""
    from storage.backup import BackupError, restore
    from storage.db import upgrade

    if not yes and not typer.confirm(f"Replace every record in the database with {path}?"):
        raise fail("nothing was restored")
    engine = open_database()
    try:
        restore(engine, path)
    except BackupError as exc:
        raise fail(str(exc)) from None
    upgrade(engine)
    typer.echo(f"restored {path}; the database is up to date")


@config_app.command("check")
def config_check(
    platform: Annotated[str, typer.Option("--platform", help="slack, discord or slack,discord")] = "slack,discord",
) -> None:
    """Say which settings are set, missing or wrong for PLATFORM, and whether the database answers; no secrets shown."""
    import os

    from storage.db import DatabaseError, database_url, make_engine

    problems = 0

    def say(name: str, ok: bool, detail: str) -> None:
        nonlocal problems
        problems += not ok
        typer.echo(f"{'ok ' if ok else 'BAD'} {name}: {detail}")

    def secret(name: str, prefix: str = "", required: bool = True) -> None:
        value = os.environ.get(name, "")
        if not value:
            say(name, not required, "missing" if required else "not set (optional)")
        elif prefix and not value.startswith(prefix):
            say(name, False, f"set, but it should start with {prefix}")
        else:
            say(name, True, f"set ({len(value)} characters)")

    url = database_url()
    try:
        make_engine(url).dispose()
        say("DATABASE_URL", True, f"{_without_password(url)} answers")
    except DatabaseError as exc:
        say("DATABASE_URL", False, str(exc).replace(url, _without_password(url)))
    wanted = {p.strip() for p in platform.split(",") if p.strip()}
    if "slack" in wanted:
        secret("SLACK_BOT_TOKEN", "xoxb-")
        secret("SLACK_SIGNING_SECRET")
        secret("SLACK_APP_TOKEN", "xapp-", required=False)
    if "discord" in wanted:
        from bot.adapters.discord.settings import DiscordConfigError, DiscordSettings

        secret("DISCORD_TOKEN")
        try:
            found = DiscordSettings.from_env()
            say("DISCORD_APPLICATION_ID", True, str(found.application_id))
        except DiscordConfigError as exc:
            if os.environ.get("DISCORD_TOKEN"):
                say("DISCORD_APPLICATION_ID / DISCORD_GUILD_IDS", False, str(exc))
    _check_email(say)
    if unknown := wanted - {"slack", "discord"}:
        say("--platform", False, f"unknown platform {', '.join(sorted(unknown))}; use slack, discord or both")
    typer.echo("all set" if not problems else f"{problems} problem(s)")
    if problems:
        raise typer.Exit(1)


def _check_email(say: Callable[[str, bool, str], None]) -> None:
    """The email settings, when SMTP_URL is set: a readable URL and sender, and a signing key for links."""
    import os

    from bot.adapters.email.settings import EmailConfigError, EmailSettings

    try:
        found = EmailSettings.from_env()
    except EmailConfigError as exc:
        say("SMTP_URL / SMTP_FROM", False, str(exc))
        return
    if found is None:
        say("SMTP_URL", True, "not set (optional): nothing is emailed")
        return
    scheme = "smtps" if found.implicit_tls else "smtp"
    say("SMTP_URL", True, f"{scheme}://{found.host}:{found.port}, from {found.sender}")
    key = os.environ.get("CIBOT_SECRET_KEY", "")
    say("CIBOT_SECRET_KEY", len(key) >= 32, f"set ({len(key)} characters)" if len(key) >= 32 else
        "needs at least 32 characters to sign the links in emails (openssl rand -hex 32)")


def _without_password(url: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(not a database URL)"


@glossary_app.command("import")
def glossary_import(
    path: Annotated[Path, typer.Argument(help="A .csv or .yaml file of terms.")],
    initiative: InitiativeOption = "",
) -> None:
    """Add or update glossary terms from a CSV or YAML file (all or nothing)."""
    from bot.glossary.files import import_terms
    from storage.ids import id_of

    if not path.is_file():
        raise fail(f"{path} {_not_a_file(path)}; give the path of a .csv or .yaml file of terms")
    with database_session() as session:
        result = import_terms(session, id_of(pick_initiative(session, initiative)), path)
    typer.echo(f"glossary: {result.created} created, {result.updated} updated, {result.unchanged} unchanged")


@glossary_app.command("export")
def glossary_export(
    fmt: Annotated[str, typer.Option("--format", help="csv or yaml")] = "yaml",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")] = None,
    initiative: InitiativeOption = "",
) -> None:
    """Write every glossary term as CSV or YAML."""
    from bot.glossary.files import export_terms
    from storage.ids import id_of

    if fmt not in {"csv", "yaml"}:
        raise fail("--format must be csv or yaml")
    with database_session() as session:
        text = export_terms(session, id_of(pick_initiative(session, initiative)), fmt)
    _write(text, output)


@app.command()
def serve(
    platform: Annotated[str, typer.Option(help="slack, discord, or slack,discord for both.")] = "slack",
    port: Annotated[int, typer.Option(envvar="PORT", help="HTTP port: Slack events, calendar feeds, health.")] = 3000,
    host: Annotated[str, typer.Option(envvar="HOST", help="Address to listen on.")] = "0.0.0.0",
) -> None:
    """Run the bot for Slack and/or Discord (scheduler and outbox run on one elected replica)."""
    import asyncio
    import contextlib

    from bot.core import logs
    from bot.serve import PLATFORMS, ConfigError, check_port, settings_for, until_terminated
    from bot.serve import serve as run

    chosen = [p.strip().lower() for p in platform.split(",") if p.strip()]
    unknown = [p for p in chosen if p not in PLATFORMS]
    if unknown or not chosen:
        raise fail(f"--platform takes {', '.join(PLATFORMS)} or both comma-separated, not {platform!r}")
    try:
        settings = settings_for(chosen)
        check_port(host, port)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    try:
        logs.configure()
    except logs.LogSettingError as exc:
        raise fail(str(exc)) from None
    engine = open_database()
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C: the work was cancelled and cleaned up
        asyncio.run(until_terminated(run(engine, settings, host=host, port=port)))


@app.command()
def calendar(
    group: Annotated[str, typer.Argument(help="Group key from the initiative YAML.")],
    initiative: InitiativeOption = "",
) -> None:
    """Print the iCalendar feed of a group's meeting series."""
    from bot.meetings.calendar import UnknownGroup, calendar_for_group

    with database_session() as session:
        initiative_id = pick_initiative(session, initiative).id
        try:
            feed = calendar_for_group(session, group, initiative_id=initiative_id)
        except UnknownGroup as exc:
            raise fail(str(exc)) from None
    sys.stdout.write(feed.decode())


@app.command()
def publish(
    directory: Annotated[Path, typer.Argument(help="The folder to write index.html into (created if missing).")],
    initiative: InitiativeOption = "",
) -> None:
    """Write the public progress page as static files, for any web host or to open from disk."""
    from datetime import UTC, datetime

    from bot.core.errors import UserError
    from bot.publish.site import write_site

    with database_session() as session:
        slug = pick_initiative(session, initiative).slug
    try:
        target = write_site(open_database(), slug, directory, datetime.now(UTC))
    except UserError as exc:
        raise fail(exc.message) from None
    typer.echo(f"wrote {target} (open {target.resolve().as_uri()})")


@slack_app.command("link")
def slack_link(
    save: Annotated[bool, typer.Option("--apply", help="Save what was found (without it, only show it).")] = False,
    yaml_file: Annotated[Path | None, typer.Option("--write-yaml", help="Also write it into this initiative file.")]
    = None,
    initiative: InitiativeOption = "",
) -> None:
    """Find members' Slack users by email and groups' channels by name (SLACK_BOT_TOKEN; users:read.email)."""
    import asyncio
    import os

    from bot.adapters.slack.link import LinkError, apply, plan, write_yaml
    from bot.adapters.slack.settings import DEFAULT_API_URL, SlackSettings
    from storage.ids import id_of

    token = os.environ.get("SLACK_BOT_TOKEN", "")
    if not token:
        raise fail("SLACK_BOT_TOKEN is not set. Copy the Bot User OAuth Token (xoxb-...) from your Slack app.")
    client = SlackSettings(token, "", api_url=os.environ.get("SLACK_API_URL") or DEFAULT_API_URL).web_client()
    with database_session() as session:
        initiative_id = id_of(pick_initiative(session, initiative))
        try:
            found = asyncio.run(plan(session, client, initiative_id))
        except LinkError as exc:
            raise fail(str(exc)) from None
        for link in found.links:
            typer.echo(link.describe())
        for problem in found.not_found:
            typer.echo(f"not found: {problem}")
        if not found.links:
            typer.echo("Nothing to link: every member with an email and every group is linked already, or not found.")
        elif save:
            apply(session, initiative_id, found.links)
            typer.echo(f"saved {len(found.links)} link(s)")
        else:
            typer.echo("Nothing saved yet: run again with --apply to save these.")
    if yaml_file and found.links:
        typer.echo(f"wrote {write_yaml(yaml_file, found.links)} link(s) into {yaml_file}")


@discord_app.command("sync")
def discord_sync() -> None:
    """Register the /ci commands with Discord now (per guild in DISCORD_GUILD_IDS, else globally)."""
    import asyncio

    from bot.adapters.discord.client import sync_commands
    from bot.bootstrap import build_core

    try:
        synced = asyncio.run(sync_commands(build_core(open_database())))
    except ValueError as exc:
        raise fail(str(exc)) from None
    typer.echo("synced: " + ", ".join(synced))


@audit_app.command("verify")
def audit_verify(
    head: Annotated[str, typer.Option("--head", help="A head posted earlier (a hash); default: the last one "
                                                     "the bot posted.")] = "",
) -> None:
    """Check the audit log's chain, that a head posted earlier is still in it, and the decision tables against it.

    Exits 1 and names what it found when a link is broken, the head is missing (the log was cut),
    or a decision, vote or ballot row differs from the log.
    """
    from storage.audit import AuditKeyError, audit_key
    from storage.audit_chain import last_posted_head, replay_decisions, verify_chain

    try:
        key = audit_key()
    except AuditKeyError as exc:
        raise fail(str(exc)) from None
    with database_session() as session:
        posted = last_posted_head(session)
        wanted = head.strip().lower() or (posted[1] if posted else "")
        check = verify_chain(session, key, wanted)
        differences = replay_decisions(session) if check.broken_id is None else []
    source = "given with --head" if head.strip() else (f"posted by the bot for event {posted[0]}" if posted else "")
    if check.broken_id is not None:
        typer.echo(f"audit log BROKEN at event {check.broken_id}: {check.problem}", err=True)
    for finding in check.findings:
        typer.echo(f"audit log NOT TRUSTWORTHY: {finding}", err=True)
    for difference in differences:
        typer.echo(f"tables differ from the log: {difference}", err=True)
    if not check.ok or differences:
        raise typer.Exit(1)
    typer.echo(f"audit log intact: {check.checked} events checked; head {check.head or '(empty)'}")
    typer.echo(f"checked against the head {wanted} ({source}): it is still in the log." if wanted else
               "no head was posted yet and none was given with --head: deleting the newest events would not show.")
    typer.echo("every decision, vote and ballot row matches the log.")
    typer.echo(f"links are keyed with CIBOT_AUDIT_KEY ({check.keyed} keyed, {check.checked - check.keyed} plain "
               "from before the key)." if key else
               "links are plain hashes: no CIBOT_AUDIT_KEY is set, so someone with database access could edit "
               "an event and recompute the chain. Set CIBOT_AUDIT_KEY (or CIBOT_AUDIT_KEY_FILE).")


@audit_app.command("seal")
def audit_seal() -> None:
    """Append an event linked with CIBOT_AUDIT_KEY, so an existing plain chain is protected from here on."""
    from storage.audit import AuditKeyError, audit_key, record

    try:
        key = audit_key()
    except AuditKeyError as exc:
        raise fail(str(exc)) from None
    if key is None:
        raise fail("set CIBOT_AUDIT_KEY (or CIBOT_AUDIT_KEY_FILE) first: sealing links the chain with that key")
    with database_session() as session:
        event = record(session, "audit.sealed", initiative_id=None)
        session.flush()
        typer.echo(f"sealed: event {event.id} is linked with the key; head {event.hash}")


def _export(render: Callable[[Session, int], str], fmt: str, output: Path | None, initiative: str) -> None:
    from storage.ids import id_of

    if fmt != "csv":
        raise fail("--format csv is the only export format")
    with database_session() as session:
        text = render(session, id_of(pick_initiative(session, initiative)))
    _write(text, output)

FormatOption = Annotated[str, typer.Option("--format", help="csv")]
OutputOption = Annotated[Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")]


@export_app.command("decisions")
def export_decisions(fmt: FormatOption = "csv", output: OutputOption = None, initiative: InitiativeOption = "") -> None:
    """The decision log: proposals, rules, tallies and outcomes (never anonymous votes)."""
    from bot.decisions.domain import export_decisions as render

    _export(render, fmt, output, initiative)


@export_app.command("measures")
def export_measures(fmt: FormatOption = "csv", output: OutputOption = None, initiative: InitiativeOption = "") -> None:
    """Every indicator with its definition, unit, baseline, targets and latest value."""
    from bot.measures.exports import export_measures as render

    _export(render, fmt, output, initiative)


@export_app.command("submissions")
def export_submissions(
    fmt: FormatOption = "csv",
    output: OutputOption = None,
    initiative: InitiativeOption = "",
) -> None:
    """Every submitted value, per period, partner and disaggregation cell, with corrections."""
    from bot.measures.exports import export_submissions as render

    _export(render, fmt, output, initiative)


@outbox_app.command("status")
def outbox_status() -> None:
    """Messages by platform and status, and how long the oldest pending one has waited."""
    from bot.runtime.outbox import pending_by_platform, status_counts
    from storage.types import utcnow

    with database_session() as session:
        counts, waiting = status_counts(session), pending_by_platform(session, utcnow())
    statuses = ("pending", "sending", "sent", "failed")
    typer.echo(f"{'platform':<10}" + "".join(f"{s:>9}" for s in statuses))
    for platform in sorted(counts):
        typer.echo(f"{platform:<10}" + "".join(f"{counts[platform].get(s, 0):>9}" for s in statuses))
    if not counts:
        typer.echo("the outbox is empty")
    if waiting:
        platform, (_count, seconds) = max(waiting.items(), key=lambda item: item[1][1])
        hours = int(seconds // 3600)
        typer.echo(f"oldest pending: {hours // 24} d {hours % 24} h ({platform})")


@outbox_app.command("list")
def outbox_list(
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many of the newest messages.")] = 20,
    status: Annotated[str, typer.Option(help="Only this status: pending, sending, sent or failed.")] = "",
    platform: Annotated[str, typer.Option(help="Only this platform.")] = "",
) -> None:
    """The newest messages: id, key, platform, target, status, failures and last error (never their text)."""
    from bot.runtime.outbox import newest
    from storage.outbox import OutboxStatus

    if status and status not in {s.value for s in OutboxStatus}:
        raise fail(f"--status takes {', '.join(s.value for s in OutboxStatus)}, not {status!r}")
    with database_session() as session:
        rows = newest(session, max(1, limit), status=status, platform=platform)
    for row in rows:
        error = f"  {row.last_error}" if row.last_error else ""
        typer.echo(f"{row.id:>7}  {row.status:<8} {row.platform:<8} {row.target:<24} failures {row.failures}  "
                   f"{row.key}{error}")
    if not rows:
        typer.echo("no messages")


@outbox_app.command("retry")
def outbox_retry(
    message_id: Annotated[int | None, typer.Argument(help="The message's id (see cibot outbox list).")] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Every failed message.")] = False,
) -> None:
    """Put a failed message (or with --failed every one) back to pending, to be sent again now."""
    from bot.runtime.outbox import OutboxError, retry

    if (message_id is None) == (not failed):
        raise fail("say which: cibot outbox retry ID, or cibot outbox retry --failed")
    try:
        with database_session() as session:
            count = retry(session, message_id)
    except OutboxError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"{count} message(s) back to pending")


@outbox_app.command("drop")
def outbox_drop(message_id: Annotated[int, typer.Argument(help="The message's id (see cibot outbox list).")]) -> None:
    """Never send a pending or failed message: it is marked failed, "dropped by operator"."""
    from bot.runtime.outbox import OutboxError, drop

    try:
        with database_session() as session:
            drop(session, message_id)
    except OutboxError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"message {message_id} dropped")


def main() -> None:
    """Entry point of the `cibot` console script."""
    app()


if __name__ == "__main__":
    main()
