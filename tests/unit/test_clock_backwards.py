"""A wall clock that goes backwards: the state machine and APScheduler's loop do not wait for it."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

from status.machine import DOWN, Machine, Observation, Thresholds, advance
from status.scheduler import MonitorScheduler
from tests.instants import OUTAGE_START

A_YEAR = timedelta(days=365)


def test_a_failure_streak_stamped_before_the_clock_went_back_starts_no_later_than_now():
    streak = Machine(state="suspect", failures=1, failure_started_at=OUTAGE_START + A_YEAR)
    after, _ = advance(streak, Observation(OUTAGE_START, ok=False), Thresholds(failures_to_down=2))
    assert after.state == DOWN and after.failure_started_at == OUTAGE_START


def test_a_recovery_stamped_before_the_clock_went_back_starts_no_later_than_now():
    recovering = Machine(state="recovering", failures=3, successes=1, failure_started_at=OUTAGE_START,
                         recovery_started_at=OUTAGE_START + A_YEAR)
    later = OUTAGE_START + timedelta(minutes=5)
    after, _ = advance(recovering, Observation(later, ok=True), Thresholds(successes_to_up=3))
    assert after.state == "recovering" and after.recovery_started_at == later


def _wait_for(condition, timeout: float) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_the_scheduler_runs_a_job_at_once_whose_next_run_lies_further_ahead_than_its_interval():
    runs: list[datetime] = []
    scheduler = MonitorScheduler(timezone=timezone.utc)
    scheduler.add_job(lambda: runs.append(datetime.now(timezone.utc)), "interval", hours=1, id="probe",
                      next_run_time=datetime.now(timezone.utc))
    thread = threading.Thread(target=scheduler.start, daemon=True)
    thread.start()
    try:
        assert _wait_for(lambda: len(runs) == 1, 5)
        # What the wall clock going back a year leaves behind: the next run a year and an hour ahead.
        scheduler.modify_job("probe", next_run_time=datetime.now(timezone.utc) + A_YEAR)
        assert _wait_for(lambda: len(runs) == 2, 3)
        next_run = scheduler.get_job("probe").next_run_time
        assert next_run <= datetime.now(timezone.utc) + timedelta(hours=1)
    finally:
        scheduler.shutdown(wait=False)
        thread.join(5)
