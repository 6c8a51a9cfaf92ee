"""Running `cibot` as a real process, as a maintainer would: its command, its environment, a free port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "initiative.yaml"
CIBOT = [sys.executable, "-m", "bot.cli"]


def env_for(db: str, **extra: str) -> dict[str, str]:
    """The environment of a cibot process: the database and nothing of the caller's Slack or Discord setup."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))}
    return {**env, "DATABASE_URL": db, "PYTHONPATH": str(ROOT), **extra}


def cibot(*args: str, db: str, stdin: str = "", cwd: Path | None = None,
          **extra_env: str) -> subprocess.CompletedProcess[str]:
    """Run `cibot ARGS...` on the database `db` to the end, typing `stdin`; its exit code and output."""
    return subprocess.run([*CIBOT, *args], input=stdin, capture_output=True, text=True,
                          env=env_for(db, **extra_env), cwd=cwd or ROOT, timeout=120)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_module(module: str, *args: str) -> subprocess.Popen[str]:
    """Start `python -m MODULE ARGS...` from the repository root, its output readable as text."""
    return subprocess.Popen([sys.executable, "-m", module, *args], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, text=True)
