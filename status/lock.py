"""One monitor at a time: a PostgreSQL advisory lock, or a lease row on SQLite.

A second `flask monitor` started by mistake finds the lock taken and stays idle,
trying again now and then, so it takes over if the first one dies.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import Connection, Engine, insert, or_, select, text, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from core.store import WRITE
from status.models import MonitorLease

log = logging.getLogger(__name__)

LEASE_NAME = "monitor"


class MonitorLock(Protocol):
    def acquire(self, now: datetime) -> bool:
        """Take or renew the lock; return whether this process holds it."""

    def held(self, now: datetime) -> bool:
        """Return whether this process may act now (without asking the store)."""

    def fence(self, session: Session, now: datetime) -> bool:
        """Return whether this process still holds the lock, asked inside the session's transaction.

        Called just before a monitor job commits: a monitor that paused past its lease (GC, SIGSTOP,
        a clock jump) and lost the lock meanwhile must not write what it decided before the pause.
        """

    def release(self) -> None: ...


# The advisory lock as pg_locks shows it: a bigint key splits into classid (high) and objid (low).
_ADVISORY_HELD = text(
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = :pid"
    " AND objsubid = 1 AND classid::bigint = (CAST(:key AS bigint) >> 32)"
    " AND objid::bigint = (CAST(:key AS bigint) & 4294967295))")


class AdvisoryLock:
    """pg_try_advisory_lock on a dedicated connection held for the process lifetime."""

    def __init__(self, engine: Engine, key: int) -> None:
        self.engine = engine
        self.key = key
        self._connection: Connection | None = None
        self._pid: int | None = None
        self._held = False

    def acquire(self, now: datetime) -> bool:
        try:
            if self._held and self._connection is not None:
                self._connection.execute(text("SELECT 1"))  # still alive, so still ours
                return True
            if self._connection is None:
                # Autocommit: the connection never sits "idle in transaction" while it holds the lock.
                self._connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
                self._pid = self._connection.scalar(text("SELECT pg_backend_pid()"))
            self._held = bool(self._connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}))
        except SQLAlchemyError:
            log.exception("monitor lock: connection lost")
            self._drop_connection()
        return self._held

    def held(self, now: datetime) -> bool:
        return self._held

    def fence(self, session: Session, now: datetime) -> bool:
        # Our lock session still holds it; when that session dies, PostgreSQL frees the lock at once.
        return self._held and bool(session.scalar(_ADVISORY_HELD, {"pid": self._pid, "key": self.key}))

    def release(self) -> None:
        if self._connection is not None and self._held:
            try:
                self._connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
            except SQLAlchemyError:
                log.warning("monitor lock: unlock failed; the lock ends with the connection")
        self._drop_connection()

    def _drop_connection(self) -> None:
        self._held = False
        if self._connection is not None:
            try:
                self._connection.close()
            except SQLAlchemyError:
                pass
            self._connection = None


class LeaseLock:
    """A lease row: claimed with a conditional UPDATE, renewed by a job, stolen only once expired."""

    def __init__(self, engine: Engine, owner: str, lease: timedelta) -> None:
        self.engine = engine
        self.owner = owner[:80]
        self.lease = lease
        self._until: datetime | None = None
        # The lease also ends on the monotonic clock, which no correction of the wall clock moves.
        self._monotonic_until = 0.0

    def acquire(self, now: datetime) -> bool:
        try:
            with self.engine.connect() as plain, plain.execution_options(**{WRITE: True}) as conn, conn.begin():
                self._ensure_row(conn)
                result = conn.execute(
                    update(MonitorLease)
                    .where(MonitorLease.name == LEASE_NAME,
                           or_(MonitorLease.owner == self.owner, MonitorLease.owner.is_(None),
                               MonitorLease.expires_at.is_(None), MonitorLease.expires_at <= now,
                           # Longer than a lease runs: written before the clock went back.
                           MonitorLease.expires_at > now + self.lease))
                    .values(owner=self.owner, expires_at=now + self.lease)
                )
        except SQLAlchemyError:
            log.exception("monitor lock: lease not renewed")
            self._until = None
            return False
        # A renewal that failed means someone else holds it now: stop acting at once.
        self._until = now + self.lease if result.rowcount == 1 else None
        self._monotonic_until = time.monotonic() + self.lease.total_seconds()
        return self._until is not None

    def held(self, now: datetime) -> bool:
        return self._until is not None and now < self._until and time.monotonic() < self._monotonic_until

    def fence(self, session: Session, now: datetime) -> bool:
        # In a write transaction SQLite's one writer is us: nobody can take the lease before we commit.
        row = session.execute(select(MonitorLease.owner, MonitorLease.expires_at)
                              .where(MonitorLease.name == LEASE_NAME)).first()
        return (self.held(now) and row is not None and row.owner == self.owner
                and row.expires_at is not None and row.expires_at > now)

    def release(self) -> None:
        if self._until is None:
            return
        try:
            with self.engine.connect() as plain, plain.execution_options(**{WRITE: True}) as conn, conn.begin():
                conn.execute(update(MonitorLease).where(MonitorLease.name == LEASE_NAME,
                                                        MonitorLease.owner == self.owner)
                             .values(owner=None, expires_at=None))
        except SQLAlchemyError:
            log.warning("monitor lock: lease not released; it expires by itself")
        self._until = None

    @staticmethod
    def _ensure_row(conn: Connection) -> None:
        if conn.scalar(select(MonitorLease.name).where(MonitorLease.name == LEASE_NAME)) is None:
            try:
                with conn.begin_nested():
                    conn.execute(insert(MonitorLease).values(name=LEASE_NAME, owner=None, expires_at=None))
            except IntegrityError:
                pass  # another monitor inserted it a moment ago


def lock_for(engine: Engine, owner: str, lease: timedelta, key: int) -> MonitorLock:
    """Return the right lock for the store behind the engine."""
    if engine.dialect.name == "postgresql":
        return AdvisoryLock(engine, key)
    return LeaseLock(engine, owner, lease)
