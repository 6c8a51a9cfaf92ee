"""Putting messages in the outbox: the only way jobs and flows make the bot speak on its own.

Every message carries a dedupe key naming what it is, for whom and which occurrence
(``reminder:meeting-42:24h``); writing the same key twice is a no-op, so a job that
runs twice, or two replicas racing, never produce a second message. Rows are written
in the caller's transaction and delivered later by `bot.runtime.dispatcher.Dispatcher`.
Delivered (and failed) messages are kept `RETENTION` for looking into what was sent,
then `purge` deletes them; no job re-queues a key that old, so dedupe is unaffected.

Messages for a platform this deployment does not serve (an initiative binds Discord
channels, `cibot serve --platform slack` runs) would wait forever: `unserved` reports
them when the bot starts, and the purge job fails them after `abandon_days()` with a
reason (`abandon`). Operators look and act with `cibot outbox status|list|retry|drop`.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.core.delivery import Target
from bot.core.messages import Reply, reply_to_dict
from bot.core.registry import Registry, registry_of
from bot.core.render import Dialect
from bot.runtime import mail
from storage.initiative import ChannelBinding, Membership, Platform, PlatformIdentity
from storage.outbox import OutboxMessage, OutboxStatus
from storage.types import utcnow

log = logging.getLogger(__name__)
Build = Callable[[Dialect], Reply]
RETENTION = timedelta(days=90)
PURGE_EVERY = timedelta(hours=6)
PURGE_BATCH = 10_000
ABANDON_DAYS_VARIABLE = "CIBOT_OUTBOX_ABANDON_DAYS"
DEFAULT_ABANDON_DAYS = 7.0
DROPPED = "dropped by operator"


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
    them back until then. The group's members who read this kind of message by email
    get it there too (`enqueue_emails`). Returns how many messages were newly queued.
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
    if mail.kind_of(key) is None:
        return queued
    members = session.exec(select(Membership.member_id).where(Membership.group_id == group_id)).all()
    return queued + enqueue_emails(session, members, key, build, not_before=not_before)


def enqueue_to_member(session: Session, member_id: int, key: str, build: Build, *,
                      not_before: datetime | None = None) -> int:
    """Queue a direct message to the member on every platform they have an identity on.

    The console identity is skipped (it has nobody to deliver to); a member who reads
    this kind of message by email gets it there (`enqueue_emails`). Keys are suffixed
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
    return queued + enqueue_emails(session, [member_id], key, build, not_before=not_before)


def enqueue_emails(session: Session, member_ids: Collection[int], key: str, build: Build, *,
                   not_before: datetime | None = None) -> int:
    """Queue an email to each of `member_ids` who gets this kind of message by email (see `bot.runtime.mail`).

    Only reminders, data prompts and digests go by email; keys are suffixed with
    ``@email:MEMBER_ID``. Returns how many were newly queued.
    """
    kind = mail.kind_of(key)
    if kind is None:
        return 0
    members = mail.recipients(session, member_ids, kind)
    if not members:
        return 0
    reply = build(registry_of(session).dialect_for(mail.PLATFORM))
    return sum(enqueue(session, f"{key}@{mail.PLATFORM}:{member.id}", Target(mail.PLATFORM, user_id=str(member.id)),
                       reply, not_before=not_before) for member in members)


def register(registry: Registry) -> None:
    """Name the `purge` job and run it every `PURGE_EVERY`."""
    registry.job("outbox.purge", purge)
    registry.periodic("outbox:purge", PURGE_EVERY, "outbox.purge", days=RETENTION.days)


