"""The agenda a meeting gets: its items, and the sections every capability adds to it.

`agenda_reply` renders the agenda that `bot.meetings.jobs` posts at the cadence's lead
time: every agenda section registered in the registry (``registry.agenda_section``), in
order. The meetings capability adds the meeting's facts, open actions, accepted and
carried-over items (see `register_sections`); shared measurement adds a progress
snapshot and decisions what is due. The agenda commands are in `agenda_commands`.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from bot.core.messages import Reply
from bot.core.notes import annotate
from bot.core.registry import AgendaView, Registry, registry_of
from bot.core.render import Dialect, Markup
from bot.core.time import day_text, moment_text
from bot.meetings import series
from storage.meetings import ActionItem, ActionStatus, AgendaItem, ItemStatus
from storage.models import Group, Member

FACTS, ACTIONS, ACCEPTED, CARRIED = 0, 30, 40, 50  # order of the meetings' own sections


def register_sections(registry: Registry) -> None:
    """Add the meetings' own agenda sections: facts first, then open actions, accepted and carried items."""
    registry.agenda_section("facts", facts_section, order=FACTS)
    registry.agenda_section("actions", actions_section, order=ACTIONS)
    registry.agenda_section("accepted", accepted_section, order=ACCEPTED)
    registry.agenda_section("carried", carried_section, order=CARRIED)


def items_of(session: Session, meeting_id: int, *statuses: ItemStatus) -> list[AgendaItem]:
    """The meeting's items with one of `statuses` (all when none given), in agenda order."""
    query = select(AgendaItem).where(AgendaItem.meeting_id == meeting_id)
    if statuses:
        query = query.where(col(AgendaItem.status).in_(statuses))
    return list(session.exec(query.order_by(col(AgendaItem.position), col(AgendaItem.id))).all())


def names_of(session: Session, member_ids: set[int | None]) -> dict[int, str]:
    """Member names by id."""
    ids = [m for m in member_ids if m is not None]
    if not ids:
        return {}
    return {m.id: m.name for m in session.exec(select(Member).where(col(Member.id).in_(ids))).all() if m.id}


def item_values(item: AgendaItem, names: dict[int, str]) -> dict[str, object]:
    """What the agenda templates show of one item."""
    return {"id": item.id, "text": item.text, "kind": str(item.kind), "minutes": item.timebox_minutes,
            "who": names.get(item.proposer_id or 0, ""), "presenter": names.get(item.presenter_id or 0, ""),
            "carried": item.carried_over_from_id is not None}


def people_of(items: list[AgendaItem]) -> set[int | None]:
    """The proposers and presenters of `items`, whose names the agenda shows."""
    return {i.proposer_id for i in items} | {i.presenter_id for i in items}


def facts_section(view: AgendaView) -> Markup:
    """When and where the meeting is, and how to send regrets."""
    cadence = view.cadence
    return view.markup.render("meetings/agenda_facts.j2", group=view.group.name, title=cadence.title,
                              at=moment_text(view.starts_at, cadence.timezone), timezone=cadence.timezone,
                              duration=series.show_offset(cadence.duration_minutes), place=cadence.place,
                              video=cadence.video_url)


def actions_section(view: AgendaView) -> Markup:
    """The group's open action items, oldest first."""
    actions = view.session.exec(select(ActionItem).where(
        ActionItem.group_id == view.group.id, ActionItem.status == ActionStatus.OPEN,
    ).order_by(col(ActionItem.id))).all()
    if not actions:
        return Markup()
    names = names_of(view.session, {a.owner_id for a in actions})
    return view.markup.render("meetings/agenda_actions.j2", actions=[
        {"id": a.id, "who": names.get(a.owner_id, ""), "text": a.text,
         "due": day_text(a.due) if a.due else "", "overdue": bool(a.due and a.due < view.now.date())}
        for a in actions])


def _items_section(view: AgendaView, carried: bool, template: str) -> Markup:
    if view.meeting is None:
        return Markup()
    items = [i for i in items_of(view.session, view.meeting.id or 0, ItemStatus.ACCEPTED)
             if (i.carried_over_from_id is not None) == carried]
    if not items:
        return Markup()
    names = names_of(view.session, people_of(items))
    return view.markup.render(template, items=[item_values(i, names) for i in items],
                              total=sum(i.timebox_minutes or 0 for i in items))


def accepted_section(view: AgendaView) -> Markup:
    """The accepted items with presenter and timebox, in order."""
    return _items_section(view, False, "meetings/agenda_items.j2")


def carried_section(view: AgendaView) -> Markup:
    """Accepted items carried over from the last meeting."""
    return _items_section(view, True, "meetings/agenda_carried.j2")


def view_of(session: Session, occurrence: series.Occurrence, group: Group, markup: Dialect,
            now: datetime) -> AgendaView:
    """What agenda sections get for `occurrence` of `group`'s series."""
    return AgendaView(session=session, group=group, cadence=occurrence.cadence, meeting=occurrence.meeting,
                      starts_at=occurrence.starts_at, markup=markup, now=now)


def agenda_reply(session: Session, occurrence: series.Occurrence, markup: Dialect, now: datetime) -> Reply:
    """The agenda of `occurrence` as posted to its group's channels: every non-empty registered section in order."""
    group = session.get(Group, occurrence.cadence.group_id)
    assert group is not None
    view = view_of(session, occurrence, group, markup, now)
    sections = [text for section in registry_of(session).ordered_agenda_sections() if (text := section(view))]
    reply = Reply(title=f"Agenda: {group.name}, {moment_text(occurrence.starts_at, occurrence.cadence.timezone)}",
                  sections=sections,
                  context="Propose items with /ci agenda add · send regrets with /ci regrets")
    return annotate(session, group.initiative_id, reply, markup, after=1)  # glossary notes, not on the facts
