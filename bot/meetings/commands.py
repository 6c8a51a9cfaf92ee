"""Meeting series by chat: add a cadence (with a preview to confirm), list, skip, move, pause, attend.

`/ci meeting add GROUP "Title" every 2 weeks on wed at 15:00` shows the rule back in
words with the next dates and a Confirm button; nothing runs until it is confirmed.
Members are told of skipped, moved, paused and resumed meetings in their group's
channels through the outbox. `/ci regrets`, `/ci here` and `/ci attendance` keep and
show who came.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, time, timedelta
from urllib.parse import quote

from sqlmodel import Session, col, select

from bot.core.args import Args, read_id
from bot.core.context import Context
from bot.core.errors import NotAllowed, UserError
from bot.core.messages import Button, ButtonStyle, Field, Reply
from bot.core.registry import Access, Registry
from bot.core.render import Dialect, Markup
from bot.core.time import (
    DATETIME_USAGE,
    NotADate,
    day_text,
    moment_text,
    read_when,
    when_usage,
)
from bot.core.tokens import public_url
from bot.meetings import series
from bot.meetings.calendar import feed_token, rotate_token
from bot.meetings.recurrence import RULE_USAGE, describe, first_start, occurrences, parse_rule, until_of, wall_start
from bot.runtime.outbox import enqueue_to_group
from storage.audit import record
from storage.ids import id_of
from storage.meetings import (
    Attendance,
    AttendanceStatus,
    Cadence,
    Meeting,
    MeetingStatus,
)
from storage.models import Group, Initiative, Member, Membership, Role

ADD_USAGE = ('/ci meeting add GROUP "Title" RULE [--duration 60m] [--place TEXT] [--video URL] '
             '[--reminders 24h,1h] [--agenda-lead 48h]  '
             'e.g. /ci meeting add data "Data WG" every 2 weeks on wed at 15:00')
MAX_DURATION = 24 * 60


def register(registry: Registry) -> None:
    """Add the meeting series commands and the preview's Confirm / Cancel buttons."""
    registry.command("meeting add", add_cadence, access=Access.BACKBONE, usage=ADD_USAGE,
                     options=("duration", "place", "video", "reminders", "agenda-lead"),
                     summary="Start a meeting series for a group (shows a preview to confirm).",
                     details=RULE_USAGE)
    registry.command("meetings", list_meetings, usage="/ci meetings [--group KEY]", options=("group",),
                     summary="Your groups' next meetings, in your timezone.")
    registry.command("meeting calendar", rotate_feed, access=Access.BACKBONE, usage="/ci meeting calendar rotate GROUP",
                     summary="Give a group's calendar feed a new secret address; the old one stops working.")
    registry.command("meeting skip", skip_meeting, access=Access.BACKBONE, options=("group",),
                     usage="/ci meeting skip DATE [TIME] [--group KEY]", summary="Skip one meeting; members are told.")
    registry.command("meeting move", move_meeting, access=Access.BACKBONE, options=("group",),
                     usage="/ci meeting move DATE [TIME] to DATE TIME [TIMEZONE] [--group KEY]",
                     summary="Move one meeting to another time; members are told.")
    registry.command("meeting pause", pause_series, access=Access.BACKBONE, options=("group",),
                     usage="/ci meeting pause [--group KEY]",
                     summary="Pause a group's meetings: no reminders or agendas.")
    registry.command("meeting resume", resume_series, access=Access.BACKBONE, options=("group",),
                     usage="/ci meeting resume [--group KEY]", summary="Resume a paused group's meetings.")
    registry.command("regrets", send_regrets, options=("group",), usage="/ci regrets [DATE] [REASON] [--group KEY]",
                     summary="Send regrets for the next meeting (or the one on DATE).")
    registry.command("here", mark_present, options=("group",), usage="/ci here [--group KEY]",
                     summary="Mark yourself present at the meeting in progress.")
    registry.command("attendance", show_attendance, access=Access.IN_GROUP, usage="/ci attendance [GROUP]",
                     summary="Who came to a group's meetings, per member and per organization.")
    registry.home(home_meetings)
    registry.action("meeting.confirm", confirm_cadence, access=Access.BACKBONE)
    registry.action("meeting.cancel", cancel_cadence, access=Access.BACKBONE)


