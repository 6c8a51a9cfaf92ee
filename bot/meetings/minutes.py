"""Running a meeting and keeping its minutes: start, agreed, action, info, undo, end; action items.

`/ci meeting start` opens the group's meeting; `/ci agreed`, `/ci action @member`,
`/ci info` record lines in order and `/ci undo` takes back the caller's last one.
`/ci meeting end` posts the minutes to the group's channels through the outbox, keeps
them, and carries unfinished agenda items over to the next meeting's draft (open
action items stay open and appear on every agenda until done).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from functools import partial

from sqlmodel import Session, col, select

from bot.core.args import Args, parse_id
from bot.core.context import Context
from bot.core.errors import NotAllowed, UserError
from bot.core.members import find_member
from bot.core.messages import Button, Reply
from bot.core.notes import annotate
from bot.core.registry import Access, Registry
from bot.core.render import PLAIN, Dialect
from bot.core.time import day_text, moment_text, read_when, split_when, to_local, when_usage
from bot.meetings import series
from bot.meetings.agenda import items_of, names_of
from bot.meetings.commands import (
    is_chair_or_backbone,
    require_in_group,
    require_runner,
    tz_name,
    which_group,
)
from bot.runtime.outbox import enqueue_to_group, enqueue_to_member
from storage.audit import record
from storage.meetings import (
    ActionItem,
    ActionStatus,
    AgendaItem,
    Attendance,
    AttendanceStatus,
    ItemStatus,
    Meeting,
    MeetingNote,
    MeetingStatus,
    NoteKind,
)
from storage.models import Group, Membership

ACTION_USAGE = ("/ci action @MEMBER TEXT [due DATE], e.g. /ci action @tom Share the Q1 attendance file due 2026-03-20 "
                "or due next friday")
MAX_NOTE = 2000
_CARRIED = (ItemStatus.PROPOSED, ItemStatus.ACCEPTED, ItemStatus.DEFERRED)


def register(registry: Registry) -> None:
    """Add the commands that run a meeting and track action items."""
    registry.command("meeting start", start_meeting, access=Access.CHAIR, options=("group",),
                     usage="/ci meeting start [--group KEY]",
                     summary="Open today's meeting of your group (chair or backbone).")
    registry.command("meeting end", end_meeting, access=Access.CHAIR, options=("group",),
                     usage="/ci meeting end [--group KEY]",
                     summary="Close the meeting and post the minutes (chair or backbone).")
    registry.command("agreed", _noting(NoteKind.AGREED), access=Access.GROUP, options=("group",),
                     usage="/ci agreed TEXT",
                     summary="Record something the meeting agreed.")
    registry.command("info", _noting(NoteKind.INFO), access=Access.GROUP, options=("group",),
                     usage="/ci info TEXT",
                     summary="Record a piece of information for the minutes.")
    registry.command("action", add_action, access=Access.GROUP, options=("group",), usage=ACTION_USAGE,
                     summary="Give someone an action item.")
    registry.command("undo", undo_note, access=Access.GROUP, options=("group",), usage="/ci undo",
                     summary="Take back your last line of the meeting's minutes.")
    registry.command("actions", list_actions, usage="/ci actions", summary="Your open action items.")
    registry.command("action done", finish_action, access=Access.GROUP, usage="/ci action done ID",
                     summary="Mark an action item done.")
    registry.action("action.done", finish_button, access=Access.GROUP)
    registry.home(open_actions)
    registry.command("minutes", show_minutes, access=Access.IN_GROUP, options=("group",),
                     usage="/ci minutes [DATE] [--group KEY]",
                     summary="The minutes of your group's last meeting (or the one on DATE).")


def _current(ctx: Context, args: Args) -> tuple[Group, Meeting]:
    group = which_group(ctx, args)
    require_in_group(ctx, group)
    meeting = series.in_progress(ctx.session, group.id or 0)
    if meeting is None:
        raise UserError(f"The {group.name} has no meeting in progress.",
                        usage="The chair or backbone starts it with /ci meeting start.")
    return group, meeting


def _attend(session: Session, meeting: Meeting, member_id: int) -> None:
    row = session.exec(select(Attendance).where(Attendance.meeting_id == meeting.id,
                                                Attendance.member_id == member_id)).first()
    if row is None:
        session.add(Attendance(meeting_id=meeting.id or 0, member_id=member_id, status=AttendanceStatus.PRESENT))


# -- start and end ---------------------------------------------------------------------------


def start_meeting(ctx: Context, args: Args) -> Reply:
    """`/ci meeting start`: the group's meeting nearest now (within 12 hours) is in progress."""
    member = ctx.require_member()
    group = which_group(ctx, args)
    require_runner(ctx, group, "start a meeting")
    if series.in_progress(ctx.session, group.id or 0) is not None:
        raise UserError(f"The {group.name}'s meeting is already in progress; end it with /ci meeting end.")
    near = [o for c in series.cadences_of(ctx.session, [group.id or 0])
            for o in series.occurrences_between(ctx.session, c, ctx.now - timedelta(hours=12),
                                                ctx.now + timedelta(hours=12))
            if o.status == MeetingStatus.SCHEDULED]
    if not near:
        upcoming = series.next_for_group(ctx.session, group.id or 0, ctx.now)
        hint = f" The next one is {moment_text(upcoming.starts_at, tz_name(ctx))} ({tz_name(ctx)})." if upcoming else ""
        raise UserError(f"The {group.name} has no meeting within 12 hours of now.{hint}")
    occurrence = min(near, key=lambda o: abs(o.starts_at - ctx.now))
    meeting = series.meeting_row(ctx.session, occurrence)
    meeting.status, meeting.started_at = MeetingStatus.STARTED, ctx.now
    _attend(ctx.session, meeting, member.id or 0)
    enqueue_to_group(ctx.session, group.id or 0, f"meeting.started:{meeting.id}", lambda m: Reply(
        title=f"{group.name}: meeting started",
        sections=[m.render("meetings/minutes_started.j2", title=occurrence.cadence.title)]))
    return Reply(title=f"{group.name}: meeting started",
                 sections=[ctx.markup.render("meetings/minutes_started.j2", title=occurrence.cadence.title)],
                 ephemeral=True)


