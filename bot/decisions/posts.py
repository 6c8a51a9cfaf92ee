"""A decision in its group's channel: the post with vote buttons, kept current, and the result.

The proposal is posted through the outbox (key ``decision:ID:post``). When the
count or status changes, the decision's `version` is bumped in the same
transaction; `refresh_posts` (run next to the dispatcher) then edits each sent
post once for the newest version through `Sender.update`. Many clicks in a burst
become one edit, and an edit that fails is simply retried on the next round.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.core.delivery import DeliveryFailed, RateLimited, Sender, Target
from bot.core.messages import Reply
from bot.core.registry import Registry, bot_session
from bot.decisions.audit_head import post_head
from bot.decisions.cards import proposal_card, result_card
from bot.decisions.tally import Tally
from bot.runtime.backoff import Backoff
from bot.runtime.outbox import enqueue_to_group
from storage.db import session_scope, unreachable
from storage.decisions import Decision
from storage.ids import id_of
from storage.outbox import OutboxMessage, OutboxStatus

log = logging.getLogger(__name__)


def post_key(decision: Decision) -> str:
    """The outbox key prefix of a decision's channel post."""
    return f"decision:{decision.id}:post"


def announce(session: Session, decision: Decision) -> int:
    """Queue the proposal post for every channel of the deciding group."""
    return enqueue_to_group(session, decision.group_id, post_key(decision),
                            lambda m: proposal_card(session, m, decision))


def refresh(session: Session, decision: Decision) -> None:
    """Mark the channel post as out of date, so `refresh_posts` edits it."""
    decision.version += 1
    session.add(decision)


def closed(session: Session, decision: Decision, result: Tally) -> None:
    """Post the result of a closed vote, mark the proposal post (buttons gone) for an edit, post the audit head."""
    enqueue_to_group(session, decision.group_id, f"decision:{decision.id}:result",
                     lambda m: result_card(session, m, decision, result))
    refresh(session, decision)
    post_head(session)


@dataclass
class _Edit:
    decision_id: int
    version: int
    edits: list[tuple[Target, str, Reply]]
    complete: bool  # every post of the decision has been sent (none pending)


def _stale(engine: Engine, registry: Registry, limit: int, platforms: set[str]) -> list[_Edit]:
    """Decisions whose posts show an old version, with the edits due on `platforms`.

    A post still waiting in the outbox holds the decision back (it is edited once
    sent), but only on a platform served here: a post no sender will deliver must
    not keep the others being edited forever.
    """
    with bot_session(engine, registry) as session:
        stale = session.exec(select(Decision).where(Decision.version != Decision.shown_version)
                             .order_by(col(Decision.id)).limit(limit)).all()
        found: list[_Edit] = []
        for decision in stale:
            rows = session.exec(select(OutboxMessage).where(
                col(OutboxMessage.key).startswith(post_key(decision) + "@"))).all()
            sent = [row for row in rows if row.platform in platforms and row.status == OutboxStatus.SENT
                    and row.message_id]
            cards = {platform: proposal_card(session, registry.dialect_for(platform), decision)  # one per platform
                     for platform in {row.platform for row in sent}}
            edits = [(Target(row.platform, row.team_id, row.channel_id, row.user_id), row.message_id,
                      cards[row.platform]) for row in sent]
            pending = any(row.platform in platforms and row.status in (OutboxStatus.PENDING, OutboxStatus.SENDING)
                          for row in rows)
            found.append(_Edit(id_of(decision), decision.version, edits, not pending))
        return found


def _shown(engine: Engine, decision_id: int, version: int) -> None:
    with session_scope(engine) as session:
        table = Decision.__table__  # type: ignore[attr-defined]
        session.execute(update(table).where(table.c.id == decision_id, table.c.shown_version < version)
                        .values(shown_version=version))


async def refresh_posts(engine: Engine, registry: Registry, senders: dict[str, Sender], *, limit: int = 20) -> int:
    """Edit the channel posts of decisions whose count or status changed; returns how many posts were edited.

    Safe to run on several replicas and to repeat: an edit replaces the whole
    message with the current card, and a decision counts as shown only once all
    its posts were edited for that version.
    """
    edited = 0
    for item in await asyncio.to_thread(_stale, engine, registry, limit, set(senders)):
        ok = item.complete
        for target, message_id, reply in item.edits:
            try:
                await senders[target.platform].update(target, message_id, reply)
                edited += 1
            except RateLimited:
                ok = False
            except DeliveryFailed:
                log.warning("the post of decision %s on %s cannot be edited any more", item.decision_id,
                            target.platform)
            except Exception:
                log.exception("could not edit the post of decision %s on %s", item.decision_id, target.platform)
                ok = False
        if ok:
            await asyncio.to_thread(_shown, engine, item.decision_id, item.version)
    return edited


async def keep_posts_fresh(engine: Engine, registry: Registry, senders: dict[str, Sender],
                           interval: float = 2.0) -> None:
    """Run `refresh_posts` every `interval` seconds until cancelled (on the dispatcher's replica).

    While the database is unreachable it backs off (one warning per outage) and resumes.
    """
    backoff = Backoff("decision post refresh")
    while True:
        delay = interval
        try:
            await refresh_posts(engine, registry, senders)
            backoff.succeeded()
        except Exception as exc:
            if unreachable(exc):
                delay = max(interval, backoff.failed(exc))
            else:
                log.exception("refreshing decision posts failed")
        await asyncio.sleep(delay)
