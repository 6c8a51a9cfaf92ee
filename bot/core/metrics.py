"""What `/metrics` shows Prometheus: commands, reply latency, deliveries, rate limits, scheduler lag, leadership.

Every name starts with ``cibot_``. Counters and histograms are updated where the work
happens (the core for commands, the dispatcher for sends, the scheduler for jobs); the
outbox's depth and oldest pending age are read from the database when Prometheus
scrapes, so every replica reports the same queue.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

REGISTRY = CollectorRegistry()
COMMANDS = Counter("cibot_commands", "Commands, buttons and forms answered, by name and outcome",
                   ["name", "outcome"], registry=REGISTRY)
REPLY_SECONDS = Histogram("cibot_reply_seconds", "Time from a request reaching the core to its reply",
                          buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5), registry=REGISTRY)
SENDS = Counter("cibot_sends", "Outbox messages handed to a platform, by platform and result",
                ["platform", "status"], registry=REGISTRY)
RATE_LIMITED = Counter("cibot_rate_limited", "429 answers from a platform", ["platform"], registry=REGISTRY)
SCHEDULER_LAG = Histogram("cibot_scheduler_lag_seconds", "How late scheduled jobs started",
                          buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 1800), registry=REGISTRY)
LEADER = Gauge("cibot_leader", "1 on the replica that runs the scheduler and the dispatcher", registry=REGISTRY)

OutboxDepth = Callable[[], Iterable[tuple[str, int, float]]]  # (platform, pending count, oldest age in seconds)


class _Outbox(Collector):
    """Reads the outbox's depth per platform at scrape time."""

    def __init__(self, depth: OutboxDepth) -> None:
        self.depth = depth

    def collect(self) -> Iterable[Any]:
        pending = GaugeMetricFamily("cibot_outbox_pending", "Messages waiting to be sent, per platform",
                                    labels=["platform"])
        oldest = GaugeMetricFamily("cibot_outbox_oldest_pending_seconds", "Age of the oldest waiting message",
                                   labels=["platform"])
        for platform, count, age in self.depth():
            pending.add_metric([platform], count)
            oldest.add_metric([platform], age)
        return [pending, oldest]


_OUTBOX = _Outbox(lambda: ())
REGISTRY.register(_OUTBOX)


def watch_outbox(depth: OutboxDepth) -> None:
    """Report the outbox depth `depth()` gives at each scrape."""
    _OUTBOX.depth = depth


def observe_reply(name: str, outcome: str, seconds: float) -> None:
    """Count one answered command, button or form and time its reply."""
    COMMANDS.labels(name=name, outcome=outcome).inc()
    REPLY_SECONDS.observe(seconds)


def exposition() -> bytes:
    """Every metric in Prometheus' text format."""
    return generate_latest(REGISTRY)
