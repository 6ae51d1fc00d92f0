"""SIGKILL the sender at each named kill point, five times, restart, drain: 0 lost, 0 duplicated.

Real processes: `flask sync run` on a committed store and the reference main server, both on
loopback. After the kills a clean run drains the outbox; then every item is registered once,
every acked item carries the server's id for its key, nothing is left in flight, and SQLite's
integrity check passes. The long version with random kill times is bench/sync_soak.py.
"""
from __future__ import annotations

import time

import pytest
from flask import Flask
from sqlalchemy import func, select

from core.extensions import db
from core.models import Prescription
from sync.models import OutboxItem
from tests import factories
from tests.service.sync.conftest import ReferenceServer, assert_exactly_once, capture, integrity_ok, items
from tests.service.sync.processes import capturer, environment, finish, sync_run

RUNS_PER_POINT = 5
KILLED = -9


def _store_url(app: Flask) -> str:
    return app.config["SQLALCHEMY_DATABASE_URI"]


@pytest.mark.parametrize("point", ["after_lease_commit", "after_send_before_reply", "after_reply_before_commit",
                                   "mid_batch"])
def test_a_sender_killed_at_the_point_loses_and_duplicates_nothing(committed_app, main_server, tmp_path, point):
    capture(committed_app, 80, ordering=True)
    delay = ""
    if point == "after_send_before_reply":
        # The server commits, then takes 0.4 s to answer; the sender dies 0.15 s after sending.
        main_server.faults(reply_delay_ms=400)
        delay = ":0.15"
    log = tmp_path / "sender.log"
    for run in range(RUNS_PER_POINT):
        hit = run % 2 + 1  # the first or the second time the point is passed
        env = environment(_store_url(committed_app), main_server.url, SYNC_KILL_POINT=f"{point}:{hit}{delay}")
        assert finish(sync_run(env, log)) == KILLED, log.read_text()[-3000:]
    main_server.faults(reply_delay_ms=0)
    assert finish(sync_run(environment(_store_url(committed_app), main_server.url), log)) == 0, \
        log.read_text()[-3000:]
    assert_exactly_once(committed_app, main_server)
    assert {i.state for i in items(committed_app)} == {"acked"}
    assert len(main_server.created()) == 80
    assert integrity_ok(committed_app)


def test_a_capture_killed_mid_transaction_leaves_record_and_item_together_or_neither(committed_app, main_server,
                                                                                     tmp_path):
    with committed_app.app_context():
        unit = factories.unit(payer_areas=("inkontinens",))
        factories.user("karin", areas=("inkontinens",), units=(unit,))
        factories.article(number="310001")
        for _ in range(40):
            factories.patient()
        db.session.remove()
    log = tmp_path / "capture.log"
    first = 0
    for run in range(RUNS_PER_POINT):
        env = environment(_store_url(committed_app), main_server.url, SYNC_KILL_POINT=f"during_capture:{run + 2}")
        status = finish(capturer(env, log, 8, first))
        assert status == KILLED, log.read_text()[-3000:]
        first += 8
    with committed_app.app_context():
        prescriptions = set(db.session.scalars(select(Prescription.id)))
        refs = list(db.session.scalars(select(OutboxItem.subject_ref)))
        assert len(refs) == len(set(refs)) == len(prescriptions) == sum(range(1, RUNS_PER_POINT + 1))
        assert set(refs) == {f"prescription:{i}" for i in prescriptions}
        assert db.session.scalar(select(func.count()).select_from(OutboxItem)) == len(prescriptions)
        db.session.remove()
    assert integrity_ok(committed_app)
    assert finish(sync_run(environment(_store_url(committed_app), main_server.url), log)) == 0
    assert_exactly_once(committed_app, main_server)
    assert len(main_server.created()) == len(prescriptions)


def test_the_main_server_killed_mid_batch_loses_and_duplicates_nothing(committed_app, tmp_path):
    """The other side's crash: the server dies while a batch is in its transaction, comes back, all goes once."""
    server = ReferenceServer(tmp_path, "crashing").start("--commit-delay-ms", "300")
    try:
        capture(committed_app, 40)
        log = tmp_path / "sender.log"
        sender = sync_run(environment(_store_url(committed_app), server.url), log, timeout=60)
        deadline = time.monotonic() + 30
        while not [i for i in items(committed_app) if i.state == "in_flight"]:
            assert time.monotonic() < deadline and sender.poll() is None, log.read_text()[-3000:]
            time.sleep(0.02)
        time.sleep(0.1)  # the batch is inside the server's transaction (it takes 0.3 s)
        server.kill()
        assert len(server.created()) < 40
        time.sleep(0.3)
        server.start("--commit-delay-ms", "0", port=server.port)
        assert finish(sender) == 0, log.read_text()[-3000:]
        assert_exactly_once(committed_app, server)
        assert len(server.created()) == 40
    finally:
        server.stop()
