"""Fan-out benchmark: the production Slack pacing against a workspace cap it does not know.

Two runs side by side, each on its own scratch database and local fake platform that
allows one message per second per channel and a workspace token bucket (`cap` per
second, `cap` deep), answering 429 with Retry-After beyond that: 2,000 messages over 60
channels under a 10/s cap, and 600 over 60 channels under a 3/s cap (600, not 2,000, to
keep the run near 200 s; both runs are the same length at their cap). The dispatcher
uses `PACES["slack"]` as production does: it starts at 5/s and adapts.

Prints, per run, the delivered rate over the cap (peer), the share of 429 answers, the
smallest gap between two messages of one channel, losses and duplicates.

    .venv/bin/python -m bench.fanout [--scale 1.0]   # --scale 0.2 for a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import defaultdict
from contextlib import ExitStack
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from bench.common import local_database_url, result, scratch_database
from bot.core.delivery import Target
from bot.core.messages import Reply
from bot.core.render import Markup
from bot.runtime.dispatcher import Dispatcher
from bot.runtime.outbox import enqueue
from storage.db import session_scope
from tests.fake_platform import FakePlatform, FakeSender

CHANNELS = 60
CHANNEL_INTERVAL = 1.0


@dataclass(frozen=True)
class Case:
    """One run: `messages` over `CHANNELS` channels under a workspace cap of `cap` per second."""

    messages: int
    cap: float


CASES = (Case(2000, 10.0), Case(600, 3.0))


async def fan_out(engine: Engine, platform: FakePlatform, case: Case) -> float:
    """Queue and deliver the case's messages with the production pacing; seconds to the last delivery."""
    with session_scope(engine) as session:
        for n in range(case.messages):
            enqueue(session, f"announcement:{n}", Target("slack", team_id="T1", channel_id=f"C{n % CHANNELS:03d}"),
                    Reply("Steering committee", sections=[Markup(f"Agenda posted, message {n}")]))
    sender = FakeSender(platform.url)
    started = time.monotonic()
    try:
        await Dispatcher(engine, {"slack": sender}).drain()
    finally:
        await sender.close()
    return max(d.at for d in platform.deliveries) - started


def smallest_gap(platform: FakePlatform) -> float:
    """The shortest time between two deliveries to one channel."""
    times: dict[str, list[float]] = defaultdict(list)
    for delivery in platform.deliveries:
        times[delivery.channel].append(delivery.at)
    return min((b - a for at in times.values() for a, b in zip(sorted(at), sorted(at)[1:], strict=False)),
               default=float("inf"))


def check(case: Case, platform: FakePlatform, elapsed: float) -> bool:
    """Print the case's figures and verdicts; True when all are met."""
    keys = platform.keys()
    duplicates = sum(count - 1 for count in keys.values())
    losses = case.messages - len(keys)
    rate = len(keys) / elapsed
    refused = platform.rate_limited / case.messages
    gap = smallest_gap(platform)
    label = f"fanout {case.messages} msgs / {CHANNELS} channels, cap {case.cap:g}/s"
    print(f"{label}: {len(keys)} delivered in {elapsed:.1f} s ({rate:.2f} msg/s), "
          f"{platform.rate_limited} 429 answers, smallest channel gap {gap:.3f} s")
    ok = [
        result(f"{label}: rate", f"{rate:.2f}/s", f"cap {case.cap:g}/s", rate / case.cap, ">= 0.9",
               rate / case.cap >= 0.9),
        result(f"{label}: 429 share", f"{refused:.1%}", "-", None, "<= 2%", refused <= 0.02),
        result(f"{label}: channel gap", f"{gap:.3f} s", "-", None, ">= 1.0 s", gap >= CHANNEL_INTERVAL),
        result(f"{label}: lost / duplicated", f"{losses} / {duplicates}", "-", None, "0 / 0",
               losses == 0 and duplicates == 0),
    ]
    return all(ok)


async def run_all(engines: list[Engine], platforms: list[FakePlatform], cases: list[Case]) -> list[float]:
    """Every case at once, each with its own database and platform."""
    return list(await asyncio.gather(*(fan_out(e, p, c) for e, p, c in zip(engines, platforms, cases, strict=True))))


def main() -> int:
    """Run the cases side by side and print the verdicts; exit status 1 when one is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="share of the message counts to send")
    args = parser.parse_args()
    cases = [Case(max(CHANNELS, int(c.messages * args.scale)), c.cap) for c in CASES]
    name, url = local_database_url()
    print(f"database: {name}")
    with ExitStack() as stack:
        engines = [stack.enter_context(scratch_database(url)) for _ in cases]
        platforms = [stack.enter_context(FakePlatform(channel_interval=CHANNEL_INTERVAL, workspace_rate=c.cap))
                     for c in cases]
        elapsed = asyncio.run(run_all(engines, platforms, cases))
        verdicts = [check(c, p, e) for c, p, e in zip(cases, platforms, elapsed, strict=True)]
    return 0 if all(verdicts) else 1


if __name__ == "__main__":
    raise SystemExit(main())
