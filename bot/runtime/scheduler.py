"""The bot's scheduler: APScheduler 3.x wrapped once, with jobs persisted in the bot's database.

A job is a plain function ``fn(session, now, **data) -> None`` that a capability
registered under a name (``registry.job("meetings.fire", fire)``); `data` holds plain
values (ids, strings), never objects. Stored jobs hold only that name, so moving a
module never breaks them. Every stored job points at the one static entry point
`run_job`, which looks the name up in the registry, opens a session, calls the
function with the clock's time, commits, and logs (never raises) errors, so a failing
job never stops the scheduler. The database is the source of truth: the registry's
reconcilers rebuild the jobs from it when the scheduler starts (`install`), and run
again periodically to pick up changes made while the bot runs.

With the system clock the scheduler fires jobs in real time. With any other clock
(a ManualClock in tests) it stays paused and `run_due` drives time instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.executors.asyncio import AsyncIOExecutor
from apscheduler.executors.base import run_job as run_apscheduler_job
from apscheduler.job import Job
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.base import STATE_STOPPED
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from apscheduler.util import datetime_to_utc_timestamp
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.core import logs, metrics
from bot.core.clock import Clock, SystemClock
from bot.core.registry import Registry, bot_session
from bot.runtime.backoff import Backoff
from storage.db import unreachable
from storage.jobs import JOBS_TABLE, scheduled_jobs

log = logging.getLogger(__name__)

DEFAULT_GRACE = timedelta(minutes=30)
JOB_OUTAGE_PATIENCE = 120.0  # seconds a job keeps retrying while the database is unreachable
SWEEP_JOB = "scheduler.sweep"  # the built-in job that runs a registered reconciler again
Reconciler = Callable[[Session, "Scheduler", datetime], None]
_running: contextvars.ContextVar[Scheduler] = contextvars.ContextVar("cibot_scheduler")
# Changes asked for inside a job or reconciler, applied only once its transaction commits.
_deferred: contextvars.ContextVar[list[Callable[[], None]] | None] = contextvars.ContextVar(
    "cibot_deferred_jobs", default=None)


class Scheduler:
    """Persistent jobs on the bot's database, with intent-named methods and one error path."""

    def __init__(self, engine: Engine, clock: Clock | None = None, registry: Registry | None = None) -> None:
        self.engine = engine
        self.clock = clock or SystemClock()
        self.registry = registry or Registry()
        self._reconcilers: list[Reconciler] = []
        self._backoff = Backoff("scheduler")
        self._store = _Store(self._backoff, engine=engine, tablename=JOBS_TABLE)
        self._aps = _OffLoopScheduler(
            self._backoff,
            jobstores={"default": self._store},
            executors={"default": _ContextExecutor(self)},
            timezone=UTC,
        )

    @property
    def realtime(self) -> bool:
        """Whether jobs fire on their own in real time (only with the system clock)."""
        return isinstance(self.clock, SystemClock)

    async def start(self) -> None:
        """Start the scheduler, rebuild jobs with the reconcilers, then fire jobs as they fall due.

        Must be called from the running event loop. With a non-system clock the
        scheduler stays paused; use `run_due` to move time. No database work runs on
        the event loop: starting (which stores the pending jobs) and every later look
        for due jobs happen in worker threads.
        """
        self._aps.bind(asyncio.get_running_loop())
        await asyncio.to_thread(self._aps.start, paused=True)
        await asyncio.to_thread(self.reconcile_now)
        if self.realtime:
            self._aps.resume()

    async def shutdown(self) -> None:
        """Stop firing jobs; jobs stay stored in the database for the next start."""
        await asyncio.to_thread(self._aps.stop_worker)  # first, so that shutting down never waits on its lock
        if self._aps.running:
            self._aps.shutdown(wait=False)
            await asyncio.sleep(0)  # AsyncIOScheduler finishes shutting down on the next tick

    def at(self, job_id: str, when: datetime, job: str, *, grace: timedelta = DEFAULT_GRACE, **data: Any) -> None:
        """Run the registered `job` once at `when` with `data`, replacing any job `job_id`.

        A job that could not run on time (the bot was down) still runs if it is at
        most `grace` late; several missed runs are coalesced into one.
        """
        self.add(job_id, DateTrigger(run_date=when), job, grace=grace, **data)

    def every(self, job_id: str, interval: timedelta, job: str, *, grace: timedelta = DEFAULT_GRACE,
              **data: Any) -> None:
        """Run `job` every `interval`, counted from the scheduler clock's now, replacing any job `job_id`."""
        trigger = IntervalTrigger(seconds=interval.total_seconds(), start_date=self.clock.now())
        self.add(job_id, trigger, job, grace=grace, **data)

    def add(self, job_id: str, trigger: BaseTrigger, job: str, *, grace: timedelta = DEFAULT_GRACE,
            **data: Any) -> None:
        """Run `job` whenever the APScheduler `trigger` fires, replacing any job `job_id`.

        The trigger is stored pickled with the job, so it must be an importable class.
        Its first fire time is computed from the scheduler's clock, not the wall clock;
        for a fixed interval use `every`, which starts the interval on that clock too.
        """
        if job not in self.registry.jobs and job != SWEEP_JOB:
            raise LookupError(f"no job named {job!r} is registered")
        first = trigger.get_next_fire_time(None, self.clock.now())
        self._change(lambda: self._aps.add_job(
            run_job, trigger, args=(job_id, job), kwargs=data, id=job_id, name=job,
            replace_existing=True, coalesce=True, max_instances=1,
            misfire_grace_time=int(grace.total_seconds()), next_run_time=first,
        ))

    def cancel(self, job_id: str) -> None:
        """Remove job `job_id`, if there is one."""

        def remove() -> None:
            if self._aps.get_job(job_id) is not None:
                self._aps.remove_job(job_id)

        self._change(remove)

    def _change(self, change: Callable[[], None]) -> None:
        """Apply `change` now, or after the running job's transaction commits (never if it fails)."""
        pending = _deferred.get()
        if pending is None:
            change()
        else:
            pending.append(change)

    def next_run(self, job_id: str) -> datetime | None:
        """When job `job_id` runs next, or None when there is no such job."""
        found = self._aps.get_job(job_id)
        return found.next_run_time if found is not None else None

    def job_ids(self) -> list[str]:
        """The ids of every stored job, soonest first."""
        return [job.id for job in self._aps.get_jobs()]

    def add_reconciler(self, fn: Reconciler) -> None:
        """Register `fn(session, scheduler, now)`, which (re)creates jobs from what the database holds."""
        self._reconcilers.append(fn)

    def install(self, *, only: tuple[str, ...] = (), every: dict[str, timedelta] | None = None) -> None:
        """Take the registry's reconcilers and periodic jobs: run at start, then repeated.

        `only` limits them to reconcilers and jobs whose names start with one of its
        prefixes; `every` overrides a reconciler's interval by name (tests that walk
        through months sweep less often).
        """
        def wanted(name: str) -> bool:
            return not only or name.startswith(only)

        for reconciler in self.registry.reconcilers:
            if not wanted(reconciler.name):
                continue
            interval = (every or {}).get(reconciler.name, reconciler.every)
            self.add_reconciler(functools.partial(reconciler.fn, sweep_every=interval, sweeping=False))
            self.every(f"{reconciler.name}:sweep", interval, SWEEP_JOB, reconciler=reconciler.name,
                       seconds=interval.total_seconds())
        for periodic in self.registry.periodic_jobs:
            if wanted(periodic.job):
                self.every(periodic.job_id, periodic.every, periodic.job, **periodic.data)

    def reconcile_now(self) -> None:
        """Run every reconciler in one transaction, so the stored jobs match the database."""
        with _changes_after_commit(), bot_session(self.engine, self.registry) as session:
            session.info["scheduler"] = self
            for reconciler in self._reconcilers:
                reconciler(session, self, self.clock.now())

    def run_due(self, until: datetime) -> int:
        """Run, in time order, every job due at or before `until`; return how many ran.

        A manual clock is moved to each job's run time before the job runs and to
        `until` at the end, so tests can walk through months without waiting.
        Jobs added by jobs are run too if they fall due before `until`.
        """
        ran = 0
        while (job := self._earliest_due(until)) is not None:
            run_time = job.next_run_time
            self._move_clock(run_time)
            token = _running.set(self)
            try:
                run_job(*job.args, **job.kwargs)
            finally:
                _running.reset(token)
            ran += 1
            current = self._aps.get_job(job.id)
            if current is None or current.next_run_time != run_time:
                continue  # the job replaced or removed itself
            following = job.trigger.get_next_fire_time(run_time, run_time)
            if following is None:
                self._aps.remove_job(job.id)
            else:
                self._aps.modify_job(job.id, next_run_time=following)
        self._move_clock(until)
        return ran

    def _earliest_due(self, until: datetime) -> Job | None:
        table = scheduled_jobs
        with self.engine.connect() as conn:
            job_id = conn.execute(
                select(table.c.id).where(table.c.next_run_time <= datetime_to_utc_timestamp(until))
                .order_by(table.c.next_run_time, table.c.id).limit(1)
            ).scalar()
        return self._aps.get_job(job_id) if job_id is not None else None

    def _move_clock(self, when: datetime) -> None:
        move = getattr(self.clock, "set", None)
        if move is not None and when > self.clock.now():
            move(when)