def end_meeting(ctx: Context, args: Args) -> Reply:
    """`/ci meeting end`: close the meeting, carry unfinished items over, post and keep the minutes."""
    group, meeting = _current(ctx, args)
    require_runner(ctx, group, "end a meeting")
    meeting.status, meeting.ended_at = MeetingStatus.ENDED, ctx.now
    carried = carry_over(ctx.session, meeting)
    meeting.minutes = minutes_reply(ctx.session, meeting, PLAIN, carried).plain_text()
    enqueue_to_group(ctx.session, group.id or 0, f"meeting.minutes:{meeting.id}",
                     lambda m: minutes_reply(ctx.session, meeting, m, carried))
    given = ctx.session.exec(select(ActionItem).where(ActionItem.meeting_id == meeting.id)
                             .order_by(col(ActionItem.id))).all()
    tell_owners(ctx.session, group, list(given), f"meeting.actions:{meeting.id}",
                series.occurrence_of(ctx.session, meeting).cadence.title)
    record(ctx.session, "meeting.ended", initiative_id=group.initiative_id,
           actor_id=ctx.member.id if ctx.member else None, subject=group.key, data={"meeting": meeting.id})
    reply = minutes_reply(ctx.session, meeting, ctx.markup, carried)
    reply.context = "Posted to the group's channels. " + reply.context
    return reply