# -- which group ---------------------------------------------------------------------------


def group_by_key(ctx: Context, key: str) -> Group:
    """The initiative's group called `key`, or an error listing the keys there are."""
    initiative = ctx.require_initiative()
    group = ctx.session.exec(select(Group).where(Group.initiative_id == initiative.id,
                                                 Group.key == key.lower(), Group.active == True)).first()  # noqa: E712
    if group is None:
        keys = ctx.session.exec(select(Group.key).where(Group.initiative_id == initiative.id,
                                                        Group.active == True).order_by(Group.key)).all()  # noqa: E712
        raise UserError(f"There is no group “{key}”. Groups: {', '.join(keys)}.")
    require_in_group(ctx, group)
    return group


def which_group(ctx: Context, args: Args) -> Group:
    """The group a meeting command is about: --group KEY, else the channel's, else the caller's only one.

    Among several groups, the only one that holds meetings counts as the only one.
    """
    if "group" in args.options:
        return group_by_key(ctx, args.options["group"])
    if ctx.group is not None:
        return ctx.group
    mine = [g for g, _role in ctx.groups.values()]
    if len(mine) != 1:
        meeting = {c.group_id for c in series.cadences_of(ctx.session, [g.id for g in mine if g.id])}
        mine = [g for g in mine if g.id in meeting] or mine
    if len(mine) == 1:
        return mine[0]
    keys = ", ".join(sorted(g.key for g in mine)) or "none"
    raise UserError(f"Which group? You are in several ({keys}).", usage="Add --group KEY, e.g. --group steering.")


def running_cadences(ctx: Context, group: Group) -> list[Cadence]:
    """The group's meeting series, or an error saying it has none."""
    assert group.id is not None
    found = series.cadences_of(ctx.session, [group.id])
    if not found:
        raise UserError(f"The {group.name} has no meeting series yet.",
                        usage="Backbone staff add one with " + ADD_USAGE)
    return found


# -- showing times -------------------------------------------------------------------------




def tz_name(ctx: Context) -> str:
    """The caller's timezone name."""
    return ctx.timezone.key


def occurrence_line(markup: Dialect, occurrence: series.Occurrence, group_name: str, timezone: str) -> str:
    """One meeting as a line of a list."""
    return markup.render("meetings/meeting_line.j2", when=moment_text(occurrence.starts_at, timezone), group=group_name,
                         title=occurrence.cadence.title, skipped=occurrence.skipped, moved=occurrence.moved,
                         original=moment_text(occurrence.original_start, timezone),
                         status=str(occurrence.status), place=occurrence.cadence.place,
                         video=occurrence.cadence.video_url)


def notify_group(session: Session, group: Group, key: str, heading: str, template: str, **values: object) -> None:
    """Tell a group's channels about a change to its meetings, once per `key`."""
    assert group.id is not None
    enqueue_to_group(session, group.id, key, lambda markup: Reply(
        title=heading, sections=[markup.render(template, group=group.name, **values)]))




# -- adding a series -------------------------------------------------------------------------


