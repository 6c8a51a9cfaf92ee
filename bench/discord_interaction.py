"""Benchmark: `/ci glossary show term:TERM` through discord.py's command tree, against a bare discord.py client.

Seeds the sample initiative and 10,000 glossary terms into a temporary SQLite
database, builds cibot's real Discord client (never logged in) and a bare discord.py
client whose `/ci glossary show` answers a static embed at once, both with the fake
Discord HTTP layer from the tests (discord.py's own interaction code and webhook
adapter run; the request leaves through a recording adapter instead of a socket), and
feeds them INTERACTION_CREATE payloads one at a time, interleaved. The time measured
runs from the gateway event to the interaction callback being sent: what Discord holds
against its 3-second deadline.

    .venv/bin/python -m bench.discord_interaction [--requests 300] [--terms 10000]

Goals: p50 <= 1.5x and p99 <= 2x the bare client's.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import statistics
import time

import discord
from discord import app_commands
from sqlalchemy.engine import Engine

from bench.common import percentile, result, scratch_database, seed_glossary
from bot.bootstrap import build_core
from tests.factories import discord_id
from tests.fake_discord_http import APPLICATION_ID, CALLBACK_MESSAGE, DiscordHarness

WARMUP = 20


def bare_client() -> discord.Client:
    """A discord.py client with nothing but `/ci glossary show`, answering a static embed."""
    client = discord.Client(intents=discord.Intents.none(), application_id=APPLICATION_ID)
    tree = app_commands.CommandTree(client)
    ci = app_commands.Group(name="ci", description="cibot")
    glossary = app_commands.Group(name="glossary", description="The glossary", parent=ci)

    @glossary.command(name="show", description="Show a term")
    async def show(interaction: discord.Interaction, term: str) -> None:
        await interaction.response.send_message(embed=discord.Embed(title=term, description="Looked it up."))

    tree.add_command(ci)
    return client


async def timed(harness: DiscordHarness, user: str, term: str) -> float:
    """Milliseconds from the event to the callback carrying the answer."""
    started = time.perf_counter()
    sent = await harness.slash(user, ["glossary", "show"], {"term": term})
    elapsed = (time.perf_counter() - started) * 1000
    assert sent and sent[0].callback_type == CALLBACK_MESSAGE and sent[0].embeds[0]["title"], sent
    return elapsed


async def measure(engine: Engine, requests: int, terms: int) -> dict[str, list[float]]:
    """Milliseconds per lookup of a random existing term, for cibot and the bare client, interleaved."""
    entries = seed_glossary(engine, terms)
    cibot = await DiscordHarness.serving(build_core(engine))
    bare = await DiscordHarness(bare_client()).start()
    rng = random.Random(11)
    user = discord_id("aisha")
    samples: dict[str, list[float]] = {"cibot": [], "bare": []}
    for i in range(requests + WARMUP):
        term = rng.choice(entries).term
        order = (("cibot", cibot), ("bare", bare)) if i % 2 == 0 else (("bare", bare), ("cibot", cibot))
        for name, harness in order:
            elapsed = await timed(harness, user, term)
            if i >= WARMUP:
                samples[name].append(elapsed)
    return samples


def main() -> int:
    """Run the benchmark and print p50/p99 with PASS or FAIL against the goals."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--terms", type=int, default=10_000)
    options = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    with scratch_database() as engine:
        samples = asyncio.run(measure(engine, options.requests, options.terms))
    c, b = samples["cibot"], samples["bare"]
    print(f"/ci glossary show through discord.py's tree, {options.terms:,} terms, {len(c)} lookups a side")
    for name, values in samples.items():
        print(f"  {name:>6}: p50 {statistics.median(values):5.2f} ms   p99 {percentile(values, 99):5.2f} ms")
    where = f"discord /ci glossary show, {options.terms:,} terms, SQLite"
    p50, p99 = statistics.median(c) / statistics.median(b), percentile(c, 99) / percentile(b, 99)
    ok = all([
        result(f"{where}: p50", f"{statistics.median(c):.2f} ms", f"{statistics.median(b):.2f} ms", p50,
               "<= 1.5x", p50 <= 1.5),
        result(f"{where}: p99", f"{percentile(c, 99):.2f} ms", f"{percentile(b, 99):.2f} ms", p99, "<= 2x",
               p99 <= 2.0),
    ])
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
