"""Adaptive delivery pacing: the workspace rate climbs while Slack accepts, drops on a 429 and
waits out its Retry-After, and no channel ever gets two messages less than its interval apart."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy.engine import Engine

from bot.core.delivery import Target
from bot.core.messages import Reply
from bot.runtime.backoff import AdaptiveRate
from bot.runtime.dispatcher import PACES, Dispatcher, Pace
from bot.runtime.outbox import enqueue
from storage.db import session_scope
from tests.fake_platform import FakePlatform, FakeSender


def queue(engine: Engine, messages: int, channels: int) -> None:
    with session_scope(engine) as session:
        for n in range(messages):
            enqueue(session, f"news:{n}", Target("slack", team_id="T1", channel_id=f"C{n % channels}"),
                    Reply(f"News {n}"))


async def deliver(engine: Engine, platform: FakePlatform, pace: Pace) -> Dispatcher:
    sender = FakeSender(platform.url)
    dispatcher = Dispatcher(engine, {"slack": sender}, paces={"slack": pace}, poll_interval=0.05)
    try:
        await dispatcher.drain()
    finally:
        await sender.close()
    return dispatcher


def gaps(platform: FakePlatform) -> list[float]:
    times: dict[str, list[float]] = defaultdict(list)
    for delivery in platform.deliveries:
        times[delivery.channel].append(delivery.at)
    return [b - a for at in times.values() for a, b in zip(at, at[1:], strict=False)]


def test_the_rate_climbs_while_accepted_and_drops_once_per_pause() -> None:
    rate = AdaptiveRate(5.0, ceiling=20.0)
    for _ in range(10):  # two seconds of sending at about 5/s before any 429
        rate.accepted()
    assert 6.5 < rate.rate < 7.5
    resume = rate.refused(100.0, retry_after=1.0)
    assert resume == 101.0 and rate.rate < 3.7  # the first 429 halves it
    cut = rate.rate
    rate.refused(100.2, retry_after=1.0)  # a send already under way hit the same limit: no second cut
    assert rate.rate == cut
    rate.refused(101.5, retry_after=2.0)  # a new 429 after the pause: a gentler cut
    assert rate.rate == cut * AdaptiveRate.DECREASE
    before = rate.rate
    for _ in range(10):  # about four seconds of sending
        rate.accepted()
    assert before < rate.rate < before * 1.05  # after a 429 it only creeps up: 1% a second
    for _ in range(100_000):
        rate.accepted()
    assert rate.rate == 20.0  # never past the ceiling
    for n in range(50):
        rate.refused(200.0 + 10 * n, retry_after=1.0)
    assert rate.rate == AdaptiveRate.FLOOR


def test_slack_pacing_starts_at_five_a_second_and_may_adapt() -> None:
    assert (PACES["slack"].workspace_rate, PACES["slack"].channel_interval) == (5.0, 1.0)
    assert PACES["slack"].workspace_ceiling > PACES["slack"].workspace_rate


async def test_the_rate_grows_when_the_workspace_allows_more(engine: Engine) -> None:
    queue(engine, 16, 16)
    with FakePlatform(channel_interval=1.0) as platform:
        dispatcher = await deliver(engine, platform, Pace(1.0, workspace_rate=4.0, workspace_ceiling=30.0))
    assert len(platform.deliveries) == 16 and platform.rate_limited == 0
    assert dispatcher.workspace_rate("slack", "T1") > 6.0


async def test_a_429_lowers_the_rate_and_its_retry_after_is_waited_out(engine: Engine) -> None:
    queue(engine, 24, 6)
    with FakePlatform(channel_interval=1.0, workspace_rate=6.0, workspace_burst=2.0) as platform:
        dispatcher = await deliver(engine, platform, Pace(1.0, workspace_rate=12.0, workspace_ceiling=30.0))
        refused = list(platform.rate_limited_at)
    assert refused, "starting at twice the cap meets a 429"
    assert dispatcher.workspace_rate("slack", "T1") < 12.0
    accepted = sorted(d.at for d in platform.deliveries)
    for at in refused:  # Retry-After said 1 s: nothing else went in the workspace meanwhile
        assert not [t for t in accepted if at < t < at + 0.95]
    assert sorted(platform.keys().values()) == [1] * 24  # none lost, none twice
    assert min(gaps(platform)) >= 1.0


async def test_no_channel_gets_two_messages_within_a_second(engine: Engine) -> None:
    queue(engine, 8, 2)
    with FakePlatform(channel_interval=1.0) as platform:
        await deliver(engine, platform, PACES["slack"])
    assert platform.rate_limited == 0
    assert sorted(platform.keys().values()) == [1] * 8
    assert min(gaps(platform)) >= 1.0