def add_cadence(ctx: Context, args: Args) -> Reply:
    """`/ci meeting add GROUP "Title" RULE`: validate, save as a draft and show it back to confirm."""
    member = ctx.require_member()
    if len(args.words) < 3:
        raise UserError("Please give the group, a title and the rule.", usage=ADD_USAGE)
    group = group_by_key(ctx, args.words[0])
    title = args.words[1].strip()
    if not title or len(title) > 200:
        raise UserError("The title must be 1 to 200 characters; put it in quotes.", usage=ADD_USAGE)
    pattern = parse_rule(" ".join(args.words[2:]), ctx.now.astimezone(ctx.timezone).date())
    timezone = pattern.timezone or tz_name(ctx)
    start = first_start(pattern, timezone, ctx.now)
    cadence = Cadence(
        initiative_id=group.initiative_id, group_id=id_of(group), title=title, rrule=pattern.rrule,
        dtstart=start, timezone=timezone, created_by_id=member.id, confirmed=False,
        duration_minutes=_duration(args.options.get("duration", "60m")),
        place=args.options.get("place", "")[:500], video_url=_video(args.options.get("video", "")),
    )
    if "reminders" in args.options:
        cadence.reminder_minutes = ",".join(str(m) for m in series.parse_offsets(args.options["reminders"]))
    if "agenda-lead" in args.options:
        cadence.agenda_lead_minutes = series.parse_offset(args.options["agenda-lead"])
    series.check_offsets(cadence, lead_given="agenda-lead" in args.options, reminders_given="reminders" in args.options)
    existing = ctx.session.exec(select(Cadence).where(Cadence.group_id == group.id, Cadence.title == title)).first()
    if existing is not None and existing.confirmed:
        raise UserError(f"The {group.name} already has a series called “{title}”. Choose another title.")
    if existing is not None:
        ctx.session.delete(existing)
        ctx.session.flush()
    ctx.session.add(cadence)
    ctx.session.flush()
    return Reply(title="New meeting series: please confirm",
                 sections=[preview(ctx, cadence, group)],
                 buttons=[Button("Confirm", "meeting.confirm", str(cadence.id), ButtonStyle.PRIMARY),
                          Button("Cancel", "meeting.cancel", str(cadence.id))],
                 ephemeral=True)


def preview(ctx: Context, cadence: Cadence, group: Group) -> Markup:
    """The draft series in words with its next three dates, in the caller's and the series' timezone."""
    local = wall_start(cadence.rrule, cadence.dtstart, cadence.timezone)
    dates = occurrences(cadence.rrule, cadence.dtstart, cadence.timezone, cadence.dtstart,
                        cadence.dtstart + timedelta(days=3 * 370))[:3]
    mine = tz_name(ctx)
    return ctx.markup.render(
        "meetings/meeting_preview.j2", group=group.name, title=cadence.title,
        rule=describe(cadence.rrule, local.time(), cadence.timezone),
        dates=[moment_text(d, cadence.timezone)
               + (f" ({moment_text(d, mine)} {mine})" if mine != cadence.timezone else "")
               for d in dates],
        duration=series.show_offset(cadence.duration_minutes), place=cadence.place, video=cadence.video_url,
        reminders=", ".join(series.show_offset(m) for m in cadence.reminders),
        agenda_lead=series.show_offset(cadence.agenda_lead_minutes),
    )


def _duration(text: str) -> int:
    minutes = series.parse_offset(text)
    if minutes > MAX_DURATION:
        raise UserError(f"A meeting of {series.show_offset(minutes)} is longer than a day.",
                        usage="Write --duration like 60m or 1h30.")
    return minutes


def _video(url: str) -> str:
    if url and not url.startswith(("https://", "http://")):
        raise UserError(f"“{url}” is not a web link.", usage="Write --video https://...")
    return url[:500]


def _draft(ctx: Context, value: str) -> Cadence:
    cadence_id = read_id(value)
    cadence = ctx.session.get(Cadence, cadence_id) if cadence_id else None
    initiative = ctx.require_initiative()
    if cadence is None or cadence.initiative_id != initiative.id or cadence.confirmed:
        raise UserError("That preview is gone or was already confirmed. Run /ci meeting add again.")
    return cadence