def carry_over(session: Session, meeting: Meeting) -> int:
    """Copy the meeting's unfinished agenda items to the next meeting's draft; how many moved."""
    unfinished = items_of(session, meeting.id or 0, *_CARRIED)
    if not unfinished:
        return 0
    occurrence = series.occurrence_of(session, meeting)
    following = series.next_occurrence(session, occurrence.cadence, occurrence.starts_at + timedelta(minutes=1))
    if following is None:
        return 0
    target = series.meeting_row(session, following)
    existing = items_of(session, target.id or 0)
    already = {i.carried_over_from_id for i in existing}
    position = max((i.position for i in existing), default=0)
    for item in unfinished:
        if item.id in already:
            continue
        position += 1
        session.add(AgendaItem(
            meeting_id=target.id or 0, text=item.text, kind=item.kind, timebox_minutes=item.timebox_minutes,
            proposer_id=item.proposer_id, presenter_id=item.presenter_id, position=position,
            carried_over_from_id=item.id,
            status=ItemStatus.ACCEPTED if item.status == ItemStatus.ACCEPTED else ItemStatus.PROPOSED))
    return len(unfinished)


def minutes_reply(session: Session, meeting: Meeting, markup: Dialect, carried: int = 0) -> Reply:
    """The minutes of `meeting`: attendance, agreed, actions by owner, information."""
    occurrence = series.occurrence_of(session, meeting)
    group = session.get(Group, meeting.group_id)
    assert group is not None
    attendance = session.exec(select(Attendance).where(Attendance.meeting_id == meeting.id)).all()
    members = session.exec(select(Membership.member_id).where(Membership.group_id == group.id)).all()
    notes = session.exec(select(MeetingNote).where(MeetingNote.meeting_id == meeting.id)
                         .order_by(col(MeetingNote.id))).all()
    actions = session.exec(select(ActionItem).where(ActionItem.meeting_id == meeting.id)
                           .order_by(col(ActionItem.id))).all()
    names = names_of(session, {*members, *(a.member_id for a in attendance), *(a.owner_id for a in actions)})
    present = sorted(names[a.member_id] for a in attendance if a.status == AttendanceStatus.PRESENT)
    regrets = sorted((names[a.member_id], a.reason) for a in attendance if a.status == AttendanceStatus.REGRETS)
    seen = {a.member_id for a in attendance}
    absent = sorted(names[m] for m in members if m not in seen)
    by_owner: dict[str, list[dict[str, str]]] = {}
    for action in actions:
        by_owner.setdefault(names[action.owner_id], []).append(
            {"id": str(action.id), "text": action.text, "due": day_text(action.due) if action.due else "",
             "done": "yes" if action.status == ActionStatus.DONE else ""})
    text = markup.render(
        "meetings/minutes_post.j2", present=present, regrets=regrets, absent=absent,
        agreed=[n.text for n in notes if n.kind == NoteKind.AGREED],
        info=[n.text for n in notes if n.kind == NoteKind.INFO],
        owners=sorted(by_owner.items()), carried=carried)
    minutes = Reply(title=f"Minutes: {group.name}, {occurrence.cadence.title}, "
                          f"{moment_text(occurrence.starts_at, occurrence.cadence.timezone)} "
                          f"({occurrence.cadence.timezone})",
                    sections=[text], context="See your open actions with /ci actions.")
    return annotate(session, group.initiative_id, minutes, markup)  # glossary notes


# -- notes -----------------------------------------------------------------------------------


def _noting(kind: NoteKind) -> Callable[[Context, Args], Reply]:
    def handler(ctx: Context, args: Args) -> Reply:
        member = ctx.require_member()
        _group, meeting = _current(ctx, args)
        text = args.joined().strip()
        if not text:
            raise UserError(f"Please say what to record, like /ci {kind.value} TEXT.")
        if len(text) > MAX_NOTE:
            raise UserError(f"That is {len(text)} characters long; the limit is {MAX_NOTE}.")
        ctx.session.add(MeetingNote(meeting_id=meeting.id or 0, kind=kind, text=text, author_id=member.id, at=ctx.now))
        return Reply(sections=[ctx.markup.render("meetings/minutes_noted.j2", kind=kind.value, text=text)],
                     ephemeral=True)
    handler.__doc__ = f"`/ci {kind.value} TEXT`: a line of the minutes."
    return handler


