"""End to end, as in `make run`: the monitor process sends, the main server falls, captures wait, it
returns, the recovery event triggers back-registration, and the incident's reconciliation balances."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from core.extensions import db
from core.store import begin_write
from status.models import Incident, RecoveryEvent
from sync import outbox, reconciliation
from sync.models import OutboxItem, SyncRun
from tests.service.status.conftest import HealthServer
from tests.service.sync.conftest import assert_exactly_once, payload_for
from tests.service.sync.processes import ROOT, environment


def _monitor(store_url: str, main_url: str, reference: HealthServer, log: Path) -> subprocess.Popen:
    env = environment(store_url, main_url, REFERENCE_TARGET_URL=reference.url, STATUS_TICK_SECONDS="0.1",
                      STATUS_PROBE_INTERVAL_SECONDS="0.3", STATUS_RETRY_INTERVAL_SECONDS="0.1",
                      STATUS_FAILURES_TO_DOWN="3", STATUS_SUCCESSES_TO_UP="2", STATUS_PROBE_CONNECT_TIMEOUT="0.5",
                      STATUS_PROBE_READ_TIMEOUT="0.5", STATUS_RESERVE_CHECK_SECONDS="0.5",
                      STATUS_NOTIFY_SECONDS="0.5", STATUS_LEASE_SECONDS="3", STATUS_ESCALATION_RECIPIENTS="{}",
                      MAIL_PORT="1", SYNC_RUN_BUDGET_SECONDS="2", SYNC_PULL_SECONDS="3600")
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "flask", "monitor"], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)


def _capture(app, count: int, start: int) -> list[str]:  # noqa: ANN001
    with app.app_context():
        begin_write()
        keys = [outbox.enqueue("order", payload_for("order", n), channel="phone").key
                for n in range(start, start + count)]
        db.session.commit()
        db.session.remove()
    return keys


def _until(condition, timeout: float, log: Path) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(log.read_text()[-4000:])


def _states(app, keys: list[str]) -> set[str]:  # noqa: ANN001
    with app.app_context():
        states = set(db.session.scalars(select(OutboxItem.state).where(OutboxItem.key.in_(keys))))
        db.session.remove()
    return states


def test_items_captured_during_an_outage_are_registered_once_after_the_server_returns(committed_app, main_server,
                                                                                      tmp_path):
    reference = HealthServer().start()
    log = tmp_path / "monitor.log"
    monitor = _monitor(committed_app.config["SQLALCHEMY_DATABASE_URI"], main_server.url, reference, log)
    try:
        before = _capture(committed_app, 5, 0)
        _until(lambda: _states(committed_app, before) == {"acked"}, 30, log)  # sent while up, every tick

        main_server.kill()

        def incident_open() -> int | None:
            with committed_app.app_context():
                found = db.session.scalar(select(Incident.id).where(Incident.open_track == "outage"))
                db.session.remove()
            return found

        _until(lambda: incident_open() is not None, 30, log)
        incident_id = incident_open()
        during = _capture(committed_app, 20, 100)
        time.sleep(1)
        assert _states(committed_app, during) == {"pending"}

        main_server.start(port=main_server.port)
        _until(lambda: _states(committed_app, during) == {"acked"}, 40, log)

        def recovery_claimed() -> bool:
            with committed_app.app_context():
                event = db.session.scalar(select(RecoveryEvent).where(RecoveryEvent.incident_id == incident_id))
                db.session.remove()
            return event is not None and event.processed_by is not None

        # The sender's breaker trial may get through before the monitor confirms the recovery;
        # the recovery event is claimed by the sender all the same (and verifies registrations).
        _until(recovery_claimed, 30, log)

        def recovery_run_recorded() -> bool:  # a run is stored when it ends, after the claim
            with committed_app.app_context():
                found = db.session.scalar(select(SyncRun.id).where(SyncRun.trigger == "recovery"))
                db.session.remove()
            return found is not None

        _until(recovery_run_recorded, 30, log)
        with committed_app.app_context():
            report = reconciliation.build(incident_id)
            assert report.balance.captured == 20 and report.balance.balanced
            db.session.remove()
        assert_exactly_once(committed_app, main_server)
    finally:
        monitor.send_signal(signal.SIGTERM)
        monitor.wait(20)
        reference.stop()
    assert monitor.returncode == 0, log.read_text()[-3000:]