def confirm_cadence(ctx: Context, value: str, _fields: dict[str, str]) -> Reply:
    """The Confirm button of a preview: the series starts running."""
    cadence = _draft(ctx, value)
    if cadence.dtstart < ctx.now:
        raise UserError("That preview's first meeting has passed. Run /ci meeting add again.")
    cadence.confirmed = True
    cadence.next_event_at = series.next_event_at(ctx.session, cadence, ctx.now)
    group = ctx.session.get(Group, cadence.group_id)
    assert group is not None
    record(ctx.session, "meeting.cadence_added", initiative_id=cadence.initiative_id,
           actor_id=ctx.member.id if ctx.member else None, subject=cadence.title,
           data={"group": group.key, "rrule": cadence.rrule, "dtstart": cadence.dtstart.isoformat()})
    local = wall_start(cadence.rrule, cadence.dtstart, cadence.timezone)
    notify_group(ctx.session, group, f"meeting.series:{cadence.id}", "New meeting series",
                 "meetings/meeting_changed.j2", change="added", title=cadence.title,
                 rule=describe(cadence.rrule, local.time(), cadence.timezone),
                 first=moment_text(cadence.dtstart, cadence.timezone))
    return Reply(title="Meeting series saved", sections=[preview(ctx, cadence, group)], ephemeral=True)


def cancel_cadence(ctx: Context, value: str, _fields: dict[str, str]) -> Reply:
    """The Cancel button of a preview: the draft is dropped."""
    ctx.session.delete(_draft(ctx, value))
    return Reply(sections=[ctx.markup.escape("Cancelled; nothing was saved.")], ephemeral=True)


# -- listing ---------------------------------------------------------------------------------


def list_meetings(ctx: Context, args: Args) -> Reply:
    """`/ci meetings`: the next meetings of the caller's groups, in the caller's timezone."""
    ctx.require_member()
    groups = [which_group(ctx, args)] if "group" in args.options else [g for g, _ in ctx.groups.values()]
    lines = meeting_lines(ctx, groups, limit=15)
    sections = [Markup("\n").join(lines) if lines else ctx.markup.escape("None of your groups has a meeting planned.")]
    meeting = {c.group_id for c in series.cadences_of(ctx.session, [id_of(g) for g in groups])}
    feeds = [(g.name, ctx.markup.link(feed_url(ctx.session, g), "calendar feed")) for g in groups if g.id in meeting]
    if feeds:
        sections.append(ctx.markup.render("meetings/meeting_feeds.j2", feeds=feeds))
    return Reply(title="Your next meetings", sections=sections, context=f"Times in {tz_name(ctx)}.", ephemeral=True)


def feed_url(session: Session, group: Group) -> str:
    """The secret address of the group's calendar feed, for its members only."""
    initiative = session.get(Initiative, group.initiative_id)
    path = f"/calendar/{quote(group.key, safe='')}/{feed_token(session, id_of(group))}.ics"
    return public_url(path + (f"?initiative={quote(initiative.slug, safe='')}" if initiative else ""))


def rotate_feed(ctx: Context, args: Args) -> Reply:
    """`/ci meeting calendar rotate GROUP`: a new secret feed address; the old one answers 404 from now on."""
    usage = "/ci meeting calendar rotate GROUP"
    if len(args.words) != 2 or args.words[0].lower() != "rotate":
        raise UserError("Say `rotate` and the group whose calendar address changes.", usage=usage)
    group = group_by_key(ctx, args.words[1])
    rotate_token(ctx.session, id_of(group), ctx.now)
    record(ctx.session, "meeting.calendar_rotated", initiative_id=group.initiative_id,
           actor_id=ctx.member.id if ctx.member else None, subject=group.key)
    return Reply(sections=[ctx.markup.render("meetings/meeting_feed_rotated.j2", group=group.name,
                                             link=ctx.markup.link(feed_url(ctx.session, group), "new address"))],
                 ephemeral=True)


