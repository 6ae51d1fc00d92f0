"""Store set-up: SQLite pragmas and IMMEDIATE write transactions; PostgreSQL as configured."""
from __future__ import annotations

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


WRITE = "write_transaction"  # execution option and session flag of a write transaction
# Execution option: the write is one statement, which SQLite then runs without BEGIN (autocommit).
SINGLE_STATEMENT = "single_statement_write"


def begin_write(session: Session | None = None, *, single_statement: bool = False) -> None:
    """Start the use case's write transaction; on SQLite it begins IMMEDIATE.

    Call it first in every service function that writes. It ends the read
    transaction the request may have open (nothing may be pending in it), then
    begins one that holds SQLite's write lock from its first statement, so two
    writers queue on the busy timeout instead of one failing with SQLITE_BUSY
    when it upgrades a read snapshot (Django 5.1's "IMMEDIATE" mode, per use case).

    `single_statement`: the use case writes with exactly one statement. SQLite then gets no BEGIN,
    so the statement takes, uses and releases the write lock inside one call into SQLite: no
    Python runs (and no other thread takes the GIL) while another worker waits for the lock.
    """
    from core.extensions import db

    session = session or db.session()  # the scoped registry's Session for this context
    if session.info.get(WRITE):
        return
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("begin_write() must come before the use case changes anything")
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={WRITE: True, SINGLE_STATEMENT: single_statement})
    session.info[WRITE] = True


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _end_of_write(session: Session) -> None:
    session.info.pop(WRITE, None)


def configure_sqlite(engine: Engine, busy_timeout_ms: int, autocheckpoint_pages: int = 1000) -> None:
    """Turn on WAL, foreign keys and a busy timeout; write transactions begin IMMEDIATE.

    `autocheckpoint_pages`: the WAL size at which a committing request copies it into the
    database itself. The monitor does that every second (`checkpoint_wal`), off the request
    path; the limit only matters while no monitor runs.

    pysqlite's own transaction handling is switched off so that SQLAlchemy's
    "begin" event decides how a transaction starts: plain BEGIN for reads,
    BEGIN IMMEDIATE when begin_write() asked for a write transaction.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # noqa: ANN001
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA wal_autocheckpoint={int(autocheckpoint_pages)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # noqa: ANN001
        options = connection.get_execution_options()
        if options.get(SINGLE_STATEMENT, False):
            return  # autocommit: the one statement is its own transaction; COMMIT is then a no-op
        connection.exec_driver_sql("BEGIN IMMEDIATE" if options.get(WRITE, False) else "BEGIN")


def checkpoint_wal(engine: Engine) -> int:
    """Copy SQLite's write-ahead log into the database without waiting on anyone.

    Returns how many of the log's pages are in the database now (all of them unless someone was
    still reading an older snapshot), 0 on PostgreSQL.

    A committing request used to do this itself every 1,000 pages, and that request took 12–17 ms
    instead of 2–3. PASSIVE never blocks readers or writers; what it cannot copy yet waits for the
    next call. Nothing to do on PostgreSQL.
    """
    if not is_sqlite(engine):
        return 0
    with engine.connect() as connection:  # outside any transaction: no SQLAlchemy BEGIN is emitted
        _busy, _log_pages, copied = connection.connection.dbapi_connection.execute(
            "PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return max(copied, 0)


def init_app(app: Flask) -> None:
    """Attach store behaviour to the engine the first time it is created."""
    from core.extensions import db

    with app.app_context():
        engine = db.engine
        if is_sqlite(engine):
            configure_sqlite(engine, app.config["SQLITE_BUSY_TIMEOUT_MS"],
                             app.config["SQLITE_WAL_AUTOCHECKPOINT_PAGES"])
