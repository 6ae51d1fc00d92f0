"""The sender against a real reference main server process: order, exactly once, failures, recovery."""
from __future__ import annotations

import shutil
import threading
import time
from datetime import timedelta

import requests
from sqlalchemy import func, select

from core.clock import utcnow
from core.extensions import db
from core.store import begin_write
from status import incidents
from status.models import RecoveryEvent
from status.scenarios import Scenario
from status.settings import current_settings
from sync import claims, tasks
from sync.client import HttpMainServer
from sync.models import OutboxItem, SenderState, SyncAttempt
from sync.outbox import enqueue
from sync.rules import CONFLICT, DEAD, PENDING, BLOCKED
from sync.sender import Sender
from tests.service.sync.conftest import (
    assert_exactly_once, capture, drain, integrity_ok, items, payload_for, settings_for,
)


def attempts(app, outcome: str | None = None) -> list[SyncAttempt]:
    with app.app_context():
        query = select(SyncAttempt).order_by(SyncAttempt.id)
        if outcome:
            query = query.where(SyncAttempt.outcome == outcome)
        rows = list(db.session.scalars(query))
        db.session.remove()
    return rows


def run(app, **kwargs):  # noqa: ANN001, ANN201
    with app.app_context():
        report = Sender(settings_for(app), kwargs.pop("worker", None), clock=kwargs.pop("clock", utcnow)).run(**kwargs)
        db.session.remove()
    return report


def test_everything_captured_is_registered_once_with_the_servers_ids(sync_app, main_server):
    capture(sync_app, 120)
    drain(sync_app)
    assert_exactly_once(sync_app, main_server)
    assert len(main_server.created()) == 120 and {i.state for i in items(sync_app)} == {"acked"}
    assert integrity_ok(sync_app)


def test_acknowledgement_listeners_hear_of_each_acknowledged_batch_after_its_commit(sync_app, main_server,
                                                                                   monkeypatch):
    from reserve.registrations import refresh
    from sync.signals import items_acknowledged

    assert refresh in items_acknowledged.receivers_for(None)  # reserve marks captured items registered
    monkeypatch.setitem(sync_app.config, "SYNC_BATCH_SIZE", 10)
    heard = []

    def listener(now):  # noqa: ANN001, ANN202
        heard.append(db.session.scalar(select(func.count()).where(OutboxItem.state == "acked")))

    def failing(now):  # noqa: ANN001, ANN202
        raise RuntimeError("a listener's own trouble")

    with items_acknowledged.connected_to(failing), items_acknowledged.connected_to(listener):
        capture(sync_app, 25)
        report = run(sync_app)
    assert report.registered == 25 and heard == [10, 20, 25]  # each batch already committed when heard


def test_stock_moves_go_first_then_orders_prescriptions_and_work_orders(sync_app, main_server, monkeypatch):
    monkeypatch.setitem(sync_app.config, "SYNC_BATCH_SIZE", 7)
    capture(sync_app, 40, kinds=("work_order", "prescription", "order", "stock_move"))
    drain(sync_app)
    kinds = [r["kind"] for r in main_server.registrations()]
    assert kinds == sorted(kinds, key=["stock_move", "order", "prescription", "work_order"].index)


def test_items_of_one_patient_go_in_capture_order_whatever_their_priority(sync_app, main_server):
    with sync_app.app_context():
        begin_write()
        later_kinds = ["work_order", "prescription", "stock_move", "order"]
        keys = [enqueue(kind, payload_for(kind, n), ordering_key="patient:1").key for n, kind in enumerate(later_kinds)]
        enqueue("stock_move", payload_for("stock_move", 50))  # another patient's: first, by priority
        db.session.commit()
        db.session.remove()
    drain(sync_app)
    order = [r["key"] for r in main_server.registrations()]
    assert [k for k in order if k in keys] == keys
    assert order.index(keys[0]) > 0  # the unrelated stock move went before the queue's head


