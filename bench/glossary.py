"""Benchmark: the glossary at 1,000, 10,000 and 100,000 terms.

Per size, on a fresh SQLite file: a child process imports the terms (`upsert_terms`,
what `cibot glossary load` runs) and reports the time and its peak RSS. This process then
times, through `Core.command_sync` as a member's `/ci glossary TERM` runs it, the first
lookup (it reads the index), 300 hits (exact name, alias or acronym, any case) and 300
short misses (4 to 8 letters, answered with suggestions and counted). Then, three
times, another process (a replica) adds a definition while this one keeps looking the
term up every 20 ms: how long until the write is visible here, and what the lookup that
took it in cost.

The peer figure is a command answered through the same core without the glossary
(`/ci help glossary`), so the ratio shows what the lookup itself adds.

    .venv/bin/python -m bench.glossary [--sizes 1000,10000,100000]

Goals at 100,000 terms: hit and miss p99 <= 5 ms; a write visible on the other replica
within 1 s at <= 50 ms there; the import <= 15 s and <= 400 MB.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import select

from bench.common import percentile, result, scratch_database
from bot.bootstrap import build_core
from bot.core.context import Origin
from bot.glossary.book import TermEntry, add_definition, normalize, upsert_terms
from storage.db import make_engine, session_scope
from storage.models import Initiative
from tests.factories import seed

ROOT = Path(__file__).resolve().parent.parent
SAMPLES, WRITES = 300, 3
SYLLABLES = ["ba", "ko", "ri", "ven", "tel", "mar", "lo", "qui", "dra", "sen", "pol", "fu",
             "ne", "tis", "gar", "mo", "lin", "che", "vor", "da", "pe", "sul", "tran", "ex"]
GOAL_P99_MS, GOAL_VISIBLE_S, GOAL_APPLY_MS, GOAL_IMPORT_S, GOAL_IMPORT_MB = 5.0, 1.0, 50.0, 15.0, 400.0


def word(rng: random.Random) -> str:
    """A pronounceable made-up word of two to four syllables."""
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))


def make_entries(count: int) -> list[TermEntry]:
    """`count` entries, each with one alias and one acronym, all names distinct."""
    rng = random.Random(7)
    used: set[str] = set()
    entries: list[TermEntry] = []
    while len(entries) < count:
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


def child_import(url: str, count: int) -> None:
    """In a child process: seed the initiative, import `count` terms, print seconds and peak RSS."""
    engine = make_engine(url)
    seeded = seed(engine)
    entries = make_entries(count)
    started = time.perf_counter()
    with session_scope(engine) as session:
        upsert_terms(session, seeded.initiative_id, entries)
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def child_write(url: str, term: str) -> None:
    """In a child process (another replica): add `term` to the glossary; print when it committed."""
    engine = make_engine(url)
    with session_scope(engine) as session:
        initiative_id = session.exec(select(Initiative.id)).one()
        assert initiative_id is not None
        add_definition(session, initiative_id, TermEntry(term, "Written by another replica."), actor_id=None,
                       agreed=True, now=datetime.now(UTC))
    print(json.dumps({"committed": time.time()}))


def child(*args: str) -> dict[str, float]:
    """Run `python -m bench.glossary ARGS` and read the JSON line it prints."""
    done = subprocess.run([sys.executable, "-m", "bench.glossary", *args], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def timed(run: Callable[[str], object], queries: list[str]) -> list[float]:
    """Milliseconds each query took."""
    times = []
    for query in queries:
        start = time.perf_counter()
        run(query)
        times.append((time.perf_counter() - start) * 1000)
    return times


def size_run(count: int) -> bool:
    """Every figure at one size; True when the goals that apply are met."""
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/glossary.db"
        with scratch_database(url) as engine:
            imported = child("import", url, str(count))
            core = build_core(engine)
            origin = Origin("console", "maria")
            started = time.perf_counter()
            core.command_sync(origin, "glossary nothing-like-it")
            first_ms = (time.perf_counter() - started) * 1000
            rng = random.Random(3)
            entries = make_entries(count)
            sample = [rng.choice(entries) for _ in range(SAMPLES)]
            hits = [rng.choice([e.term.upper(), e.aliases[0], e.acronyms[0].lower()]) for e in sample]
            misses = ["".join(rng.choice("bcdfghjklmnpqrstvwxz") for _ in range(rng.randint(4, 8)))
                      for _ in range(SAMPLES)]

            def look_up(query: str) -> object:
                return core.command_sync(origin, f"glossary {query}")

            peer = timed(lambda _: core.command_sync(origin, "help glossary"), hits)
            hit = timed(look_up, hits)
            miss = timed(look_up, misses)
            visible, applied = [], []
            for n in range(WRITES):
                term = f"replica word {count} {n}"
                process = subprocess.Popen([sys.executable, "-m", "bench.glossary", "write", url, term], cwd=ROOT,
                                           stdout=subprocess.PIPE, text=True)
                seen_at, cost = None, 0.0
                deadline = time.time() + 30
                while time.time() < deadline:
                    started = time.perf_counter()
                    title = core.command_sync(origin, f"glossary {term}").title
                    spent = (time.perf_counter() - started) * 1000
                    if title:
                        seen_at, cost = time.time(), spent
                        break
                    time.sleep(0.02)
                out, _ = process.communicate(timeout=30)
                committed = json.loads(out.strip().splitlines()[-1])["committed"]
                visible.append((seen_at or float("inf")) - committed)
                applied.append(cost)
    label = f"glossary {count:,} terms"
    print(f"{label}: import {imported['seconds']:.1f} s (peak RSS {imported['peak_mb']:.0f} MB), "
          f"first lookup {first_ms:.0f} ms")
    for name, values in (("hit", hit), ("short miss", miss), ("peer (/ci help glossary)", peer)):
        print(f"  {name:>20}: p50 {percentile(values, 50):6.2f} ms   p99 {percentile(values, 99):6.2f} ms")
    print(f"  another replica's write seen after {', '.join(f'{v:.2f}' for v in visible)} s, "
          f"at {', '.join(f'{a:.1f}' for a in applied)} ms")
    if count < 100_000:
        return True
    p99 = percentile(peer, 99)
    return all([
        result(f"{label}: hit p99", f"{percentile(hit, 99):.2f} ms", f"{p99:.2f} ms", percentile(hit, 99) / p99,
               f"<= {GOAL_P99_MS:g} ms", percentile(hit, 99) <= GOAL_P99_MS),
        result(f"{label}: short miss p99", f"{percentile(miss, 99):.2f} ms", f"{p99:.2f} ms",
               percentile(miss, 99) / p99, f"<= {GOAL_P99_MS:g} ms", percentile(miss, 99) <= GOAL_P99_MS),
        result(f"{label}: write seen by another replica", f"{max(visible):.2f} s", "-", None,
               f"<= {GOAL_VISIBLE_S:g} s", max(visible) <= GOAL_VISIBLE_S),
        result(f"{label}: lookup taking in the write", f"{max(applied):.1f} ms", f"{p99:.2f} ms",
               max(applied) / p99, f"<= {GOAL_APPLY_MS:g} ms", max(applied) <= GOAL_APPLY_MS),
        result(f"{label}: import", f"{imported['seconds']:.1f} s", "-", None, f"<= {GOAL_IMPORT_S:g} s",
               imported["seconds"] <= GOAL_IMPORT_S),
        result(f"{label}: import peak RSS", f"{imported['peak_mb']:.0f} MB", "-", None,
               f"<= {GOAL_IMPORT_MB:g} MB", imported["peak_mb"] <= GOAL_IMPORT_MB),
    ])


def main() -> int:
    """Run every size (or a child's part); exit status 1 when a goal is missed."""
    if len(sys.argv) > 1 and sys.argv[1] in ("import", "write"):
        kind, url, value = sys.argv[1:4]
        child_import(url, int(value)) if kind == "import" else child_write(url, value)
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    args = parser.parse_args()
    verdicts = [size_run(int(size)) for size in args.sizes.split(",")]
    return 0 if all(verdicts) else 1


if __name__ == "__main__":
    raise SystemExit(main())
