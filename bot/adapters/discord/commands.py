"""The `/ci` app command group, generated from the core's registry.

Each subcommand rebuilds the core command text from its options and sends it to the
core, so a flow that registers a new command appears in Discord at the next sync
without touching the adapter (see `layout` for how names and options are chosen).
Options naming a completer kind (``term``, ``group`` ...) autocomplete through the
core, showing each completion's label and filling in its value (a decision's number,
a member's key); a ``command`` option autocompletes the `/ci` commands themselves.
"""

from __future__ import annotations

import asyncio
import inspect
import math
from collections.abc import Sequence
from typing import Any

import discord
from discord import app_commands

from bot.adapters.discord.interactions import answer, core_of, origin_of
from bot.adapters.discord.layout import OptionSpec, SlashSpec, slash_layout
from bot.core.core import Core
from bot.core.registry import Completion

AUTOCOMPLETE_BUDGET = 2.5  # seconds; autocomplete cannot be deferred
ROOT_DESCRIPTION = "cibot: glossary, meetings, agendas, shared measures and decisions of the initiative"
COMMAND_KIND = "command"
OUT_OF_DATE = ("This command reached me in a shape I can't read: Discord may still have an older version of "
               "the /ci commands. Backbone staff can fix this with `cibot discord sync`; meanwhile type the "
               "command again, or use /ci run.")


def build_ci_group(core: Core) -> app_commands.Group:
    """The `/ci` group with one subcommand (or nested group) per registered core command."""
    root = app_commands.Group(name="ci", description=ROOT_DESCRIPTION)
    groups: dict[str, app_commands.Group] = {}
    completers = frozenset(core.registry.completers) | {COMMAND_KIND}
    for spec in slash_layout(core.registry, completers):
        parent = root
        if spec.group:
            if spec.group not in groups:
                groups[spec.group] = app_commands.Group(
                    name=spec.group, description=f"/ci {spec.group} commands", parent=root)
            parent = groups[spec.group]
        parent.add_command(_command(spec))
    return root


def _command(spec: SlashSpec) -> app_commands.Command[Any, ..., None]:
    """One subcommand running `spec`; its options are keyword parameters opt0, opt1 ..."""
    by_param = {f"opt{i}": option for i, option in enumerate(spec.options)}

    async def run(interaction: discord.Interaction, **given: object) -> None:
        try:
            values = {by_param[param].name: option_text(value) for param, value in given.items()}
        except Unreadable:
            await interaction.response.send_message(OUT_OF_DATE, ephemeral=True,
                                                    allowed_mentions=discord.AllowedMentions.none())
            return
        work = core_of(interaction).command(origin_of(interaction), spec.core_text(values))
        await answer(interaction, work)

    run.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction)]
        + [inspect.Parameter(param, inspect.Parameter.KEYWORD_ONLY,
                             annotation=str if option.required else str | None,
                             default=inspect.Parameter.empty if option.required else None)
           for param, option in by_param.items()])
    run.__discord_app_commands_param_rename__ = {p: o.name for p, o in by_param.items()}  # type: ignore[attr-defined]
    run.__discord_app_commands_param_description__ = {  # type: ignore[attr-defined]
        p: o.description for p, o in by_param.items()}
    run.__discord_app_commands_param_autocomplete__ = {  # type: ignore[attr-defined]
        p: _completer(o) for p, o in by_param.items() if o.complete and not o.choices}
    run.__discord_app_commands_param_choices__ = {  # type: ignore[attr-defined]
        p: [app_commands.Choice(name=c, value=c) for c in o.choices] for p, o in by_param.items() if o.choices}
    return app_commands.Command(name=spec.name, description=spec.description, callback=run)


def _completer(option: OptionSpec) -> Any:
    async def complete(interaction: discord.Interaction, value: object) -> list[app_commands.Choice[str]]:
        core = core_of(interaction)
        try:
            current = option_text(value) or ""
        except Unreadable:
            current = ""
        found: Sequence[str | Completion]
        if option.complete == COMMAND_KIND:
            typed = current.lower().strip()
            found = sorted(c.name for c in core.registry.commands.values() if c.name.startswith(typed))
        else:
            try:
                found = await asyncio.wait_for(core.complete(origin_of(interaction), option.complete, current),
                                               AUTOCOMPLETE_BUDGET)
            except TimeoutError:
                found = []
        return [_choice(item) for item in found[:25]]
    return complete


class Unreadable(ValueError):
    """An option value that has no text form (see `option_text`)."""


def option_text(value: object) -> str | None:
    """An option value of any JSON type as the text the core reads; None when not given.

    Discord types each option when the command is synced, but a client holding an older
    sync (or a crafted request) can send ``5`` or ``true`` where text is expected.
    Values with no text form (objects, lists, resolved users) raise `Unreadable`.
    """
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return str(int(value)) if value.is_integer() else repr(value)
    raise Unreadable(type(value).__name__)


def _choice(item: str | Completion) -> app_commands.Choice[str]:
    """A Discord choice showing the completion's label and filling in its value."""
    label, value = (item, item) if isinstance(item, str) else (item.label, item.value)
    return app_commands.Choice(name=label[:100], value=value[:100])
