"""Agenda commands: members propose items, the backbone curates them.

`/ci agenda add TEXT` puts an item on the draft of the group's next meeting; `/ci
agenda` shows that draft privately, with Accept / Defer / Remove buttons for the
backbone. The posted agenda itself is built in `bot.meetings.agenda`.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session, func, select

from bot.core.args import Args, parse_id
from bot.core.context import Context
from bot.core.errors import UserError
from bot.core.members import find_member
from bot.core.messages import Button, ButtonStyle, Reply
from bot.core.registry import Access, Registry
from bot.core.time import moment_text
from bot.meetings import series
from bot.meetings.agenda import actions_section, item_values, items_of, names_of, people_of, view_of
from bot.meetings.commands import require_in_group, tz_name, which_group
from storage.meetings import AgendaItem, ItemKind, ItemStatus, Meeting
from storage.models import Group

ADD_USAGE = ("/ci agenda add TEXT [--kind decision|discussion|report|info] [--minutes N] [--presenter @MEMBER] "
             "[--group KEY], e.g. /ci agenda add Review Q1 attendance data --kind discussion --minutes 15 "
             "--presenter @tom")
MAX_ITEM = 1000
MAX_BUTTON_ITEMS = 5
SEE_IDS = "See the ids with /ci agenda."


def register(registry: Registry) -> None:
    """Add the agenda commands and the curation buttons."""
    registry.command("agenda add", add_item, access=Access.GROUP, usage=ADD_USAGE,
                     options=("kind", "minutes", "presenter", "group"),
                     summary="Propose an item for your group's next meeting.")
    registry.command("agenda", show_draft, access=Access.IN_GROUP, usage="/ci agenda [--group KEY]", options=("group",),
                     summary="The draft agenda of your group's next meeting (only you see it).")
    for verb, status, summary in (("accept", ItemStatus.ACCEPTED, "Accept an item onto the agenda."),
                                  ("defer", ItemStatus.DEFERRED, "Defer an item to a later meeting."),
                                  ("done", ItemStatus.DONE, "Mark an item as dealt with.")):
        registry.command(f"agenda {verb}", _command_setting(status), access=Access.BACKBONE,
                         usage=f"/ci agenda {verb} ID", summary=summary)
        registry.action(f"agenda.{verb}", _button_setting(status), access=Access.BACKBONE)
    registry.command("agenda remove", remove_item, access=Access.BACKBONE, usage="/ci agenda remove ID",
                     summary="Take an item off the agenda.")
    registry.action("agenda.remove", remove_button, access=Access.BACKBONE)
    registry.command("agenda order", order_items, access=Access.BACKBONE, usage="/ci agenda order ID ID ...",
                     summary="Put agenda items in this order (others follow).")
    registry.action("agenda.up", move_up, access=Access.BACKBONE)


# -- proposing -------------------------------------------------------------------------------


def add_item(ctx: Context, args: Args) -> Reply:
    """`/ci agenda add TEXT`: a proposed item on the draft of the group's next meeting."""
    member = ctx.require_member()
    group = which_group(ctx, args)
    require_in_group(ctx, group)
    text = args.joined().strip()
    if not text:
        raise UserError("Please say what the item is about.", usage=ADD_USAGE)
    if len(text) > MAX_ITEM:
        raise UserError(f"That item is {len(text)} characters long; the limit is {MAX_ITEM}.", usage=ADD_USAGE)
    kind = _kind(args.options.get("kind", "discussion"))
    minutes = _timebox(args.options.get("minutes"))
    presenter = find_member(ctx, args.options["presenter"], usage=ADD_USAGE) if "presenter" in args.options else None
    occurrence = series.next_for_group(ctx.session, group.id or 0, ctx.now)
    if occurrence is None:
        raise UserError(f"The {group.name} has no meeting coming up to put this on.")
    meeting = series.meeting_row(ctx.session, occurrence)
    item = AgendaItem(meeting_id=meeting.id or 0, text=text, kind=kind, timebox_minutes=minutes,
                      proposer_id=member.id, presenter_id=presenter.id if presenter else None,
                      position=_next_position(ctx.session, meeting.id or 0))
    ctx.session.add(item)
    ctx.session.flush()
    return Reply(sections=[ctx.markup.render(
        "meetings/agenda_added.j2", id=item.id, text=text, group=group.name, kind=str(kind), minutes=minutes,
        presenter=presenter.name if presenter else "",
        at=moment_text(occurrence.starts_at, tz_name(ctx)), timezone=tz_name(ctx))], ephemeral=True)


def _kind(text: str) -> ItemKind:
    try:
        return ItemKind(text.lower())
    except ValueError as exc:
        kinds = "|".join(k.value for k in ItemKind)
        raise UserError(f"“{text}” is not a kind of item; use --kind {kinds}.", usage=ADD_USAGE) from exc


def _timebox(text: str | None) -> int | None:
    if text is None:
        return None
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 240:
        raise UserError(f"--minutes must be a whole number from 1 to 240, not “{text}”.", usage=ADD_USAGE)
    return int(text)


def _next_position(session: Session, meeting_id: int) -> int:
    highest = session.exec(select(func.max(AgendaItem.position)).where(AgendaItem.meeting_id == meeting_id)).one()
    return (highest or 0) + 1


# -- the draft -------------------------------------------------------------------------------


def show_draft(ctx: Context, args: Args) -> Reply:
    """`/ci agenda`: the draft of the group's next meeting, privately, with curation buttons for the backbone."""
    ctx.require_member()
    group = which_group(ctx, args)
    require_in_group(ctx, group)
    return _draft_reply(ctx, group)


