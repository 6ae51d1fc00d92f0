"""The shared clock jumps a year ahead and back: the real `flask monitor` keeps probing, a standby
takes over a lease written a year ahead, and a killed main server is still noticed in time."""
from __future__ import annotations

import random
import signal
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from core.clock import CLOCK_FILE_VARIABLE, set_simulated_clock, simulated_now
from core.extensions import db
from status.models import Incident, ProbeResult
from tests.e2e.test_monitor_process import _start_monitor, _wait_for, make_app, store_url  # noqa: F401 - fixtures
from tests.service.status.conftest import HealthServer

A_YEAR = timedelta(days=365)


def _count(app, query) -> int:  # noqa: ANN001
    with app.app_context():
        found = db.session.scalar(query)
        db.session.remove()
        return found or 0


def _probes_after(app, moment) -> int:  # noqa: ANN001
    return _count(app, select(func.count()).select_from(ProbeResult).where(ProbeResult.at >= moment))


def test_a_clock_jumped_a_year_ahead_and_back_neither_stalls_probes_nor_hides_an_outage(
        make_app, store_url, tmp_path: Path, monkeypatch):  # noqa: F811
    clock = tmp_path / "clock.json"
    start = simulated_now(clock)
    set_simulated_clock(clock, start)
    monkeypatch.setenv(CLOCK_FILE_VARIABLE, str(clock))  # the monitors inherit the shared clock
    main, reference = HealthServer().start(), HealthServer().start()
    key = random.randint(1, 2**31 - 1)
    logs = [tmp_path / "monitor-1.log", tmp_path / "monitor-2.log"]
    processes = []
    app = make_app()
    try:
        processes.append(_start_monitor(store_url, main, reference, logs[0], key))
        assert _wait_for(lambda: _probes_after(app, start) >= 4, 20), logs[0].read_text()
        processes.append(_start_monitor(store_url, main, reference, logs[1], key))
        assert _wait_for(lambda: "standby" in logs[1].read_text(), 20), logs[1].read_text()

        ahead = simulated_now(clock) + A_YEAR
        set_simulated_clock(clock, ahead)
        assert _wait_for(lambda: _probes_after(app, ahead) >= 4, 10), logs[0].read_text()

        # The active monitor dies while its lease is stamped a year ahead; then the clock is reset.
        processes[0].send_signal(signal.SIGKILL)
        processes[0].wait(10)
        back = simulated_now(clock) - A_YEAR
        set_simulated_clock(clock, back)
        assert _wait_for(lambda: "active (holds the lock)" in logs[1].read_text(), 10), logs[1].read_text()
        assert _wait_for(lambda: _count(app, select(func.count()).select_from(ProbeResult).where(
            ProbeResult.at >= back, ProbeResult.at < back + timedelta(days=1))) >= 4, 10), logs[1].read_text()

        main.stop()
        assert _wait_for(lambda: _count(app, select(Incident.id).where(Incident.open_track == "outage")) > 0,
                         10), logs[1].read_text()
        with app.app_context():
            incident = db.session.scalar(select(Incident))
            assert back <= incident.started_at < back + timedelta(minutes=5)
            assert incident.reserve_due_at < back + timedelta(hours=5)
            db.session.remove()
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(15)
        main.stop()
        reference.stop()
    assert processes[1].returncode == 0, logs[1].read_text()[-2000:]
