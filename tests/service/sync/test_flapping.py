"""10,000 items through a proxy that resets connections and flaps up and down: 0 lost, 0 duplicated."""
from __future__ import annotations

import time

from core.extensions import db
from sync.sender import Sender
from tests.service.sync.conftest import assert_exactly_once, capture, configure, integrity_ok, settings_for
from tests.service.sync.proxy import Chaos, FlappingProxy

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
