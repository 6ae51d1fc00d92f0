"""The monitor's scheduled jobs, declared in one list with stable ids.

Each job is a plain function of the current moment; the scheduler (status/scheduler.py)
runs them in the `flask monitor` process only. Tests call them directly with a chosen `now`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import delete

from core import mail_outbox, store
from core.extensions import db
from core.privacy import access_journal
from core.signals import flat_values
from core.store import begin_write
from status import services, signals, subscriptions
from status.models import ProbeResult
from status.settings import MonitorSettings

PROBE_RESULTS_KEPT = timedelta(days=90)


def probe(now: datetime) -> None:
    services.run_probe_cycle(now)


def reserve_check(now: datetime) -> None:
    services.run_reserve_check(now)


def notify(now: datetime) -> None:
    services.deliver_notifications(now)


def send_mail(now: datetime) -> None:
    """Send what waits in the mail outbox (core.mail_outbox): every mail of the product, retried with backoff."""
    mail_outbox.deliver_due(now)


def checkpoint_wal(_now: datetime) -> None:
    """Copy SQLite's write-ahead log into the database here, not in a request (core.store)."""
    store.checkpoint_wal(db.engine)


def ingest_access_journal(_now: datetime) -> None:
    """Move the web workers' access-journal lines into the access log (core.privacy.access_journal)."""
    access_journal.ingest_pending()


def prune(now: datetime) -> None:
    """Forget probe results past availability's horizon, addresses never confirmed and old mail."""
    begin_write()
    db.session.execute(delete(ProbeResult).where(ProbeResult.at < now - PROBE_RESULTS_KEPT))
    db.session.commit()
    subscriptions.forget_unconfirmed(now)
    mail_outbox.forget_old(now)


@dataclass(frozen=True)
class Job:
    id: str
    func: Callable[[datetime], None]
    every: Callable[[MonitorSettings], float]  # seconds
    # Sending mail waits on SMTP; it runs on its own thread so it never holds up a probe.
    executor: str = "default"


JOBS = (
    Job("status.probe", probe, lambda s: s.tick_seconds),
    Job("status.reserve_check", reserve_check, lambda s: s.reserve_check_seconds),
    Job("status.notify", notify, lambda s: s.notify_seconds, executor="mail"),
    Job("core.mail", send_mail, lambda s: s.notify_seconds, executor="mail"),
    Job("core.wal_checkpoint", checkpoint_wal, lambda s: s.tick_seconds),
    Job("core.access_journal", ingest_access_journal, lambda s: s.tick_seconds),
    Job("status.prune", prune, lambda s: 3600.0),
)


def all_jobs(app: Flask) -> tuple[Job, ...]:
    """Return the monitor's own jobs followed by those of the packages above (sync, reserve).

    They run in the monitor process too, under the same single-monitor lock; each package
    answers the `monitor_jobs` signal from its init_app().
    """
    return (*JOBS, *flat_values(signals.monitor_jobs, app))
