"""The access journal: on a SQLite file a display's rows are one line in a file of its process,
moved into the access log exactly once, by the monitor every second and by every reader first."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import create_engine, func, select

from core.clock import utcnow
from core.extensions import db
from core.models import AccessJournalFile, AccessLogEntry
from core.privacy.access_journal import AccessJournal
from core.privacy.access_log import AccessAction, Mark, access_log_page, record_rows
from status.tasks import JOBS
from tests import factories

pytestmark = pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")),
                                reason="the journal is a SQLite store's; on PostgreSQL rows go straight in")

ROOT = Path(__file__).resolve().parents[3]
# A process of its own appending displays, as a web worker does: `count` lines, or until it is killed.
WRITER = """
import sys
from datetime import datetime
from pathlib import Path
from core.privacy.access_journal import AccessJournal
directory, user, patient, name, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
journal = AccessJournal(Path(directory))
for seq in range(count):
    journal.append([{"at": datetime(2026, 12, 7, 9, 0), "user_id": user, "patient_id": patient,
                     "action": "search", "context": f"{name}-{seq}"}])
    if seq == 100:
        print("writing", flush=True)
"""


def _journal(app: Flask) -> AccessJournal:
    journal = app.extensions["access_journal"]
    assert journal is not None
    return journal


def _someone_and_a_patient(app: Flask) -> tuple[int, int]:
    with app.app_context():
        return factories.user().id, factories.patient().id


def _contexts(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AccessLogEntry.context)))


def _writer(journal: AccessJournal, user: int, patient: int, name: str, count: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WRITER, str(journal.directory), str(user), str(patient), name,
                             str(count)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_a_sqlite_file_store_keeps_its_journal_beside_it_and_memory_none(committed_app):
    with committed_app.app_context():
        database = Path(db.engine.url.database).resolve()
    assert _journal(committed_app).directory == database.with_name(database.name + "-access-journal")
    assert AccessJournal.beside(create_engine("sqlite://")) is None


def test_a_display_is_one_line_in_the_file_and_reaches_the_log_once(committed_app):
    journal = _journal(committed_app)
    with committed_app.app_context():
        user, patients = factories.user(), [factories.patient().id for _ in range(3)]
        before = utcnow()
        assert record_rows([Mark(user.id, pid, AccessAction.SEARCH, "patients.search") for pid in patients]) == 3
        [file] = journal.directory.glob("*.journal")
        assert len(file.read_bytes().splitlines()) == 1  # one display, one line, one write(2)
        assert db.session.scalar(select(func.count()).select_from(AccessLogEntry)) == 0  # not in the table yet
        assert journal.ingest() == 3
        assert journal.ingest() == 0  # moved once
        rows = db.session.scalars(select(AccessLogEntry).order_by(AccessLogEntry.patient_id)).all()
        assert [(r.user_id, r.patient_id, r.action) for r in rows] == [(user.id, pid, "search") for pid in patients]
        assert all(before <= r.at <= utcnow() for r in rows)  # the moment of the display, not of the move
        assert db.session.get(AccessJournalFile, file.name).ingested_bytes == file.stat().st_size
    assert file.exists()  # its writer (this process) lives on


def test_whoever_reads_the_log_sees_a_display_at_once(committed_app):
    user, patient = _someone_and_a_patient(committed_app)
    with committed_app.app_context():
        record_rows([Mark(user, patient, AccessAction.OVERVIEW, "patients.overview")])
    with committed_app.app_context():  # another request, no monitor running: the reader moves the lines in
        total, entries = access_log_page(None, patient, limit=10, offset=0)
    assert total == 1 and entries[0].context == "patients.overview"


def test_writers_killed_or_not_while_two_ingesters_run_land_exactly_once(committed_app):
    journal = _journal(committed_app)
    user, patient = _someone_and_a_patient(committed_app)
    finite = [_writer(journal, user, patient, f"w{i}", 2000) for i in range(2)]
    endless = _writer(journal, user, patient, "killed", 10**9)
    assert endless.stdout.readline() == "writing\n"
    stop = threading.Event()

    def ingest_until_stopped() -> None:
        while not stop.is_set():
            with committed_app.app_context():
                journal.ingest()

    ingesters = [threading.Thread(target=ingest_until_stopped) for _ in range(2)]
    for thread in ingesters:
        thread.start()
    try:
        for process in finite:
            assert process.wait(timeout=60) == 0, process.stderr.read()
        endless.send_signal(signal.SIGKILL)  # mid-write, as a crashed worker
        endless.wait(timeout=10)
    finally:
        stop.set()
        for thread in ingesters:
            thread.join()
        for process in (*finite, endless):
            process.stdout.close()
            process.stderr.close()
    with committed_app.app_context():
        journal.ingest()
    contexts = _contexts(committed_app)
    assert len(contexts) == len(set(contexts))  # nothing twice
    for name in ("w0", "w1"):
        assert {c for c in contexts if c.startswith(name + "-")} == {f"{name}-{seq}" for seq in range(2000)}
    killed = sorted(int(c.split("-")[1]) for c in contexts if c.startswith("killed-"))
    assert len(killed) > 100 and killed == list(range(len(killed)))  # every line it finished, in order, no gap
    assert list(journal.directory.glob("*.journal")) == []  # all three writers gone: their files too
    with committed_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AccessJournalFile)) == 0


def test_a_write_cut_short_fails_the_display_and_leaves_only_whole_lines(committed_app):
    journal = _journal(committed_app)
    user, patient = _someone_and_a_patient(committed_app)
    full_disk = """
