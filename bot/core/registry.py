"""The table of everything the bot can do: the one door through which capabilities plug in.

Each capability adds to it in its `register(registry)` function: commands, button and
form actions, completers, home sections, agenda sections, after-hooks and scheduled
jobs by name. The router, the adapters, the scheduler and the agenda read from it.
Nothing is wired at import time, and no capability reaches into another's globals.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.core.args import Args
from bot.core.context import Context
from bot.core.messages import FormErrors, Reply
from bot.core.render import Dialect, Markup, Mention
from storage.db import session_scope
from storage.meetings import Cadence, Meeting
from storage.models import Group


class Access(StrEnum):
    """Who may run a command or press a button: its one rule, declared where it is registered.

    The core checks the part it can see (known member, not only an observer, backbone
    staff, steering committee); for the group-scoped levels (IN_GROUP, GROUP, VOTER, CHAIR)
    the handler checks the role in the group the command is about, and says which group.
    `bot.core.permissions` turns the declarations into
    the permission matrix printed in the README. Observers read and never act.
    """

    ANYONE = "anyone"  # reads; also people the initiative does not know yet
    MEMBER = "member"  # reads; every member, observers included
    IN_GROUP = "in group"  # reads one group's records: its members and observers, and backbone staff
    ACT = "act"  # acts; every member who is more than an observer
    GROUP = "group"  # acts in one group: its members (not observers) and backbone staff
    VOTER = "voter"  # votes in one group: those its decision policy lets vote (chair and members)
    CHAIR = "chair"  # acts for one group: its chair or staff, and backbone staff
    STEERING = "steering"  # acts; steering committee members (not observers) and backbone staff
    BACKBONE = "backbone"  # acts; backbone staff only

    @property
    def acting(self) -> bool:
        """True when the rule lets someone change something (observers never do)."""
        return self not in (Access.ANYONE, Access.MEMBER, Access.IN_GROUP)

    @property
    def note(self) -> str:
        """Who may, as `/ci help` shows it after the command ("" when every member may)."""
        return _ACCESS_NOTES[self]


_ACCESS_NOTES = {
    Access.ANYONE: "", Access.MEMBER: "", Access.ACT: "", Access.IN_GROUP: "",
    Access.GROUP: " (members of the group)", Access.VOTER: " (the group's voters)",
    Access.CHAIR: " (group chair, backbone staff)",
    Access.STEERING: " (steering committee, backbone staff)", Access.BACKBONE: " (backbone staff)",
}


CommandHandler = Callable[[Context, Args], Reply]
ActionHandler = Callable[[Context, str, dict[str, str]], "Reply | FormErrors"]
HomeSection = Callable[[Context], "list[Reply]"]
AfterHook = Callable[[Context, Args, Reply], None]
JobFn = Callable[..., object]  # fn(session, now, **data): a scheduled job, data plain values
ReconcileFn = Callable[..., None]  # fn(session, scheduler, now, *, sweep_every, sweeping)


@dataclass(frozen=True)
class AgendaView:
    """What an agenda section gets: one meeting of a group, and the markup to write it in."""

    session: Session
    group: Group
    cadence: Cadence  # the meeting series
    meeting: Meeting | None  # the meeting's row, if anything is attached to it yet
    starts_at: datetime
    markup: Dialect
    now: datetime

    @property
    def timezone(self) -> ZoneInfo:
        """The series' timezone, in which the agenda shows times."""
        return ZoneInfo(self.cadence.timezone)


AgendaSection = Callable[[AgendaView], Markup]
Annotator = Callable[[Session, int, Sequence[str]], list[Mention]]  # (session, initiative id, texts) -> mentions


@dataclass(frozen=True)
class Reconciler:
    """Rebuilds a capability's scheduled jobs from the database: once at start, then every `every`."""

    name: str
    fn: ReconcileFn
    every: timedelta


@dataclass(frozen=True)
class Periodic:
    """A job run every `every` from start, under the stable id `job_id`."""

    job_id: str
    every: timedelta
    job: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Completion:
    """One completion offered while typing: `label` is shown, `value` goes into the command."""

    value: str
    label: str


Completer = Callable[[Context, str], Sequence[str | Completion]]


@dataclass(frozen=True)
class Command:
    """One `/ci` command: its words, handler, help text and who may run it."""

    path: tuple[str, ...]
    handler: CommandHandler
    summary: str
    usage: str
    access: Access = Access.MEMBER
    options: frozenset[str] = frozenset()
    details: str = ""
    completes: frozenset[tuple[str, str]] = frozenset()  # (usage placeholder, completer kind)
    seldom: bool = False  # a setting or a preview: a platform short of menu room may offer it only by typing

    @property
    def name(self) -> str:
        """The command's words joined, as typed after /ci."""
        return " ".join(self.path)


@dataclass(frozen=True)
class Action:
    """A button or form action id (``glossary.approve``) and its handler."""

    name: str
    handler: ActionHandler
    access: Access = Access.MEMBER


