"""The access journal under the real web server: granian's worker processes write the lines, a reader
of the log on the same store sees every display at once, and an ended worker's file goes once moved."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import requests
from flask import Flask
from flask_migrate import upgrade

from app import create_app
from core.auth.roles import Role
from core.config import TestConfig
from core.extensions import db
from core.privacy.access_journal import ingest_pending
from core.privacy.access_log import access_log_page
from tests import factories
from tests.e2e.test_web_server import started_web

pytestmark = pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")),
                                reason="the journal is a SQLite store's; on PostgreSQL rows go straight in")

SEARCHES = 20


def _seeded_store(path: Path) -> int:
    """Migrate a store with a prescriber and twelve patients born in July 1931; return her id."""
    app = _app_on(path)
    previous = factories.bind_app(app)
    try:
        with app.app_context():
            upgrade()
            karin = factories.user("karin", roles=(Role.PRESCRIBER,)).id
            for day in range(1, 13):
                factories.patient(personnummer=factories.make_personnummer(1931, 7, day))
            db.engine.dispose()  # the last connection folds the WAL into the file that started_web copies
    finally:
        factories.bind_app(previous)
    return karin


def _app_on(path: Path) -> Flask:
    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{path}"

    return create_app(Config)


def test_the_workers_displays_reach_the_log_once_and_their_files_go_when_they_end(tmp_path: Path) -> None:
    (tmp_path / "seed").mkdir()
    karin = _seeded_store(tmp_path / "seed" / "store.sqlite3")
    directory = tmp_path / "web"
    directory.mkdir()
    with started_web("granian", directory, tmp_path / "seed" / "store.sqlite3") as (web, _process):
        app = _app_on(directory / "store.sqlite3")  # a reader on the store the workers use
        journal = app.extensions["access_journal"]
        token = requests.post(f"{web.url}/api/v1/tokens", json={"username": "karin", "password": factories.PASSWORD},
                              timeout=10).json()["token"]
        with requests.Session() as prescriber:
            prescriber.headers["Authorization"] = f"Bearer {token}"
            for _ in range(SEARCHES):  # ten patients shown by each; `Connection: close` spreads them over the workers
                answer = prescriber.get(f"{web.url}/api/v1/patients?q=193107", headers={"Connection": "close"},
                                        timeout=10)
                assert answer.status_code == 200 and len(answer.json()["patients"]) == 10
        assert list(journal.directory.glob("*.journal"))  # the workers' own files, nothing in the table yet
        with app.app_context():  # while the workers live: the reader moves the lines first
            total, _entries = access_log_page(karin, None, limit=10, offset=0)
        assert total == SEARCHES * 10
    with app.app_context():
        assert ingest_pending() == 0  # nothing twice
        assert access_log_page(karin, None, limit=10, offset=0)[0] == SEARCHES * 10
        db.engine.dispose()
    assert list(journal.directory.glob("*.journal")) == []  # the workers ended: their files are gone
