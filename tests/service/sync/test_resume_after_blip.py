"""Back-registration resumes within 5 s after a 5-second main-server blip (issue #18, point 3).

The reference main server runs as a real process; the sender runs as the monitor's `sync.send`
job does (every STATUS_TICK_SECONDS, SYNC_RUN_BUDGET_SECONDS per run) with the default circuit
breaker and backoff, in real time. The server is stopped for 5 s mid-drain and started again on
the same port; the time from its first answer to the next item acknowledged is measured.
"""
from __future__ import annotations

import threading
import time
from datetime import timedelta

from sqlalchemy import func, select, update

from core.config import Config
from core.extensions import db
from core.store import begin_write
from sync import breaker_state, tasks
from sync.models import OutboxItem, SyncAttempt, SyncRun
from sync.rules import OPEN, Breaker
from sync.sender import Sender
from tests.service.sync.conftest import capture, configure, settings_for

RESUME_BOUND = 5.0
BLIP = 5.0
SLOW = ("--latency-ms", "30")  # a drain that lasts long enough to be cut in the middle
DEFAULT_KEYS = ("SYNC_BREAKER_FAILURES", "SYNC_BREAKER_COOLDOWN_SECONDS", "SYNC_BREAKER_COOLDOWN_CAP_SECONDS",
                "SYNC_BREAKER_QUICK_TRIALS",
                "SYNC_BACKOFF_BASE_SECONDS", "SYNC_BACKOFF_CAP_SECONDS", "SYNC_CONNECT_TIMEOUT",
                "SYNC_RUN_BUDGET_SECONDS", "STATUS_TICK_SECONDS")


def _acked(app) -> int:  # noqa: ANN001
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(OutboxItem).where(OutboxItem.state == "acked"))
        db.session.remove()
    return count or 0


def _wait_for(condition, timeout: float) -> float | None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return time.monotonic()
        time.sleep(0.02)
    return None


def test_sending_resumes_within_five_seconds_after_a_five_second_blip(committed_app, main_server, monkeypatch):
    main_server.stop()
    main_server.start(*SLOW)
    configure(committed_app, monkeypatch, main_server.url, SYNC_BATCH_SIZE=5,
              **{key: getattr(Config, key) for key in DEFAULT_KEYS})
    capture(committed_app, 400)
    tick = float(Config.STATUS_TICK_SECONDS)
    stop = threading.Event()

    def monitor_send_job() -> None:  # as the scheduler runs sync.send: every tick, one run at a time
        with committed_app.app_context():
            while not stop.is_set():
                started = time.monotonic()
                try:
                    tasks.send(tasks.utcnow())
                finally:
                    db.session.remove()
                stop.wait(max(0.0, tick - (time.monotonic() - started) % tick))

    sender = threading.Thread(target=monitor_send_job)
    sender.start()
    try:
        assert _wait_for(lambda: _acked(committed_app) >= 30, 20), "the drain never started"
        main_server.stop()  # mid-drain
        assert _acked(committed_app) < 400
        time.sleep(BLIP)
        main_server.start(*SLOW)
        answering = time.monotonic()  # start() returns once /health answers
        before = _acked(committed_app)
        resumed = _wait_for(lambda: _acked(committed_app) > before, RESUME_BOUND + 10)
    finally:
        stop.set()
        sender.join(30)
    assert resumed is not None, "sending never resumed"
    print(f"back-registration resumed {resumed - answering:.2f} s after the main server answered again")
    assert resumed - answering <= RESUME_BOUND


def test_items_that_backed_off_during_the_outage_are_due_when_a_trial_gets_through(committed_app, main_server,
                                                                                     monkeypatch):
    configure(committed_app, monkeypatch, main_server.url)
    keys = capture(committed_app, 3)
    with committed_app.app_context():
        now = tasks.utcnow()
        later = now + timedelta(minutes=5)
        begin_write()
        db.session.execute(update(OutboxItem).values(next_attempt_at=later))
        db.session.commit()
        breaker_state.write_breaker(Breaker(OPEN, 3, now, 1.0), now)
        assert db.session.scalar(select(func.max(OutboxItem.next_attempt_at))) == later  # still waiting
        breaker_state.write_breaker(Breaker(), now)  # the trial got through
        due = list(db.session.scalars(select(OutboxItem.next_attempt_at).where(OutboxItem.key.in_(keys))))
        db.session.remove()
    assert due == [now] * 3


def test_while_the_server_is_down_a_trial_costs_a_health_check_and_no_attempts(sync_app, main_server):
    capture(sync_app, 5)
    main_server.stop()
    with sync_app.app_context():
        sender = Sender(settings_for(sync_app))
        for _ in range(3):  # three failed calls open the breaker
            sender.run(trigger="test")
        attempts = db.session.scalar(select(func.count()).select_from(SyncAttempt))
        runs = db.session.scalar(select(func.count()).select_from(SyncRun))
        trials = []
        for _ in range(5):
            time.sleep(0.25)  # past the (test) cooldown: each run is a half-open trial
            trials.append(sender.run(trigger="test").stopped)
        assert trials == ["server_down"] * 5
        assert db.session.scalar(select(func.count()).select_from(SyncAttempt)) == attempts
        assert db.session.scalar(select(func.count()).select_from(SyncRun)) == runs
        breaker, _, _ = breaker_state.read_breaker()
        assert breaker.state == OPEN and breaker.failures >= 3 + 5
        main_server.start()
        time.sleep(0.25)
        sender.run(trigger="test")
        assert breaker_state.read_breaker()[0].state == "closed"
        db.session.remove()
    assert _acked(sync_app) == 5