def scheduler_of(session: Session) -> Scheduler:
    """The scheduler running the current job or reconciler, for jobs that schedule further jobs."""
    return session.info["scheduler"]


def _sweep(session: Session, now: datetime, reconciler: str, seconds: float) -> None:
    """The built-in periodic job: run the registered reconciler `reconciler` again."""
    scheduler = scheduler_of(session)
    found = next((r for r in scheduler.registry.reconcilers if r.name == reconciler), None)
    if found is None:
        raise LookupError(f"no reconciler named {reconciler!r} is registered")
    found.fn(session, scheduler, now, sweep_every=timedelta(seconds=seconds), sweeping=True)


def run_job(job_id: str, job: str, **data: Any) -> None:
    """The static entry point of every stored job: run the job named `job` with the clock's time.

    Commits when the job returns, then applies the scheduling changes the job asked
    for; when it raises, rolls back, drops those changes and logs the error with the
    job id. Never raises, so one failing job cannot stop the scheduler.
    """
    with logs.request_scope("job"):
        _run_job(job_id, job, data)


def _run_job(job_id: str, job: str, data: dict[str, Any]) -> None:
    scheduler = _running.get()
    backoff = Backoff(f"scheduled job {job_id}")
    give_up = time.monotonic() + JOB_OUTAGE_PATIENCE
    while True:
        try:
            fn = _sweep if job == SWEEP_JOB else scheduler.registry.jobs[job]
            with _changes_after_commit(), bot_session(scheduler.engine, scheduler.registry) as session:
                session.info["scheduler"] = scheduler
                fn(session, scheduler.clock.now(), **data)
            backoff.succeeded()
            return
        except Exception as exc:
            if unreachable(exc) and time.monotonic() < give_up:  # rolled back: run it again once the database is back
                time.sleep(backoff.failed(exc))
                continue
            log.exception("scheduled job %s (%s) failed", job_id, job)
            return


