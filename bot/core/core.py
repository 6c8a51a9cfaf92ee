"""The one entry point adapters call: commands, interactions, home pages, completions.

Each call opens a database session in a worker thread (so the event loop that
serves Slack and Discord never waits on the database), resolves who is asking,
checks access, runs the flow's handler and commits. User mistakes come back as
private replies; a lost race for a unique row runs the command once more; an
unreachable database gets a plain "nothing was changed" reply; bugs are logged and
answered with an apology and a reference.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.core import logs, metrics, permissions
from bot.core.args import parse_args
from bot.core.clock import Clock, SystemClock
from bot.core.context import Context, Origin
from bot.core.errors import UserError
from bot.core.identity import resolve
from bot.core.messages import FormErrors, Home, Reply
from bot.core.registry import Completion, Registry, bot_session
from bot.core.render import Dialect, Markup
from bot.core.router import match
from storage.db import unique_violation, unreachable
from storage.models import Initiative, Member

log = logging.getLogger(__name__)
T = TypeVar("T")
UNREACHABLE = "cibot cannot reach its database right now; nothing was changed. Try again in a minute."


class Core:
    """cibot's core, composed from a database engine, the capabilities' registry and a clock."""

    def __init__(self, engine: Engine, registry: Registry, clock: Clock | None = None) -> None:
        self.engine = engine
        self.registry = registry
        self.clock = clock or SystemClock()

    async def command(self, origin: Origin, text: str) -> Reply:
        """Run the `/ci` command in `text` (without the leading ``/ci``) for `origin`."""
        return await asyncio.to_thread(self.command_sync, origin, text)

    async def interact(
        self, origin: Origin, action: str, value: str = "", fields: dict[str, str] | None = None
    ) -> Reply | FormErrors:
        """Handle a button click or a form submission with action id `action`."""
        return await asyncio.to_thread(self.interact_sync, origin, action, value, fields or {})

    async def home(self, origin: Origin) -> Home:
        """The caller's home page: every registered section that has something for them."""
        return await asyncio.to_thread(self.home_sync, origin)

    async def complete(self, origin: Origin, kind: str, prefix: str) -> list[str | Completion]:
        """Up to 25 completions of `prefix` for an option of `kind` (``term``, ``group``, ...).

        A plain string is both shown and used; a `Completion` shows its label and uses its value.
        """
        return await asyncio.to_thread(self.complete_sync, origin, kind, prefix)

    def command_sync(self, origin: Origin, text: str) -> Reply:
        """The blocking body of `command`, for the console and for tests."""
        answered = _Answered("unknown command")

        def run(ctx: Context) -> Reply:
            command, rest = match(self.registry, text)
            answered.name = command.name
            permissions.check(ctx, command.access)
            args = parse_args(rest, command.options)
            reply = command.handler(ctx, args)
            for hook in self.registry.after_hooks.get(command.path, ()):
                hook(ctx, args, reply)
            return reply
        with logs.request_scope("cmd"):
            return answered.done(self._guarded(origin, run, answered))

    def interact_sync(
        self, origin: Origin, action: str, value: str, fields: dict[str, str]
    ) -> Reply | FormErrors:
        """The blocking body of `interact`."""
        answered = _Answered(action)

        def run(ctx: Context) -> Reply | FormErrors:
            handler = self.registry.actions.get(action)
            if handler is None:
                raise UserError("That button or form is no longer supported. Run the command again.")
            permissions.check(ctx, handler.access)
            return handler.handler(ctx, value, fields)
        with logs.request_scope("act"):
            return answered.done(self._guarded(origin, run, answered))

    def home_sync(self, origin: Origin) -> Home:
        """The blocking body of `home`."""
        def run(ctx: Context) -> Home:
            title = ctx.initiative.name if ctx.initiative else "cibot"
            if ctx.member is None:
                return Home(title, [Reply(title="Welcome", sections=[ctx.markup.escape(ctx.not_registered().message)])])
            replies = [reply for section in self.registry.home_sections for reply in section(ctx)]
            return Home(title, replies)
        result = self._guarded(origin, run)
        return result if isinstance(result, Home) else Home("cibot", [result])

    def complete_sync(self, origin: Origin, kind: str, prefix: str) -> list[str | Completion]:
        """The blocking body of `complete`; nothing to offer while the database cannot be reached."""
        completer = self.registry.completers.get(kind)
        if completer is None:
            return []
        try:
            with bot_session(self.engine, self.registry) as session:
                ctx = self._context(session, origin)
                if ctx.initiative is None:
                    return []
                return list(completer(ctx, prefix)[:25])
        except Exception as exc:
            if not unreachable(exc):
                raise
            log.warning("cannot reach the database to complete %s for %s: %s", kind, origin, _first_line(exc))
            return []

    def speaker(self, origin: Origin) -> str | None:
        """The member `origin` speaks as, as "Name, Organization"; None for someone the initiative does not know."""
        with bot_session(self.engine, self.registry) as session:
            member = resolve(session, origin, local=self.registry.dialect_for(origin.platform).local).member
            if member is None:
                return None
            return f"{member.name}, {member.organization}" if member.organization else member.name

    def member_keys(self, origin: Origin, limit: int) -> list[str]:
        """Up to `limit` keys of active members, alphabetically: what a console user can speak as.

        The keys of `origin`'s initiative when it names one (or there is only one); otherwise
        every initiative's, each as ``KEY (SLUG)`` so that a key used in two of them is told apart.
        """
        with bot_session(self.engine, self.registry) as session:
            ctx = self._context(session, origin)
            query = select(Member.key, Initiative.slug).join(Initiative, col(Initiative.id) == Member.initiative_id)
            query = query.where(Member.active == True)  # noqa: E712
            if ctx.initiative is not None:
                query = query.where(Member.initiative_id == ctx.initiative.id)
            rows = session.exec(query.order_by(col(Member.key), col(Initiative.slug)).limit(limit)).all()
            return [key if ctx.initiative is not None else f"{key} ({slug})" for key, slug in rows]

    def _context(self, session: Session, origin: Origin) -> Context:
        markup = self.registry.dialect_for(origin.platform)
        who = resolve(session, origin, local=markup.local)
        return Context(
            session=session,
            origin=origin,
            markup=markup,
            now=self.clock.now(),
            initiative=who.initiative,
            member=who.member,
            group=who.group,
            groups=who.groups,
            elsewhere=who.elsewhere,
        )

    def _guarded(self, origin: Origin, run: Callable[[Context], T],
                 answered: _Answered | None = None) -> T | Reply:
        """Run `run` in a committed session, turning every failure into a reply the user can act on.

        A unique constraint that refuses a row means another request wrote the same thing a
        moment earlier: the whole command runs once more in a fresh session, where it sees
        the winner's row and answers as it would have afterwards ("already ..."). An
        unreachable database is answered as such, with nothing changed.
        """
        try:
            try:
                return self._once(origin, run)
            except IntegrityError as exc:
                if not unique_violation(exc):
                    raise
                log.info("%s lost a race for a unique row; running the command again", origin)
            try:
                return self._once(origin, run)
            except IntegrityError as exc:
                if not unique_violation(exc):
                    raise
                log.warning("%s lost a race for a unique row twice: %s", origin, exc.orig)
                _record(answered, "race")
                return Reply(title="Someone changed this at the same moment",
                             sections=[Markup("Nothing was changed. Please try again.")], ephemeral=True)
        except UserError as exc:
            _record(answered, "refused")
            return error_reply(exc, self.registry.dialect_for(origin.platform))
        except Exception as exc:
            if unreachable(exc):
                log.warning("cannot reach the database for %s: %s", origin, _first_line(exc))
                _record(answered, "unavailable")
                return Reply(sections=[Markup(UNREACHABLE)], ephemeral=True)
            _record(answered, "error")
            ref = uuid.uuid4().hex[:8]
            log.exception("unhandled error (ref %s) for %s", ref, origin)
            return Reply(
                title="Something went wrong on our side",
                sections=[Markup(f"Nothing was changed. Please try again; if it keeps happening, "
                                 f"tell your backbone team and quote reference {ref}.")],
                ephemeral=True,
            )

    def _once(self, origin: Origin, run: Callable[[Context], T]) -> T:
        with bot_session(self.engine, self.registry) as session:
            return run(self._context(session, origin))


class _Answered:
    """What one request was (its command or action name) and how it ended, for the metrics."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.outcome = "ok"
        self.started = time.perf_counter()

    def done(self, result: T) -> T:
        seconds = time.perf_counter() - self.started
        metrics.observe_reply(self.name, self.outcome, seconds)
        log.debug("answered %s: %s in %.1f ms", self.name, self.outcome, seconds * 1000)
        return result


def _record(answered: _Answered | None, outcome: str) -> None:
    if answered is not None:
        answered.outcome = outcome


def _first_line(error: BaseException) -> str:
    cause = getattr(error, "orig", None) or error
    return (str(cause).strip().splitlines() or [type(cause).__name__])[0]


def error_reply(error: UserError, markup: Dialect) -> Reply:
    """A private reply explaining `error` and, when known, how to write the command."""
    sections: list[Markup] = [markup.escape(error.message)]
    if error.usage:
        sections.append(markup.escape(error.usage))
    return Reply(sections=sections, ephemeral=True)