def purge(session: Session, now: datetime, days: float = RETENTION.days) -> int:
    """Delete up to `PURGE_BATCH` sent or failed messages queued more than `days` ago; how many.

    Pending and in-doubt (``sending``) messages are never deleted. A large backlog goes
    in batches over several runs, so no run holds a long transaction. Pending messages
    of platforms nobody serves are failed (`abandon`); like those an operator dropped,
    they are kept `days` from then (their `next_attempt_at`), not from when they were queued.
    """
    abandon(session, now, abandon_days())
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    old = (select(table.c.id).where(table.c.status.in_([OutboxStatus.SENT, OutboxStatus.FAILED]),
                                    table.c.created_at < now - timedelta(days=days),
                                    func.coalesce(table.c.next_attempt_at, table.c.created_at)
                                    < now - timedelta(days=days))
           .order_by(table.c.id).limit(PURGE_BATCH))
    ids = [row[0] for row in session.execute(old).all()]
    if ids:
        session.execute(delete(table).where(table.c.id.in_(ids)))
    return len(ids)


# -- platforms nobody serves ---------------------------------------------------------------------


def abandon_days(env: Mapping[str, str] = os.environ) -> float:
    """Days after which pending messages of an unserved platform are failed (CIBOT_OUTBOX_ABANDON_DAYS, default 7)."""
    text = env.get("CIBOT_OUTBOX_ABANDON_DAYS", "").strip()
    if not text:
        return DEFAULT_ABANDON_DAYS
    try:
        days = float(text)
    except ValueError:
        days = 0.0
    if days <= 0:
        log.warning("%s=%r is not a positive number of days; using %g", ABANDON_DAYS_VARIABLE, text,
                    DEFAULT_ABANDON_DAYS)
        return DEFAULT_ABANDON_DAYS
    return days


def abandon(session: Session, now: datetime, days: float) -> dict[str, int]:
    """Fail the pending messages of platforms nobody has served for `days`; how many, by platform.

    The rule: a message is abandoned when it has been due for more than `days` (since
    it was queued, or since the time it was held back to) and no dispatcher has claimed
    any message of its platform in those `days`. A platform whose dispatcher runs claims
    its messages within seconds, so its messages are never touched, however old (one
    held back by a long 429 or backoff included); a message younger than `days` is
    never touched either, so a platform that was only down for a while loses nothing.
    Each failed message says why in its last error, and the purge logs the counts.
    """
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    since = now - timedelta(days=days)
    due_since = func.coalesce(table.c.next_attempt_at, table.c.created_at)
    stale = session.execute(select(table.c.platform, func.count()).where(
        table.c.status == OutboxStatus.PENDING, due_since < since).group_by(table.c.platform)).all()
    failed: dict[str, int] = {}
    for platform, _count in stale:
        served = session.execute(select(table.c.id).where(table.c.platform == platform,
                                                          table.c.claimed_at >= since).limit(1)).first()
        if served is not None:
            continue
        reason = (f"abandoned: no {platform} dispatcher claimed any message for {days:g} days "
                  f"(is `cibot serve --platform` serving {platform}?)")
        result = session.connection().execute(update(table).where(
            table.c.platform == platform, table.c.status == OutboxStatus.PENDING, due_since < since,
        ).values(status=OutboxStatus.FAILED, last_error=reason, next_attempt_at=now))
        failed[platform] = result.rowcount
        log.warning("outbox: failed %d %s message(s) waiting more than %g days; no %s dispatcher claimed any "
                    "message meanwhile (serve %s, or see `cibot outbox list`)", result.rowcount, platform, days,
                    platform, platform)
    return failed


def unserved(engine: Engine, served: Collection[str]) -> dict[str, int]:
    """Log each platform the initiative uses that this bot does not serve, with how many messages wait for it.

    A platform is "used" when a group is bound to one of its channels or a message
    waits for it. Called by `cibot serve` at start; returns the waiting counts by platform.
    """
    try:
        with Session(engine) as session:
            bound = set(session.exec(select(ChannelBinding.platform).distinct()).all())
            waiting = {platform: count for platform, (count, _age) in pending_by_platform(session, utcnow()).items()}
    except Exception as exc:  # a report, not a reason to stop the bot
        log.warning("could not check the outbox for platforms not served: %r", exc)
        return {}
    found: dict[str, int] = {}
    for platform in sorted({str(p) for p in bound} | set(waiting)):
        if platform in served or platform == Platform.CONSOLE:
            continue
        found[platform] = int(waiting.get(platform, 0))
        log.warning("%s is bound in the initiative but not served (--platform %s): %d outbox message(s) wait "
                    "for it and are failed after %g days unless a %s dispatcher runs", platform,
                    ",".join(served) or "none", found[platform], abandon_days(), platform)
    return found