def meeting_lines(ctx: Context, groups: list[Group], limit: int) -> list[str]:
    """The groups' meetings of the next five weeks (at least the next of each series), then paused series."""
    names = {id_of(g): g.name for g in groups}
    cadences = series.cadences_of(ctx.session, names)
    found: list[series.Occurrence] = []
    for cadence in cadences:
        if cadence.paused:
            continue
        ahead = series.occurrences_between(ctx.session, cadence, ctx.now - timedelta(hours=3),
                                           ctx.now + timedelta(days=35), include_skipped=True)
        ahead = [o for o in ahead if o.status != MeetingStatus.ENDED]
        found += ahead or series.upcoming(ctx.session, cadence, ctx.now)[:1]
    found.sort(key=lambda o: o.starts_at)
    lines = [occurrence_line(ctx.markup, o, names[o.cadence.group_id], tz_name(ctx)) for o in found[:limit]]
    paused = [f"{names[c.group_id]}: {c.title}" for c in cadences if c.paused]
    if paused:
        lines.append(ctx.markup.render("meetings/meeting_paused.j2", paused=paused))
    ending = [(f"{names[c.group_id]}: {c.title}", day_text(last)) for c in cadences if (last := until_of(c.rrule))]
    if ending:
        lines.append(ctx.markup.render("meetings/meeting_until.j2", ending=ending))
    return lines


def home_meetings(ctx: Context) -> list[Reply]:
    """The home page's "Your next meetings": the next three, if the member's groups meet at all."""
    lines = meeting_lines(ctx, [g for g, _ in ctx.groups.values()], limit=3)
    if not lines:
        return []
    return [Reply(title="Your next meetings", sections=[Markup("\n").join(lines)],
                  context=f"Times in {tz_name(ctx)}. All of them: /ci meetings · can't come: /ci regrets")]


# -- exceptions ------------------------------------------------------------------------------


def _date_from(ctx: Context, words: list[str], usage: str) -> tuple[date, time | None]:
    """The meeting's date as typed, and its local time if one was given (``mar 10 14:00``)."""
    if not words:
        raise UserError("Please give the date of the meeting.", usage=usage)
    when = read_when(" ".join(words), tz_name(ctx), ctx.now, what="the meeting's date")
    return when.day, when.at


def _future(ctx: Context, occurrence: series.Occurrence, doing: str) -> None:
    if occurrence.status in (MeetingStatus.STARTED, MeetingStatus.ENDED) or occurrence.starts_at <= ctx.now:
        raise UserError(f"The meeting of {moment_text(occurrence.starts_at, tz_name(ctx))} has already begun; "
                        f"you can only {doing} meetings that are still ahead.")


def skip_meeting(ctx: Context, args: Args) -> Reply:
    """`/ci meeting skip DATE`: the meeting on DATE does not take place; members are told."""
    usage = "/ci meeting skip DATE [TIME] [--group KEY], e.g. /ci meeting skip 2026-03-10. " + when_usage("the date")
    group = which_group(ctx, args)
    day, at = _date_from(ctx, args.words, usage)
    occurrence = series.on_date(ctx.session, running_cadences(ctx, group), day, tz_name(ctx), at)
    _future(ctx, occurrence, "skip")
    if occurrence.skipped:
        raise UserError(f"The meeting of {moment_text(occurrence.starts_at, tz_name(ctx))} is already skipped.")
    row = series.meeting_row(ctx.session, occurrence)
    row.status = MeetingStatus.SKIPPED
    items_to = series.hand_over_items(ctx.session, row)
    cadence = occurrence.cadence
    cadence.next_event_at = series.next_event_at(ctx.session, cadence, ctx.now)
    record(ctx.session, "meeting.skipped", initiative_id=cadence.initiative_id,
           actor_id=ctx.member.id if ctx.member else None,
           subject=cadence.title, data={"start": occurrence.starts_at.isoformat()})
    notify_group(ctx.session, group, f"meeting.skipped:{cadence.id}:{series.stamp(occurrence.starts_at)}",
                 "Meeting skipped", "meetings/meeting_changed.j2", change="skipped", title=cadence.title,
                 first=moment_text(occurrence.starts_at, cadence.timezone) + f" ({cadence.timezone})", rule="")
    return Reply(sections=[ctx.markup.render("meetings/meeting_done.j2", change="skipped", title=cadence.title,
                                             group=group.name, at=moment_text(occurrence.starts_at, tz_name(ctx)),
                                             to=moment_text(items_to.starts_at, tz_name(ctx)) if items_to else "",
                                             timezone=tz_name(ctx))], ephemeral=True)


