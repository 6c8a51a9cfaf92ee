"""Benchmark: `/ci glossary TERM` over Slack's HTTP endpoint against a bare Bolt app, same process.

Seeds 10,000 glossary terms into a temporary SQLite database, serves cibot's Slack app
and a bare Bolt AsyncApp that acks a static text on 127.0.0.1, and sends signed slash
command requests to each, alternating, one at a time. The time measured is the HTTP
round trip of the slash command request (what Slack measures against its 3-second
deadline); cibot's reply itself goes to the fake Web API's response_url afterwards,
and the run waits for every one of them before reporting.

    .venv/bin/python -m bench.slack_command [--requests 400] [--terms 10000]

Targets: p50 ratio (cibot / bare) <= 1.3 and cibot p99 < 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import statistics
import time

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bench.common import percentile, scratch_database, seed_glossary, verdict
from bot.bootstrap import build_core
from tests.fake_slack_api import (
    SIGNING_SECRET,
    FakeSlackApi,
    SlackSide,
    cibot_on_slack,
    running_app,
)


def bare_app(api: FakeSlackApi) -> AsyncApp:
    """A Bolt app doing nothing but acknowledging `/ci` with a static text."""
    app = AsyncApp(client=AsyncWebClient(token="xoxb-test", base_url=api.api_url), signing_secret=SIGNING_SECRET)

    @app.command("/ci")
    async def static(ack: AsyncAck) -> None:
        await ack("Looked it up.")

    return app


async def timed(side: SlackSide, text: str) -> float:
    """Milliseconds for one signed slash command request to be acknowledged."""
    started = time.perf_counter()
    status, _ = await side.command("UMARIA", text)
    elapsed = (time.perf_counter() - started) * 1000
    if status != 200:
        raise RuntimeError(f"the slash command request failed with HTTP {status}")
    return elapsed


async def run(requests: int, terms: int, warmup: int) -> bool:
    """Run the benchmark and print the report; True when both targets are met."""
    logging.basicConfig(level=logging.WARNING)
    with scratch_database() as engine, FakeSlackApi() as api:
        started = time.perf_counter()
        entries = seed_glossary(engine, terms)
        print(f"seeded {terms} terms in {time.perf_counter() - started:.1f}s")
        lookups = [f"glossary {random.Random(i).choice(entries).term}" for i in range(warmup + requests)]
        core = build_core(engine)
        async with cibot_on_slack(core, api) as cibot, running_app(bare_app(api), api) as bare:
            samples: dict[str, list[float]] = {"bare": [], "cibot": []}
            for i, text in enumerate(lookups):
                bare_ms = await timed(bare, text)
                cibot_ms = await timed(cibot, text)
                if i >= warmup:
                    samples["bare"].append(bare_ms)
                    samples["cibot"].append(cibot_ms)
            await cibot.settle()
        replies = api.of("response_url")
    found = sum(1 for call in replies if "Definition number" in str(call.params.get("blocks")))
    print(f"{requests} requests each after {warmup} warm-up; cibot posted {len(replies)} replies "
          f"({found} with the definition)")
    for name, values in samples.items():
        print(f"{name:>6}: p50 {statistics.median(values):6.2f} ms   p99 {percentile(values, 99):6.2f} ms")
    ratio = statistics.median(samples["cibot"]) / statistics.median(samples["bare"])
    p99 = percentile(samples["cibot"], 99)
    ok = ratio <= 1.3 and p99 < 50 and found == len(lookups)
    print(f"p50 ratio cibot/bare: {ratio:.2f} (target <= 1.3); cibot p99 {p99:.1f} ms (target < 50 ms): "
          f"{verdict(ok)}")
    return ok


def main() -> None:
    """Parse the options and run the benchmark; exit status 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--terms", type=int, default=10_000)
    parser.add_argument("--warmup", type=int, default=50)
    args = parser.parse_args()
    raise SystemExit(0 if asyncio.run(run(args.requests, args.terms, args.warmup)) else 1)


if __name__ == "__main__":
    main()