def test_a_child_waits_until_its_parent_is_registered(sync_app, main_server, monkeypatch):
    monkeypatch.setitem(sync_app.config, "SYNC_REVIEW", {"order": ["hms_staff"]})
    with sync_app.app_context():
        begin_write()
        order = enqueue("order", payload_for("order", 1), requires_review=True)
        delivery = enqueue("outbound_delivery", payload_for("outbound_delivery", 2), parent_key=order.key)
        db.session.commit()
        db.session.remove()
    run(sync_app)
    assert main_server.created() == {}
    with sync_app.app_context():
        begin_write()
        db.session.execute(OutboxItem.__table__.update().where(OutboxItem.key == order.key).values(state=PENDING))
        db.session.commit()
        db.session.remove()
    drain(sync_app)
    assert [r["key"] for r in main_server.registrations()] == [order.key, delivery.key]


def test_a_conflict_waits_in_the_queue_with_the_servers_id_and_is_not_sent_again(sync_app, main_server):
    existing = requests.post(main_server.url + "/api/v1/batch", timeout=5, json={"site": "other-site", "items": [
        {"key": "elsewhere", "kind": "prescription", "payload": payload_for("prescription", 4)}]}).json()
    server_id = existing["results"][0]["id"]
    (key,) = capture(sync_app, 1, kinds=("prescription",), start=4)
    drain(sync_app)
    run(sync_app)
    (item,) = items(sync_app)
    assert (item.state, item.conflict_server_id, item.attempts) == (CONFLICT, server_id, 1)
    assert item.problem_data["type"] == "active_row_exists"
    assert [r["outcome"] for r in main_server.registrations()] == ["conflict"]


def test_a_refused_item_is_dead_with_the_reason_and_its_children_are_blocked(sync_app, main_server):
    with sync_app.app_context():
        begin_write()
        order = enqueue("order", {"lines": []})  # the server refuses an order without lines
        delivery = enqueue("outbound_delivery", payload_for("outbound_delivery", 2), parent_key=order.key)
        db.session.commit()
        db.session.remove()
    drain(sync_app)
    by_key = {i.key: i for i in items(sync_app)}
    assert by_key[order.key].state == DEAD and "minst en rad" in by_key[order.key].last_error
    assert by_key[delivery.key].state == BLOCKED and main_server.created() == {}


def test_commit_then_drop_the_reply_registers_once(sync_app, main_server):
    keys = capture(sync_app, 15)
    main_server.faults(drop_after_commit_next=1)
    drain(sync_app)
    assert_exactly_once(sync_app, main_server)
    assert len(main_server.created()) == 15
    known = {a.item_id for a in attempts(sync_app, "known")}
    assert len(known) == 15 and len(attempts(sync_app, "ambiguous")) == 15  # settled by /have, not resent
    assert main_server.admin("GET", "/admin/stats")["batches"] == 1
    assert set(keys) == set(main_server.created())


def test_the_breaker_stops_sending_when_the_server_falls_and_a_trial_resumes(sync_app, main_server, monkeypatch):
    monkeypatch.setitem(sync_app.config, "SYNC_BATCH_SIZE", 5)
    monkeypatch.setitem(sync_app.config, "SYNC_BREAKER_COOLDOWN_SECONDS", 30)
    capture(sync_app, 30)
    main_server.stop()
    report = run(sync_app)
    assert report.stopped == "server_down" and report.batches == 3 and report.registered == 0
    with sync_app.app_context():
        state = db.session.get(SenderState, "sender")
        assert state.breaker_state == "open" and state.retry_at > utcnow() + timedelta(seconds=20)
        db.session.remove()
    assert run(sync_app).stopped == "breaker_open"  # no call at all while open
    main_server.start()
    later = run(sync_app, clock=lambda: utcnow() + timedelta(seconds=31))
    assert later.registered == 30
    assert_exactly_once(sync_app, main_server)


