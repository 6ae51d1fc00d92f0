"""Monitor failover under the default lease (issue #18, point 2): two real `flask monitor` processes
on one store, the active one SIGKILLed, the standby acting within the default bound (at most 15 s),
and nothing done twice: one reserve activation, one escalation mail per event, through a real SMTP
server. Runs on SQLite (the lease row) and on PostgreSQL via TEST_DATABASE_URL (the advisory lock)."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

from aiosmtpd.controller import Controller
from sqlalchemy import select, text, update

from core.clock import utcnow
from core.config import Config
from core.extensions import db
from core.store import begin_write
from status import incidents
from status.lock import AdvisoryLock, lock_for
from status.models import Component, Incident, Notification
from status.scenarios import Scenario
from status.scheduler import _run_guarded, fence_job_writes
from status.settings import MonitorSettings, current_settings
from status.tasks import Job
from tests.e2e.test_monitor_process import make_app, store_url  # noqa: F401 - the fixtures
from tests.service.status.conftest import HealthServer
from tests.smtp_server import Inbox, free_port

ROOT = Path(__file__).resolve().parents[2]
DEFAULTS = MonitorSettings.from_config({key: getattr(Config, key) for key in dir(Config) if key.isupper()})
OWNER = "sa@region.example"


def _start(store: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "flask", "monitor"], cwd=ROOT,
                                env={**env, "DATABASE_URL": store}, stdout=out, stderr=subprocess.STDOUT)


def _wait_for(condition, timeout: float, step: float = 0.05) -> float | None:  # noqa: ANN001
    """Return the monotonic time at which `condition()` first held, or None after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return time.monotonic()
        time.sleep(step)
    return None


def _in_store(app, query):  # noqa: ANN001, ANN202
    with app.app_context():
        try:
            return query()
        finally:
            db.session.remove()


def test_a_standby_takes_over_within_the_default_bound_after_sigkill_and_nothing_is_done_twice(
        make_app, store_url, tmp_path):  # noqa: F811
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    reference = HealthServer().start()
    main_url = f"http://127.0.0.1:{free_port()}"  # nobody listens: the main server is down throughout
    key = random.randint(1, 2**31 - 1)
    overrides = {"MAIN_SERVER_URL": main_url, "REFERENCE_TARGET_URL": reference.url,
                 "STATUS_ESCALATION_RECIPIENTS": {"system_owner": OWNER}, "MAIL_SERVER": "127.0.0.1",
                 "MAIL_PORT": smtp.port}
    app = make_app(**overrides)
    with app.app_context():  # an outage confirmed an hour ago: its opening mail is queued
        started = utcnow() - timedelta(hours=1)
        incidents.open_incident(Scenario.MAIN_SERVER_OUTAGE, started, started + timedelta(seconds=20),
                                current_settings())
        db.session.commit()
        db.session.remove()
    env = {**os.environ, "FLASK_APP": "app", "SECRET_KEY": "failover-test", "MAIN_SERVER_URL": main_url,
           "REFERENCE_TARGET_URL": reference.url, "STATUS_ESCALATION_RECIPIENTS": f'{{"system_owner": "{OWNER}"}}',
           "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp.port), "STATUS_MONITOR_LOCK_KEY": str(key),
           # The lease, its retries and the tick keep their defaults: they are what is measured.
           "STATUS_RESERVE_CHECK_SECONDS": "0.5", "STATUS_NOTIFY_SECONDS": "0.5"}
    env.pop("TEST_DATABASE_URL", None)
    logs = [tmp_path / "monitor-a.log", tmp_path / "monitor-b.log"]
    first = _start(store_url, env, logs[0])
    second = None
    try:
        assert _wait_for(lambda: "active (holds the lock)" in logs[0].read_text(), 30), logs[0].read_text()
        second = _start(store_url, env, logs[1])
        assert _wait_for(lambda: "standby" in logs[1].read_text(), 30), logs[1].read_text()
        # The opening mail is sent and recorded as sent (a monitor killed between the two would send
        # it again: mail is at least once, by design).
        assert _wait_for(lambda: len(inbox.messages) >= 1 and _in_store(app, lambda: db.session.scalar(
            select(Notification.id).where(Notification.sent_at.is_not(None)))) is not None, 15), \
            "the active monitor sent no opening mail"

        first.send_signal(signal.SIGKILL)
        first.wait(10)
        killed, killed_at = time.monotonic(), utcnow()
        # The four-hour mark passes right after the active monitor died: only the standby can act on it.
        _in_store(app, lambda: (db.session.execute(update(Incident).values(reserve_due_at=utcnow())),
                                db.session.commit()))
        took_over = _wait_for(lambda: "active (holds the lock)" in logs[1].read_text(), 30, step=0.02)
        assert took_over is not None, logs[1].read_text()
        activated_at = _wait_for(lambda: _in_store(app, lambda: db.session.scalar(
            select(Incident.reserve_activated_at))) is not None, 30, step=0.02)
        assert activated_at is not None, logs[1].read_text()
        reserve_subject = _in_store(app, lambda: db.session.scalar(
            select(Notification.subject).where(Notification.dedup_key.like("%:reserve_activated:%"))))
        assert _wait_for(lambda: any(m["Subject"] == reserve_subject for _, m in inbox.messages), 15)
        time.sleep(4 * 0.5)  # a few more notify rounds: a duplicate would arrive now
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(15)
        smtp.stop()
        reference.stop()

    takeover, acted = took_over - killed, activated_at - killed
    print(f"failover: standby active {takeover:.1f} s after SIGKILL, reserve activated after {acted:.1f} s "
          f"(bound {DEFAULTS.failover_bound_seconds():.0f} s)")
    assert acted <= DEFAULTS.failover_bound_seconds() <= 15, (takeover, acted)
    with app.app_context():
        incident = db.session.scalar(select(Incident))
        assert incident.reserve_activated_by == "system" and incident.reserve_activated_at >= killed_at
        assert [u.kind for u in incident.updates].count("reserve") == 1
        sent = list(db.session.scalars(select(Notification).where(Notification.sent_at.is_not(None))))
    subjects = [message["Subject"] for _, message in inbox.messages]
    assert subjects.count(reserve_subject) == 1
    assert len(subjects) == len(sent) == len(set(subjects)) >= 2, subjects  # the opening mail and the reserve mail


