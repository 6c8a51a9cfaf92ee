"""Backing off while the database is away: the one helper every long-running loop uses.

A loop that meets a database error (see `storage.db.unreachable`) asks `Backoff.failed`
how long to wait: 0.2 s at first, doubling up to 10 s, with jitter so that replicas do
not come back in step. The first failure of an outage is logged as one warning, the
first success after it as one info line; the retries in between are quiet.

`AdaptiveRate` is the same idea for a platform's rate limit: the dispatcher's workspace
pace grows while sends go through and backs off when the platform answers 429.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable

from storage.db import unreachable

log = logging.getLogger(__name__)

FIRST = 0.2  # seconds before the first retry
CAP = 10.0  # seconds between retries at most


class Backoff:
    """Capped exponential backoff with jitter for the loop `what`, logging once per outage."""

    def __init__(self, what: str, *, first: float = FIRST, cap: float = CAP,
                 logger: logging.Logger | None = None) -> None:
        self.what = what
        self.first = first
        self.cap = cap
        self.failures = 0
        self._log = logger or log

    @property
    def down(self) -> bool:
        """Whether the last attempt failed (an outage is going on)."""
        return self.failures > 0

    def failed(self, error: BaseException) -> float:
        """Note a failed attempt; return the seconds to wait before the next one."""
        if self.failures == 0:
            self._log.warning("%s: cannot reach the database (%s); retrying with backoff",
                              self.what, _summary(error))
        self.failures += 1
        delay = min(self.cap, self.first * 2 ** (self.failures - 1))
        return random.uniform(delay / 2, delay)

    def succeeded(self) -> bool:
        """Note a successful attempt; return whether it ended an outage."""
        if self.failures == 0:
            return False
        self._log.info("%s: the database is reachable again after %d failed attempts", self.what, self.failures)
        self.failures = 0
        return True

    async def wait(self, error: BaseException) -> None:
        """`failed`, then sleep for the delay."""
        await asyncio.sleep(self.failed(error))


async def outliving_outages(what: str, run: Callable[[], Awaitable[None]]) -> None:
    """Await `run()`; whenever it fails because the database is unreachable, back off and run it again.

    Returns when `run()` returns; any other error propagates.
    """
    backoff = Backoff(what)
    while True:
        try:
            await run()
            return
        except Exception as exc:
            if not unreachable(exc):
                raise
            await backoff.wait(exc)


def _summary(error: BaseException) -> str:
    cause = getattr(error, "orig", None) or error
    first = (str(cause).strip().splitlines() or [""])[0]
    return f"{type(cause).__name__}: {first}" if first else type(cause).__name__


class AdaptiveRate:
    """A send rate that finds what the platform accepts: additive increase, multiplicative decrease.

    It starts at `start` messages per second and climbs by `SLOW_START` msg/s per second
    of sending until the first 429, then by `CLIMB` of itself per second. A 429 lowers it
    (to half the first time, then to `DECREASE` of itself) once per Retry-After pause: the
    other sends already under way when the pause began hit the same limit, they tell
    nothing new. It stays between `FLOOR` and `ceiling`.
    """

    SLOW_START = 1.0  # msg/s gained per second before the first 429
    CLIMB = 0.01  # share of the rate gained per second after it
    FIRST_DECREASE = 0.5
    DECREASE = 0.8
    FLOOR = 0.5

    def __init__(self, start: float, ceiling: float) -> None:
        self.rate = start
        self.ceiling = max(ceiling, start)
        self.limited = False  # a 429 was seen: the slow start is over
        self._pause_ends = float("-inf")

    def accepted(self) -> None:
        """A message went through: one send's share of a second's increase."""
        gain = self.CLIMB * self.rate if self.limited else self.SLOW_START
        self.rate = min(self.ceiling, self.rate + gain / self.rate)

    def refused(self, now: float, retry_after: float) -> float:
        """A 429 arrived at `now` with `retry_after` seconds: lower the rate once per pause; when the pause ends."""
        if now >= self._pause_ends:
            self.rate = max(self.FLOOR, self.rate * (self.DECREASE if self.limited else self.FIRST_DECREASE))
            self.limited = True
        self._pause_ends = max(self._pause_ends, now + retry_after)
        return self._pause_ends