def move_meeting(ctx: Context, args: Args) -> Reply:
    """`/ci meeting move DATE to DATETIME`: one meeting moves; never onto another of the group."""
    usage = ("/ci meeting move DATE [TIME] to DATE TIME [--group KEY], "
             "e.g. /ci meeting move 2026-03-10 to 2026-03-12 14:00")
    group = which_group(ctx, args)
    lowered = [w.lower() for w in args.words]
    if "to" not in lowered:
        raise UserError("Say where the meeting moves to, with `to`.", usage=usage)
    split = lowered.index("to")
    day, at = _date_from(ctx, args.words[:split], usage)
    if split == len(args.words) - 1:
        raise UserError("Say the new date and time after `to`.", usage=usage + ". " + DATETIME_USAGE)
    target = read_when(" ".join(args.words[split + 1:]), tz_name(ctx), ctx.now, what="the new date and time")
    if target.at is None and target.exact is None:
        raise UserError("Say the new time of day too, like `to fri 14:00`.", usage=usage + ". " + DATETIME_USAGE)
    new_start, typed_zone = target.instant(time(0)), target.zone
    occurrence = series.on_date(ctx.session, running_cadences(ctx, group), day, tz_name(ctx), at)
    _future(ctx, occurrence, "move")
    if occurrence.skipped:
        raise UserError(f"The meeting of {moment_text(occurrence.starts_at, tz_name(ctx))} is skipped; "
                        f"it cannot move.")
    if new_start <= ctx.now:
        raise UserError(f"{moment_text(new_start, typed_zone)} ({typed_zone}) is in the past.", usage=usage)
    cadence = occurrence.cadence
    other = series.clash(ctx.session, group.id or 0, new_start,
                         new_start + timedelta(minutes=cadence.duration_minutes), occurrence)
    if other is not None:
        raise UserError(f"That is on top of another meeting of the {group.name} "
                        f"({other.cadence.title}, {moment_text(other.starts_at, typed_zone)} {typed_zone}). "
                        f"Pick another time.")
    old = occurrence.starts_at
    row = series.meeting_row(ctx.session, occurrence)
    row.starts_at = new_start
    cadence.next_event_at = series.next_event_at(ctx.session, cadence, ctx.now)
    record(ctx.session, "meeting.moved", initiative_id=cadence.initiative_id,
           actor_id=ctx.member.id if ctx.member else None,
           subject=cadence.title, data={"from": old.isoformat(), "to": new_start.isoformat()})
    moved_key = (f"meeting.moved:{cadence.id}:{series.stamp(occurrence.original_start)}:{series.stamp(new_start)}:"
                 f"{ctx.now:%Y%m%dT%H%M%S}")
    notify_group(ctx.session, group, moved_key,  # moving back and forth is told each time
                 "Meeting moved", "meetings/meeting_changed.j2", change="moved", title=cadence.title,
                 first=moment_text(old, cadence.timezone),
                 rule=moment_text(new_start, cadence.timezone) + f" ({cadence.timezone})")
    return Reply(sections=[ctx.markup.render("meetings/meeting_done.j2", change="moved", title=cadence.title,
                                             group=group.name,
                                             at=moment_text(old, typed_zone), to=moment_text(new_start, typed_zone),
                                             timezone=typed_zone)], ephemeral=True)