def test_a_long_outage_is_logged_at_the_1st_2nd_4th_and_8th_failed_trial_not_at_every_one(sync_app, main_server,
                                                                                           caplog):
    capture(sync_app, 5)
    main_server.stop()
    with caplog.at_level("WARNING", logger="sync.sender"):
        for hour in range(10):  # each run an hour later: past any cooldown, so each is a trial
            run(sync_app, clock=lambda hour=hour: utcnow() + timedelta(hours=hour))
    paused = [r.getMessage() for r in caplog.records if "sending paused" in r.getMessage()]
    assert len(paused) == 4, paused
    assert "next trial in" in paused[0] and "UTC" not in paused[0]


def test_a_recovery_event_lets_the_sender_through_at_once(sync_app, main_server, monkeypatch):
    monkeypatch.setitem(sync_app.config, "SYNC_BREAKER_COOLDOWN_SECONDS", 3600)
    capture(sync_app, 10)
    main_server.stop()
    run(sync_app)
    run(sync_app)  # the breaker is open for an hour now
    main_server.start()
    with sync_app.app_context():
        begin_write()
        incident = incidents.open_incident(Scenario.MAIN_SERVER_OUTAGE, utcnow() - timedelta(hours=1), utcnow(),
                                           current_settings())
        db.session.flush()
        db.session.add(RecoveryEvent(incident_id=incident.id, occurred_at=utcnow()))
        db.session.commit()
        report = tasks.send(utcnow())
        event = db.session.scalar(select(RecoveryEvent))
        assert (report.trigger, report.registered, event.processed_by) == ("recovery", 10, tasks.worker())
        db.session.remove()
    assert_exactly_once(sync_app, main_server)


def test_a_server_restored_from_an_older_backup_gets_the_lost_items_again_once(sync_app, main_server, tmp_path):
    first = capture(sync_app, 30)
    drain(sync_app)
    main_server.backup(tmp_path / "backup.sqlite3")
    second = capture(sync_app, 20, start=100)
    drain(sync_app)
    before = {i.key: i.server_id for i in items(sync_app)}
    main_server.stop()
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / f"main.sqlite3{suffix}").unlink(missing_ok=True)
    shutil.copy(tmp_path / "backup.sqlite3", main_server.db_path)
    main_server.start()
    assert set(main_server.created()) == set(first)  # the last 20 are gone
    report = run(sync_app, verify=True)
    assert report.lost_by_server == 20 and report.registered == 20
    assert_exactly_once(sync_app, main_server)
    after = {i.key: i.server_id for i in items(sync_app)}
    assert set(main_server.created()) == set(first) | set(second)
    assert all(after[k] == before[k] for k in first)
    assert len(attempts(sync_app, "lost")) == 20
    assert run(sync_app, verify=True).lost_by_server == 0  # and only once


def test_an_expired_lease_is_settled_by_have_not_sent_again(sync_app, main_server):
    capture(sync_app, 10)
    with sync_app.app_context():
        settings = settings_for(sync_app)
        batch = claims.claim("dead-sender", 50, timedelta(seconds=2), utcnow(), None)
        with HttpMainServer(settings) as client:  # it sent, then died before writing the answers
            from sync.client import BatchItem
            import json
            client.batch([BatchItem(c.key, c.kind, json.loads(c.payload)) for c in batch])
        db.session.remove()
    report = run(sync_app, clock=lambda: utcnow() + timedelta(seconds=3))
    assert report.known_by_have == 10 and report.batches == 0
    assert len(attempts(sync_app, "lease_expired")) == 10
    assert_exactly_once(sync_app, main_server)
    assert main_server.admin("GET", "/admin/stats")["batches"] == 1


