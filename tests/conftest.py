"""Test set-up: one migrated store per run (SQLite, or PostgreSQL via TEST_DATABASE_URL),
each test inside a transaction that is rolled back."""
from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from flask_sqlalchemy.session import _app_ctx_id
from sqlalchemy import create_engine, text
from sqlalchemy.orm import scoped_session, sessionmaker

from app import create_app
from core.config import TestConfig, normalise_database_url
from core.extensions import db
from tests import factories
from tests.client import FreshClient
from tests.smtp_server import Inbox, free_port


@contextmanager
def postgres_schema(url: str, suffix: str = "") -> Iterator[str]:
    """Give this run a schema of its own, so runs sharing the database never collide."""
    schema = f"test_run_{os.getpid()}{suffix}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in url else "?"
    try:
        yield f"{url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        yield f"sqlite:///{tmp_path_factory.mktemp('store') / 'test.sqlite3'}"
        return
    with postgres_schema(normalise_database_url(url)) as scoped_url:
        yield scoped_url


@pytest.fixture(scope="session")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = database_url

    application = create_app(Config)
    application.instance_path = str(tmp_path_factory.mktemp("instance"))
    with application.app_context():
        upgrade()
    factories.bind_app(application)
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _rolled_back_transaction(request: pytest.FixtureRequest) -> Iterator[None]:
    """Run the test inside one outer transaction; the app's commits become savepoints."""
    if "app" not in request.fixturenames or "committed_app" in request.fixturenames:
        yield  # pure domain tests need no store
        return
    application: Flask = request.getfixturevalue("app")
    with application.app_context():
        connection = db.engine.connect()
    outer = connection.begin()
    original = db.session
    db.session = scoped_session(
        sessionmaker(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False),
        scopefunc=_app_ctx_id,
    )
    try:
        yield
    finally:
        # Each app context's session was removed by Flask-SQLAlchemy's teardown.
        db.session = original
        outer.rollback()
        connection.close()
        journal = application.extensions.get("access_journal")
        if journal is not None:  # the access journal's files are part of the store: rolled back too
            journal.discard()


@pytest.fixture
def committed_app(tmp_path: Path) -> Iterator[Flask]:
    """A separate, freshly migrated store whose commits are real, for tests with several connections."""
    url = os.environ.get("TEST_DATABASE_URL")
    with ExitStack() as stack:
        if url:
            database_url = stack.enter_context(postgres_schema(normalise_database_url(url), "_committed"))
        else:
            database_url = f"sqlite:///{tmp_path / 'committed.sqlite3'}"

        class Config(TestConfig):
            SQLALCHEMY_DATABASE_URI = database_url

        application = create_app(Config)
        application.instance_path = str(tmp_path / "instance")
        with application.app_context():
            upgrade()
        previous = factories.bind_app(application)
        try:
            yield application
        finally:
            factories.bind_app(previous)
            with application.app_context():
                db.engine.dispose()


@pytest.fixture
def smtp(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setitem(app.config, "MAIL_PORT", port)
    yield inbox
    controller.stop()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """The one test client (tests/client.py): each request starts with an empty `g`."""
    return FreshClient(app, app.response_class, use_cookies=True)


@pytest.fixture
def ctx(app: Flask) -> Iterator[None]:
    """An application context for service-level tests.

    The test client's requests reuse this context and its `g`, so Flask-Login keeps the first
    user logged in for the whole test: a test that acts as two users should not use `ctx`.
    """
    with app.app_context():
        yield


CSRF_PATTERN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_token_from(html: str) -> str:
    match = CSRF_PATTERN.search(html)
    assert match, "page has no CSRF token"
    return match.group(1) or match.group(2)


def login(client: FlaskClient, username: str, password: str = factories.PASSWORD):
    """Log in through the real form, CSRF token included; return the response."""
    page = client.get("/login")
    token = csrf_token_from(page.get_data(as_text=True))
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def api_token(client: FlaskClient, username: str, password: str = factories.PASSWORD) -> str:
    response = client.post("/api/v1/tokens", json={"username": username, "password": password})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["token"]
