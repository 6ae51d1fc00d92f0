"""`flask monitor`: the scheduler process. Never started by web workers or the reloader."""
from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import click
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask, current_app, g, has_app_context
from flask.cli import with_appcontext
from sqlalchemy import event
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.extensions import db
from core.store import WRITE
from status.lock import MonitorLock, lock_for
from status.notifications import worker_id
from status.settings import MonitorSettings
from status.tasks import Job, all_jobs

log = logging.getLogger("status.monitor")

JOB_DEFAULTS = {"max_instances": 1, "coalesce": True, "misfire_grace_time": 30}
LOCK_JOB_ID = "status.lock"
LOCK_EXECUTOR = "lock"
CLOCK_SLACK = timedelta(seconds=1)


class MonitorScheduler(BlockingScheduler):
    """APScheduler's blocking scheduler, made to survive a wall clock that goes backwards.

    An interval job's next run is its last run plus the interval on the wall clock; after an NTP
    correction (or any reset) backwards, it lies as far ahead as the clock went back, and the
    job would wait that long. A next run further ahead than the job's interval can only come
    from such a jump, so the job runs now instead; the wait between looks never exceeds the
    shortest interval, so the loop notices soon.
    """

    def _process_jobs(self) -> float | None:
        now = datetime.now(self.timezone)
        shortest = None
        for job in self.get_jobs():
            interval = getattr(job.trigger, "interval", None)
            if interval is None:
                continue
            shortest = interval if shortest is None else min(shortest, interval)
            if job.next_run_time is not None and job.next_run_time > now + interval + CLOCK_SLACK:
                log.warning("job %s was due %s: the clock went back; running it now", job.id, job.next_run_time)
                job.modify(next_run_time=now)
        wait = super()._process_jobs()
        if shortest is None:
            return wait
        return shortest.total_seconds() if wait is None else min(wait, shortest.total_seconds())


class LockLost(Exception):
    """The monitor lost its lock while a job ran: the job's writes are rolled back."""


_FENCE = "monitor_lock"  # flask.g: the lock the running job's writes must still hold


def _fence(session: Session) -> None:
    """Before a monitor job commits a write, check inside its transaction that the lock is still ours."""
    lock = g.get(_FENCE) if has_app_context() else None
    if lock is not None and session.info.get(WRITE) and not lock.fence(session, utcnow()):
        raise LockLost("monitor lock lost during the job")


def fence_job_writes() -> None:
    """Make every write a guarded job commits depend on still holding the lock (once per process)."""
    if not event.contains(Session, "before_commit", _fence):
        event.listen(Session, "before_commit", _fence)


def _run_guarded(app: Flask, lock: MonitorLock, job: Job) -> Callable[[], None]:
    def run() -> None:
        with app.app_context():
            now = utcnow()
            if not lock.held(now):
                return  # standby: another monitor holds the lock
            g.setdefault(_FENCE, lock)
            try:
                job.func(now)
            except LockLost:
                log.warning("job %s: the monitor lock was lost while it ran; its writes are dropped", job.id)
                db.session.rollback()
            except Exception:
                log.exception("job %s failed", job.id)
                db.session.rollback()

    return run


def _renew(app: Flask, lock: MonitorLock) -> Callable[[], None]:
    state = {"held": None}

    def renew() -> None:
        with app.app_context():
            held = lock.acquire(utcnow())
        if held != state["held"]:
            log.info("monitor %s: %s", worker_id(), "active (holds the lock)" if held
                     else "standby (another monitor holds the lock)")
            state["held"] = held

    return renew


def build_scheduler(app: Flask, lock: MonitorLock, settings: MonitorSettings,
                    renew: Callable[[], None] | None = None) -> MonitorScheduler:
    """Return the scheduler with the lock job, every job of tasks.JOBS and those other packages registered."""
    # One thread for the monitoring jobs, so they never race each other, and one for mail;
    # other processes are kept out by the lock, and the critical writes are conditional
    # UPDATEs (or unique keys) in any case.
    # The lock has a thread of its own: a slow probe or mail must never make the lease lapse.
    fence_job_writes()
    scheduler = MonitorScheduler(timezone=timezone.utc, job_defaults=JOB_DEFAULTS,
                                  executors={"default": ThreadPoolExecutor(1), "mail": ThreadPoolExecutor(1),
                                             LOCK_EXECUTOR: ThreadPoolExecutor(1)})
    start = datetime.now(timezone.utc)
    scheduler.add_job(renew or _renew(app, lock), "interval", seconds=settings.lock_retry_seconds,
                      id=LOCK_JOB_ID, name=LOCK_JOB_ID, next_run_time=start, executor=LOCK_EXECUTOR,
                      **JOB_DEFAULTS)
    for offset, job in enumerate(all_jobs(app)):
        scheduler.add_job(_run_guarded(app, lock, job), "interval", seconds=job.every(settings), id=job.id,
                          name=job.id, next_run_time=start + timedelta(milliseconds=50 * (offset + 1)),
                          executor=job.executor, **JOB_DEFAULTS)
    return scheduler


def run_monitor(app: Flask) -> None:
    """Run the monitor until SIGTERM or Ctrl-C; release the lock on the way out."""
    settings = MonitorSettings.from_config(app.config)
    with app.app_context():
        engine = db.engine
    lock = lock_for(engine, worker_id(), timedelta(seconds=settings.lease_seconds), settings.lock_key)
    renew = _renew(app, lock)
    renew()  # know at once whether we are the active monitor
    # A line per job added and per run every few seconds drowns what matters; failures still show.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    scheduler = build_scheduler(app, lock, settings, renew)

    def stop(_signum: int, _frame: object) -> None:
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("monitor %s started: main server %s, every %ss", worker_id(), settings.main_server_url,
             settings.probe_interval.total_seconds())
    try:
        scheduler.start()
    finally:
        with app.app_context():
            lock.release()
        log.info("monitor %s stopped", worker_id())


@click.command("monitor")
@with_appcontext
def monitor_command() -> None:
    """Run the status monitor: probes, incidents, the four-hour rule, notifications."""
    run_monitor(current_app._get_current_object())  # type: ignore[attr-defined]