import resource, signal, sys
from datetime import datetime
from pathlib import Path
from core.privacy.access_journal import AccessJournal
journal = AccessJournal(Path(sys.argv[1]))
row = {"at": datetime(2026, 12, 7, 9, 0), "user_id": int(sys.argv[2]), "patient_id": int(sys.argv[3]), "action": "search"}
journal.append([{**row, "context": "line-0"}])
[file] = Path(sys.argv[1]).glob("*.journal")
line = file.stat().st_size
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails (EFBIG) instead of killing us
resource.setrlimit(resource.RLIMIT_FSIZE, (line * 5 // 2, line * 5 // 2))  # as a disk with 2.5 lines left
for seq in range(1, 4):
    try:
        journal.append([{**row, "context": f"line-{seq}"}])
    except OSError as exc:
        print("failed", seq, flush=True)
"""
    result = subprocess.run([sys.executable, "-c", full_disk, str(journal.directory), str(user), str(patient)],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    # Two lines fit, the third is cut halfway and fails; the fourth starts a new file.
    assert result.stdout.splitlines() == ["failed 2"]
    with committed_app.app_context():
        assert journal.ingest() == 3
    assert sorted(_contexts(committed_app)) == ["line-0", "line-1", "line-3"]
    assert list(journal.directory.glob("*.journal")) == []  # the torn line went with its finished file


def test_a_forked_worker_writes_a_file_of_its_own(committed_app):
    journal = _journal(committed_app)
    user, patient = _someone_and_a_patient(committed_app)
    row = {"at": datetime(2026, 12, 7, 9, 0), "user_id": user, "patient_id": patient, "action": "search"}
    journal.append([{**row, "context": "parent"}])
    child = os.fork()
    if child == 0:  # as granian's workers after the app was loaded: no store, only the journal
        journal.append([{**row, "context": "child"}])
        os._exit(0)
    assert os.waitpid(child, 0)[1] == 0
    assert len(list(journal.directory.glob("*.journal"))) == 2
    with committed_app.app_context():
        assert journal.ingest() == 2
    assert sorted(_contexts(committed_app)) == ["child", "parent"]
    assert len(list(journal.directory.glob("*.journal"))) == 1  # the child's is gone with it, ours stays


def test_the_monitor_moves_the_journal_every_tick(committed_app):
    job = next(j for j in JOBS if j.id == "core.access_journal")
    assert job.every(type("Settings", (), {"tick_seconds": 1.0})()) == 1.0
    user, patient = _someone_and_a_patient(committed_app)
    with committed_app.app_context():
        record_rows([Mark(user, patient, AccessAction.RECEIPT, "prescribing.receipt")])
        job.func(utcnow())
        assert db.session.scalar(select(AccessLogEntry.context)) == "prescribing.receipt"


def test_a_file_left_half_opened_is_cleared_only_when_old(committed_app):
    journal = _journal(committed_app)
    journal.directory.mkdir(parents=True, exist_ok=True)
    fresh, old = journal.directory / "1-a.opening", journal.directory / "2-b.opening"
    fresh.touch()
    old.touch()
    an_hour_ago = (datetime.now() - timedelta(hours=1)).timestamp()
    os.utime(old, (an_hour_ago, an_hour_ago))
    with committed_app.app_context():
        journal.ingest()
    assert fresh.exists() and not old.exists()  # a writer may be between creating and renaming the fresh one


def test_lines_naming_someone_the_store_does_not_hold_are_left_out_with_a_warning(committed_app, caplog):
    journal = _journal(committed_app)
    user, patient = _someone_and_a_patient(committed_app)
    row = {"at": datetime(2026, 12, 7, 9, 0), "user_id": user, "action": "search"}
    journal.append([{**row, "patient_id": patient, "context": "held"}])
    journal.append([{**row, "patient_id": patient + 1000, "context": "after the backup"}])  # a restored store's gap
    with committed_app.app_context():
        assert journal.ingest() == 1
        assert journal.ingest() == 0
    assert _contexts(committed_app) == ["held"]
    assert "1 of 2 rows name a user or patient this store does not hold" in caplog.text


def test_a_backlog_moves_in_short_transactions_and_an_export_longer_than_one_moves_whole(committed_app, monkeypatch):
    from core.privacy import access_journal

    monkeypatch.setattr(access_journal, "BYTES_PER_TRANSACTION", 100)  # a transaction per line or two
    journal = _journal(committed_app)
    user, patient = _someone_and_a_patient(committed_app)
    row = {"at": datetime(2026, 12, 7, 9, 0), "user_id": user, "patient_id": patient, "action": "search"}
    for seq in range(5):
        journal.append([{**row, "context": f"display-{seq}"}])
    journal.append([{**row, "action": "log_export", "context": f"export-{seq}"} for seq in range(50)])  # ~3 kB
    with committed_app.app_context():
        assert journal.ingest() == 55
    contexts = _contexts(committed_app)
    assert sorted(contexts) == sorted([f"display-{seq}" for seq in range(5)] + [f"export-{seq}" for seq in range(50)])