def add_action(ctx: Context, args: Args) -> Reply:
    """`/ci action @member TEXT [due DATE]`: an action item, in the minutes if a meeting is in progress."""
    author = ctx.require_member()
    if len(args.words) < 2:
        raise UserError("Please name who does it and what.", usage=ACTION_USAGE)
    owner = find_member(ctx, args.words[0], usage=ACTION_USAGE)
    words, when = split_when(args.words[1:], "due", tz_name(ctx), ctx.now, what="a due date")
    due = when.day if when else None
    if due is not None and due < to_local(ctx.now, tz_name(ctx)).date():
        raise UserError(f"{day_text(due)} is in the past.", usage=ACTION_USAGE)
    if words and words[-1].lower() == "due":
        raise UserError("Say when it is due after `due`.", usage=ACTION_USAGE + ". " + when_usage("a due date"))
    text = " ".join(words).strip()
    if not text or len(text) > 1000:
        raise UserError("Please describe the action (up to 1000 characters).", usage=ACTION_USAGE)
    group = which_group(ctx, args)
    require_in_group(ctx, group)
    meeting = series.in_progress(ctx.session, group.id or 0)
    action = ActionItem(initiative_id=group.initiative_id, group_id=group.id or 0, owner_id=owner.id or 0,
                        meeting_id=meeting.id if meeting else None, text=text, due=due,
                        created_by_id=author.id, created_at=ctx.now)
    ctx.session.add(action)
    ctx.session.flush()
    if meeting is not None:
        ctx.session.add(MeetingNote(meeting_id=meeting.id or 0, kind=NoteKind.ACTION, text=text,
                                    author_id=author.id, action_item_id=action.id, at=ctx.now))
    else:  # in a meeting, owners hear of their actions with the minutes (after any /ci undo)
        tell_owners(ctx.session, group, [action], f"action.assigned:{action.id}")
    return Reply(sections=[ctx.markup.render("meetings/minutes_action.j2", id=action.id, who=owner.name, text=text,
                                             due=day_text(due) if due else "", in_meeting=meeting is not None,
                                             undated="due" in (w.lower() for w in words))],
                 ephemeral=True)


def undo_note(ctx: Context, args: Args) -> Reply:
    """`/ci undo`: the caller's last line of the meeting in progress is removed (with its action item)."""
    member = ctx.require_member()
    _group, meeting = _current(ctx, args)
    note = ctx.session.exec(select(MeetingNote).where(MeetingNote.meeting_id == meeting.id,
                                                      MeetingNote.author_id == member.id)
                            .order_by(col(MeetingNote.id).desc())).first()
    if note is None:
        raise UserError("You have recorded nothing in this meeting yet, so there is nothing to undo.")
    ctx.session.delete(note)
    if note.action_item_id is not None:
        ctx.session.flush()
        action = ctx.session.get(ActionItem, note.action_item_id)
        if action is not None:
            ctx.session.delete(action)
    return Reply(sections=[ctx.markup.render("meetings/minutes_undone.j2", kind=str(note.kind), text=note.text)],
                 ephemeral=True)


# -- action items ----------------------------------------------------------------------------


def tell_owners(session: Session, group: Group, actions: list[ActionItem], key: str, meeting: str = "") -> int:
    """Send each owner a direct message with the actions someone else gave them; how many were queued.

    Actions people took on themselves are left out. `key` names the occasion (the
    owner is added to it), so telling twice sends nothing twice.
    """
    given: dict[int, list[ActionItem]] = {}
    for action in actions:
        if action.owner_id != action.created_by_id:
            given.setdefault(action.owner_id, []).append(action)
    names = names_of(session, {a.created_by_id for a in actions})
    queued = 0
    for owner_id, theirs in given.items():
        values = [{"id": a.id, "text": a.text, "due": day_text(a.due) if a.due else "",
                   "by": names.get(a.created_by_id or 0, "")} for a in theirs]
        queued += enqueue_to_member(session, owner_id, f"{key}:{owner_id}",
                                    partial(_assigned, group=group.name, meeting=meeting, actions=values))
    return queued


