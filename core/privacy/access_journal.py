"""The access log's journal on a SQLite store: a display's rows reach disk without the write lock.

On SQLite every write of every process queues on one lock, and showing a patient is a write: its
access-log rows. A third of a search's CPU went to that write at four clients (bench/README.md,
sessions 9–10), and a search waited behind any other writer. So on a SQLite file each process
appends a display's rows to a file of its own beside the database, in one write(2), before the
answer leaves; that is as durable as SQLite's own commits under `synchronous=NORMAL` (they survive a
process crash, not the operating system's). The monitor moves the lines into `access_log` every
second, many displays per transaction, and every reader of the log moves them first (`ingest`), so
a review, an export or a patient's extract never misses a row.

Exactly once: a file's ingested length is stored in `access_journal_files` in the same transaction
as its rows. A writer holds a shared `flock` on its file while it lives, so an ingester that gets an
exclusive one knows the file is complete, moves the rest and deletes it. PostgreSQL needs none of
this (its writers do not queue on one lock, and the web nodes share no disk): rows go straight in.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from operator import itemgetter
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import delete, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from core.extensions import db
from core.models import AccessJournalFile, AccessLogEntry, Patient, User
from core.store import begin_write, is_sqlite

DIRECTORY_SUFFIX = "-access-journal"  # beside the database file, as SQLite's own -wal and -shm
FILE_SUFFIX = ".journal"
OPENING_SUFFIX = ".opening"  # a file not yet locked by its writer: never ingested or removed by name alone
OPENING_ABANDONED_SECONDS = 60  # a writer renames its file within microseconds of creating it
BYTES_PER_TRANSACTION = 4 * 1024 * 1024  # about 7,000 displays: one ingest transaction stays short
logger = logging.getLogger(__name__)
COLUMNS = ("at", "user_id", "patient_id", "action", "context")


class AccessJournal:
    """The journal directory of one SQLite store: this process's writer, and the ingester for all."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._pid: int | None = None

    @classmethod
    def beside(cls, engine: Engine) -> AccessJournal | None:
        """Return the journal of a SQLite file store, None for PostgreSQL or an in-memory SQLite."""
        path = engine.url.database
        if not is_sqlite(engine) or not path or path == ":memory:" or path.startswith("file::memory:"):
            return None
        return cls(directory_beside(Path(path)))

    # ------------------------------------------------------------------ writing

    def append(self, rows: Sequence[dict]) -> None:
        """Write one display's rows as one line in one write(2); raise if it did not all reach the file."""
        line = (json.dumps([[row[name] if name != "at" else row["at"].isoformat() for name in COLUMNS]
                            for row in rows], ensure_ascii=False) + "\n").encode()
        fd = self._writer()
        written = os.write(fd, line)
        if written != len(line):  # a full disk: this file ends in a torn line, so the next display starts a new one
            self._close()
            raise OSError(f"the access journal took {written} of {len(line)} bytes")

    def _writer(self) -> int:
        """Return this process's file, opening (and locking) one on first use and after a fork."""
        with self._lock:
            if self._fd is not None and self._pid == os.getpid():
                return self._fd
            if self._fd is not None:  # inherited across fork: the parent's file stays the parent's
                os.close(self._fd)
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            name = f"{os.getpid()}-{secrets.token_hex(6)}"
            opening = self.directory / (name + OPENING_SUFFIX)
            fd = os.open(opening, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            fcntl.flock(fd, fcntl.LOCK_SH)  # held while this process lives: an ingester then leaves the file be
            os.rename(opening, self.directory / (name + FILE_SUFFIX))  # locked before any ingester can see it
            self._fd, self._pid = fd, os.getpid()
            return fd

    def _close(self) -> None:
        with self._lock:
            if self._fd is not None and self._pid == os.getpid():
                os.close(self._fd)
            self._fd = self._pid = None

    # ------------------------------------------------------------------ ingesting

    def ingest(self) -> int:
        """Move every complete line of every file into `access_log`, exactly once; return the rows moved.

        Runs in the session's own write transaction (`begin_write`), so the reader that calls it sees
        the rows in its next statement; files whose writers are gone are deleted once moved.
        """
        self._clear_abandoned_openings()
        moved, more = 0, True
        while more:  # another pass only for a file longer than one transaction takes, never for new lines
            batch, finished, more = self._ingest_once()
            moved += batch
            self._forget(finished)
        return moved

    def _ingest_once(self, known_only: bool = False) -> tuple[int, list[str], bool]:
        """Move up to BYTES_PER_TRANSACTION of each file; return rows moved, files finished, and whether any is left.

        `known_only`: leave out rows naming a user or patient the store does not hold.
        """
        if not any(self._files()):
            return 0, [], False
        begin_write()
        # Listed under the write lock: a file missing now with a row in `done` was deleted by `_forget`.
        names = sorted(path.name for path in self._files())
        done = dict(db.session.execute(select(AccessJournalFile.name, AccessJournalFile.ingested_bytes)).all())
        rows: list[dict] = []
        finished, more = [], False
        for name in names:
            gone = _writer_gone(self.directory / name)  # asked first: once gone, what is read below is all
            start = done.get(name, 0)
            chunk, cut = _read(self.directory / name, start, BYTES_PER_TRANSACTION)
            if chunk is None:
                continue
            more = more or cut
            complete = chunk[:chunk.rfind(b"\n") + 1]
            rows.extend(_rows(complete))
            if complete and name in done:
                db.session.execute(update(AccessJournalFile).where(AccessJournalFile.name == name)
                                   .values(ingested_bytes=start + len(complete)))
            elif complete:
                db.session.add(AccessJournalFile(name=name, ingested_bytes=len(complete)))
            # What is left of a finished file without a newline is a torn line: its display failed.
            if gone and not cut and b"\n" not in chunk[len(complete):]:
                finished.append(name)
        if rows and known_only:
            rows = _known(rows)
        if rows:
            try:
                _insert(rows)
            except IntegrityError:
                if known_only:
                    raise
                # A store restored from a backup older than the journal's lines: the pass again, leaving
                # out rows naming someone it lacks. (A savepoint around the insert, to carry on in the same
                # transaction, cost every row a quarter more for its sub-journal.)
                db.session.rollback()
                return self._ingest_once(known_only=True)
        stale = [name for name in done if name not in names]  # deleted by an ingester that stopped before its bookkeeping
        if stale:
            db.session.execute(delete(AccessJournalFile).where(AccessJournalFile.name.in_(stale)))
        db.session.commit()
        return len(rows), finished, more

    def _forget(self, names: list[str]) -> None:
        """Delete finished files, then their bookkeeping (the other order could move a file twice)."""
        if not names:
            return
        for name in names:
            (self.directory / name).unlink(missing_ok=True)
        begin_write()
        db.session.execute(delete(AccessJournalFile).where(AccessJournalFile.name.in_(names)))
        db.session.commit()

    def _files(self) -> Iterator[Path]:
        return self.directory.glob("*" + FILE_SUFFIX) if self.directory.is_dir() else iter(())

    def _clear_abandoned_openings(self) -> None:
        """Delete files whose writer died between creating and renaming them (never a live one: they are old)."""
        if not self.directory.is_dir():
            return
        for opening in self.directory.glob("*" + OPENING_SUFFIX):
            if _age_seconds(opening) > OPENING_ABANDONED_SECONDS and _writer_gone(opening):
                opening.unlink(missing_ok=True)

    def discard(self) -> None:
        """Close this process's file and delete every file: for a test whose transaction is rolled back."""
        self._close()
        if self.directory.is_dir():
            for path in self.directory.iterdir():
                path.unlink(missing_ok=True)


def _insert(rows: list[dict]) -> None:
    """Insert the rows in the order of the patient index, the one whose pages a second's displays scatter over.

    In that order each row's index entry lands beside the last one's, and so does the foreign-key
    look-up of its patient. The rows go to the driver as they are, `at` already in the column's stored
    form, with no per-row work by SQLAlchemy. With no savepoint, a move costs 14 µs a row instead of
    20 on a store of a million patients (bench/README.md, session 11). Within a second `id` order is
    then patient order; the log is read by `at`, and the rows of one display share theirs.
    """
    rows.sort(key=itemgetter("patient_id"))
    db.session.connection().exec_driver_sql(_INSERT, rows)


_INSERT = (f"INSERT INTO {AccessLogEntry.__tablename__} ({', '.join(COLUMNS)}) "
           f"VALUES ({', '.join(':' + name for name in COLUMNS)})")


def _known(rows: list[dict]) -> list[dict]:
    """Return the rows whose user and patient this store holds, warning how many it does not."""
    def existing(column, ids: set[int]) -> set[int]:  # noqa: ANN001 - a mapped id column
        ordered, found = sorted(ids), set()
        for i in range(0, len(ordered), 500):  # within SQLite's limit of bound values
            found.update(db.session.scalars(select(column).where(column.in_(ordered[i:i + 500]))))
        return found

    users = existing(User.id, {row["user_id"] for row in rows})
    patients = existing(Patient.id, {row["patient_id"] for row in rows})
    kept = [row for row in rows if row["user_id"] in users and row["patient_id"] in patients]
    logger.warning("access journal: %d of %d rows name a user or patient this store does not hold "
                   "(restored from an older backup?); they are not moved", len(rows) - len(kept), len(rows))
    return kept


def remove_beside(database: Path) -> None:
    """Delete the journal of a SQLite file that is being replaced (a drill's sandbox made anew)."""
    shutil.rmtree(directory_beside(database), ignore_errors=True)


def directory_beside(database: Path) -> Path:
    """Return the journal folder of a SQLite file: beside it, as SQLite's own -wal and -shm."""
    database = database.resolve()
    return database.with_name(database.name + DIRECTORY_SUFFIX)


def _writer_gone(path: Path) -> bool:
    """Return whether no process holds the file open for writing any more (its shared lock is free)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing releases the probe's own lock


def _age_seconds(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


def _read(path: Path, start: int, limit: int) -> tuple[bytes | None, bool]:
    """Return the file from `start`: about `limit` bytes, to the end of a line, and whether more is left."""
    try:
        with path.open("rb") as journal:
            journal.seek(start)
            chunk = journal.read(limit)
            if len(chunk) < limit:
                return chunk, False
            return chunk + journal.readline(), True  # an export's line may be longer than the limit
    except FileNotFoundError:
        return None, False


def _rows(lines: bytes) -> list[dict]:
    """Return the rows of whole lines, their fields in COLUMNS' order as `append` wrote them."""
    rows = [dict(zip(COLUMNS, fields, strict=True)) for line in lines.splitlines() for fields in json.loads(line)]
    stored_form = _stored_moment()
    for row in rows:
        row["at"] = stored_form(datetime.fromisoformat(row["at"]))
    return rows


def _stored_moment() -> Callable[[datetime], str]:
    """Return the `at` column's own conversion of a moment into what SQLite stores."""
    column = AccessLogEntry.__table__.c.at
    return column.type.dialect_impl(db.engine.dialect).bind_processor(db.engine.dialect)


def current() -> AccessJournal | None:
    """Return the running app's journal, None where rows go straight into the table."""
    return current_app.extensions.get("access_journal")


def ingest_pending() -> int:
    """Move what the journal holds into `access_log` (every reader of the log calls this first)."""
    journal = current()
    return journal.ingest() if journal is not None else 0


def init_app(app: Flask) -> None:
    """Give a SQLite file store its journal (call after the store is configured)."""
    with app.app_context():
        app.extensions["access_journal"] = AccessJournal.beside(db.engine)
