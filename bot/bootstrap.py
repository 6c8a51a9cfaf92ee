"""The composition root: the capabilities and adapters' dialects that make up cibot, wired once.

Nothing here runs at import time: `build_registry` asks each capability to register
itself, `build_core` puts a core around it and `build_scheduler` a scheduler.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from bot import decisions, digests, glossary, measures, meetings, publish, rollup
from bot.adapters.discord.dialect import DISCORD
from bot.adapters.email.dialect import EMAIL
from bot.adapters.slack.dialect import SLACK
from bot.core import completions, help, home
from bot.core.clock import Clock
from bot.core.core import Core
from bot.core.registry import Registry
from bot.core.render import PLAIN
from bot.runtime import outbox
from bot.runtime.scheduler import Scheduler

CAPABILITIES = (help, home, glossary, meetings, decisions, measures, rollup, digests, publish, completions, outbox)
DIALECTS = (PLAIN, SLACK, DISCORD, EMAIL)


def dialects_only() -> Registry:
    """A registry that knows every platform's dialect and nothing else (for tools and tests)."""
    registry = Registry()
    for markup in DIALECTS:
        registry.dialect(markup)
    return registry


def build_registry() -> Registry:
    """A registry holding every capability's commands, actions, sections and jobs, and every dialect."""
    registry = dialects_only()
    for capability in CAPABILITIES:
        capability.register(registry)
    registry.check()
    return registry


def build_core(engine: Engine, clock: Clock | None = None) -> Core:
    """The cibot core for `engine`, with every capability registered."""
    return Core(engine, build_registry(), clock)


def build_scheduler(core: Core) -> Scheduler:
    """The scheduler for `core`: every capability's reconcilers and periodic jobs, by name."""
    scheduler = Scheduler(core.engine, core.clock, core.registry)
    scheduler.install()
    return scheduler