def _draft_reply(ctx: Context, group: Group) -> Reply:
    occurrence = series.next_for_group(ctx.session, group.id or 0, ctx.now)
    if occurrence is None:
        raise UserError(f"The {group.name} has no meeting coming up.")
    items = items_of(ctx.session, occurrence.meeting.id or 0) if occurrence.meeting else []
    names = names_of(ctx.session, people_of(items))
    buckets = {status: [i for i in items if i.status == status] for status in ItemStatus}
    text = ctx.markup.render("meetings/agenda_draft.j2", group=group.name, title=occurrence.cadence.title,
                             at=moment_text(occurrence.starts_at, tz_name(ctx)), timezone=tz_name(ctx),
                             buckets={str(k): [item_values(i, names) for i in v] for k, v in buckets.items()})
    buttons: list[Button] = []
    if ctx.is_backbone():
        for item in buckets[ItemStatus.PROPOSED][:MAX_BUTTON_ITEMS]:
            buttons += [Button(f"Accept #{item.id}", "agenda.accept", str(item.id), ButtonStyle.PRIMARY),
                        Button(f"Defer #{item.id}", "agenda.defer", str(item.id)),
                        Button(f"Remove #{item.id}", "agenda.remove", str(item.id), ButtonStyle.DANGER)]
        buttons += [Button(f"Up #{item.id}", "agenda.up", str(item.id))
                    for item in buckets[ItemStatus.ACCEPTED][1:MAX_BUTTON_ITEMS + 1]]
    actions = actions_section(view_of(ctx.session, occurrence, group, ctx.markup, ctx.now))
    return Reply(title="Draft agenda", sections=[text, *([actions] if actions else [])], buttons=buttons,
                 ephemeral=True, context="Propose items with /ci agenda add TEXT.")


# -- curation --------------------------------------------------------------------------------


def _item(ctx: Context, value: str) -> tuple[AgendaItem, Meeting, Group]:
    initiative = ctx.require_initiative()
    number = parse_id(value, "agenda item", usage=SEE_IDS)
    item = ctx.session.get(AgendaItem, number)
    meeting = ctx.session.get(Meeting, item.meeting_id) if item else None
    group = ctx.session.get(Group, meeting.group_id) if meeting else None
    if item is None or meeting is None or group is None or group.initiative_id != initiative.id:
        raise UserError(f"There is no agenda item #{number}.", usage=SEE_IDS)
    return item, meeting, group


def _set_status(ctx: Context, value: str, status: ItemStatus) -> Reply:
    item, meeting, group = _item(ctx, value)
    item.status = status
    if status == ItemStatus.ACCEPTED:
        item.position = _next_position(ctx.session, meeting.id or 0)
    reply = _draft_reply(ctx, group)
    reply.sections.insert(0, ctx.markup.render("meetings/agenda_changed.j2", id=item.id, text=item.text,
                                               status=str(status)))
    return reply


def _command_setting(status: ItemStatus) -> Callable[[Context, Args], Reply]:
    def handler(ctx: Context, args: Args) -> Reply:
        return _set_status(ctx, args.first("the item's id", f"/ci agenda {status.value} ID"), status)
    return handler


def _button_setting(status: ItemStatus) -> Callable[[Context, str, dict[str, str]], Reply]:
    def handler(ctx: Context, value: str, _fields: dict[str, str]) -> Reply:
        return _set_status(ctx, value, status)
    return handler


def _remove(ctx: Context, value: str) -> Reply:
    item, _meeting, group = _item(ctx, value)
    for later in ctx.session.exec(select(AgendaItem).where(AgendaItem.carried_over_from_id == item.id)).all():
        later.carried_over_from_id = None
    ctx.session.delete(item)
    ctx.session.flush()
    reply = _draft_reply(ctx, group)
    reply.sections.insert(0, ctx.markup.render("meetings/agenda_changed.j2", id=item.id, text=item.text,
                                               status="removed"))
    return reply


def remove_item(ctx: Context, args: Args) -> Reply:
    """`/ci agenda remove ID`: the item leaves the agenda."""
    return _remove(ctx, args.first("the item's id", "/ci agenda remove ID"))


def remove_button(ctx: Context, value: str, _fields: dict[str, str]) -> Reply:
    """The Remove button of the draft."""
    return _remove(ctx, value)


def order_items(ctx: Context, args: Args) -> Reply:
    """`/ci agenda order ID ID ...`: these items first, in this order; the others keep theirs after them."""
    if not args.words:
        raise UserError("Please list item ids in the order you want.", usage="/ci agenda order 12 10 11")
    chosen = [_item(ctx, word) for word in args.words]
    meetings = {meeting.id for _, meeting, _group in chosen}
    if len(meetings) > 1:
        raise UserError("Those items belong to different meetings; order one meeting's items at a time.")
    first_ids = [item.id for item, _, _ in chosen]
    if len(set(first_ids)) != len(first_ids):
        raise UserError("An id appears twice in that order.")
    _, meeting, group = chosen[0]
    rest = [i for i in items_of(ctx.session, meeting.id or 0) if i.id not in first_ids]
    for position, item in enumerate([i for i, _, _ in chosen] + rest, start=1):
        item.position = position
    return _draft_reply(ctx, group)


def move_up(ctx: Context, value: str, _fields: dict[str, str]) -> Reply:
    """The Up button: the item swaps places with the accepted item before it."""
    item, meeting, group = _item(ctx, value)
    accepted = items_of(ctx.session, meeting.id or 0, ItemStatus.ACCEPTED)
    index = next((i for i, other in enumerate(accepted) if other.id == item.id), 0)
    if index > 0:
        accepted[index - 1], accepted[index] = accepted[index], accepted[index - 1]
        for position, other in enumerate(accepted, start=1):
            other.position = position
    return _draft_reply(ctx, group)