def _heartbeat_job(pause: threading.Event | None):  # noqa: ANN202
    """A job that decides, may pause (a long GC, SIGSTOP) until told, then writes."""
    def func(now):  # noqa: ANN001, ANN202
        if pause is not None:
            pause.wait(10)
        begin_write()
        db.session.execute(update(Component).where(Component.key == "customer_service")
                           .values(last_heartbeat_at=now).execution_options(synchronize_session=False))
        db.session.commit()

    return Job("test.heartbeat", func, lambda s: 1.0)


def _heartbeat(app):  # noqa: ANN001, ANN202
    return _in_store(app, lambda: db.session.scalar(select(Component.last_heartbeat_at)
                                                    .where(Component.key == "customer_service")))


def test_a_monitor_that_paused_past_its_lease_writes_nothing_after_losing_the_lock(make_app, caplog):  # noqa: F811
    app = make_app()
    with app.app_context():
        engine = db.engine
    fence_job_writes()
    lease = timedelta(seconds=0.5)
    key = random.randint(1, 2**31 - 1)
    first, second = lock_for(engine, "monitor-a", lease, key), lock_for(engine, "monitor-b", lease, key)
    try:
        assert first.acquire(utcnow())
        _run_guarded(app, first, _heartbeat_job(None))()  # holding the lock, the job writes
        assert _heartbeat(app) is not None
        _in_store(app, lambda: (db.session.execute(update(Component).values(last_heartbeat_at=None)),
                                db.session.commit()))

        pause = threading.Event()
        job = threading.Thread(target=_run_guarded(app, first, _heartbeat_job(pause)))
        job.start()  # it checked the lock and decided; now it stalls
        if isinstance(first, AdvisoryLock):  # PostgreSQL: the stalled monitor's session is cut off
            _in_store(app, lambda: db.session.execute(text("SELECT pg_terminate_backend(:pid)"),
                                                      {"pid": first._pid}))
        else:  # SQLite: the lease runs out while it stalls
            time.sleep(lease.total_seconds() + 0.1)
        assert _wait_for(lambda: second.acquire(utcnow()), 5)  # the standby takes over
        pause.set()
        job.join(10)
        assert _heartbeat(app) is None  # the stalled job's write was dropped at its commit
        assert "the monitor lock was lost while it ran" in caplog.text
    finally:
        first.release()
        second.release()
