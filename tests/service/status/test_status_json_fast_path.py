"""/status.json from rendered bytes: the WSGI fast path, ETag / 304 and freshness after a change."""
from __future__ import annotations

import logging
import runpy
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask import Flask
from freezegun import freeze_time
from gunicorn.glogging import Logger
from sqlalchemy import event

from core.auth.roles import Role
from core.extensions import db
from status import cache
from status.models import Driftinfo
from status.wsgi import PublicStatusJson, QuietPolls
from tests import factories
from tests.conftest import api_token
from tests.service.status.conftest import OUTAGE_START
from tests.service.status.test_scenarios import bearer

CACHE_SECONDS = 2.0


@pytest.fixture
def flask_calls(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Cache the status for CACHE_SECONDS and record each request that reached Flask behind the fast path."""
    middleware = app.wsgi_app
    assert isinstance(middleware, PublicStatusJson)
    calls: list[str] = []
    inner: Callable = middleware.wsgi_app

    def counted(environ: dict, start_response: Callable):  # noqa: ANN202
        calls.append(environ["PATH_INFO"])
        return inner(environ, start_response)

    monkeypatch.setattr(middleware, "wsgi_app", counted)
    monkeypatch.setattr(middleware, "_replay", None)
    monkeypatch.setitem(app.config, "STATUS_PAGE_CACHE_SECONDS", CACHE_SECONDS)
    app.extensions.pop("status_public_cache", None)
    yield calls
    app.extensions.pop("status_public_cache", None)  # never leak a rendering into another test's store


def _answer(response) -> tuple[str, list[tuple[str, str]], bytes]:  # noqa: ANN001
    return response.status, sorted(response.headers.items()), response.get_data()


def test_fast_path_answers_with_the_flask_views_bytes_and_headers(client, ctx, flask_calls):
    with freeze_time(OUTAGE_START):
        from_flask = client.get("/status.json")
        from_fast_path = client.get("/status.json")
    assert flask_calls == ["/status.json"]  # the second never reached Flask
    assert from_flask.status_code == 200 and from_flask.headers["Cache-Control"] == "public, max-age=5"
    assert from_flask.headers["ETag"] and from_flask.headers["Content-Type"] == "application/json"
    assert _answer(from_fast_path) == _answer(from_flask)


def test_matching_if_none_match_gets_304_without_body_from_the_fast_path_and_from_flask(client, ctx, app,
                                                                                        flask_calls, monkeypatch):
    with freeze_time(OUTAGE_START):
        etag = client.get("/status.json").headers["ETag"]
        from_fast_path = client.get("/status.json", headers={"If-None-Match": f'"other", {etag}'})
        monkeypatch.setitem(app.config, "STATUS_PAGE_CACHE_SECONDS", 0)  # rendered anew, by Flask
        from_flask = client.get("/status.json", headers={"If-None-Match": etag})
    assert flask_calls == ["/status.json", "/status.json"]  # the first and the last
    assert from_flask.status_code == 304 and from_flask.get_data() == b""
    assert from_flask.headers["ETag"] == etag and "Content-Type" not in from_flask.headers
    assert _answer(from_fast_path) == _answer(from_flask)


def test_the_etag_names_the_facts_so_a_later_rendering_of_the_same_status_still_gets_a_304(client, ctx, flask_calls):
    with freeze_time(OUTAGE_START) as clock:
        first = client.get("/status.json")
        clock.tick(timedelta(seconds=CACHE_SECONDS * 3 + 1))  # rendered anew, by Flask: only the clock moved
        later = client.get("/status.json", headers={"If-None-Match": first.headers["ETag"]})
        full = client.get("/status.json")
    assert first.headers["ETag"].startswith('W/"')  # bodies differ in generated_at: a weak tag
    assert later.status_code == 304 and later.get_data() == b""
    assert full.get_json()["generated_at"] != first.get_json()["generated_at"]
    assert full.headers["ETag"] == first.headers["ETag"]


@contextmanager
def sql_statements() -> Iterator[list[str]]:
    statements: list[str] = []

    def note(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", note)


def test_a_worker_polled_only_with_if_none_match_answers_304s_without_flask_or_sql(client, ctx, app, flask_calls,
                                                                                 monkeypatch):
    with freeze_time(OUTAGE_START) as clock:
        etag = client.get("/status.json").headers["ETag"]
        # Another worker, started later: its first request is already conditional.
        monkeypatch.setattr(app.wsgi_app, "_replay", None)
        app.extensions.pop("status_public_cache", None)
        clock.tick(timedelta(seconds=1))
        del flask_calls[:]
        assert client.get("/status.json", headers={"If-None-Match": etag}).status_code == 304
        assert flask_calls == ["/status.json"] * 2  # the poll, then once more for the 200's headers
        with sql_statements() as statements:
            polls = [client.get("/status.json", headers={"If-None-Match": etag}) for _ in range(20)]
        full = client.get("/status.json")
    assert [(p.status_code, p.get_data()) for p in polls] == [(304, b"")] * 20
    assert statements == [] and flask_calls == ["/status.json"] * 2  # answered from the rendered bytes
    assert full.status_code == 200 and full.headers["ETag"] == etag and full.get_json()["timezone"]


def test_fast_path_is_a_no_op_without_the_cache(client, ctx, flask_calls, app, monkeypatch):
    monkeypatch.setitem(app.config, "STATUS_PAGE_CACHE_SECONDS", 0)
    client.get("/status.json")
    client.get("/status.json")
    assert flask_calls == ["/status.json", "/status.json"]


def test_a_stale_etag_gets_the_current_status(client, ctx, flask_calls):
    response = client.get("/status.json", headers={"If-None-Match": '"an-older-rendering"'})
    assert response.status_code == 200 and response.get_json()["timezone"] == "Europe/Stockholm"


def test_driftinfo_published_here_shows_at_once(client, ctx, flask_calls):
    factories.user("it", roles=(Role.IT_STAFF,))
    before = client.get("/status.json")
    response = client.post("/api/v1/driftinfo", headers=bearer(api_token(client, "it")),
                           json={"title": "Planerat underhåll", "body": "I kväll 18–20."})
    assert response.status_code == 201
    after = client.get("/status.json", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and after.get_json()["driftinfo"][0]["title"] == "Planerat underhåll"


def test_driftinfo_published_by_another_process_shows_within_the_cache_interval(client, ctx, flask_calls):
    author = factories.user("it", roles=(Role.IT_STAFF,))
    with freeze_time(OUTAGE_START) as clock:
        client.get("/status.json")
        # Another worker or the monitor wrote it: nothing invalidated this process's rendering.
        db.session.add(Driftinfo(at=OUTAGE_START, title="Från en annan process", body="Text", author_id=author.id))
        db.session.commit()
        clock.tick(timedelta(seconds=CACHE_SECONDS / 2))
        assert client.get("/status.json").get_json()["driftinfo"] == []
        clock.tick(timedelta(seconds=CACHE_SECONDS / 2))
        assert client.get("/status.json").get_json()["driftinfo"][0]["title"] == "Från en annan process"
    assert flask_calls == ["/status.json", "/status.json"]  # the middle one came from the fast path


class RenderGate:
    """Holds the next request that reaches Flask, once armed, before it touches the store.

    The test store is one connection, so only one request at a time may be inside Flask: the held
    one enters after `release`.
    """

    def __init__(self) -> None:
        self.armed, self.entered, self.release = False, threading.Event(), threading.Event()

    def hold(self, environ: dict, start_response: Callable, inner: Callable):  # noqa: ANN201
        if self.armed:
            self.armed = False
            self.entered.set()
            assert self.release.wait(10)
        return inner(environ, start_response)

    def get_held(self, app: Flask) -> tuple[threading.Thread, list]:
        """GET /status.json in a thread whose request is held once it reaches Flask."""
        self.armed = True
        answers: list = []
        thread = threading.Thread(target=lambda: answers.append(app.test_client().get("/status.json")))
        thread.start()
        return thread, answers


@pytest.fixture
def render_gate(app: Flask, flask_calls: list[str]) -> Iterator[RenderGate]:
    gate, middleware = RenderGate(), app.wsgi_app
    counted: Callable = middleware.wsgi_app
    middleware.wsgi_app = lambda environ, start_response: gate.hold(environ, start_response, counted)
    yield gate
    gate.release.set()


def test_while_one_request_renders_the_expired_rendering_answers_the_others(app, client, ctx, flask_calls,
                                                                           render_gate):
    author = factories.user("it", roles=(Role.IT_STAFF,))
    with freeze_time(OUTAGE_START) as clock:
        before = client.get("/status.json")
        db.session.add(Driftinfo(at=OUTAGE_START, title="Ny", body="Text", author_id=author.id))
        db.session.commit()
        clock.tick(timedelta(seconds=CACHE_SECONDS * 1.5))  # expired, within the second interval
        renderer, rendered = render_gate.get_held(app)
        assert render_gate.entered.wait(10)  # the renderer is on its way into Flask
        meanwhile = client.get("/status.json")
        render_gate.release.set()
        renderer.join(10)
    assert flask_calls == ["/status.json", "/status.json"]  # the first rendering and the one renderer
    assert _answer(meanwhile) == _answer(before)  # the expired bytes, not a wait behind the renderer
    assert rendered[0].get_json()["driftinfo"][0]["title"] == "Ny"


@pytest.mark.parametrize("why", ["invalidated", "two intervals old"])
def test_a_rendering_invalidated_or_two_intervals_old_is_never_answered(app, client, ctx, flask_calls,
                                                                         render_gate, why):
    author = factories.user("it", roles=(Role.IT_STAFF,))
    with freeze_time(OUTAGE_START) as clock:
        client.get("/status.json")
        db.session.add(Driftinfo(at=OUTAGE_START, title="Ny", body="Text", author_id=author.id))
        db.session.commit()
        if why == "invalidated":
            cache.invalidate()
        else:
            clock.tick(timedelta(seconds=CACHE_SECONDS * 2))
        renderer, _ = render_gate.get_held(app)
        assert render_gate.entered.wait(10)
        meanwhile = client.get("/status.json")  # reaches Flask itself while the renderer is held
        render_gate.release.set()
        renderer.join(10)
    assert meanwhile.get_json()["driftinfo"][0]["title"] == "Ny"
    assert flask_calls == ["/status.json"] * 3


def test_other_methods_and_paths_go_to_flask(client, ctx, flask_calls):
    client.get("/status.json")
    head = client.head("/status.json")
    assert head.status_code == 200 and head.headers["ETag"]
    assert client.get("/health").status_code == 200
    assert flask_calls == ["/status.json", "/status.json", "/health"]


def test_cache_peek_needs_no_application_context(app, flask_calls):
    assert cache.peek(app) is None


def test_gunicorn_logs_every_request_but_the_answered_status_json_polls(monkeypatch):
    settings = runpy.run_path(str(Path(__file__).resolve().parents[3] / "gunicorn.conf.py"))
    logged: list[tuple[str, str, int]] = []
    monkeypatch.setattr(Logger, "access", lambda self, resp, req, environ, request_time: logged.append(
        (req.method, req.path, resp.status_code)))
    logger = object.__new__(settings["AccessLogger"])  # no handlers needed: the base access() is replaced
    requests = [("GET", "/status.json", 200), ("GET", "/status.json", 304), ("GET", "/status.json", 500),
                ("HEAD", "/status.json", 200), ("GET", "/status", 200), ("GET", "/health", 200)]
    for method, path, code in requests:
        logger.access(SimpleNamespace(status_code=code), SimpleNamespace(method=method, path=path), {}, None)
    assert logged == requests[2:]
    assert settings["logger_class"] is settings["AccessLogger"] and settings["worker_class"] == "gthread"


def test_granians_access_log_drops_the_answered_status_json_polls_only():
    quiet = QuietPolls()
    requests = [("GET", "/status.json", 200), ("GET", "/status.json", 304), ("GET", "/status.json", 500),
                ("HEAD", "/status.json", 200), ("GET", "/status", 200), ("GET", "/health", 200)]
    kept = [request for request in requests if quiet.filter(logging.LogRecord(
        "granian.access", logging.INFO, __file__, 0, '"%(method)s %(path)s" %(status)d',
        ({"method": request[0], "path": request[1], "status": request[2]},), None))]
    assert kept == requests[2:]
