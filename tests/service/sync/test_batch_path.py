"""The per-batch path's cost and its exactly-once guard: one write commit per batch while the queue flows,
a bounded number of statements, answers written only under the lease, and fresh plans on PostgreSQL.

No timings: the cost is counted in statements and commits (bench/sync_throughput.py measures the rates).
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event, select, text, update

from core.clock import utcnow
from core.extensions import db
from core.store import begin_write
from sync import claims
from sync.models import OutboxItem, SyncAttempt
from sync.rules import ACKED, Backoff, Outcome
from sync.sender import Sender
from tests.service.sync.conftest import assert_exactly_once, capture, items, settings_for

BACKOFF = Backoff(base_seconds=0.01, cap_seconds=0.05, in_progress_seconds=0.05)


def test_a_flowing_queue_takes_one_write_commit_and_a_few_statements_per_batch(sync_app, main_server, monkeypatch):
    monkeypatch.setitem(sync_app.config, "SYNC_BATCH_SIZE", 20)
    capture(sync_app, 200)
    counts = {"statements": 0, "write_commits": 0}
    with sync_app.app_context():
        engine = db.engine

        def statement(conn, _cursor, sql, *_args) -> None:  # noqa: ANN001
            counts["statements"] += 1
            if sql.lstrip().split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
                conn.info["wrote"] = True

        def commit(conn) -> None:  # noqa: ANN001
            counts["write_commits"] += bool(conn.info.pop("wrote", False))

        event.listen(engine, "before_cursor_execute", statement)
        event.listen(engine, "commit", commit)
        try:
            report = Sender(settings_for(sync_app)).run(trigger="test")
        finally:
            event.remove(engine, "before_cursor_execute", statement)
            event.remove(engine, "commit", commit)
            db.session.remove()
    assert report.registered == 200 and report.batches == 10
    # The run's row (start, end), the first lease, then each batch's answers with the next lease.
    assert counts["write_commits"] <= report.batches + 3, counts
    assert counts["statements"] <= 12 * report.batches, counts
    assert_exactly_once(sync_app, main_server)


def test_answers_are_written_only_to_items_still_held_and_the_rest_are_late(app):
    capture(app, 4)
    now = utcnow()
    with app.app_context():
        batch = claims.claim("first", 10, timedelta(seconds=30), now, None)
        stolen = [batch[0].id, batch[1].id]  # another sender holds these now (as after a lost lease)
        begin_write()
        db.session.execute(update(OutboxItem).where(OutboxItem.id.in_(stolen)).values(lease_owner="second"))
        db.session.commit()
        outcomes = [Outcome(ACKED, server_id=f"R-{c.id}") for c in batch]
        tally, leased = claims.apply_outcomes(batch, outcomes, ["created"] * 4, "first", now, BACKOFF, None,
                                              next_size=10, lease=timedelta(seconds=30))
        rows = {i.id: i for i in db.session.scalars(select(OutboxItem))}
        late = set(db.session.scalars(select(SyncAttempt.item_id).where(SyncAttempt.outcome == "late")))
        db.session.remove()
    assert tally == {"acked": 2} and leased == []  # nothing else was due
    assert late == set(stolen)
    for item in batch:
        row = rows[item.id]
        if item.id in stolen:
            assert (row.state, row.lease_owner, row.server_id) == ("in_flight", "second", None)
        else:
            assert (row.state, row.lease_owner, row.server_id) == ("acked", None, f"R-{item.id}")


def test_the_next_batch_is_leased_in_the_commit_of_the_answers(app):
    capture(app, 6)
    now = utcnow()
    with app.app_context():
        first = claims.claim("me", 3, timedelta(seconds=30), now, None)
        tally, second = claims.apply_outcomes(first, [Outcome(ACKED, server_id=f"R-{c.id}") for c in first],
                                              ["created"] * 3, "me", now, BACKOFF, None,
                                              next_size=3, lease=timedelta(seconds=30))
        states = dict(db.session.execute(select(OutboxItem.id, OutboxItem.state)).all())
        owners = set(db.session.scalars(select(OutboxItem.lease_owner).where(OutboxItem.state == "in_flight")))
        db.session.remove()
    assert tally == {"acked": 3}
    assert {c.id for c in second} == set(states) - {c.id for c in first}  # the other three, in priority order
    assert {states[c.id] for c in first} == {"acked"} and {states[c.id] for c in second} == {"in_flight"}
    assert owners == {"me"}


def test_postgresql_plans_the_claim_from_statistics_that_know_the_backlog(app, monkeypatch):
    monkeypatch.setattr(claims, "STALE_BACKLOG", 40)
    capture(app, 60)
    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
        analysed = claims.refresh_statistics()
        again = claims.refresh_statistics()
        if postgres:
            plan = db.session.execute(text("EXPLAIN (FORMAT JSON) SELECT id FROM sync_outbox WHERE state = 'pending'"))
            estimate = plan.scalar()[0]["Plan"]["Plan Rows"]
        db.session.remove()
    if postgres:  # a fresh backlog the planner had never seen: analysed once, then it knows
        assert analysed and not again and estimate >= 30
    else:  # SQLite plans the claim from its indexes alone: nothing to refresh
        assert not analysed and not again
    assert {i.state for i in items(app)} == {"pending"}
