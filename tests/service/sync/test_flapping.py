"""Through a proxy that resets connections and flaps up and down: 0 lost, 0 duplicated, and no needless waits."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.clock import utcnow
from core.extensions import db
from sync import breaker_state
from sync.models import SenderState, SyncAttempt
from sync.rules import OPEN, Breaker
from sync.sender import Sender
from tests.service.sync.conftest import assert_exactly_once, capture, configure, integrity_ok, items, settings_for
from tests.service.sync.proxy import Chaos, FlappingProxy

BATCH = b"POST /api/v1/batch"

ITEMS = 10_000


def test_ten_thousand_items_through_a_flapping_resetting_link_arrive_exactly_once(committed_app, main_server,
                                                                                monkeypatch):
    proxy = FlappingProxy(main_server.port, Chaos(reset_request_rate=0.03, reset_response_rate=0.03,
                                                  up_seconds=(0.3, 1.0), down_seconds=(0.05, 0.3), seed=7)).start()
    try:
        configure(committed_app, monkeypatch, proxy.url, SYNC_BATCH_SIZE=50, SYNC_LEASE_SECONDS=5.0,
                  SYNC_READ_TIMEOUT=3.0)
        capture(committed_app, ITEMS, ordering=True)
        started = time.monotonic()
        with committed_app.app_context():
            sender = Sender(settings_for(committed_app))
            while time.monotonic() - started < 240 and not _nothing_left():
                sender.run(trigger="test")
                time.sleep(0.01)
            db.session.remove()
        tally = proxy.tally
    finally:
        proxy.stop()
    assert _nothing_left_now(committed_app), "the outbox did not drain"
    assert tally.down_spells >= 3 and tally.request_resets and tally.response_resets, tally
    assert_exactly_once(committed_app, main_server)
    assert len(main_server.created()) == ITEMS
    assert integrity_ok(committed_app)


def _nothing_left() -> bool:
    from sqlalchemy import select

    from sync.models import OutboxItem

    left = db.session.scalar(select(OutboxItem.id).where(OutboxItem.state.in_(("pending", "in_flight"))).limit(1))
    db.session.commit()
    return left is None


def _nothing_left_now(app) -> bool:  # noqa: ANN001
    with app.app_context():
        done = _nothing_left()
        db.session.remove()
    return done


@pytest.fixture
def blipping(committed_app, main_server, monkeypatch):  # noqa: ANN001, ANN201
    """The app sending through a calm proxy that breaks the requests a test tells it to; an hour's backoff."""
    proxy = FlappingProxy(main_server.port).start(flap=False)
    proxy.calm()
    configure(committed_app, monkeypatch, proxy.url, SYNC_BATCH_SIZE=20, SYNC_BACKOFF_BASE_SECONDS=3600.0,
              SYNC_BACKOFF_CAP_SECONDS=3600.0)
    yield proxy
    proxy.stop()


def _run(app, clock=utcnow):  # noqa: ANN001, ANN202
    with app.app_context():
        report = Sender(settings_for(app), clock=clock).run(trigger="test")
        db.session.remove()
    return report


def _outcomes(app) -> list[str]:  # noqa: ANN001
    with app.app_context():
        rows = list(db.session.scalars(select(SyncAttempt.outcome).order_by(SyncAttempt.id)))
        db.session.remove()
    return rows


def test_a_batch_lost_on_the_way_to_a_server_that_is_up_goes_again_at_once(committed_app, main_server, blipping):
    keys = capture(committed_app, 20)
    blipping.break_requests(BATCH, 1)  # the link blips under the batch; /have answers right after
    report = _run(committed_app)
    # Sent again in the same run, not an hour (its backoff) later; registered once.
    assert report.registered == 20 and report.batches == 2 and report.stopped == "empty"
    assert _outcomes(committed_app) == ["ambiguous"] * 20 + ["created"] * 20
    assert blipping.tally.request_resets == 1
    assert_exactly_once(committed_app, main_server)
    assert set(main_server.created()) == set(keys)


def test_a_batch_lost_twice_in_a_run_waits_out_its_backoff_and_then_registers_once(committed_app, main_server,
                                                                                 blipping):
    capture(committed_app, 20)
    blipping.break_requests(BATCH, 3)  # a batch that keeps breaking the connection is not sent in a loop
    report = _run(committed_app)
    assert report.batches == 2 and report.registered == 0 and report.stopped == "empty"
    waiting = items(committed_app)
    assert {i.state for i in waiting} == {"pending"} and all(i.uncertain for i in waiting)
    assert all(i.next_attempt_at > utcnow() for i in waiting)  # its backoff, up to an hour
    assert _run(committed_app).batches == 0  # the next run does not send it either
    later = _run(committed_app, clock=lambda: utcnow() + timedelta(hours=2))  # lost once more, then through
    assert later.batches == 2 and later.registered == 20
    assert blipping.tally.request_resets == 3
    assert_exactly_once(committed_app, main_server)
    assert len(main_server.created()) == 20


def test_answers_lost_on_the_way_back_are_settled_by_have_and_not_sent_again(committed_app, main_server, blipping):
    capture(committed_app, 20)
    main_server.faults(drop_after_commit_next=1)  # registered, then the connection closes unanswered
    report = _run(committed_app)
    assert report.known_by_have == 20 and report.batches == 1 and report.registered == 0
    assert main_server.admin("GET", "/admin/stats")["batches"] == 1
    assert_exactly_once(committed_app, main_server)


def _open_breaker(app) -> None:  # noqa: ANN001
    """The breaker as a flapping link leaves it: open after a spell, its first short wait already over."""
    with app.app_context():
        breaker_state.write_breaker(Breaker(OPEN, 3, utcnow() - timedelta(seconds=1), 0.05), utcnow())
        db.session.remove()


def _breaker(app) -> SenderState:  # noqa: ANN001
    with app.app_context():
        state = db.session.get(SenderState, "sender")
        db.session.expunge(state)
        db.session.remove()
    return state


def test_a_trial_whose_health_page_answers_survives_one_lost_have(committed_app, main_server, blipping):
    capture(committed_app, 20)
    blipping.break_requests(BATCH, 2)
    _run(committed_app)  # lost twice: uncertain, waiting, for the trial's /have to ask about
    _open_breaker(committed_app)
    blipping.break_requests(b"POST /api/v1/have", 1)
    report = _run(committed_app, clock=lambda: utcnow() + timedelta(hours=2))
    assert report.registered == 20 and report.stopped == "empty"
    assert _breaker(committed_app).breaker_state == "closed"
    assert_exactly_once(committed_app, main_server)


def test_a_trial_that_loses_have_twice_fails_and_counts_as_a_failed_trial(committed_app, main_server, blipping):
    capture(committed_app, 20)
    blipping.break_requests(BATCH, 2)
    _run(committed_app)
    _open_breaker(committed_app)
    blipping.break_requests(b"POST /api/v1/have", 2)  # the breaker stays in charge
    report = _run(committed_app, clock=lambda: utcnow() + timedelta(hours=2))
    assert report.stopped == "server_down" and report.batches == 0
    state = _breaker(committed_app)
    # One more failure; a quick trial keeps the first cooldown (SYNC_BREAKER_QUICK_TRIALS), then it doubles.
    assert state.breaker_state == "open" and state.failures == 4 and state.cooldown_seconds == 0.05
    assert {i.state for i in items(committed_app)} == {"pending"}
