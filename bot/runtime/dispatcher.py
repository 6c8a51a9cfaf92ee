"""The dispatcher: delivers the outbox to the platforms, fast, politely, and exactly once.

Each due message is claimed (status ``sending``, stamped with this dispatcher's
claim) before its platform is called, and marked ``sent`` with the platform's
message id after. A message found ``sending`` under another claim was left by a
process that died mid-send: the dispatcher asks the platform whether it has the
message's key, looking through the channel back to the moment the message was
claimed, and marks it sent or sends it again. So a crash loses nothing and sends
nothing twice. These look-ups run in the background, side by side across channels:
only the channel of an in-doubt message waits for its answer, new messages to
other channels go out meanwhile.

Traffic is shaped per platform (`Pace`): one channel gets at most one message per
`channel_interval`, one workspace at most `workspace_rate` messages per second (on
Slack a rate that adapts to the platform's answers, `AdaptiveRate`), while distinct
channels are served concurrently. A 429 pauses the channel and the workspace for its
Retry-After; other failures are retried with exponential backoff
until `max_failures`, then the message is marked failed with the error.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.engine import Engine

from bot.core import metrics
from bot.core.clock import Clock, SystemClock
from bot.core.delivery import DeliveryFailed, RateLimited, Sender, Target
from bot.core.messages import reply_from_dict
from bot.runtime.backoff import AdaptiveRate, Backoff
from storage.db import unreachable
from storage.outbox import OutboxMessage, OutboxStatus

log = logging.getLogger(__name__)
OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Pace:
    """How fast one platform accepts messages from the bot.

    `channel_interval`: seconds between two messages to the same channel or person.
    `workspace_rate`: messages per second across a workspace (0: no limit); the starting
    rate when `workspace_ceiling` is set.
    `per_bot`: the workspace limit is global to the bot (Discord), not per team.
    `workspace_ceiling`: when set, the workspace rate adapts to the platform's answers
    (`AdaptiveRate`: climbs while messages go through, drops on a 429) up to this.
    """

    channel_interval: float
    workspace_rate: float
    per_bot: bool = False
    workspace_ceiling: float = 0.0


# Slack: ~1 msg/s per channel, "several hundred per minute" per workspace, the real allowance
# varying by workspace and method: start at 5/s and find it.
# Discord: 5 msgs / 5 s per channel, 50 requests/s per bot.
PACES = {
    "slack": Pace(channel_interval=1.0, workspace_rate=5.0, workspace_ceiling=20.0),
    "discord": Pace(channel_interval=1.0, workspace_rate=40.0, per_bot=True),
    "email": Pace(channel_interval=0.0, workspace_rate=5.0, per_bot=True),  # one SMTP server: a few emails a second
}
UNLIMITED = Pace(channel_interval=0.0, workspace_rate=0.0)
BURST = 2.0  # sends of one workspace that may go back to back after the event loop was held up
LOOKUPS = 8  # in-doubt look-ups that may run at once (they have their own slots, never taking a send's)


@dataclass(frozen=True)
class _Claimed:
    id: int
    key: str
    target: Target
    failures: int
    claim: str
    payload: str = ""
    claimed_at: datetime | None = None

    @property
    def lane(self) -> tuple[str, str, str]:
        t = self.target
        return (t.platform, t.team_id, t.channel_id or "@" + t.user_id)


@dataclass(frozen=True)
class _Shaping:
    """A snapshot of the traffic shaping state, for choosing which messages to claim."""

    busy: frozenset[tuple[str, str, str]]
    lane_ready: dict[tuple[str, str, str], float]
    gate_slot: dict[tuple[str, ...], float]
    gate_paused: dict[tuple[str, ...], float]
    gate_rate: dict[tuple[str, ...], float]


class Dispatcher:
    """Sends pending outbox messages through the platform `senders` (keyed by platform)."""

    def __init__(
        self,
        engine: Engine,
        senders: dict[str, Sender],
        clock: Clock | None = None,
        *,
        paces: dict[str, Pace] | None = None,
        max_failures: int = 6,
        backoff: timedelta = timedelta(seconds=2),
        max_backoff: timedelta = timedelta(minutes=15),
        concurrency: int = 32,
        horizon: float = 2.0,
        poll_interval: float = 0.25,
        recover_interval: float = 30.0,
    ) -> None:
        self.engine = engine
        self.senders = senders
        self.clock = clock or SystemClock()
        self.paces = {**PACES, **(paces or {})}
        self.max_failures = max_failures
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.horizon = horizon
        self.poll_interval = poll_interval
        self.recover_interval = recover_interval
        self._claim = ""  # set afresh by each run or drain
        self._sending = asyncio.Semaphore(concurrency)
        self._max_claimed = concurrency * 8
        self._lane_ready: dict[tuple[str, str, str], float] = {}
        self._busy: set[tuple[str, str, str]] = set()
        self._checking: Counter[tuple[str, str, str]] = Counter()  # lanes with an in-doubt look-up under way
        self._looking = asyncio.Semaphore(LOOKUPS)
        self._recovery: asyncio.Task[None] | None = None
        self._gate_slot: dict[tuple[str, ...], float] = {}
        self._gate_paused: dict[tuple[str, ...], float] = {}
        self._gate_bucket: dict[tuple[str, ...], tuple[float, float]] = {}
        self._gate_rate: dict[tuple[str, ...], AdaptiveRate] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._outcomes: list[dict[str, Any]] = []
        self._flush_lock = asyncio.Lock()
        self.counts: Counter[str] = Counter()

    async def run(self) -> None:
        """Deliver messages as they fall due, until cancelled; outlive database outages.

        When the database cannot be reached, sends already under way finish, their
        outcomes are kept until they can be written, and the loop backs off
        (`Backoff`) and resumes. After an outage, once nothing is in flight, the
        dispatcher takes a new claim, so that a claim whose commit was lost with the
        connection is found in doubt by `recover` and checked with the platform.
        """
        loop = asyncio.get_running_loop()
        next_recovery = 0.0
        self._claim = uuid.uuid4().hex  # claims left by an earlier run of this instance are in doubt too
        backoff = Backoff("outbox dispatcher")
        renew_claim = False
        try:
            while True:
                try:
                    if renew_claim and not self._tasks and not self._outcomes:
                        self._claim, renew_claim, next_recovery = uuid.uuid4().hex, False, 0.0
                    if loop.time() >= next_recovery and self._recovered():
                        await self._recover_in_background()
                        next_recovery = loop.time() + self.recover_interval
                    if not renew_claim:
                        await self._fill()
                    await self._wait()
                    await self._flush()
                    backoff.succeeded()
                except Exception as exc:
                    if not unreachable(exc):
                        raise
                    renew_claim = True
                    await backoff.wait(exc)
        finally:
            await self._settle()

    async def drain(self) -> Counter[str]:
        """Deliver everything due now (waiting out pacing, not backoff); return counts by outcome.

        Counts: ``sent``, ``retry`` (rescheduled after an error or a 429), ``failed``,
        ``found`` (in-doubt messages the platform already had), ``resend``
        (in-doubt messages it did not have, sent again), ``doubt`` (failed sends the
        platform could not be asked about; settled by the next `recover`).
        """
        before = self.counts.copy()
        self._claim = uuid.uuid4().hex
        await self._recover_in_background()
        try:
            while True:
                claimed = await self._fill()
                if (not claimed and not self._tasks and self._recovered()
                        and not await asyncio.to_thread(self._any_due)):
                    break
                await self._wait()
                await self._flush()
        finally:
            await self._settle()
        return self.counts - before

    async def recover(self) -> None:
        """Settle messages left ``sending`` by a dead process: sent if the platform has their key, else resend.

        Each message is looked up in its channel back to when it was claimed, all
        channels at once (`LOOKUPS` at a time); while a channel's look-up runs, nothing
        new is sent to that channel, so its messages keep their order. Each answer is
        recorded as soon as it comes, so a slow channel does not hold up the others.
        """
        await self._recover_in_background()
        if self._recovery is not None:
            await self._recovery

    async def _recover_in_background(self) -> None:
        """Read the in-doubt messages, hold their channels, and start their look-ups beside the sending loop.

        Reading them is one query; the look-ups run in a task (`_recovery`), and a
        look-up that fails leaves its message in doubt for the next recovery.
        """
        rows = await asyncio.to_thread(self._in_doubt)
        for row in rows:
            self._checking[row.lane] += 1
        self._recovery = asyncio.create_task(self._look_up(rows))

    def _recovered(self) -> bool:
        """True when no background recovery is under way."""
        return self._recovery is None or self._recovery.done()

    async def _look_up(self, rows: list[_Claimed]) -> None:
        try:
            await asyncio.gather(*(self._settle_in_doubt(row) for row in rows))
        finally:
            for row in rows:
                self._checking[row.lane] -= 1
                if self._checking[row.lane] <= 0:
                    del self._checking[row.lane]

    async def _settle_in_doubt(self, row: _Claimed) -> None:
        outcome = await self._check(row)
        if outcome is None:
            return
        self._outcomes.append(outcome)
        try:
            await self._flush()
        except Exception as exc:  # kept for the sending loop's next flush
            log.warning("could not record the in-doubt message %s yet: %r", row.key, exc)

    async def _check(self, row: _Claimed) -> dict[str, Any] | None:
        try:
            async with self._looking:
                message_id = await self.senders[row.target.platform].find(row.target, row.key, since=row.claimed_at)
        except Exception as exc:  # the platform cannot tell yet: stay in doubt, ask again later
            log.warning("cannot check in-doubt message %s: %s", row.key, exc)
            return None
        if message_id is not None:
            self.counts["found"] += 1
            return self._sent(row, message_id)
        self.counts["resend"] += 1
        return {"kind": "resend", "b_id": row.id, "b_claim": row.claim}

    # -- claiming ---------------------------------------------------------------

    async def _fill(self) -> int:
        room = self._max_claimed - len(self._tasks)
        if room <= 0:
            return 0
        loop = asyncio.get_running_loop()
        self._lane_ready = {lane: t for lane, t in self._lane_ready.items() if t > loop.time()}
        claimed = await asyncio.to_thread(self._claim_due, room, loop.time(), _Shaping(
            frozenset(self._busy | set(self._checking)), dict(self._lane_ready), dict(self._gate_slot),
            dict(self._gate_paused), {gate: adaptive.rate for gate, adaptive in self._gate_rate.items()}))
        for row in claimed:
            self._busy.add(row.lane)
            task = asyncio.create_task(self._deliver(row))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(claimed)

    def _claim_due(self, room: int, at: float, shaping: _Shaping) -> list[_Claimed]:
        """Pick due messages, at most one per free channel and none beyond the horizon, and claim them."""
        now = self.clock.now()
        with self.engine.begin() as conn:
            candidates = conn.execute(
                select(OUTBOX.c.id, OUTBOX.c.platform, OUTBOX.c.team_id, OUTBOX.c.channel_id, OUTBOX.c.user_id)
                .where(OUTBOX.c.status == OutboxStatus.PENDING, self._due(now),
                       OUTBOX.c.platform.in_(list(self.senders)))
                .order_by(OUTBOX.c.id)
                .limit(max(room * 4, 1000))
            ).all()
            lanes: set[tuple[str, str, str]] = set()
            projected = shaping.gate_slot
            chosen: list[int] = []
            for id_, platform, team_id, channel_id, user_id in candidates:
                lane = (platform, team_id, channel_id or "@" + user_id)
                if lane in lanes or lane in shaping.busy or shaping.lane_ready.get(lane, 0.0) > at + self.horizon:
                    continue
                gate, pace = self._gate(platform, team_id), self._pace(platform)
                if pace.workspace_rate:
                    slot = max(at, projected.get(gate, 0.0), shaping.gate_paused.get(gate, 0.0))
                    if slot > at + self.horizon:
                        continue
                    projected[gate] = slot + 1 / shaping.gate_rate.get(gate, pace.workspace_rate)
                lanes.add(lane)
                chosen.append(id_)
                if len(chosen) >= room:
                    break
            if not chosen:
                return []
            rows = conn.execute(
                update(OUTBOX)
                .where(OUTBOX.c.id.in_(chosen), OUTBOX.c.status == OutboxStatus.PENDING)
                .values(status=OutboxStatus.SENDING, claim=self._claim, claimed_at=now)
                .returning(OUTBOX.c.id, OUTBOX.c.key, OUTBOX.c.platform, OUTBOX.c.team_id,
                           OUTBOX.c.channel_id, OUTBOX.c.user_id, OUTBOX.c.payload, OUTBOX.c.failures,
                           OUTBOX.c.claim, OUTBOX.c.claimed_at)
            ).all()
        return sorted((_row(r) for r in rows), key=lambda c: c.id)

    def _in_doubt(self) -> list[_Claimed]:
        """Messages ``sending`` under another dispatcher's claim: their sender died mid-send."""
        with self.engine.begin() as conn:
            rows = conn.execute(
                select(OUTBOX.c.id, OUTBOX.c.key, OUTBOX.c.platform, OUTBOX.c.team_id, OUTBOX.c.channel_id,
                       OUTBOX.c.user_id, OUTBOX.c.claim, OUTBOX.c.failures, OUTBOX.c.claimed_at)
                .where(OUTBOX.c.status == OutboxStatus.SENDING, OUTBOX.c.claim != self._claim,
                       OUTBOX.c.platform.in_(list(self.senders)))
                .order_by(OUTBOX.c.id)
            ).all()
        return [_row(r) for r in rows]

    def _any_due(self) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(
                select(OUTBOX.c.id)
                .where(OUTBOX.c.status == OutboxStatus.PENDING, self._due(self.clock.now()),
                       OUTBOX.c.platform.in_(list(self.senders)))
                .limit(1)
            ).first() is not None

    @staticmethod
    def _due(now: datetime) -> Any:
        return or_(OUTBOX.c.next_attempt_at.is_(None), OUTBOX.c.next_attempt_at <= now)

    # -- sending ----------------------------------------------------------------

    async def _deliver(self, row: _Claimed) -> None:
        loop = asyncio.get_running_loop()
        pace = self._pace(row.target.platform)
        gate = self._gate(row.target.platform, row.target.team_id)
        try:
            await self._turn(row, pace, gate)
            async with self._sending:
                message_id = await self.senders[row.target.platform].send(
                    row.target, reply_from_dict(json.loads(row.payload)), key=row.key)
            self.counts["sent"] += 1
            metrics.SENDS.labels(platform=row.target.platform, status="sent").inc()
            if adaptive := self._adaptive(gate, pace):
                adaptive.accepted()
            outcome = self._sent(row, message_id)
        except RateLimited as exc:
            metrics.RATE_LIMITED.labels(platform=row.target.platform).inc()
            resume = loop.time() + exc.retry_after
            if adaptive := self._adaptive(gate, pace):
                resume = adaptive.refused(loop.time(), exc.retry_after)
            self._lane_ready[row.lane] = resume
            self._gate_paused[gate] = max(self._gate_paused.get(gate, 0.0), resume)
            self.counts["retry"] += 1
            outcome = self._retry(row, row.failures, timedelta(seconds=exc.retry_after), str(exc))
        except DeliveryFailed as exc:
            metrics.SENDS.labels(platform=row.target.platform, status="failed").inc()
            outcome = self._failed(row, str(exc))
        except Exception as exc:
            metrics.SENDS.labels(platform=row.target.platform, status="in_doubt").inc()
            outcome = await self._after_error(row, exc)
        finally:
            self._busy.discard(row.lane)
        self._lane_ready[row.lane] = max(self._lane_ready.get(row.lane, 0.0), loop.time() + pace.channel_interval)
        self._outcomes.append(outcome)

    async def _after_error(self, row: _Claimed, error: Exception) -> dict[str, Any]:
        """A send failed without a verdict (a timeout, a 5xx): ask the platform before retrying.

        The message may have arrived even though the answer did not. If the platform
        has its key, it is sent; if not, it is retried with exponential backoff (failed
        after `max_failures`); if the platform cannot tell, it stays in doubt for `recover`.
        """
        try:
            message_id = await self.senders[row.target.platform].find(row.target, row.key, since=row.claimed_at)
        except Exception as lookup_error:
            log.warning("send of %s failed (%r) and cannot be checked (%r)", row.key, error, lookup_error)
            self.counts["doubt"] += 1
            return {"kind": "doubt", "b_id": row.id, "b_claim": row.claim, "b_error": repr(error)[:500]}
        if message_id is not None:
            self.counts["sent"] += 1
            return self._sent(row, message_id)
        failures = row.failures + 1
        if failures >= self.max_failures:
            return self._failed(row, f"gave up after {failures} attempts: {error!r}")
        self.counts["retry"] += 1
        return self._retry(row, failures, min(self.backoff * 2 ** (failures - 1), self.max_backoff), repr(error))

    async def _turn(self, row: _Claimed, pace: Pace, gate: tuple[str, ...]) -> None:
        """Wait until the channel may receive another message and the workspace has a free slot.

        Slots are taken after any 429 pause of the workspace, one `1 / workspace_rate`
        apart; a message whose slot was overtaken by a pause takes a new one after it,
        so the messages held back by a 429 do not all go at the instant it ends. When a
        busy event loop wakes several late messages at once, a token bucket `BURST`
        deep lets only that many go together and spaces the rest at the rate. The rate
        is the workspace's current one (`_rate`).
        """
        loop = asyncio.get_running_loop()
        while True:
            while (wait := self._lane_ready.get(row.lane, 0.0) - loop.time()) > 0:
                await asyncio.sleep(wait)
            slot = max(loop.time(), self._gate_paused.get(gate, 0.0))
            if pace.workspace_rate:
                slot = max(slot, self._gate_slot.get(gate, 0.0))
                self._gate_slot[gate] = slot + 1 / self._rate(gate, pace)
            await asyncio.sleep(max(0.0, slot - loop.time()))
            if self._gate_paused.get(gate, 0.0) > loop.time():
                continue
            if pace.workspace_rate:  # a busy event loop wakes late messages together: only a few go at once
                while (tokens := self._tokens(gate, self._rate(gate, pace), loop.time())) < 1:
                    await asyncio.sleep((1 - tokens) / self._rate(gate, pace))
                self._gate_bucket[gate] = (tokens - 1, loop.time())
            return

    def workspace_rate(self, platform: str, team_id: str) -> float:
        """Messages per second the dispatcher now allows itself in one workspace (0: no limit)."""
        return self._rate(self._gate(platform, team_id), self._pace(platform))

    def _adaptive(self, gate: tuple[str, ...], pace: Pace) -> AdaptiveRate | None:
        """The workspace's adapting rate, or None when its pace is fixed."""
        if not (pace.workspace_rate and pace.workspace_ceiling):
            return None
        if gate not in self._gate_rate:
            self._gate_rate[gate] = AdaptiveRate(pace.workspace_rate, pace.workspace_ceiling)
        return self._gate_rate[gate]

    def _rate(self, gate: tuple[str, ...], pace: Pace) -> float:
        """Messages per second the workspace may receive now."""
        adaptive = self._adaptive(gate, pace)
        return adaptive.rate if adaptive else pace.workspace_rate

    def _tokens(self, gate: tuple[str, ...], rate: float, now: float) -> float:
        """How many sends the workspace's bucket (`BURST` deep, refilled at `rate`) allows right now."""
        tokens, at = self._gate_bucket.get(gate, (BURST, now))
        return min(BURST, tokens + (now - at) * rate)

    def _pace(self, platform: str) -> Pace:
        return self.paces.get(platform, UNLIMITED)

    def _gate(self, platform: str, team_id: str) -> tuple[str, ...]:
        return (platform,) if self._pace(platform).per_bot else (platform, team_id)

    # -- recording --------------------------------------------------------------

    def _sent(self, row: _Claimed, message_id: str) -> dict[str, Any]:
        return {"kind": "sent", "b_id": row.id, "b_claim": row.claim, "b_message_id": str(message_id)[:128],
                "b_sent_at": self.clock.now()}

    def _retry(self, row: _Claimed, failures: int, delay: timedelta, error: str) -> dict[str, Any]:
        return {"kind": "retry", "b_id": row.id, "b_claim": row.claim, "b_failures": failures,
                "b_next": self.clock.now() + delay, "b_error": error[:500]}

    def _failed(self, row: _Claimed, error: str) -> dict[str, Any]:
        self.counts["failed"] += 1
        log.error("outbox message %s to %s failed for good: %s", row.key, row.target, error)
        return {"kind": "failed", "b_id": row.id, "b_claim": row.claim, "b_error": error[:500]}

    async def _wait(self) -> None:
        """Sleep until claimed messages are done (all but a few of them), or the poll interval passes."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.poll_interval
        if not self._tasks:
            await asyncio.sleep(self.poll_interval)
        while self._tasks and (remaining := deadline - loop.time()) > 0:
            await asyncio.wait(set(self._tasks), timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
            if len(self._tasks) < self._max_claimed // 2:
                return

    async def _flush(self) -> None:
        """Write the recorded outcomes to the outbox in one transaction.

        If the write fails, the outcomes are kept for the next flush (writing one twice
        changes nothing): a message sent but not yet recorded stays ``sending`` under
        this claim, in doubt, and is neither lost nor sent blindly again.
        """
        async with self._flush_lock:
            outcomes, self._outcomes = self._outcomes, []
            if outcomes:
                try:
                    await asyncio.to_thread(self._write, outcomes)
                except BaseException:
                    self._outcomes[:0] = outcomes
                    raise

    def _write(self, outcomes: list[dict[str, Any]]) -> None:
        claimed = (OUTBOX.c.id == bindparam("b_id"), OUTBOX.c.status == OutboxStatus.SENDING,
                   OUTBOX.c.claim == bindparam("b_claim"))
        statements = {
            "sent": update(OUTBOX).where(*claimed)
            .values(status=OutboxStatus.SENT, message_id=bindparam("b_message_id"), sent_at=bindparam("b_sent_at"),
                    last_error=""),
            "retry": update(OUTBOX).where(*claimed)
            .values(status=OutboxStatus.PENDING, failures=bindparam("b_failures"),
                    next_attempt_at=bindparam("b_next"), last_error=bindparam("b_error"), claim=""),
            "failed": update(OUTBOX).where(*claimed)
            .values(status=OutboxStatus.FAILED, last_error=bindparam("b_error")),
            "resend": update(OUTBOX).where(*claimed)
            .values(status=OutboxStatus.PENDING, claim=""),
            "doubt": update(OUTBOX).where(*claimed)
            .values(claim="", last_error=bindparam("b_error")),
        }
        with self.engine.begin() as conn:
            for kind, statement in statements.items():
                params = [{k: v for k, v in o.items() if k != "kind"} for o in outcomes if o["kind"] == kind]
                if params:
                    conn.execute(statement, params)

    async def _settle(self) -> None:
        """Stop sending: unfinished claims stay ``sending`` (in doubt); record what did finish."""
        if self._recovery is not None and not self._recovery.done():  # unsettled look-ups stay in doubt
            self._recovery.cancel()
            await asyncio.gather(self._recovery, return_exceptions=True)
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        try:
            await self._flush()
        except Exception as exc:
            if not unreachable(exc):
                raise
            log.warning("stopping without recording %d outcomes (the database is unreachable); their messages "
                        "stay in doubt and are checked with the platform by the next dispatcher", len(self._outcomes))


def _row(r: Any) -> _Claimed:
    m = r._mapping
    return _Claimed(
        id=m["id"], key=m["key"],
        target=Target(m["platform"], team_id=m["team_id"], channel_id=m["channel_id"], user_id=m["user_id"]),
        failures=m["failures"], claim=m["claim"], payload=m.get("payload", ""), claimed_at=m.get("claimed_at"),
    )
