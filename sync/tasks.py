"""The sync engine's scheduled jobs, run by `flask monitor`, and its answers to the status signals.

Each job is a plain function of the current moment. `send` claims every recovery event the
monitor recorded (each is handed out once), then sends for at most SYNC_RUN_BUDGET_SECONDS;
with work left, the next tick goes on. `pull` reads the changes feed when it is due.
"""
from __future__ import annotations

from datetime import datetime

from flask import Flask

from core.clock import utcnow
from status.services import claim_recovery_event
from status.tasks import Job
from sync import breaker_state, outbox, progress, pull as pull_feed
from sync.sender import RunReport, Sender, new_worker_id
from sync.settings import current_settings

_worker: str | None = None


def worker() -> str:
    """Return this process's sender name (the same for every run, so its leases are recognisably its own)."""
    global _worker
    if _worker is None:
        _worker = new_worker_id()
    return _worker


def send(now: datetime) -> RunReport:
    """Adopt what was captured since the outage began, take recovery events, then send within the budget."""
    settings = current_settings()
    outbox.adopt_into_incident(now)
    trigger, event_id = "schedule", None
    while (event := claim_recovery_event(worker(), now)) is not None:
        breaker_state.on_recovery(utcnow())
        trigger, event_id = "recovery", event.id
    return Sender(settings, worker()).run(trigger=trigger, budget_seconds=settings.run_budget_seconds,
                                          recovery_event_id=event_id)


def pull(now: datetime) -> None:
    """Refresh articles, patients and withdrawal statuses from the changes feed when due."""
    pull_feed.pull_if_due(now)


def monitor_jobs(_app: Flask) -> tuple[Job, ...]:
    """Answer status.signals.monitor_jobs: the sender and the changes feed, every tick while the main
    server is up, at once after a recovery event. Network-bound, so on the monitor's second thread."""
    return (Job("sync.send", send, lambda s: s.tick_seconds, executor="mail"),
            Job("sync.pull", pull, lambda s: s.tick_seconds, executor="mail"))


def public_progress(_app: Flask, now: datetime) -> dict:
    """Answer status.signals.public_sync_progress: back-registration progress, numbers only."""
    return progress.public_progress(now)


def data_as_of(_app: Flask) -> datetime | None:
    """Answer status.signals.data_as_of: our last complete pull of the main server's changes feed."""
    return pull_feed.data_as_of()
