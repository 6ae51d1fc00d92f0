"""More than one connection or process: the single-monitor lock, racing monitors, a restart,
and the real `flask monitor` scheduler. Each test gets a store of its own (a temporary SQLite
file, or its own PostgreSQL schema), because the shared test transaction cannot be seen from
a second connection."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, func, select, text

from app import create_app
from core.clock import utcnow
from core.config import TestConfig, normalise_database_url
from core.extensions import db
from status import incidents, services
from status.lock import AdvisoryLock, LeaseLock, lock_for
from status.models import Incident, ProbeResult, RecoveryEvent
from status.scenarios import Scenario
from status.scheduler import JOB_DEFAULTS, LOCK_JOB_ID, build_scheduler
from status.settings import MonitorSettings, current_settings
from status.tasks import all_jobs
from tests.service.status.conftest import FOUR_HOURS_LATER, OUTAGE_START, HealthServer, free_port

ROOT = Path(__file__).resolve().parents[2]
ONE_SECOND = timedelta(seconds=1)
ON_POSTGRES = bool(os.environ.get("TEST_DATABASE_URL"))


@pytest.fixture
def store_url(tmp_path: Path) -> Iterator[str]:
    """A migrated store for this test alone."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        url = f"sqlite:///{tmp_path / 'status.sqlite3'}"
        _migrate(url)
        yield url
        return
    base = normalise_database_url(base)
    schema = f"status_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    try:
        _migrate(url)
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


def _config(url: str, **overrides) -> type:
    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = url
        STATUS_PAGE_CACHE_SECONDS = 0
        STATUS_ESCALATION_RECIPIENTS: dict = {}
        STATUS_PROBE_CONNECT_TIMEOUT = 0.5
        STATUS_PROBE_READ_TIMEOUT = 0.5
        MAIL_PORT = free_port()

    for key, value in overrides.items():
        setattr(Config, key, value)
    return Config


def _migrate(url: str) -> None:
    app = create_app(_config(url))
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture
def make_app(store_url: str) -> Iterator:
    """Build app instances on the test's store, as separate monitor processes would."""
    built: list[Flask] = []

    def make(**overrides) -> Flask:
        application = create_app(_config(store_url, **overrides))
        built.append(application)
        return application

    yield make
    for application in built:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


def _open_sesam_outage(app: Flask) -> int:
    with app.app_context():
        incident = incidents.open_incident(Scenario.MAIN_SERVER_OUTAGE, OUTAGE_START,
                                           OUTAGE_START + timedelta(seconds=40), current_settings())
        db.session.commit()
        return incident.id


