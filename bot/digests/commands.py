"""`/ci digest` (a preview of the group's digest), `/ci digest every` and `/ci email on|off`."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.core.args import Args
from bot.core.context import Context
from bot.core.errors import NotAllowed, UserError
from bot.core.messages import Reply
from bot.core.registry import Access, Registry
from bot.core.render import Markup
from bot.digests import digest
from bot.meetings.commands import group_by_key, which_group
from bot.runtime import mail
from storage.ids import id_of
from storage.mail import EmailMode
from storage.models import Group

EVERY_USAGE = "/ci digest every week|month|off [--group KEY|all]"
EMAIL_USAGE = "/ci email [on|off]"


def register(registry: Registry) -> None:
    """Add the digest and email commands, and the job that posts digests."""
    registry.command("digest", preview, access=Access.IN_GROUP, usage="/ci digest [--group KEY]", options=("group",),
                     seldom=True, summary="A preview of your group's next digest (only you see it).")
    registry.command("digest every", set_every, access=Access.BACKBONE, usage=EVERY_USAGE, options=("group",),
                     seldom=True,
                     summary="How often a group's digest is posted: every week, every month, or off.",
                     details="Without --group it applies to the channel's group; --group all sets every group. "
                             "Digests are posted on Monday (or the 1st) from 08:00 in the initiative's timezone.")
    registry.command("email", email, usage=EMAIL_USAGE, seldom=True,
                     summary="Get reminders, data requests and digests by email (on), or stop them (off).",
                     details="Members without Slack or Discord get them by email anyway, unless they say off. "
                             "Every email has a link to stop that kind of message.")
    registry.job("digests.tick", digest.tick)
    registry.periodic("digests:tick", digest.TICK_EVERY, "digests.tick")


def preview(ctx: Context, args: Args) -> Reply:
    """The digest the group would get for the period that ended, as the group will see it."""
    initiative = ctx.require_initiative()
    group = which_group(ctx, args)
    if not ctx.is_backbone() and group.id not in ctx.groups:
        raise NotAllowed(f"You are not a member of {group.name}, so you cannot preview its digest.")
    every = digest.cadence_of(ctx.session, id_of(group))
    window = digest.window_for("month" if every == "month" else "week", ctx.now, ZoneInfo(initiative.timezone))
    found = digest.build(ctx.session, group, window, ctx.now)
    reply = digest.render(ctx.markup, found)
    if found.empty:
        reply.sections.append(Markup("Nothing to report for this period: no digest would be posted."))
    reply.context = (f"Posted every {every}." if every != "off" else "Digests are off for this group.")
    reply.ephemeral = True
    return reply


def set_every(ctx: Context, args: Args) -> Reply:
    """Set how often a group's (or every group's) digest is posted."""
    every = args.first("week, month or off", EVERY_USAGE).lower()
    if every not in digest.CADENCES or len(args.words) > 1:
        raise UserError(f"{args.words[0][:40]!r} is not a digest cadence: write week, month or off.", usage=EVERY_USAGE)
    initiative = ctx.require_initiative()
    if args.options.get("group", "").lower() == "all":
        ids = [id_of(g) for g in ctx.session.exec(select(Group).where(
            Group.initiative_id == initiative.id, Group.active == True))]  # noqa: E712
        names = "every group"
    else:
        group = group_by_key(ctx, args.options["group"]) if "group" in args.options else which_group(ctx, args)
        ids, names = [id_of(group)], group.name
    for group_id in ids:
        digest.set_cadence(ctx.session, group_id, every, ctx.now)
    said = f"Digests are off for {names}." if every == "off" else f"{names}: a digest every {every}."
    return Reply(sections=[ctx.markup.escape(said[:1].upper() + said[1:])], ephemeral=True)


def email(ctx: Context, args: Args) -> Reply:
    """Turn email on or off for the caller, or say what they get by email."""
    member = ctx.require_member()
    choice = args.words[0].lower() if args.words else ""
    if choice not in ("", "on", "off") or len(args.words) > 1:
        raise UserError("Write on or off.", usage=EMAIL_USAGE)
    if choice:
        mail.set_mode(ctx.session, id_of(member), EmailMode(choice), ctx.now)
    pref = mail.preference(ctx.session, id_of(member))
    if not member.email:
        said = ("You have no email address in the initiative file, so nothing is emailed to you; "
                "ask your backbone team to add it.")
    elif mail.bounced(pref, member):
        said = (f"Mail to {member.email} bounced ({pref.bounce_reason}); nothing more is sent to it until your "
                "backbone team changes the address.")
    elif pref.mode == EmailMode.OFF:
        said = f"Nothing is emailed to {member.email}. /ci email on starts reminders, data requests and digests."
    elif pref.mode == EmailMode.ON:
        said = f"Reminders, data requests and digests also go to {member.email}. /ci email off stops them."
    else:
        said = (f"Your messages come here in the chat; /ci email on sends reminders, data requests and digests "
                f"to {member.email} too.")
    return Reply(sections=[ctx.markup.escape(said)], ephemeral=True)
