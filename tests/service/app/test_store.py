"""The store: SQLite pragmas and IMMEDIATE transactions; migrations match the models on both stores."""
from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError, OperationalError

from core.extensions import db
from core.store import checkpoint_wal, configure_sqlite
from status.tasks import JOBS
from tests import factories


@pytest.fixture
def sqlite_engine(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    configure_sqlite(engine, busy_timeout_ms=50)
    yield engine
    engine.dispose()


def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(sqlite_engine):
    with sqlite_engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 50


def test_a_request_never_checkpoints_the_wal_until_the_limit_and_the_monitor_does_it_off_the_request_path(tmp_path):
    path = tmp_path / "wal.sqlite3"
    engine = create_engine(f"sqlite:///{path}")
    configure_sqlite(engine, busy_timeout_ms=50, autocheckpoint_pages=10_000)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x TEXT)"))
        page_size = conn.exec_driver_sql("PRAGMA page_size").scalar()
    for _ in range(400):  # three WAL pages per commit: past SQLite's default limit, under ours
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (:x)"), {"x": "x" * 3000})
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 10_000
    # Read off the files, not asked of SQLite (any wal_checkpoint pragma would itself checkpoint).
    waiting = (Path(f"{path}-wal").stat().st_size - 32) // (page_size + 24)  # WAL header, frame headers
    assert waiting > 1000  # with SQLite's default (1,000) a committing writer would have copied them
    before = path.stat().st_size
    assert checkpoint_wal(engine) == waiting  # the monitor's job copies every page, nobody reading
    assert path.stat().st_size > before + 300 * page_size  # the rows are in the database file now
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 400
    engine.dispose()


def test_the_monitor_checkpoints_every_tick_and_postgresql_needs_nothing(app):
    job = next(j for j in JOBS if j.id == "core.wal_checkpoint")
    assert job.every(type("Settings", (), {"tick_seconds": 1.0})()) == 1.0
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            assert checkpoint_wal(db.engine) == 0
        else:
            assert checkpoint_wal(db.engine) >= 0


def test_sqlite_transactions_take_the_write_lock_when_they_begin(sqlite_engine):
    with sqlite_engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    reader = sqlite_engine.connect()
    reader.begin()  # a plain read transaction takes no lock
    first = sqlite_engine.connect().execution_options(write_transaction=True)
    first.begin()  # BEGIN IMMEDIATE: holds the write lock from here on
    second = sqlite_engine.connect().execution_options(write_transaction=True)
    with pytest.raises(OperationalError, match="locked"):
        second.begin()  # refused at BEGIN, not later at its first write
    assert reader.execute(text("SELECT count(*) FROM t")).scalar() == 0  # reads go on meanwhile
    for conn in (reader, first):
        conn.rollback()
    for conn in (reader, first, second):
        conn.close()


def test_a_single_statement_write_holds_the_write_lock_only_inside_its_statement(sqlite_engine):
    with sqlite_engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    single = sqlite_engine.connect().execution_options(write_transaction=True, single_statement_write=True)
    single.begin()  # no BEGIN: the statement below is its own transaction
    single.execute(text("INSERT INTO t VALUES (1), (2)"))
    other = sqlite_engine.connect().execution_options(write_transaction=True)
    other.begin()  # BEGIN IMMEDIATE gets the lock although `single` has not committed
    assert other.execute(text("SELECT count(*) FROM t")).scalar() == 2  # and sees the rows committed
    other.rollback()
    single.commit()  # a no-op
    for conn in (single, other):
        conn.close()


def test_access_log_rows_of_a_page_are_written_in_one_statement(app, ctx, monkeypatch):
    """Where rows go straight into the table (PostgreSQL; here without SQLite's journal too)."""
    from sqlalchemy import event

    from core.privacy.access_log import AccessAction, Mark, record_rows

    monkeypatch.setitem(app.extensions, "access_journal", None)
    user, patients = factories.user(), [factories.patient() for _ in range(3)]
    statements: list[str] = []

    def listener(_conn, _cursor, statement, *_rest) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        assert record_rows([Mark(user.id, p.id, AccessAction.SEARCH, "test") for p in patients]) == 3
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT")]
    assert len(inserts) == 1 and inserts[0].count("), (") == 2  # three rows in one VALUES list
    logged = db.session.execute(text("SELECT patient_id FROM access_log WHERE user_id = :u"), {"u": user.id})
    assert sorted(logged.scalars()) == sorted(p.id for p in patients)


def test_migrations_match_the_models(ctx):
    context = MigrationContext.configure(db.session.connection())
    assert compare_metadata(context, db.metadata) == []


def test_foreign_keys_are_enforced(ctx):
    article = factories.article()
    with pytest.raises(IntegrityError):
        with db.session.begin_nested():
            db.session.execute(text("DELETE FROM product_areas WHERE id = :id"), {"id": article.product_area_id})


def test_personnummer_is_unique_in_the_store(ctx):
    first = factories.patient()
    with pytest.raises(IntegrityError):
        factories.patient(personnummer=first.personnummer)
    db.session.rollback()


def test_pooled_connections_are_tested_as_taken_on_postgresql_only(app):
    # After a PostgreSQL failover the first request must get a live connection; a SQLite file has
    # no server to lose, and the test would cost a statement per checkout.
    with app.app_context():
        assert db.engine.pool._pre_ping is (db.engine.dialect.name == "postgresql")
