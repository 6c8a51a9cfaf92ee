"""The outbox and its dispatcher, against the fake platform server, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.bootstrap import build_registry
from bot.core.clock import ManualClock
from bot.core.delivery import Target
from bot.core.messages import Reply
from bot.core.registry import bot_session
from bot.core.render import Dialect
from bot.runtime.dispatcher import Dispatcher, Pace
from bot.runtime.outbox import enqueue, enqueue_to_group, enqueue_to_member
from storage.db import session_scope
from storage.outbox import OutboxMessage, OutboxStatus
from tests.factories import seed
from tests.fake_platform import FakePlatform, FakeSender

FAST = {"slack": Pace(channel_interval=0.0, workspace_rate=0.0)}


def channel(n: int) -> Target:
    return Target("slack", team_id="T1", channel_id=f"C{n}")


def put(engine: Engine, key: str, target: Target, text: str = "hello", **kw: object) -> bool:
    with session_scope(engine) as session:
        return enqueue(session, key, target, Reply(text), **kw)  # type: ignore[arg-type]


def rows(engine: Engine) -> dict[str, OutboxMessage]:
    with session_scope(engine) as session:
        return {m.key: m for m in session.exec(select(OutboxMessage)).all()}


@pytest.fixture
def platform() -> FakePlatform:
    with FakePlatform() as server:
        yield server


async def test_enqueue_ignores_a_key_it_already_has(engine: Engine) -> None:
    assert put(engine, "reminder:1", channel(1), "first") is True
    assert put(engine, "reminder:1", channel(2), "second") is False
    (message,) = rows(engine).values()
    assert (message.channel_id, json.loads(message.payload)["title"]) == ("C1", "first")


async def test_a_rolled_back_transaction_queues_nothing(engine: Engine) -> None:
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        enqueue(session, "reminder:1", channel(1), Reply("x"))
        raise RuntimeError("the job failed after queueing")
    assert rows(engine) == {}


async def test_group_and_member_fan_out_per_platform_rendered_for_each(engine: Engine) -> None:
    seeded = seed(engine)

    def build(d: Dialect) -> Reply:
        return Reply("Reminder", sections=[d.bold("Steering") + " meets " + d.escape("<!channel>")])

    with bot_session(engine, build_registry()) as session:
        assert enqueue_to_group(session, seeded.groups["steering"], "reminder:m1", build) == 2
        assert enqueue_to_group(session, seeded.groups["steering"], "reminder:m1", build) == 0
        assert enqueue_to_member(session, seeded.members["aisha"], "nudge:aisha", build) == 2
        later = datetime(2026, 3, 9, 15, 0, tzinfo=UTC)
        assert enqueue_to_group(session, seeded.groups["data"], "agenda:m2", build, not_before=later) == 2
        assert enqueue_to_member(session, seeded.members["tom"], "nudge:tom", build, not_before=later) == 2
    queued = rows(engine)
    assert {k for k, m in queued.items() if m.next_attempt_at == later} == {
        "agenda:m2@slack:CDATA", "agenda:m2@discord:900000000000000002",
        "nudge:tom@slack:UTOM", "nudge:tom@discord:100000000000000004"}
    queued = {k: m for k, m in queued.items() if m.next_attempt_at is None}
    assert set(queued) == {"reminder:m1@slack:CSTEER", "reminder:m1@discord:900000000000000001",
                           "nudge:aisha@slack:UAISHA", "nudge:aisha@discord:100000000000000003"}
    slack = json.loads(queued["reminder:m1@slack:CSTEER"].payload)["sections"][0]
    discord = json.loads(queued["reminder:m1@discord:900000000000000001"].payload)["sections"][0]
    assert slack == "*Steering* meets &lt;!channel&gt;"
    assert discord.startswith("**Steering** meets ") and "<!channel>" not in discord.replace("\\<", "")
    assert queued["nudge:aisha@slack:UAISHA"].user_id == "UAISHA"


async def test_dispatcher_sends_each_message_once_and_records_the_platform_id(
        engine: Engine, clock: ManualClock, platform: FakePlatform) -> None:
    for n in range(5):
        put(engine, f"k{n}", channel(n), f"message {n}")
    put(engine, "later", channel(9), not_before=clock.now() + timedelta(hours=1))
    sender = FakeSender(platform.url)
    dispatcher = Dispatcher(engine, {"slack": sender}, clock, paces=FAST)
    assert (await dispatcher.drain())["sent"] == 5
    assert (await dispatcher.drain())["sent"] == 0
    assert sorted(platform.keys().items()) == [(f"k{n}", 1) for n in range(5)]
    stored = rows(engine)
    assert stored["k3"].status == OutboxStatus.SENT and stored["k3"].message_id.startswith("m")
    assert stored["later"].status == OutboxStatus.PENDING
    clock.advance(timedelta(hours=1))
    assert (await dispatcher.drain())["sent"] == 1
    await sender.close()


async def test_transient_failures_back_off_exponentially_then_give_up(
        engine: Engine, clock: ManualClock, platform: FakePlatform) -> None:
    put(engine, "flaky", channel(1))
    put(engine, "doomed", channel(2))
    sender = FakeSender(platform.url)
    dispatcher = Dispatcher(engine, {"slack": sender}, clock, paces=FAST, max_failures=3,
                            backoff=timedelta(seconds=10))
    platform.fail_next(2)
    assert (await dispatcher.drain())["retry"] == 2
    first = rows(engine)["flaky"]
    assert (first.status, first.failures) == (OutboxStatus.PENDING, 1)
    assert first.next_attempt_at == clock.now() + timedelta(seconds=10)
    assert "500" in first.last_error
    clock.advance(timedelta(seconds=10))
    platform.fail_next(2)
    await dispatcher.drain()
    assert rows(engine)["flaky"].next_attempt_at == clock.now() + timedelta(seconds=20)
    clock.advance(timedelta(seconds=5))
    assert sum((await dispatcher.drain()).values()) == 0  # not due yet
    clock.advance(timedelta(seconds=15))
    platform.fail_next(1)
    counts = await dispatcher.drain()
    assert (counts["failed"], counts["sent"]) == (1, 1)
    stored = rows(engine)
    failed = next(m for m in stored.values() if m.status == OutboxStatus.FAILED)
    assert "gave up after 3 attempts" in failed.last_error
    assert sum(platform.keys().values()) == 1
    await sender.close()


async def test_a_refused_channel_fails_at_once(engine: Engine, clock: ManualClock) -> None:
    put(engine, "gone", channel(7))
    with FakePlatform(unknown_channels=("C7",)) as server:
        sender = FakeSender(server.url)
        counts = await Dispatcher(engine, {"slack": sender}, clock, paces=FAST).drain()
        await sender.close()
    assert counts["failed"] == 1
    assert rows(engine)["gone"].last_error == "channel_not_found"


async def test_429_retry_after_is_honoured_and_channels_are_paced(engine: Engine, clock: ManualClock) -> None:
    for n in range(3):
        put(engine, f"same{n}", channel(1))
    for n in range(2, 12):
        put(engine, f"other{n}", channel(n))
    with FakePlatform(channel_interval=1.0) as server:
        sender = FakeSender(server.url)
        # The dispatcher believes it may post every 0.2 s per channel: the server says 429.
        dispatcher = Dispatcher(engine, {"slack": sender}, clock,
                                paces={"slack": Pace(channel_interval=0.2, workspace_rate=0.0)})
        sent = 0
        try:
            first = await dispatcher.drain()
            assert first["retry"] >= 1
            for _ in range(3):
                sent += (await dispatcher.drain())["sent"]
                clock.advance(timedelta(seconds=1))
        finally:
            await sender.close()
    assert first["sent"] + sent == 13
    assert set(server.keys().values()) == {1}
    same = sorted(d.at for d in server.deliveries if d.channel == "C1")
    assert all(b - a >= 1.0 for a, b in zip(same, same[1:], strict=False))
    # No request reached the limited channel before its Retry-After had passed.
    for limited_at in server.rate_limited_at:
        later = [d.at for d in server.deliveries if d.channel == "C1" and d.at > limited_at]
        assert not later or later[0] - limited_at >= 1.0
    # The other channels did not wait for channel C1.
    others = sorted(d.at for d in server.deliveries if d.channel != "C1")
    assert others[-1] - others[0] < 0.9  # less than one channel interval


class AnswerLost(FakeSender):
    """A sender whose first sends reach the platform but whose answers are lost (a timeout)."""

    def __init__(self, url: str, lose: int, lookups_fail: bool = False) -> None:
        super().__init__(url)
        self.lose = lose
        self.lookups_fail = lookups_fail

    async def send(self, target: Target, reply: Reply, *, key: str) -> str:
        message_id = await super().send(target, reply, key=key)
        if self.lose:
            self.lose -= 1
            raise TimeoutError("no answer from the platform")
        return message_id

    async def find(self, target: Target, key: str, *, since: object = None) -> str | None:
        if self.lookups_fail:
            raise ConnectionError("lookup unavailable")
        return await super().find(target, key)


async def test_a_send_whose_answer_is_lost_is_checked_by_key_not_resent(
        engine: Engine, clock: ManualClock, platform: FakePlatform) -> None:
    put(engine, "k1", channel(1))
    sender = AnswerLost(platform.url, lose=1)
    counts = await Dispatcher(engine, {"slack": sender}, clock, paces=FAST).drain()
    await sender.close()
    assert (counts["sent"], counts["retry"]) == (1, 0)
    assert platform.keys() == {"k1": 1}
    assert rows(engine)["k1"].message_id == platform.deliveries[0].id


async def test_a_lost_answer_that_cannot_be_checked_stays_in_doubt_until_it_can(
        engine: Engine, clock: ManualClock, platform: FakePlatform) -> None:
    put(engine, "k1", channel(1))
    sender = AnswerLost(platform.url, lose=1, lookups_fail=True)
    dispatcher = Dispatcher(engine, {"slack": sender}, clock, paces=FAST)
    assert (await dispatcher.drain())["doubt"] == 1
    assert rows(engine)["k1"].status == OutboxStatus.SENDING
    sender.lookups_fail = False
    assert (await dispatcher.drain())["found"] == 1
    await sender.close()
    assert rows(engine)["k1"].status == OutboxStatus.SENT
    assert platform.keys() == {"k1": 1}


async def test_two_writers_racing_on_one_key_queue_it_once_without_error(engine: Engine) -> None:
    import threading

    from sqlmodel import Session

    first = Session(engine)
    assert enqueue(first, "race", channel(1), Reply("first")) is True
    results: list[bool] = []
    second = threading.Thread(target=lambda: results.append(put(engine, "race", channel(1), "second")))
    second.start()
    second.join(0.3)  # the second writer waits for the first transaction
    first.commit()
    first.close()
    second.join(10)
    assert results == [False]
    assert len(rows(engine)) == 1


async def test_fan_out_keeps_to_the_workspace_rate_without_being_refused(engine: Engine) -> None:
    with session_scope(engine) as session:
        for n in range(60):
            enqueue(session, f"agenda:{n}", channel(n), Reply("Agenda"))
    with FakePlatform(channel_interval=1.0, workspace_rate=60, workspace_burst=3) as server:
        sender = FakeSender(server.url)
        counts = await Dispatcher(engine, {"slack": sender},
                                  paces={"slack": Pace(channel_interval=1.0, workspace_rate=60)}).drain()
        await sender.close()
    assert counts["sent"] == 60 and server.rate_limited == 0
    arrivals = sorted(d.at for d in server.deliveries)
    assert 0.8 <= arrivals[-1] - arrivals[0] <= 1.6  # 60 messages at 60/s, not all at once nor slower


async def test_delivered_messages_are_purged_after_the_retention_but_pending_ones_never(
        engine: Engine, clock: ManualClock) -> None:
    from sqlalchemy import update

    from bot.bootstrap import build_registry
    from bot.runtime.scheduler import Scheduler

    for key in ("old-sent", "old-failed", "old-pending", "old-sending", "new-sent"):
        put(engine, key, channel(1))
    states = {"old-sent": OutboxStatus.SENT, "old-failed": OutboxStatus.FAILED, "old-pending": OutboxStatus.PENDING,
              "old-sending": OutboxStatus.SENDING, "new-sent": OutboxStatus.SENT}
    with session_scope(engine) as session:
        for key, status in states.items():
            age = timedelta(days=1 if key.startswith("new") else 91)
            session.execute(update(OutboxMessage).where(OutboxMessage.key == key)
                            .values(status=status, created_at=clock.now() - age))
    scheduler = Scheduler(engine, clock, build_registry())
    scheduler.install(only=("outbox",))
    await scheduler.start()
    try:
        assert scheduler.run_due(clock.now()) == 1  # at start, then every 6 hours
        assert scheduler.next_run("outbox:purge") == clock.now() + timedelta(hours=6)
    finally:
        await scheduler.shutdown()
    assert sorted(rows(engine)) == ["new-sent", "old-pending", "old-sending"]
    assert put(engine, "new-sent", channel(1)) is False  # a recent key still dedupes
