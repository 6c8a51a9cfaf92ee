"""`make bench`: run every benchmark, one after the other, then print one PASS/FAIL table of their goals.

Each benchmark prints its own figures as it goes; the lines it marks with
`bench.common.RESULT` (goal, figure, peer figure, ratio, target, verdict) are gathered
into the table. A benchmark that marks none gets one row with its exit status.
Exits 1 when any row fails.

    .venv/bin/python -m bench.report [glossary slack_command ...]
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from bench.common import RESULT

ROOT = Path(__file__).resolve().parent.parent
BENCHES = ("glossary", "slack_command", "discord_interaction", "scheduler", "fanout", "progress", "votes")
COLUMNS = ("goal", "figure", "peer", "ratio", "target", "verdict")


def run(name: str) -> tuple[list[dict[str, str]], float]:
    """Run `bench.NAME`, echoing its output; its result rows and the seconds it took."""
    print(f"== bench/{name}.py", flush=True)
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", f"bench.{name}"], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    rows = []
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith(RESULT):
            rows.append(json.loads(line[len(RESULT):]))
        else:
            print(line, end="", flush=True)
    status = process.wait()
    seconds = time.perf_counter() - started
    if not rows:
        rows.append({"goal": f"bench/{name}.py", "figure": f"exit status {status}", "peer": "-", "ratio": "-",
                     "target": "its own targets", "verdict": "PASS" if status == 0 else "FAIL"})
    return rows, seconds


def table(rows: list[dict[str, str]]) -> str:
    """The rows as an aligned text table."""
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in COLUMNS}
    lines = ["  ".join(c.ljust(widths[c]) for c in COLUMNS), "  ".join("-" * widths[c] for c in COLUMNS)]
    lines += ["  ".join(str(r[c]).ljust(widths[c]) for c in COLUMNS) for r in rows]
    return "\n".join(lines)


def main() -> int:
    """Run the benchmarks named on the command line (all by default) and print the table."""
    names = sys.argv[1:] or list(BENCHES)
    rows: list[dict[str, str]] = []
    timings = []
    for name in names:
        found, seconds = run(name)
        rows += found
        timings.append(f"{name} {seconds:.0f} s")
    print("\n" + table(rows))
    print(f"\ntime: {', '.join(timings)}; total {sum(float(t.split()[1]) for t in timings) / 60:.1f} min")
    return 0 if all(r["verdict"] == "PASS" for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
