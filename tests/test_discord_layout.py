"""How core commands become Discord subcommands and options, and how options become core text."""

from __future__ import annotations

import re
from dataclasses import replace

from bot.adapters.discord.layout import CATCH_ALL, slash_layout
from bot.bootstrap import dialects_only
from bot.core.args import Args
from bot.core.context import Context
from bot.core.core import Core
from bot.core.messages import Reply
from bot.core.registry import Access, Registry
from tests.fake_discord_http import DiscordHarness

MARIA = "100000000000000001"


def echo(ctx: Context, args: Args) -> Reply:
    """Say back what the core received."""
    return Reply(title=f"words={args.words} options={sorted(args.options.items())}", ephemeral=True)


def registry_with(**usages: str) -> Registry:
    """A registry of echo commands: keyword = command words (underscores for spaces), value = usage."""
    registry = dialects_only()
    for key, usage in usages.items():
        path = key.replace("_", " ")
        registry.command(path, echo, summary=f"Summary of {path}", usage=usage,
                         options=tuple(re.findall(r"--([a-z]+)", usage)), access=Access.ANYONE)
    return registry


def test_commands_sharing_a_word_become_a_group_with_show_for_the_bare_one() -> None:
    specs = {s.qualified: s for s in slash_layout(registry_with(
        status="/ci status", agenda="/ci agenda [--group KEY]",
        agenda_add="/ci agenda add TEXT [--kind decision|report] [--minutes N]"))}
    assert set(specs) == {"status", "agenda show", "agenda add"}
    add = specs["agenda add"]
    assert [(o.name, o.required, o.flag, o.choices) for o in add.options] == [
        ("text", True, False, ()), ("kind", False, True, ("decision", "report")), ("minutes", False, True, ())]
    assert add.core_text({"text": "Review Q1 data", "kind": "report", "minutes": None}) == \
        'agenda add Review Q1 data --kind=report'


def test_several_placeholders_become_options_in_order_and_examples_stay_out() -> None:
    (extend,) = slash_layout(registry_with(extend="/ci extend ID WHEN  (e.g. 2d or 2026-03-20 17:00)"))
    assert [o.name for o in extend.options] == ["id", "when"]
    assert extend.options[0].description == "/ci extend ID WHEN, e.g. 2d or 2026-03-20 17:00"
    assert extend.core_text({"when": "2026-03-20 17:00", "id": "7"}) == "extend 7 2026-03-20 17:00"
    (regrets,) = slash_layout(registry_with(regrets="/ci regrets [DATE] [REASON]"))
    assert regrets.core_text({"date": "next week", "reason": "travelling"}) == 'regrets "next week" travelling'


def test_anything_else_is_one_free_text_option() -> None:
    (add,) = slash_layout(registry_with(add='/ci add "TITLE" = TEXT, e.g. /ci add "x" = y'))
    (args,) = add.options
    assert (args.name, args.required) == ("args", False)
    assert args.description == '"TITLE" = TEXT, e.g. /ci add "x" = y'


def test_more_first_words_than_discord_allows_are_reached_through_run() -> None:
    words = {f"word{i:02d}": f"/ci word{i:02d}" for i in range(30)}
    specs = slash_layout(registry_with(**words), frozenset({"command"}))
    assert len(specs) == 25
    run = specs[0]
    assert (run.name, run.options[0].complete) == (CATCH_ALL, "command")
    assert run.core_text({"command": "wordz something"}) == "wordz something"


def test_discord_requires_only_the_first_word_so_commands_can_open_their_forms() -> None:
    specs = {s.name: s for s in slash_layout(registry_with(
        submit="/ci submit INDICATOR VALUE [--period P]", propose='/ci propose "TITLE" --closes 3d [--rule R]',
        add="/ci add KEY NAME --unit count|percent"))}
    required = {name: [o.name for o in spec.options if o.required] for name, spec in specs.items()}
    assert required == {"submit": ["indicator"], "propose": [], "add": ["key", "unit"]}
    assert [o.name for o in specs["submit"].options] == ["indicator", "value", "period"]


def test_staff_only_words_are_the_first_to_go_through_run() -> None:
    registry = registry_with(**{f"word{i:02d}": f"/ci word{i:02d}" for i in range(26)})
    for staff in ("word03", "word07"):
        registry.commands[(staff,)] = replace(registry.commands[(staff,)], access=Access.BACKBONE)
    names = {s.name for s in slash_layout(registry)}
    assert {"word24", "word25", CATCH_ALL} <= names and not {"word03", "word07"} & names


async def test_typed_options_reach_the_core_as_command_text(core: Core, engine) -> None:
    from tests.factories import seed
    seed(engine)
    core.registry.command("echo", echo, summary="Echo", usage="/ci echo ID TEXT [--kind a|b]",
                          options=("kind",), access=Access.ANYONE)
    bot = await DiscordHarness.serving(core)
    (ci,) = bot.client.tree.get_commands()
    kind = next(p for p in ci.get_command("echo").parameters if p.display_name == "kind")
    assert [c.value for c in kind.choices] == ["a", "b"]

    (sent,) = await bot.slash(MARIA, ["echo"], {"id": "7", "text": "hello there", "kind": "b"})
    assert sent.embeds[0]["title"] == (
        "words=\\['7', 'hello', 'there'\\] options=\\[\\('kind', 'b'\\)\\]")
