"""`/ci rollup [--since DATE]`: the working groups' roll-up, as the steering agenda will show it."""

from __future__ import annotations

from datetime import time

from bot.core.args import Args
from bot.core.context import Context
from bot.core.errors import UserError
from bot.core.messages import Reply
from bot.core.notes import annotate
from bot.core.registry import Access, Registry
from bot.core.time import moment_text, read_when, when_usage
from bot.rollup import report
from storage.ids import id_of

USAGE = "/ci rollup [--since DATE]"


def register(registry: Registry) -> None:
    """Add `/ci rollup` and the steering agenda's section."""
    registry.command(
        "rollup", show_rollup, access=Access.BACKBONE, usage=USAGE, options=("since",),
        summary="What the working groups report up: progress, decisions and open actions.",
        details="Since the steering committee's last meeting, or since DATE (like 2026-11-10). "
                "Figures are those every steering member may see; the steering agenda shows the same section.",
    )
    registry.agenda_section("working_groups", report.agenda_section, order=report.AGENDA_ORDER)


def show_rollup(ctx: Context, args: Args) -> Reply:
    """The roll-up since `--since` or the steering committee's last meeting, for the caller only."""
    ctx.require_backbone("see the working groups' roll-up")
    initiative = ctx.require_initiative()
    if args.words:
        raise UserError("/ci rollup takes no words, only --since DATE.", usage=USAGE)
    if "since" in args.options:
        since = read_when(args.options["since"], ctx.timezone.key, ctx.now,
                          what="the start of the roll-up").instant(time(0, 0))
        if since >= ctx.now:
            raise UserError("The roll-up looks back: give a day in the past.",
                            usage=when_usage("the start of the roll-up"))
    else:
        since = report.since_last_meeting(ctx.session, report.steering_group(ctx.session, id_of(initiative)), ctx.now)
    found = report.rollup(ctx.session, initiative, since, ctx.now)
    section = report.render(ctx.markup, found, since, ctx.timezone.key)
    reply = Reply(title="From the working groups", ephemeral=True,
                  sections=[section] if section else [ctx.markup.escape(
                      "Nothing to report from the working groups since "
                      f"{moment_text(since, ctx.timezone.key)}.")],
                  context="The steering committee's agenda shows this section before each meeting.")
    return annotate(ctx.session, id_of(initiative), reply, ctx.markup)
