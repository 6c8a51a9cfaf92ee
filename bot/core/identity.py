"""Resolving a platform user and channel to a member, a group and an initiative."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam
from sqlmodel import Session, col, or_, select

from bot.core.context import Origin
from storage.models import ChannelBinding, Group, Initiative, Member, Membership, PlatformIdentity


@dataclass
class Identity:
    """What the core knows about the caller and the channel."""

    initiative: Initiative | None
    member: Member | None
    group: Group | None
    groups: dict[int, tuple[Group, str]]
    elsewhere: tuple[str, ...] = ()  # the initiatives a user in several is in, when the channel does not say


def resolve(session: Session, origin: Origin, *, local: bool = False) -> Identity:
    """Find the initiative, group and member behind `origin`.

    The channel's binding decides the initiative; a direct message falls back to the
    initiative the user is registered in (when that is unambiguous), and a `local`
    session (the console) falls back to the only initiative there is. An origin that
    names an initiative (``cibot shell --initiative SLUG``) sees that initiative only.
    """
    group, initiative = _bound_group(session, origin)
    if origin.initiative:
        named = session.exec(select(Initiative).where(Initiative.slug == origin.initiative)).first()
        if named is None:
            return Identity(None, None, None, {})
        if initiative is not None and initiative.id != named.id:
            group = None  # a channel of another initiative
        initiative = named
    member, members_initiative = _member(session, origin, initiative.id if initiative else None)
    initiative = initiative or members_initiative
    elsewhere = () if member is not None or initiative is not None else _initiatives_of(session, origin)
    if initiative is None and local:
        only = session.exec(select(Initiative).limit(2)).all()
        initiative = only[0] if len(only) == 1 else None
    groups: dict[int, tuple[Group, str]] = {}
    if member is not None:
        rows = session.exec(_GROUPS, params={"member_id": member.id}).all()
        groups = {g.id: (g, role) for g, role in rows if g.id is not None}
    return Identity(initiative, member, group, groups, elsewhere)


# Every request runs these, so they are built once (with parameters) rather than per call.
_GROUPS = (
    select(Group, Membership.role)
    .join(Membership, col(Membership.group_id) == Group.id)
    .where(Membership.member_id == bindparam("member_id"), Group.active == True)  # noqa: E712
)
_BOUND_GROUP = (
    select(Group, Initiative)
    .join(ChannelBinding, col(ChannelBinding.group_id) == Group.id)
    .join(Initiative, col(Initiative.id) == Group.initiative_id)
    .where(
        ChannelBinding.platform == bindparam("platform"),
        ChannelBinding.channel_id == bindparam("channel_id"),
        or_(ChannelBinding.team_id == bindparam("team_id"), ChannelBinding.team_id == ""),
    )
    .limit(1)
)
_MEMBER = (
    select(Member, Initiative)
    .join(PlatformIdentity, col(PlatformIdentity.member_id) == Member.id)
    .join(Initiative, col(Initiative.id) == Member.initiative_id)
    .where(
        PlatformIdentity.platform == bindparam("platform"),
        PlatformIdentity.platform_user_id == bindparam("user_id"),
        Member.active == True,  # noqa: E712
    )
    .limit(2)
)
_MEMBER_IN = _MEMBER.where(Member.initiative_id == bindparam("initiative_id"))


def _bound_group(session: Session, origin: Origin) -> tuple[Group | None, Initiative | None]:
    """The group bound to the channel and its initiative, read together (or two Nones)."""
    if not origin.channel_id:
        return None, None
    found = session.exec(_BOUND_GROUP, params={
        "platform": origin.platform, "channel_id": origin.channel_id, "team_id": origin.team_id}).first()
    return (found[0], found[1]) if found is not None else (None, None)


def _member(session: Session, origin: Origin,
            initiative_id: int | None) -> tuple[Member | None, Initiative | None]:
    """The one active member behind the platform user, with their initiative (or two Nones).

    On email (and the web forms its signed links open) the member is known by id: the
    address lives on the member, and the signed link vouches for who they are.
    """
    if origin.platform == "email":
        member = session.get(Member, int(origin.user_id)) if origin.user_id.isdigit() else None
        if member is None or not member.active or initiative_id not in (None, member.initiative_id):
            return None, None
        return member, session.get(Initiative, member.initiative_id)
    params = {"platform": origin.platform, "user_id": origin.user_id, "initiative_id": initiative_id}
    found = session.exec(_MEMBER if initiative_id is None else _MEMBER_IN, params=params).all()
    return (found[0][0], found[0][1]) if len(found) == 1 else (None, None)


def _initiatives_of(session: Session, origin: Origin) -> tuple[str, ...]:
    """The names of the initiatives the platform user is an active member of, when more than one."""
    found = session.exec(_MEMBER.limit(None), params={"platform": origin.platform, "user_id": origin.user_id}).all()
    return tuple(sorted(initiative.name for _, initiative in found)) if len(found) > 1 else ()