def test_a_slow_server_and_a_lost_lease_still_register_once(sync_app, main_server, monkeypatch):
    monkeypatch.setitem(sync_app.config, "SYNC_READ_TIMEOUT", 5.0)
    capture(sync_app, 8)
    main_server.faults(commit_delay_ms=800)
    slow = threading.Thread(target=run, args=(sync_app,), kwargs={"worker": "slow"})
    slow.start()
    time.sleep(0.3)
    # A second sender whose clock says the first one's lease has run out.
    run(sync_app, worker="fast", clock=lambda: utcnow() + timedelta(seconds=3))
    slow.join(20)
    main_server.faults(commit_delay_ms=0)
    drain(sync_app)
    assert_exactly_once(sync_app, main_server)
    outcomes = {a.outcome for a in attempts(sync_app)}
    assert "in_progress" in outcomes and "late" in outcomes


def test_several_senders_at_once_never_send_an_item_twice(sync_app, main_server, monkeypatch):
    monkeypatch.setitem(sync_app.config, "SYNC_BATCH_SIZE", 5)
    capture(sync_app, 200, ordering=True)
    errors: list = []

    def sender(n: int) -> None:
        try:
            drain(sync_app, worker=f"sender-{n}")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert_exactly_once(sync_app, main_server)
    answered = attempts(sync_app, "created")
    assert len(answered) == 200 and not attempts(sync_app, "duplicate")
    assert len({a.item_id for a in answered}) == 200


def test_flask_sync_run_drains_with_a_progress_report(sync_app, main_server):
    capture(sync_app, 25)
    result = sync_app.test_cli_runner().invoke(args=["sync", "run", "--timeout", "30"])
    assert result.exit_code == 0, result.output
    assert "Klart: 25 besvarade" in result.output
    assert_exactly_once(sync_app, main_server)
    status = sync_app.test_cli_runner().invoke(args=["sync", "status", "--json"])
    assert '"backlog": 0' in status.output


def test_flask_sync_run_fails_when_the_server_is_down(sync_app, main_server):
    capture(sync_app, 3)
    main_server.stop()
    result = sync_app.test_cli_runner().invoke(args=["sync", "run", "--timeout", "1", "--quiet"])
    assert result.exit_code == 1 and "kunde inte skickas" in result.output
    with sync_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OutboxItem).where(OutboxItem.state == PENDING)) == 3
        db.session.remove()


def test_flask_sync_run_does_not_wait_for_what_waits_for_a_person(sync_app, main_server, monkeypatch):
    monkeypatch.setitem(sync_app.config, "SYNC_REVIEW", {"order": ["hms_staff"]})
    with sync_app.app_context():
        begin_write()
        enqueue("order", payload_for("order", 1), ordering_key="patient:7", requires_review=True)
        held = enqueue("work_order", payload_for("work_order", 2), ordering_key="patient:7")
        free = enqueue("work_order", payload_for("work_order", 3))
        db.session.commit()
        keys = (held.key, free.key)
        db.session.remove()
    started = time.monotonic()
    result = sync_app.test_cli_runner().invoke(args=["sync", "run", "--timeout", "30", "--quiet"])
    assert result.exit_code == 0 and time.monotonic() - started < 10, result.output
    assert "1 poster väntar på en människa" in result.output and "1 poster väntar bakom" in result.output
    assert set(main_server.created()) == {keys[1]}


def test_a_withdrawal_is_registered_after_its_prescription(sync_app, main_server, committed_world):
    from app.withdrawals.rules import Channel
    from app.withdrawals.services import create_withdrawal, send_withdrawal
    from tests.service.sync.conftest import prescribe, reload

    with sync_app.app_context():
        world = reload(committed_world)
        prescription = prescribe(world)
        withdrawal = create_withdrawal(world["karin"], prescription.rows[0].id, 2, Channel.CUSTOMER_SERVICE)
        send_withdrawal(world["karin"], f"U{withdrawal.number:09d}")  # queues the withdrawal itself
        db.session.remove()
    drain(sync_app)
    assert [r["kind"] for r in main_server.registrations()] == ["prescription", "withdrawal"]
    assert {r["outcome"] for r in main_server.registrations()} == {"created"}
    assert_exactly_once(sync_app, main_server)