@dataclass
class Registry:
    """Everything the capabilities registered, and the dialects the adapters handed in."""

    commands: dict[tuple[str, ...], Command] = field(default_factory=dict)
    actions: dict[str, Action] = field(default_factory=dict)
    home_sections: list[HomeSection] = field(default_factory=list)
    completers: dict[str, Completer] = field(default_factory=dict)
    agenda_sections: dict[str, tuple[int, AgendaSection]] = field(default_factory=dict)
    after_hooks: dict[tuple[str, ...], list[AfterHook]] = field(default_factory=dict)
    jobs: dict[str, JobFn] = field(default_factory=dict)
    reconcilers: list[Reconciler] = field(default_factory=list)
    periodic_jobs: list[Periodic] = field(default_factory=list)
    dialects: dict[str, Dialect] = field(default_factory=dict)
    annotators: list[Annotator] = field(default_factory=list)

    def command(
        self,
        words: str,
        handler: CommandHandler,
        *,
        summary: str,
        usage: str,
        access: Access = Access.MEMBER,
        options: tuple[str, ...] = (),
        details: str = "",
        completes: dict[str, str] | None = None,
        seldom: bool = False,
    ) -> None:
        """Add the command `/ci WORDS`.

        `completes` names the completer kind for usage placeholders not named after one,
        e.g. ``{"ID": "decision"}``; placeholders named after a kind (``TERM``,
        ``@MEMBER``) complete without it. `seldom` marks a command people run now and
        then (a setting, a preview): where a platform's menu is full, it is typed instead.
        """
        path = tuple(words.split())
        if path in self.commands:
            raise ValueError(f"command {words!r} registered twice")
        self.commands[path] = Command(path, handler, summary, usage, access, frozenset(options), details,
                                      frozenset((completes or {}).items()), seldom)

    def action(self, name: str, handler: ActionHandler, *, access: Access = Access.MEMBER) -> None:
        """Add the handler for button or form action `name`."""
        if name in self.actions:
            raise ValueError(f"action {name!r} registered twice")
        self.actions[name] = Action(name, handler, access)

    def home(self, section: HomeSection) -> None:
        """Add a section to every member's home page."""
        self.home_sections.append(section)

    def completer(self, kind: str, completer: Completer) -> None:
        """Add an autocompletion source (``term``, ``group``, ``member`` ...)."""
        self.completers[kind] = completer

    def agenda_section(self, name: str, section: AgendaSection, *, order: int) -> None:
        """Add section `name` to every posted agenda; sections appear by ascending `order`."""
        if name in self.agenda_sections:
            raise ValueError(f"agenda section {name!r} registered twice")
        self.agenda_sections[name] = (order, section)

    def ordered_agenda_sections(self) -> list[AgendaSection]:
        """The agenda sections in the order they appear."""
        return [section for _, section in sorted(self.agenda_sections.values(), key=lambda pair: pair[0])]

    def after(self, words: str, hook: AfterHook) -> None:
        """Run `hook(ctx, args, reply)` after `/ci WORDS` succeeds, to add to its reply (e.g. a button)."""
        self.after_hooks.setdefault(tuple(words.split()), []).append(hook)

    def job(self, name: str, fn: JobFn) -> None:
        """Name the scheduled job `fn(session, now, **data)`; stored jobs refer to it only by `name`."""
        if name in self.jobs:
            raise ValueError(f"job {name!r} registered twice")
        self.jobs[name] = fn

    def reconciler(self, name: str, fn: ReconcileFn, *, every: timedelta) -> None:
        """Add `fn`, which (re)creates a capability's jobs from the database, at start and every `every`."""
        self.reconcilers.append(Reconciler(name, fn, every))

    def periodic(self, job_id: str, every: timedelta, job: str, **data: Any) -> None:
        """Run the named `job` with `data` every `every`, as the stored job `job_id`."""
        self.periodic_jobs.append(Periodic(job_id, every, job, data))

    def annotator(self, annotator: Annotator) -> None:
        """Add `annotator(session, initiative_id, texts)`, which finds words to note in messages (`bot.core.notes`)."""
        self.annotators.append(annotator)

    def dialect(self, markup: Dialect) -> None:
        """Add an adapter's dialect: how text is escaped and formatted on its platform, and its limits."""
        self.dialects[markup.platform] = markup

    def dialect_for(self, platform: str) -> Dialect:
        """The dialect of `platform`, as its adapter handed it in."""
        try:
            return self.dialects[platform]
        except KeyError:
            raise LookupError(f"no dialect registered for platform {platform!r}") from None

    def check(self) -> None:
        """Refuse a registry whose after-hooks name commands nobody registered."""
        unknown = [" ".join(words) for words in self.after_hooks if words not in self.commands]
        if unknown:
            raise ValueError(f"after-hooks for unknown commands: {', '.join(unknown)}")


def registry_of(session: Session) -> Registry:
    """The registry of the bot that opened `session` (set by the core and the scheduler)."""
    try:
        return session.info["registry"]
    except KeyError:
        raise LookupError("this session was not opened by the core or the scheduler") from None


@contextmanager
def bot_session(engine: Engine, registry: Registry) -> Iterator[Session]:
    """A committed-on-success session that knows `registry` (for dialects and agenda sections)."""
    with session_scope(engine) as session:
        session.info["registry"] = registry
        yield session