def _race(app: Flask, count: int, work) -> list:
    """Run `work()` in `count` threads at once, each in its own app context (own session, own connection)."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(i: int) -> None:
        with app.app_context():
            barrier.wait()
            results[i] = work()
            db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_two_monitors_racing_activate_the_reserve_routine_once(make_app):
    app = make_app()
    incident_id = _open_sesam_outage(app)
    results = _race(app, 4, lambda: services.run_reserve_check(FOUR_HOURS_LATER))
    assert sorted(results, key=len) == [[], [], [], [incident_id]]
    with app.app_context():
        incident = db.session.get(Incident, incident_id)
        assert [u.kind for u in incident.updates].count("reserve") == 1


def test_a_recovery_event_is_claimed_exactly_once(make_app):
    app = make_app()
    incident_id = _open_sesam_outage(app)
    with app.app_context():
        db.session.add(RecoveryEvent(incident_id=incident_id, occurred_at=FOUR_HOURS_LATER))
        db.session.commit()
    results = _race(app, 6, lambda: services.claim_recovery_event(f"sync-{threading.get_ident()}"))
    claimed = [r for r in results if r is not None]
    assert len(claimed) == 1 and claimed[0].processed_by.startswith("sync-")


def test_second_monitor_lease_stays_idle_until_the_first_expires(make_app):
    app = make_app()
    with app.app_context():
        engine = db.engine
    first = LeaseLock(engine, "monitor-a", timedelta(seconds=60))
    second = LeaseLock(engine, "monitor-b", timedelta(seconds=60))
    assert first.acquire(OUTAGE_START)
    assert not second.acquire(OUTAGE_START + timedelta(seconds=30))
    assert first.acquire(OUTAGE_START + timedelta(seconds=40))  # renewed: now until +100 s
    assert not second.acquire(OUTAGE_START + timedelta(seconds=99))
    assert second.acquire(OUTAGE_START + timedelta(seconds=100))  # expired: stolen
    assert not first.acquire(OUTAGE_START + timedelta(seconds=101))
    assert not first.held(OUTAGE_START + timedelta(seconds=101))
    second.release()
    assert first.acquire(OUTAGE_START + timedelta(seconds=102))


@pytest.mark.skipif(not ON_POSTGRES, reason="advisory locks are PostgreSQL's")
def test_second_monitor_advisory_lock_stays_idle_until_the_first_lets_go(make_app):
    app = make_app()
    with app.app_context():
        engine = db.engine
    key = random.randint(1, 2**31 - 1)
    first, second = AdvisoryLock(engine, key), AdvisoryLock(engine, key)
    try:
        assert first.acquire(OUTAGE_START) and first.acquire(OUTAGE_START)
        assert not second.acquire(OUTAGE_START)
        first.release()
        assert second.acquire(OUTAGE_START)
    finally:
        first.release()
        second.release()


def test_the_store_chooses_the_lock(make_app):
    app = make_app()
    with app.app_context():
        lock = lock_for(db.engine, "m", timedelta(seconds=60), 1)
    assert isinstance(lock, AdvisoryLock if ON_POSTGRES else LeaseLock)


def test_a_restarted_monitor_keeps_the_original_start_and_activates_on_time(make_app):
    main, reference = HealthServer().start(), HealthServer().start()
    try:
        overrides = {"MAIN_SERVER_URL": main.url, "REFERENCE_TARGET_URL": reference.url}
        first = make_app(**overrides)
        with first.app_context():
            services.run_probe_cycle(OUTAGE_START - timedelta(seconds=60))
            main.stop()
            for step in range(3):
                services.run_probe_cycle(OUTAGE_START + step * timedelta(seconds=20))
            db.session.remove()
            db.engine.dispose()  # the first monitor process is gone
        second = make_app(**overrides)
        with second.app_context():
            at = OUTAGE_START + timedelta(hours=1)
            while at < FOUR_HOURS_LATER:
                services.run_probe_cycle(at)
                at += timedelta(minutes=20)
            assert services.run_reserve_check(FOUR_HOURS_LATER - ONE_SECOND) == []
            (activated,) = services.run_reserve_check(FOUR_HOURS_LATER)
            incident = db.session.get(Incident, activated)
            assert incident.started_at == OUTAGE_START
            assert incident.reserve_activated_at == FOUR_HOURS_LATER
            assert db.session.scalar(select(func.count()).select_from(Incident)) == 1
    finally:
        main.stop()
        reference.stop()


def test_jobs_are_declared_once_with_stable_ids_and_safe_defaults(make_app):
    app = make_app()
    settings = MonitorSettings.from_config(app.config)
    scheduler = build_scheduler(app, LeaseLock(None, "x", timedelta(seconds=60)), settings)  # type: ignore[arg-type]
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {LOCK_JOB_ID, *(job.id for job in all_jobs(app))}
    assert set(jobs) >= {"status.probe", "status.reserve_check", "status.notify"}
    for job in jobs.values():
        assert (job.max_instances, job.coalesce, job.misfire_grace_time) == (
            JOB_DEFAULTS["max_instances"], JOB_DEFAULTS["coalesce"], JOB_DEFAULTS["misfire_grace_time"])
    assert jobs["status.reserve_check"].trigger.interval == timedelta(seconds=60)
    assert jobs["status.notify"].executor == "mail" and jobs["status.probe"].executor == "default"


def _start_monitor(store_url: str, main: HealthServer, reference: HealthServer, log: Path, key: int,
                   lease_seconds: float = 3):
    env = {
        **os.environ,
        "FLASK_APP": "app", "DATABASE_URL": store_url, "SECRET_KEY": "monitor-test",
        "MAIN_SERVER_URL": main.url, "REFERENCE_TARGET_URL": reference.url,
        "STATUS_TICK_SECONDS": "0.1", "STATUS_PROBE_INTERVAL_SECONDS": "0.3", "STATUS_RETRY_INTERVAL_SECONDS": "0.1",
        "STATUS_PROBE_CONNECT_TIMEOUT": "0.5", "STATUS_PROBE_READ_TIMEOUT": "0.5",
        "STATUS_RESERVE_CHECK_SECONDS": "0.5", "STATUS_NOTIFY_SECONDS": "0.5", "STATUS_LEASE_SECONDS": str(lease_seconds),
        "STATUS_MONITOR_LOCK_KEY": str(key), "STATUS_ESCALATION_RECIPIENTS": "{}", "MAIL_PORT": str(free_port()),
    }
    env.pop("TEST_DATABASE_URL", None)
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "flask", "monitor"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)


def _wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_real_scheduler_detects_a_stopped_main_server_and_a_second_monitor_stays_idle(make_app, store_url, tmp_path):
    main, reference = HealthServer().start(), HealthServer().start()
    key = random.randint(1, 2**31 - 1)
    logs = [tmp_path / "monitor-1.log", tmp_path / "monitor-2.log"]
    processes = []
    app = make_app()
    try:
        # The default lease: with 3 s, renewals delayed by a loaded machine let the standby in (seen at load 8).
        processes.append(_start_monitor(store_url, main, reference, logs[0], key, lease_seconds=9))
        assert _wait_for(lambda: "active (holds the lock)" in logs[0].read_text(), 20), logs[0].read_text()
        processes.append(_start_monitor(store_url, main, reference, logs[1], key, lease_seconds=9))
        assert _wait_for(lambda: "standby" in logs[1].read_text(), 20), logs[1].read_text()

        def count_probes() -> int:
            with app.app_context():
                n = db.session.scalar(select(func.count()).select_from(ProbeResult))
                db.session.remove()
                return n or 0

        assert _wait_for(lambda: count_probes() >= 4, 10)
        main.stop()
        stopped = time.monotonic()

        def incident_open() -> bool:
            with app.app_context():
                found = db.session.scalar(select(Incident.id).where(Incident.open_track == "outage"))
                db.session.remove()
                return found is not None

        assert _wait_for(incident_open, 10), logs[0].read_text()
        latency = time.monotonic() - stopped
        # interval + 3 × retry + timeout, plus a tick and process scheduling slack
        assert latency < 0.3 + 3 * 0.1 + 0.5 + 3.0, latency
        with app.app_context():
            incident = db.session.scalar(select(Incident))
            assert incident.scenario == "main_server_outage" and incident.started_at <= utcnow()
            db.session.remove()
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(15)
        main.stop()
        reference.stop()
    assert [p.returncode for p in processes] == [0, 0], [log.read_text()[-2000:] for log in logs]
    assert "active (holds the lock)" not in logs[1].read_text()
    # The scheduler's own chatter (a line per job added or run) would bury what IT reads for.
    assert not any("INFO apscheduler" in log.read_text() for log in logs), logs[0].read_text()[:2000]
