"""The access journal under the real web server: granian's worker processes write the lines, a reader
of the log on the same store sees every display at once, and an ended worker's file goes once moved."""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path

import pytest
import requests
from flask_migrate import upgrade

from app import create_app
from app.demo.stack import BIN, ROOT, free_port, wait_until
from core.auth.roles import Role
from core.config import TestConfig
from core.extensions import db
from core.privacy.access_journal import ingest_pending
from core.privacy.access_log import access_log_page
from tests import factories

pytestmark = pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")),
                                reason="the journal is a SQLite store's; on PostgreSQL rows go straight in")

ENV = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "STATUS_", "SYNC_", "WEB_"))}
SEARCHES = 20


def test_the_workers_displays_reach_the_log_once_and_their_files_go_when_they_end(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = url

    app = create_app(Config)
    previous = factories.bind_app(app)
    try:
        with app.app_context():
            upgrade()
            karin = factories.user("karin", roles=(Role.PRESCRIBER,)).id
            for day in range(1, 13):
                factories.patient(personnummer=factories.make_personnummer(1931, 7, day))
    finally:
        factories.bind_app(previous)
    journal = app.extensions["access_journal"]
    port = free_port()
    web = subprocess.Popen([str(ROOT / "bin" / "web")], cwd=ROOT, start_new_session=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           env={**ENV, "HOST": "127.0.0.1", "PORT": str(port), "DATABASE_URL": url,
                                "SECRET_KEY": "journal-test", "INSTANCE_PATH": str(tmp_path), "WEB_WORKERS": "2",
                                "PATH": f"{BIN}:{os.environ['PATH']}"})
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: requests.get(f"{base}/health", timeout=2).status_code == 200, 30, "granian")
        token = requests.post(f"{base}/api/v1/tokens", json={"username": "karin", "password": factories.PASSWORD},
                              timeout=10).json()["token"]
        with requests.Session() as prescriber:
            prescriber.headers["Authorization"] = f"Bearer {token}"
            for _ in range(SEARCHES):  # ten patients shown by each; `Connection: close` spreads them over the workers
                answer = prescriber.get(f"{base}/api/v1/patients?q=193107", headers={"Connection": "close"}, timeout=10)
                assert answer.status_code == 200 and len(answer.json()["patients"]) == 10
        assert list(journal.directory.glob("*.journal"))  # the workers' own files, nothing in the table yet
        with app.app_context():  # a reader on the same store, while the workers live: it moves the lines first
            total, _entries = access_log_page(karin, None, limit=10, offset=0)
        assert total == SEARCHES * 10
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(web.pid, signal.SIGTERM)
        web.wait(15)
    with app.app_context():
        assert ingest_pending() == 0  # nothing twice
        assert access_log_page(karin, None, limit=10, offset=0)[0] == SEARCHES * 10
        db.engine.dispose()
    assert list(journal.directory.glob("*.journal")) == []  # the workers ended: their files are gone
