"""The table of everything the bot can do: commands, button and form actions, home sections.

Flows add to it in their `register(registry)` function; the router and adapters
read from it. Nothing is wired at import time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from bot.core.args import Args
from bot.core.context import Context
from bot.core.messages import FormErrors, Reply


class Access(StrEnum):
    """Who may run a command; checked by the core before the handler runs."""

    ANYONE = "anyone"  # also people the initiative does not know yet
    MEMBER = "member"
    BACKBONE = "backbone"


CommandHandler = Callable[[Context, Args], Reply]
ActionHandler = Callable[[Context, str, dict[str, str]], "Reply | FormErrors"]
HomeSection = Callable[[Context], "list[Reply]"]


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
    """Everything registered by the flows."""

    commands: dict[tuple[str, ...], Command] = field(default_factory=dict)
    actions: dict[str, Action] = field(default_factory=dict)
    home_sections: list[HomeSection] = field(default_factory=list)
    completers: dict[str, Completer] = field(default_factory=dict)

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
    ) -> None:
        """Add the command `/ci WORDS`.

        `completes` names the completer kind for usage placeholders not named after one,
        e.g. ``{"ID": "decision"}``; placeholders named after a kind (``TERM``,
        ``@MEMBER``) complete without it.
        """
        path = tuple(words.split())
        if path in self.commands:
            raise ValueError(f"command {words!r} registered twice")
        self.commands[path] = Command(path, handler, summary, usage, access, frozenset(options), details,
                                      frozenset((completes or {}).items()))

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
