"""Resolving a platform user and channel to a member, a group and an initiative."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, or_, select

from bot.core.context import Origin
from storage.models import ChannelBinding, Group, Initiative, Member, Membership, PlatformIdentity


@dataclass
class Identity:
    """What the core knows about the caller and the channel."""

    initiative: Initiative | None
    member: Member | None
    group: Group | None
    groups: dict[int, tuple[Group, str]]


def resolve(session: Session, origin: Origin) -> Identity:
    """Find the initiative, group and member behind `origin`.

    The channel's binding decides the initiative; a direct message falls back to the
    initiative the user is registered in (when that is unambiguous), and the local
    console falls back to the only initiative there is.
    """
    group = _bound_group(session, origin)
    initiative = session.get(Initiative, group.initiative_id) if group else None
    member = _member(session, origin, initiative.id if initiative else None)
    if initiative is None and member is not None:
        initiative = session.get(Initiative, member.initiative_id)
    if initiative is None and origin.platform == "console":
        only = session.exec(select(Initiative).limit(2)).all()
        initiative = only[0] if len(only) == 1 else None
    groups: dict[int, tuple[Group, str]] = {}
    if member is not None:
        rows = session.exec(
            select(Group, Membership.role)
            .join(Membership, Membership.group_id == Group.id)  # type: ignore[arg-type]
            .where(Membership.member_id == member.id, Group.active == True)  # noqa: E712
        ).all()
        groups = {g.id: (g, role) for g, role in rows if g.id is not None}
    return Identity(initiative, member, group, groups)


def _bound_group(session: Session, origin: Origin) -> Group | None:
    if not origin.channel_id:
        return None
    return session.exec(
        select(Group)
        .join(ChannelBinding, ChannelBinding.group_id == Group.id)  # type: ignore[arg-type]
        .where(
            ChannelBinding.platform == origin.platform,
            ChannelBinding.channel_id == origin.channel_id,
            or_(ChannelBinding.team_id == origin.team_id, ChannelBinding.team_id == ""),
        )
    ).first()


def _member(session: Session, origin: Origin, initiative_id: int | None) -> Member | None:
    query = (
        select(Member)
        .join(PlatformIdentity, PlatformIdentity.member_id == Member.id)  # type: ignore[arg-type]
        .where(
            PlatformIdentity.platform == origin.platform,
            PlatformIdentity.platform_user_id == origin.user_id,
            Member.active == True,  # noqa: E712
        )
    )
    if initiative_id is not None:
        query = query.where(Member.initiative_id == initiative_id)
    found = session.exec(query.limit(2)).all()
    return found[0] if len(found) == 1 else None
