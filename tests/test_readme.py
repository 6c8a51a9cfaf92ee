"""README.md stays true: every /ci command, every environment variable and every cibot command is in it."""

from __future__ import annotations

import re
from pathlib import Path

import typer.main

from bot.bootstrap import build_registry
from bot.cli import app

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


EXAMPLE = re.compile(r",? e\.g\. |\s+\(e\.g\.")


def test_every_ci_command_is_documented_with_its_usage() -> None:
    documented = README.replace("\\|", "|")
    usages = [EXAMPLE.split(c.usage)[0].strip() for c in build_registry().commands.values()]
    assert [u for u in usages if f"`{u}`" not in documented] == []


def test_every_environment_variable_read_by_the_code_is_documented() -> None:
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "bot").rglob("*.py"))
    source += (ROOT / "storage" / "db.py").read_text(encoding="utf-8")
    names = set(re.findall(r"""(?:environ|env)(?:\.get)?[\[(]\s*["']([A-Z][A-Z0-9_]+)["']""", source))
    assert {"DATABASE_URL", "SLACK_BOT_TOKEN", "DISCORD_TOKEN"} <= names
    assert sorted(n for n in names if f"`{n}`" not in README) == []


def test_every_cibot_command_is_documented() -> None:
    lines = [line for line in README.splitlines() if "`cibot " in line]
    missing = []
    for name, command in typer.main.get_group(app).commands.items():
        subcommands = getattr(command, "commands", None) or {"": None}
        for sub in subcommands:
            pattern = re.compile(rf"`cibot {name}\b" + (rf"[^`]*\b{sub}\b" if sub else ""))
            if not any(pattern.search(line) for line in lines):
                missing.append(f"cibot {name} {sub}".strip())
    assert missing == []


def test_the_quick_start_is_exactly_make_demo_and_make_test() -> None:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block is not None
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]
