"""Putting messages in the outbox: the only way jobs and flows make the bot speak on its own.

Every message carries a dedupe key naming what it is, for whom and which occurrence
(``reminder:meeting-42:24h``); writing the same key twice is a no-op, so a job that
runs twice, or two replicas racing, never produce a second message. Rows are written
in the caller's transaction and delivered later by `bot.runtime.dispatcher.Dispatcher`.
Delivered (and failed) messages are kept `RETENTION` for looking into what was sent,
then `purge` deletes them; no job re-queues a key that old, so dedupe is unaffected.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from bot.core.delivery import Target
from bot.core.messages import Reply, reply_to_dict
from bot.core.registry import Registry, registry_of
from bot.core.render import Dialect
from storage.initiative import ChannelBinding, Platform, PlatformIdentity
from storage.outbox import OutboxMessage, OutboxStatus

Build = Callable[[Dialect], Reply]
RETENTION = timedelta(days=90)
PURGE_EVERY = timedelta(hours=6)
PURGE_BATCH = 10_000


def enqueue(
    session: Session, key: str, target: Target, reply: Reply, *, not_before: datetime | None = None
) -> bool:
    """Queue `reply` for `target` under dedupe `key`; False when that key was already queued.

    The row is inserted in the caller's transaction (it is sent only if that commits)
    with INSERT ... ON CONFLICT DO NOTHING, so concurrent writers of the same key never
    error. `not_before` holds the message back until that time.
    """
    values: dict[str, object] = {
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


def enqueue_to_group(session: Session, group_id: int, key: str, build: Build, *,
                     not_before: datetime | None = None) -> int:
    """Queue one message per channel the group is bound to, rendered for each platform.

    `build` is called once per platform with its `Dialect` and returns the Reply; each
    message's key is `key` suffixed with ``@platform:channel``; `not_before` holds
    them back until then. Returns how many messages were newly queued.
    """
    bindings = session.exec(
        select(ChannelBinding).where(ChannelBinding.group_id == group_id).order_by(col(ChannelBinding.id))
    ).all()
    replies: dict[str, Reply] = {}
    queued = 0
    for binding in bindings:
        target = Target(str(binding.platform), team_id=binding.team_id, channel_id=binding.channel_id)
        if target.platform not in replies:
            replies[target.platform] = build(registry_of(session).dialect_for(target.platform))
        reply = replies[target.platform]
        queued += enqueue(session, f"{key}@{target.platform}:{binding.channel_id}", target, reply,
                          not_before=not_before)
    return queued


def enqueue_to_member(session: Session, member_id: int, key: str, build: Build, *,
                      not_before: datetime | None = None) -> int:
    """Queue a direct message to the member on every platform they have an identity on.

    The console identity is skipped (it has nobody to deliver to). Keys are suffixed
    with ``@platform:user``; `not_before` holds them back until then. Returns how many
    messages were newly queued.
    """
    identities = session.exec(
        select(PlatformIdentity)
        .where(PlatformIdentity.member_id == member_id, PlatformIdentity.platform != Platform.CONSOLE)
        .order_by(col(PlatformIdentity.id))
    ).all()
    queued = 0
    for identity in identities:
        target = Target(str(identity.platform), user_id=identity.platform_user_id)
        reply = build(registry_of(session).dialect_for(target.platform))
        queued += enqueue(session, f"{key}@{target.platform}:{identity.platform_user_id}", target, reply,
                          not_before=not_before)
    return queued


def register(registry: Registry) -> None:
    """Name the `purge` job and run it every `PURGE_EVERY`."""
    registry.job("outbox.purge", purge)
    registry.periodic("outbox:purge", PURGE_EVERY, "outbox.purge", days=RETENTION.days)


def purge(session: Session, now: datetime, days: float = RETENTION.days) -> int:
    """Delete up to `PURGE_BATCH` sent or failed messages queued more than `days` ago; how many.

    Pending and in-doubt (``sending``) messages are never touched. A large backlog goes
    in batches over several runs, so no run holds a long transaction.
    """
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    old = (select(table.c.id).where(table.c.status.in_([OutboxStatus.SENT, OutboxStatus.FAILED]),
                                    table.c.created_at < now - timedelta(days=days))
           .order_by(table.c.id).limit(PURGE_BATCH))
    ids = [row[0] for row in session.execute(old).all()]
    if ids:
        session.execute(delete(table).where(table.c.id.in_(ids)))
    return len(ids)