def _assigned(m: Dialect, group: str, meeting: str, actions: Sequence[Mapping[str, object]]) -> Reply:
    """The direct message telling an owner which actions they were given."""
    return Reply(
        title="New action item for you" if len(actions) == 1 else "New action items for you",
        sections=[m.render("meetings/minutes_assigned.j2", group=group, meeting=meeting, actions=actions)],
        buttons=[Button(f"Done #{a['id']}", "action.done", str(a["id"])) for a in actions[:10]],
        context="All your open actions: /ci actions")



def list_actions(ctx: Context, _args: Args) -> Reply:
    """`/ci actions`: the caller's open action items, with a Done button each."""
    found = open_actions(ctx)
    if not found:
        return Reply(sections=[ctx.markup.escape("You have no open action items.")], ephemeral=True)
    found[0].ephemeral = True
    return found[0]


def open_actions(ctx: Context) -> list[Reply]:
    """The caller's open action items as one reply with Done buttons; empty when there are none.

    It is also a section of the member's home page.
    """
    member = ctx.require_member()
    actions = ctx.session.exec(select(ActionItem).where(ActionItem.owner_id == member.id,
                                                        ActionItem.status == ActionStatus.OPEN)
                               .order_by(col(ActionItem.id))).all()
    if not actions:
        return []
    groups = {g.id: g.name for g in ctx.session.exec(select(Group).where(
        col(Group.id).in_({a.group_id for a in actions}))).all()}
    today = to_local(ctx.now, tz_name(ctx)).date()
    text = ctx.markup.render("meetings/minutes_actions.j2", actions=[
        {"id": a.id, "text": a.text, "group": groups.get(a.group_id, ""),
         "due": day_text(a.due) if a.due else "", "overdue": bool(a.due and a.due < today)} for a in actions])
    return [Reply(title="Your open action items", sections=[text],
                  buttons=[Button(f"Done #{a.id}", "action.done", str(a.id)) for a in actions[:10]])]


def _finish(ctx: Context, value: str) -> Reply:
    member = ctx.require_member()
    number = parse_id(value, "action item", usage="See yours with /ci actions.")
    action = ctx.session.get(ActionItem, number)
    if action is None or action.initiative_id != (ctx.initiative.id if ctx.initiative else None):
        raise UserError(f"There is no action item #{number}.", usage="See yours with /ci actions.")
    group = ctx.session.get(Group, action.group_id)
    assert group is not None
    if action.owner_id != member.id and not is_chair_or_backbone(ctx, group):
        raise NotAllowed(f"Action #{action.id} belongs to someone else; its owner, the group's chair "
                        "or backbone staff can close it.")
    if action.status == ActionStatus.DONE:
        raise UserError(f"Action #{action.id} is already done.")
    action.status, action.done_at = ActionStatus.DONE, ctx.now
    return Reply(sections=[ctx.markup.render("meetings/minutes_action_done.j2", id=action.id, text=action.text)],
                 ephemeral=True)


def finish_action(ctx: Context, args: Args) -> Reply:
    """`/ci action done ID`: the action item is done."""
    return _finish(ctx, args.first("the action's id", "/ci action done ID"))


def finish_button(ctx: Context, value: str, _fields: dict[str, str]) -> Reply:
    """The Done button of `/ci actions`."""
    return _finish(ctx, value)


def show_minutes(ctx: Context, args: Args) -> Reply:
    """`/ci minutes [DATE]`: the kept minutes of the group's last ended meeting, or of the one on DATE."""
    ctx.require_member()
    group = which_group(ctx, args)
    require_in_group(ctx, group)
    query = select(Meeting).where(Meeting.group_id == group.id, Meeting.status == MeetingStatus.ENDED)
    if args.words:
        day = read_when(args.joined(), tz_name(ctx), ctx.now, what="the meeting's date").day
        rows = [m for m in ctx.session.exec(query).all() if to_local(m.starts_at, tz_name(ctx)).date() == day]
    else:
        rows = list(ctx.session.exec(query.order_by(col(Meeting.starts_at).desc()).limit(1)).all())
    if not rows:
        raise UserError(f"I have no minutes of the {group.name}"
                        + (f" from {args.joined()}." if args.words else " yet."))
    reply = minutes_reply(ctx.session, rows[0], ctx.markup)
    reply.ephemeral = True
    return reply
