"""`/ci help`: every command, or one command in depth, generated from the registry."""

from __future__ import annotations

from bot.core.args import Args
from bot.core.context import Context
from bot.core.messages import Field, Reply
from bot.core.registry import Access, Registry
from bot.core.render import Markup
from bot.core.router import help_topics


def register(registry: Registry) -> None:
    """Add `/ci help`."""

    def show_help(ctx: Context, args: Args) -> Reply:
        topic = args.joined()
        commands = help_topics(registry, topic)
        m = ctx.markup
        if topic and len(commands) <= 8:
            return Reply(
                title=f"/ci {topic.lower()}",
                fields=[Field(f"/ci {c.name}{c.access.note}",
                              m.render("core/help_command.j2", command=c), inline=False)
                        for c in commands],
                ephemeral=True,
            )
        lines = [m.render("core/help_line.j2", command=c, note=c.access.note) for c in commands]
        return Reply(
            title="cibot commands",
            sections=[Markup("\n").join(lines)],
            context="Type /ci help COMMAND for details, e.g. /ci help glossary.",
            ephemeral=True,
        )

    registry.command(
        "help", show_help, access=Access.ANYONE,
        summary="List every command, or explain one.",
        usage="/ci help [COMMAND]",
    )
