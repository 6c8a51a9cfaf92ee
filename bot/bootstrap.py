"""The composition root: the flows that make up cibot, wired into one Core."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from bot.core import completions, help, home
from bot.core.clock import Clock
from bot.core.core import Core
from bot.core.registry import Registry
from bot.decisions import commands as decisions
from bot.decisions import jobs as decision_jobs
from bot.glossary import commands as glossary
from bot.measures import commands as measures
from bot.measures import jobs as measure_jobs
from bot.meetings import agenda, minutes
from bot.meetings import commands as meetings
from bot.meetings import jobs as meeting_jobs
from bot.runtime import outbox
from bot.runtime.scheduler import Scheduler

FLOWS = (help, home, glossary, meetings, agenda, minutes, decisions, measures, completions)
JOBS = (meeting_jobs, measure_jobs, decision_jobs, outbox)


def build_registry() -> Registry:
    """A registry holding every flow's commands, actions and home sections."""
    registry = Registry()
    for flow in FLOWS:
        flow.register(registry)
    return registry


def install_jobs(scheduler: Scheduler) -> None:
    """Give `scheduler` every flow's reconcilers and periodic sweeps."""
    for jobs in JOBS:
        jobs.install(scheduler)


def build_core(engine: Engine, clock: Clock | None = None) -> Core:
    """The cibot core for `engine`, with every flow registered."""
    return Core(engine, build_registry(), clock)
