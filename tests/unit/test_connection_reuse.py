"""status.wsgi.CloseConnections: a connection stays open unless its worker served another request meanwhile."""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

import pytest
from werkzeug.test import EnvironBuilder, run_wsgi_app

from status.wsgi import CloseConnections


class WorkerApp:
    """A WSGI app whose /slow requests stay inside until released: a worker busy with another request."""

    def __init__(self) -> None:
        self.inside = threading.Event()
        self.release = threading.Event()

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ["PATH_INFO"] == "/slow":
            self.inside.set()
            assert self.release.wait(10)
        start_response("200 OK", [("Content-Type", "text/plain"), ("Connection", "keep-alive")])
        return [b"ok"]


def connection_header(middleware: CloseConnections, path: str) -> str:
    """Serve one request as a WSGI server would (the body read, then closed); return its Connection header."""
    _body, _status, headers = run_wsgi_app(middleware, EnvironBuilder(path=path).get_environ(), buffered=True)
    return ", ".join(headers.getlist("Connection")).lower()


def test_a_request_alone_in_its_worker_keeps_its_connection() -> None:
    middleware = CloseConnections(WorkerApp())
    assert [connection_header(middleware, "/health") for _ in range(3)] == ["keep-alive"] * 3


def test_an_answer_given_while_the_worker_serves_another_request_closes_its_connection() -> None:
    app = WorkerApp()
    middleware = CloseConnections(app)
    slow: dict[str, str] = {}
    other = threading.Thread(target=lambda: slow.update(header=connection_header(middleware, "/slow")))
    other.start()
    try:
        assert app.inside.wait(10)
        # Met another request in its worker: its next request goes through the accept queue to some worker.
        assert connection_header(middleware, "/patients") == "close"
        # The status page's polls keep theirs all the same: a connection each would cost them a third more.
        assert connection_header(middleware, "/status.json") == "keep-alive"
    finally:
        app.release.set()
        other.join(10)
    # By the time the slow one answered, the others had finished: it had its worker to itself again.
    assert slow["header"] == "keep-alive"
    assert connection_header(middleware, "/health") == "keep-alive"


def test_a_request_that_failed_is_no_longer_counted_as_served() -> None:
    app = WorkerApp()

    def failing_on_fail(environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ["PATH_INFO"] == "/fail":
            raise RuntimeError("the app failed")
        return app(environ, start_response)

    middleware = CloseConnections(failing_on_fail)
    for _ in range(2):
        with pytest.raises(RuntimeError):
            connection_header(middleware, "/fail")
    assert connection_header(middleware, "/health") == "keep-alive"