# -- for operators: cibot outbox ---------------------------------------------------------------------


@dataclass(frozen=True)
class Listed:
    """One outbox message as `cibot outbox list` shows it (never its body)."""

    id: int
    key: str
    platform: str
    target: str
    status: str
    failures: int
    last_error: str
    created_at: datetime


def status_counts(session: Session) -> dict[str, dict[str, int]]:
    """Message counts by platform, then by status."""
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    counts: dict[str, dict[str, int]] = {}
    for platform, status, count in session.execute(
            select(table.c.platform, table.c.status, func.count()).group_by(table.c.platform, table.c.status)):
        counts.setdefault(platform, {})[str(status)] = int(count)
    return counts


def newest(session: Session, limit: int = 20, *, status: str = "", platform: str = "") -> list[Listed]:
    """The newest `limit` messages (optionally of one status or platform), newest first, without bodies."""
    query = select(OutboxMessage)
    if status:
        query = query.where(OutboxMessage.status == status)
    if platform:
        query = query.where(OutboxMessage.platform == platform)
    rows = session.exec(query.order_by(col(OutboxMessage.id).desc()).limit(limit)).all()
    return [Listed(m.id or 0, m.key, m.platform,
                   f"{m.team_id}/{m.channel_id}".lstrip("/") if m.channel_id else f"@{m.user_id}",
                   str(m.status), m.failures, m.last_error, m.created_at) for m in rows]


class OutboxError(Exception):
    """An operator's request about the outbox cannot be done; the message says why."""


def retry(session: Session, message_id: int | None = None) -> int:
    """Put one failed (or pending) message, or every failed one when `message_id` is None, back to pending now.

    Its failure count and error are cleared. Sent messages and those being sent are
    refused. Returns how many messages were put back.
    """
    values = {"status": OutboxStatus.PENDING, "failures": 0, "next_attempt_at": None, "claim": "",
              "last_error": ""}
    if message_id is None:
        table = OutboxMessage.__table__  # type: ignore[attr-defined]
        result = session.connection().execute(update(table).where(table.c.status == OutboxStatus.FAILED)
                                              .values(**values))
        return int(result.rowcount)
    message = _one(session, message_id, (OutboxStatus.FAILED, OutboxStatus.PENDING), "retried")
    for name, value in values.items():
        setattr(message, name, value)
    return 1


def drop(session: Session, message_id: int) -> None:
    """Mark a pending or failed message failed with the reason "dropped by operator", so it is never sent."""
    message = _one(session, message_id, (OutboxStatus.FAILED, OutboxStatus.PENDING), "dropped")
    message.status, message.last_error, message.next_attempt_at = OutboxStatus.FAILED, DROPPED, utcnow()


def _one(session: Session, message_id: int, allowed: tuple[OutboxStatus, ...], verb: str) -> OutboxMessage:
    message = session.get(OutboxMessage, message_id)
    if message is None:
        raise OutboxError(f"there is no outbox message {message_id}; `cibot outbox list` shows their ids")
    if message.status not in allowed:
        why = ("it was sent" if message.status == OutboxStatus.SENT else
               "it is being sent (a dispatcher holds it; if that dispatcher died, the next one checks it with "
               "the platform)")
        raise OutboxError(f"outbox message {message_id} cannot be {verb}: {why}")
    return message


def pending_by_platform(session: Session, now: datetime) -> dict[str, tuple[int, float]]:
    """Per platform: how many messages wait to be sent, and how many seconds the oldest has waited."""
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    rows = session.execute(select(table.c.platform, func.count(), func.min(table.c.created_at))
                           .where(table.c.status == OutboxStatus.PENDING).group_by(table.c.platform)).all()
    return {str(platform): (int(count), max(0.0, (now - oldest).total_seconds())) for platform, count, oldest in rows}