@contextlib.contextmanager
def _changes_after_commit() -> Iterator[None]:
    """Collect scheduling changes made inside the block; apply them only if it succeeds."""
    pending: list[Callable[[], None]] = []
    token = _deferred.set(pending)
    try:
        yield
    finally:
        _deferred.reset(token)
    for change in pending:
        change()


class _ContextExecutor(AsyncIOExecutor):
    """APScheduler's asyncio executor, running each job in a worker thread that knows its Scheduler."""

    def __init__(self, owner: Scheduler) -> None:
        super().__init__()
        self._owner = owner

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        if run_times:
            metrics.SCHEDULER_LAG.observe(max(0.0, (self._owner.clock.now() - run_times[-1]).total_seconds()))
        context = contextvars.copy_context()
        context.run(_running.set, self._owner)

        def done(future: asyncio.Future[Any]) -> None:
            self._pending_futures.discard(future)
            self._run_job_success(job.id, future.result() if not future.cancelled() else [])

        def submit() -> None:  # on the event loop; `_do_submit_job` runs in the scheduler's worker thread
            future = self._eventloop.run_in_executor(
                None, context.run, run_apscheduler_job, job, job._jobstore_alias, run_times, self._logger.name
            )
            future.add_done_callback(done)
            self._pending_futures.add(future)

        self._eventloop.call_soon_threadsafe(submit)


