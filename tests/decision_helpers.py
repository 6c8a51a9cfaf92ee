"""Helpers for the decision tests: clicking votes, reading the outbox, adding voters."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from bot.bootstrap import build_core
from bot.core.messages import Reply
from bot.decisions.cards import vote_buttons
from storage.db import session_scope
from storage.decisions import Decision
from storage.models import Member, Membership, Platform, PlatformIdentity, Role
from storage.outbox import OutboxMessage
from tests.chat import Chat, text_of
from tests.factories import Seeded
from tests.meeting_helpers import outbox


def vote(chat: Chat, who: str, decision: Decision, choice: str) -> Reply:
    """`who` clicks the `choice` button of `decision`."""
    button = next(b for b in vote_buttons(decision) if b.value.endswith(":" + choice))
    reply = chat.as_(who).click(button)
    assert isinstance(reply, Reply), text_of(reply)
    return reply


def posts_of(engine: Engine, prefix: str) -> list[OutboxMessage]:
    """Outbox messages on every platform whose key starts with `prefix`, in order."""
    return outbox(engine, prefix, platform=None)


def add_member(engine: Engine, cast: Seeded, key: str, organization: str, group: str, role: Role) -> int:
    """Add a member with a console identity `key` to `group` with `role`; returns the member id."""
    with session_scope(engine) as s:
        member = Member(initiative_id=cast.initiative_id, key=key, name=key.title(), organization=organization)
        s.add(member)
        s.flush()
        s.add(PlatformIdentity(initiative_id=cast.initiative_id, member_id=member.id,  # type: ignore[arg-type]
                               platform=Platform.CONSOLE, platform_user_id=key))
        s.add(Membership(member_id=member.id, group_id=cast.groups[group], role=role))  # type: ignore[arg-type]
        cast.members[key] = member.id  # type: ignore[assignment]
        return member.id  # type: ignore[return-value]


def chat_on(engine: Engine, platform: str, user: str, *, channel: str = "", team: str = "") -> Chat:
    """A conversation on `platform` as platform user `user` in `channel`."""
    return Chat(build_core(engine), platform=platform, user_id=user, channel_id=channel, team_id=team)