def _set_paused(ctx: Context, args: Args, paused: bool) -> Reply:
    group = which_group(ctx, args)
    cadences = running_cadences(ctx, group)
    changed = [c for c in cadences if c.paused != paused]
    if not changed:
        raise UserError(f"The {group.name}'s meetings are already {'paused' if paused else 'running'}.")
    change = "paused" if paused else "resumed"
    for cadence in changed:
        cadence.paused = paused
        cadence.next_event_at = series.next_event_at(ctx.session, cadence, ctx.now)
        record(ctx.session, f"meeting.{change}", initiative_id=cadence.initiative_id,
               actor_id=ctx.member.id if ctx.member else None, subject=cadence.title)
        upcoming = series.next_occurrence(ctx.session, cadence, ctx.now)
        notify_group(ctx.session, group, f"meeting.{change}:{cadence.id}:{series.stamp(ctx.now)}",
                     f"Meetings {change}", "meetings/meeting_changed.j2", change=change, title=cadence.title, rule="",
                     first=moment_text(upcoming.starts_at, cadence.timezone) + f" ({cadence.timezone})"
                     if upcoming and not paused else "")
    return Reply(sections=[ctx.markup.render("meetings/meeting_done.j2", change=change,
                                             title=", ".join(c.title for c in changed),
                                             group=group.name, at="", to="", timezone="")], ephemeral=True)


def pause_series(ctx: Context, args: Args) -> Reply:
    """`/ci meeting pause`: no reminders or agendas until resumed; members are told."""
    return _set_paused(ctx, args, True)


def resume_series(ctx: Context, args: Args) -> Reply:
    """`/ci meeting resume`: a paused group's meetings run again; members are told."""
    return _set_paused(ctx, args, False)


# -- attendance ------------------------------------------------------------------------------


def _leading_date(ctx: Context, words: list[str]) -> tuple[date | None, time | None, list[str]]:
    """A date (and time) at the start of `words`, and the rest; no date when they do not start with one.

    Words that have a date's shape but name no day (``feb 30``) are an error, not the start of a reason.
    """
    for length in range(min(len(words), 7), 0, -1):
        try:
            when = read_when(" ".join(words[:length]), tz_name(ctx), ctx.now, what="the meeting's date")
        except NotADate:
            continue
        if when.exact is not None:  # "1h late" is a reason, not a meeting's date
            break
        return when.day, when.at, words[length:]
    return None, None, words


def _attend(ctx: Context, meeting: Meeting, status: AttendanceStatus, reason: str = "") -> None:
    member = ctx.require_member()
    row = ctx.session.exec(select(Attendance).where(Attendance.meeting_id == meeting.id,
                                                    Attendance.member_id == member.id)).first()
    if row is None:
        row = Attendance(meeting_id=meeting.id or 0, member_id=member.id or 0, status=status)
        ctx.session.add(row)
    row.status, row.reason, row.at = status, reason[:500], ctx.now


def send_regrets(ctx: Context, args: Args) -> Reply:
    """`/ci regrets [DATE] [REASON]`: the caller will miss the next meeting (or the one on DATE)."""
    group = which_group(ctx, args)
    cadences = [c for c in running_cadences(ctx, group) if not c.paused]
    day, at, rest = _leading_date(ctx, args.words)
    if day is not None:
        occurrence: series.Occurrence | None = series.on_date(ctx.session, cadences, day, tz_name(ctx), at)
        assert occurrence is not None
        if occurrence.skipped:
            raise UserError(f"The meeting of {moment_text(occurrence.starts_at, tz_name(ctx))} is skipped; "
                            f"no regrets needed.")
        if occurrence.status == MeetingStatus.ENDED or occurrence.ends_at <= ctx.now:
            raise UserError(f"The meeting of {moment_text(occurrence.starts_at, tz_name(ctx))} is over.")
    else:
        occurrence = series.next_for_group(ctx.session, group.id or 0, ctx.now)
        if occurrence is None:
            raise UserError(f"The {group.name} has no meeting coming up.")
    _attend(ctx, series.meeting_row(ctx.session, occurrence), AttendanceStatus.REGRETS, " ".join(rest))
    return Reply(sections=[ctx.markup.render("meetings/meeting_regrets.j2", group=group.name,
                                             title=occurrence.cadence.title,
                                             at=moment_text(occurrence.starts_at, tz_name(ctx)), timezone=tz_name(ctx),
                                             reason=" ".join(rest))], ephemeral=True)


