"""How the core's `/ci` commands map onto Discord's command tree, without importing discord.

Discord allows one level of nesting under `/ci` and forbids a name that is both a
command and a group, so commands are grouped by their first word: a word with one
command stays `/ci help`; a word with several becomes a group (`/ci glossary add`)
whose bare command is called `show` (`/ci glossary show term:`). Options come from
the usage line: a single placeholder (``TERM``, ``[COMMAND]``, ``@MEMBER``) becomes a
typed option named after it (several such placeholders, one option each), anything else
becomes a free-text `args` option, after typed options for the leading mention or
completer-mapped placeholders (``/ci vote ID ...`` gets ``id`` then ``args``, ``/ci
action @MEMBER TEXT`` gets ``member`` then ``args``), and each ``--option`` becomes an
option of its own, with choices when the usage lists them (``--kind
decision|discussion``). Discord requires only a command's first word, and its
required ``--options`` when it has one: the rest
the core checks and explains, and several commands open a form when they are left out
(``/ci submit INDICATOR`` without a value, ``/ci propose`` alone). Beyond Discord's 25
names under /ci, the rest are reachable through ``/ci run command:``; the words whose
commands are all for backbone staff go there first, so members keep theirs typed.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from itertools import takewhile

from bot.core.messages import clip
from bot.core.registry import Access, Command, Registry

log = logging.getLogger(__name__)

MAX_CHOICES = 25  # subcommands per group, groups under /ci, and choices per option
BARE_NAMES = ("show", "view", "get")
CATCH_ALL = "run"  # offered when there are more first words than Discord allows under /ci
_EXAMPLE = re.compile(r",?\s+\(?e\.g\.\s*")
_FLAG = re.compile(r"(\[)?--([a-z0-9_-]+)(?:[ =]((?(1)[^\]]+|\S+)))?(?(1)\])")
_PLACEHOLDER = re.compile(r"(\[)?(?:@([A-Za-z][A-Za-z0-9_-]*)|([A-Z][A-Z0-9_-]*))(?:\.\.\.)?(?(1)\])")
_CHOICE = re.compile(r"[a-z][a-z-]*")
_NAME_CHARS = re.compile(r"[^a-z0-9_-]+")


@dataclass(frozen=True)
class OptionSpec:
    """One Discord option of a subcommand and how it goes back into core text."""

    name: str
    description: str
    required: bool = False
    flag: bool = False  # a --name option rather than positional text
    complete: str = ""  # the core completer kind, or "" for none
    choices: tuple[str, ...] = ()  # the only values allowed, when the usage lists them
    position: int = 0  # order of positional options in the command text


@dataclass(frozen=True)
class SlashSpec:
    """One Discord subcommand: where it sits under /ci and which core command it runs."""

    group: str  # "" for a direct child of /ci
    name: str
    description: str
    path: tuple[str, ...]
    options: tuple[OptionSpec, ...]

    @property
    def qualified(self) -> str:
        """The name as typed in Discord after /ci, e.g. ``glossary add``."""
        return f"{self.group} {self.name}".strip()

    def core_text(self, values: dict[str, str | None]) -> str:
        """The `/ci` command text (without /ci) for the option `values` the user gave."""
        words = list(self.path)
        positional = sorted((o for o in self.options if not o.flag), key=lambda o: o.position)
        given = [v for v in ((values.get(o.name) or "").strip() for o in positional) if v]
        words += [quote(v) for v in given[:-1]] + given[-1:]
        for option in self.options:
            value = (values.get(option.name) or "").strip()
            if option.flag and value:
                words.append(f"--{option.name}={quote(value)}")
        return " ".join(words)


def quote(value: str) -> str:
    """`value` as one core token: quoted when it has spaces (inner double quotes become single)."""
    if not any(ch.isspace() for ch in value) and '"' not in value:
        return value
    return '"' + value.replace('"', "'") + '"'


def slash_layout(registry: Registry, completers: frozenset[str] = frozenset()) -> list[SlashSpec]:
    """The Discord subcommands for every registered command, grouped and named as described above.

    `completers` are the option kinds that can autocomplete (the core's completer kinds
    plus any the adapter answers itself). When there are more first words than Discord
    allows under /ci, the last ones are reached through `/ci run command:`; a group with
    more than 25 commands loses the rest, with a warning in the log.
    """
    by_word: dict[str, list[Command]] = {}
    for command in sorted(registry.commands.values(), key=lambda c: c.path):
        by_word.setdefault(command.path[0], []).append(command)
    specs: list[SlashSpec] = []
    words = list(by_word.items())
    if len(words) > MAX_CHOICES:
        kept = sorted(words, key=lambda item: _staff_only(item[1]))[:MAX_CHOICES - 1]
        words = [item for item in words if item in kept]
        specs.append(SlashSpec("", CATCH_ALL, "Any other /ci command, typed as in Slack or the console", (), (
            OptionSpec("command", "The command and what follows, e.g. glossary add TERM = DEFINITION",
                       required=True, complete="command" if "command" in completers else ""),)))
    for word, commands in words:
        if len(commands) == 1 and len(commands[0].path) == 1:
            specs.append(_spec("", commands[0], commands[0].path[0], completers))
            continue
        taken = {_name("-".join(c.path[1:])) for c in commands if len(c.path) > 1}
        bare = next(n for n in BARE_NAMES if n not in taken)
        children = [_spec(_name(word), c, _name("-".join(c.path[1:])) if len(c.path) > 1 else bare, completers)
                    for c in commands]
        specs += children[:MAX_CHOICES]
        _warn_dropped(children[MAX_CHOICES:])
    return specs


def _spec(group: str, command: Command, name: str, completers: frozenset[str]) -> SlashSpec:
    return SlashSpec(group=group, name=_name(name), description=clip(command.summary or command.usage, 100),
                     path=command.path, options=_options(command, completers))


def _options(command: Command, completers: frozenset[str]) -> tuple[OptionSpec, ...]:
    syntax, *example_part = _EXAMPLE.split(command.usage.strip(), maxsplit=1)
    example = example_part[0].rstrip(")") if example_part else ""
    for word in ("/ci", *command.path):
        if syntax.lower().startswith(word.lower()):
            syntax = syntax[len(word):].strip()
    options = [_flag(match, completers) for match in _FLAG.finditer(syntax)]
    known = {o.name for o in options}
    options += [OptionSpec(_name(flag), f"--{flag}", flag=True) for flag in sorted(command.options)
                if _name(flag) not in known]
    rest = _FLAG.sub(" ", syntax).split()
    slots = [_PLACEHOLDER.fullmatch(token) for token in rest]
    completes = dict(command.completes)
    kinds = [_kind(slot, completes, completers) if slot else "" for slot in slots]
    example = f", e.g. {example}" if example else ""
    typed = [s for s in slots if s]
    if len(typed) < len(slots) or len({_slot_name(s) for s in typed}) < len(slots):
        typed = [s for s in takewhile(lambda slot: _leads(slot, completes), slots) if s]
    shape = clip(f"/ci {command.name} {' '.join(rest)}{example}", 100)
    for position, (slot, kind) in enumerate(zip(typed, kinds, strict=False)):
        options.append(OptionSpec(_name(_slot_name(slot)), shape, required=position == 0 and not slot.group(1),
                                  complete=kind, position=position))
    if rest[len(typed):]:
        options.append(OptionSpec("args", clip(" ".join(rest[len(typed):]) + example, 100), position=len(typed)))
    if not any(o.required and not o.flag for o in options):
        options = [replace(o, required=False) for o in options]
    return tuple(sorted(options, key=lambda o: (not o.required, o.flag)))


def _slot_name(slot: re.Match[str]) -> str:
    """The placeholder's name, lower case: ``TERM`` and ``@MEMBER`` give ``term`` and ``member``."""
    return (slot.group(2) or slot.group(3)).lower()


