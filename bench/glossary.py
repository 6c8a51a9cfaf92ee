"""Glossary lookup speed through the router, and the start-up time of the `cibot` command.

Builds a fresh SQLite database in a temporary directory with 10,000 terms, each with
an alias and an acronym, then times exact, alias and fuzzy lookups through
`Core.command_sync` as the console would send them. Prints p50/p99 and PASS/FAIL
against the targets. Run from the repository root: `.venv/bin/python -m bench.glossary`.
"""

from __future__ import annotations

import gc
import os
import random
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import percentile, scratch_database, seed_glossary, verdict
from bot.bootstrap import build_core
from bot.core.context import Origin
from bot.glossary.book import TermEntry, normalize

ROOT = Path(__file__).resolve().parent.parent

TERMS = 10_000
SAMPLES = 300
FUZZY_P99_MS = 5.0
HELP_SECONDS = 0.5
SYLLABLES = ["ba", "ko", "ri", "ven", "tel", "mar", "lo", "qui", "dra", "sen", "pol", "fu",
             "ne", "tis", "gar", "mo", "lin", "che", "vor", "da", "pe", "sul", "tran", "ex"]


def word(rng: random.Random) -> str:
    """A pronounceable made-up word of two to four syllables."""
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))


def make_entries(rng: random.Random) -> list[TermEntry]:
    """`TERMS` entries, each with one alias and one acronym, all names distinct."""
    used: set[str] = set()
    entries = []
    while len(entries) < TERMS:
        term = " ".join(word(rng) for _ in range(rng.randint(1, 3)))
        alias = " ".join(word(rng) for _ in range(2))
        acronym = "".join(w[0] for w in term.split()).upper() + str(len(entries))
        keys = {normalize(term), normalize(alias), normalize(acronym)}
        if len(keys) < 3 or keys & used:
            continue
        used |= keys
        entries.append(TermEntry(term=term, definition=f"The meaning of {term}.", aliases=[alias],
                                 acronyms=[acronym]))
    return entries


def typo(rng: random.Random, text: str) -> str:
    """`text` with one letter changed, as a hurried typist would."""
    position = rng.randrange(len(text))
    return text[:position] + rng.choice("aeiouxyz") + text[position + 1:]


def timed(run: Callable[[str], object], queries: list[str]) -> tuple[list[float], list[float]]:
    """Milliseconds each query took, on the wall clock and in this thread's CPU time."""
    wall, cpu = [], []
    for query in queries:
        start, start_cpu = time.perf_counter(), time.thread_time()
        run(query)
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.thread_time() - start_cpu) * 1000)
    return wall, cpu


def main() -> None:
    """Build the database, time the lookups and `cibot --help`, print the figures."""
    rng = random.Random(7)
    with scratch_database() as engine:
        entries = make_entries(rng)
        start = time.perf_counter()
        seed_glossary(engine, entries)
        print(f"loaded {TERMS} terms with aliases and acronyms in {time.perf_counter() - start:.1f} s")
        core = build_core(engine)
        origin = Origin("console", "maria")

        def look_up(query: str) -> object:
            return core.command_sync(origin, f"glossary {query}")

        sample = rng.sample(entries, SAMPLES)
        look_up(sample[0].term)  # builds the index once, as the first lookup after start does
        gc.collect()  # the load's garbage is set-up, not lookup, work
        cases = {
            "exact": [e.term.upper() for e in sample],
            "alias": [rng.choice([e.aliases[0], e.acronyms[0].lower()]) for e in sample],
            "fuzzy": [typo(rng, e.term) + "q" for e in sample],
        }
        print(f"load average before timing: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
        for name, queries in cases.items():
            times, cpu = timed(look_up, queries)
            outcome = ""
            if name == "fuzzy":
                outcome = f"  {verdict(percentile(times, 99) < FUZZY_P99_MS)} (target p99 < {FUZZY_P99_MS} ms)"
            print(f"{name:6} lookup: p50 {percentile(times, 50):6.2f} ms  p99 {percentile(times, 99):6.2f} ms"
                  f"  (cpu p50 {percentile(cpu, 50):5.2f} ms, p99 {percentile(cpu, 99):5.2f} ms){outcome}")
    report_help_time()


def report_help_time() -> None:
    """Wall time of `.venv/bin/cibot --help`, or a note when the CLI does not exist yet."""
    cibot = ROOT / ".venv" / "bin" / "cibot"
    if not (ROOT / "bot" / "cli.py").exists() or not cibot.exists():
        print("cibot --help: not available yet")
        return
    start = time.perf_counter()
    done = subprocess.run([str(cibot), "--help"], capture_output=True, cwd=ROOT, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        print(f"cibot --help: exited {done.returncode} after {seconds:.2f} s  FAIL")
        return
    print(f"cibot --help: {seconds:.2f} s  {verdict(seconds < HELP_SECONDS)} (target < {HELP_SECONDS} s)")


if __name__ == "__main__":
    main()