def mark_present(ctx: Context, args: Args) -> Reply:
    """`/ci here`: the caller is at the meeting in progress."""
    group = which_group(ctx, args)
    meeting = series.in_progress(ctx.session, group.id or 0)
    if meeting is None:
        raise UserError(f"The {group.name} has no meeting in progress; the chair starts it with /ci meeting start.")
    _attend(ctx, meeting, AttendanceStatus.PRESENT)
    return Reply(sections=[Markup(f"Welcome! You are marked present at the {ctx.markup.escape(group.name)} meeting.")],
                 ephemeral=True)


def attendance_counts(session: Session, group_id: int) -> tuple[int, dict[int, Counter[str]]]:
    """How many meetings of the group ended, and per member how often present, with regrets or absent."""
    ended = session.exec(select(Meeting.id).where(Meeting.group_id == group_id,
                                                  Meeting.status == MeetingStatus.ENDED)).all()
    members = session.exec(select(Membership.member_id).where(Membership.group_id == group_id)).all()
    counts: dict[int, Counter[str]] = {m: Counter() for m in members}
    rows = session.exec(select(Attendance).where(col(Attendance.meeting_id).in_(ended))).all() if ended else []
    for row in rows:
        counts.setdefault(row.member_id, Counter())[str(row.status)] += 1
    for tally in counts.values():
        tally["absent"] = len(ended) - tally["present"] - tally["regrets"]
    return len(ended), counts


def show_attendance(ctx: Context, args: Args) -> Reply:
    """`/ci attendance [GROUP]`: attendance per member and per organization over the group's meetings."""
    ctx.require_member()
    group = group_by_key(ctx, args.words[0]) if args.words else which_group(ctx, args)
    held, counts = attendance_counts(ctx.session, group.id or 0)
    if not held:
        return Reply(sections=[Markup(f"The {ctx.markup.escape(group.name)} has not held a meeting with me yet.")],
                     ephemeral=True)
    people = {m.id: m for m in ctx.session.exec(select(Member).where(col(Member.id).in_(list(counts)))).all()}
    by_org: dict[str, Counter[str]] = {}
    for member_id, tally in counts.items():
        by_org.setdefault(people[member_id].organization or "(no organization)", Counter()).update(tally)
    rows = sorted(((people[m].name, t) for m, t in counts.items()), key=lambda r: r[0])
    return Reply(title=f"Attendance: {group.name}",
                 sections=[ctx.markup.render("meetings/meeting_attendance.j2", held=held, people=rows,
                                             organizations=sorted(by_org.items()))],
                 fields=[Field("Meetings held", ctx.markup.escape(held))], ephemeral=True)


def is_chair_or_backbone(ctx: Context, group: Group) -> bool:
    """True for backbone staff and for the group's chair or staff."""
    role = ctx.groups.get(group.id or 0, (group, ""))[1]
    return ctx.is_backbone() or role in (Role.CHAIR, Role.STAFF)


def require_runner(ctx: Context, group: Group, doing: str) -> None:
    """Refuse `doing` unless the caller is backbone staff or the group's chair."""
    if not is_chair_or_backbone(ctx, group):
        raise NotAllowed(f"Only the {group.name}'s chair or backbone staff can {doing}.")


def require_in_group(ctx: Context, group: Group) -> None:
    """Refuse people who are neither in `group` nor backbone staff."""
    if group.id not in ctx.groups and not ctx.is_backbone():
        raise NotAllowed(f"You are not in the {group.name}.")