class _Store(SQLAlchemyJobStore):
    """APScheduler's SQLAlchemy job store, quiet and patient while the database is unreachable.

    A failed look for due jobs finds none and reports the next run time as the end of
    the backoff, so the scheduler looks again then; the warning is logged once per
    outage by the shared `Backoff`. The store never disposes the bot's engine.
    """

    def __init__(self, backoff: Backoff, **options: Any) -> None:
        super().__init__(**options)
        self._backoff = backoff
        self._retry_at: datetime | None = None

    def get_due_jobs(self, now: datetime) -> list[Job]:
        try:
            due = super().get_due_jobs(now)
        except Exception as exc:
            if not unreachable(exc):
                raise
            self._retry_at = now + timedelta(seconds=self._backoff.failed(exc))
            return []
        self._retry_at = None
        self._backoff.succeeded()
        return due

    def get_next_run_time(self) -> datetime | None:
        if self._retry_at is not None:
            return self._retry_at
        return super().get_next_run_time()

    def shutdown(self) -> None:
        """Nothing to release: the engine belongs to the bot."""


class _OffLoopScheduler(AsyncIOScheduler):
    """An AsyncIOScheduler whose job-store work never runs on the event loop.

    APScheduler's `wakeup` runs `_process_jobs` (reading due jobs, storing their next run
    times) on the loop; here it runs in one dedicated worker thread instead, and only the
    timer for the next wake-up is set on the loop. A database error while processing
    backs off and tries again, like the store's own failures.
    """

    def __init__(self, backoff: Backoff, **options: Any) -> None:
        super().__init__(**options)
        self._backoff = backoff
        self._worker: ThreadPoolExecutor | None = None
        self._wake_lock = threading.Lock()
        self._wake_queued = False

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Use `loop` for timers and job submission (so `start` may run in a worker thread)."""
        self._eventloop = loop
        if self._worker is None:
            self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cibot-scheduler")

    def stop_worker(self) -> None:
        """Wait for the worker thread to finish what it is doing, and end it."""
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.shutdown(wait=True)

    def wakeup(self) -> None:  # may be called from any thread
        with self._wake_lock:
            if self._wake_queued or self._worker is None:
                return  # a look is already queued (it will see this change too), or the scheduler stopped
            with contextlib.suppress(RuntimeError):  # the worker was shut down meanwhile
                self._worker.submit(self._process_off_loop)
                self._wake_queued = True

    def _process_off_loop(self) -> None:
        with self._wake_lock:
            self._wake_queued = False
        if self.state == STATE_STOPPED:
            return
        try:
            wait: float | None = self._process_jobs()
        except Exception as exc:
            if not unreachable(exc):
                log.exception("the scheduler failed to process its jobs")
                wait = float(self.jobstore_retry_interval)
            else:
                wait = self._backoff.failed(exc)
        loop = self._eventloop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self._rearm, wait)

    def _rearm(self, wait: float | None) -> None:
        if self.state != STATE_STOPPED and self._eventloop is not None:
            self._start_timer(wait)
