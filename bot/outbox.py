"""Putting messages in the outbox: the only way jobs and flows make the bot speak on its own.

Every message carries a dedupe key naming what it is, for whom and which occurrence
(``reminder:meeting-42:24h``); writing the same key twice is a no-op, so a job that
runs twice, or two replicas racing, never produce a second message. Rows are written
in the caller's transaction and delivered later by `bot.dispatcher.Dispatcher`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from bot.core.delivery import Target
from bot.core.messages import Reply, reply_to_dict
from bot.core.render import Dialect, dialect
from storage.initiative import ChannelBinding, Platform, PlatformIdentity
from storage.outbox import OutboxMessage, OutboxStatus

Build = Callable[[Dialect], Reply]


def enqueue(
    session: Session, key: str, target: Target, reply: Reply, *, not_before: datetime | None = None
) -> bool:
    """Queue `reply` for `target` under dedupe `key`; False when that key was already queued.

    The row is inserted in the caller's transaction (it is sent only if that commits)
    with INSERT ... ON CONFLICT DO NOTHING, so concurrent writers of the same key never
    error. `not_before` holds the message back until that time.
    """
    values = {
        "key": key,
        "platform": target.platform,
        "team_id": target.team_id,
        "channel_id": target.channel_id,
        "user_id": target.user_id,
        "payload": json.dumps(reply_to_dict(reply), separators=(",", ":")),
        "status": OutboxStatus.PENDING,
    }
    if not_before is not None:
        values["next_attempt_at"] = not_before
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(table).values(**values).on_conflict_do_nothing(index_elements=["key"])
    return session.execute(statement.returning(table.c.id)).first() is not None


def enqueue_to_group(session: Session, group_id: int, key: str, build: Build) -> int:
    """Queue one message per channel the group is bound to, rendered for each platform.

    `build` is called with the platform's `Dialect` and returns the Reply; each
    message's key is `key` suffixed with ``@platform:channel``. Returns how many
    messages were newly queued.
    """
    bindings = session.exec(
        select(ChannelBinding).where(ChannelBinding.group_id == group_id).order_by(ChannelBinding.id)  # type: ignore[arg-type]
    ).all()
    queued = 0
    for binding in bindings:
        target = Target(str(binding.platform), team_id=binding.team_id, channel_id=binding.channel_id)
        reply = build(dialect(target.platform))
        queued += enqueue(session, f"{key}@{target.platform}:{binding.channel_id}", target, reply)
    return queued


def enqueue_to_member(session: Session, member_id: int, key: str, build: Build) -> int:
    """Queue a direct message to the member on every platform they have an identity on.

    The console identity is skipped (it has nobody to deliver to). Keys are suffixed
    with ``@platform:user``. Returns how many messages were newly queued.
    """
    identities = session.exec(
        select(PlatformIdentity)
        .where(PlatformIdentity.member_id == member_id, PlatformIdentity.platform != Platform.CONSOLE)
        .order_by(PlatformIdentity.id)  # type: ignore[arg-type]
    ).all()
    queued = 0
    for identity in identities:
        target = Target(str(identity.platform), user_id=identity.platform_user_id)
        reply = build(dialect(target.platform))
        queued += enqueue(session, f"{key}@{target.platform}:{identity.platform_user_id}", target, reply)
    return queued