def _leads(slot: re.Match[str] | None, completes: dict[str, str]) -> bool:
    """Whether a placeholder before free text gets its own option: a mention, or one the command maps."""
    return bool(slot and (slot.group(2) or slot.group(3) in completes))


def _kind(slot: re.Match[str], completes: dict[str, str], completers: frozenset[str]) -> str:
    """The completer kind for a placeholder: the command's own choice, else the one it is named after."""
    kind = completes.get(slot.group(2) or slot.group(3), _slot_name(slot))
    return kind if kind in completers else ""


def _flag(match: re.Match[str], completers: frozenset[str]) -> OptionSpec:
    bracketed, flag, value = match.group(1), match.group(2), (match.group(3) or "").strip()
    name = _name(flag)
    alternatives = tuple(value.split("|"))
    choices = alternatives if len(alternatives) > 1 and all(_CHOICE.fullmatch(a) for a in alternatives) else ()
    kind = next((k for k in (name, value.lower()) if k in completers), "")
    return OptionSpec(name, clip(f"--{flag} {value}".strip(), 100), required=not bracketed, flag=True,
                      complete=kind, choices=choices[:MAX_CHOICES])


def _staff_only(commands: list[Command]) -> bool:
    """Whether a first word may leave the menu for `/ci run`: its commands are all for staff, or all seldom used."""
    return all(c.access == Access.BACKBONE for c in commands) or all(c.seldom for c in commands)


def _name(text: str) -> str:
    return _NAME_CHARS.sub("-", text.lower()).strip("-")[:32] or "run"


def _warn_dropped(commands: list[SlashSpec]) -> None:
    if commands:
        log.warning("Discord allows %d subcommands per level; not offering %s in Discord",
                    MAX_CHOICES, ", ".join(f"/ci {c.name}" for c in commands))
