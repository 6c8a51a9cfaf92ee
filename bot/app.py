"""The composition root: the flows that make up cibot, wired into one Core."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from bot.core.clock import Clock
from bot.core.core import Core
from bot.core.registry import Registry
from bot.flows import help

FLOWS = (help,)


def build_registry() -> Registry:
    """A registry holding every flow's commands, actions and home sections."""
    registry = Registry()
    for flow in FLOWS:
        flow.register(registry)
    return registry


def build_core(engine: Engine, clock: Clock | None = None) -> Core:
    """The cibot core for `engine`, with every flow registered."""
    return Core(engine, build_registry(), clock)
