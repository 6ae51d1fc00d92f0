"""HTTP register adapter and the outbound chokepoint against real servers on loopback."""
from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from core import outbound
from core.outbound import TransportError
from app.patients.register import HttpRegister, RegisteredAddress, RegisterUnavailable

TOLVAN = "191212121212"
NOT_FILED = "194107086219"
ADDRESS_JSON = {"street": "Storgatan 1", "postal_code": "123 45", "city": "Tolvsby"}
# Short enough to keep the hanging-server cases fast, long enough for loopback under load.
FAST_TIMEOUT = (0.5, 0.3)
HANG_RELEASE_AFTER = 10.0  # the hanging handler is released at teardown long before this


class _Handler(BaseHTTPRequestHandler):
    server: FakeServer

    def do_GET(self) -> None:
        self.server.respond(self, b"")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.server.respond(self, self.rfile.read(length))

    def log_message(self, format: str, *args: object) -> None:
        pass  # the default writes request lines, personnummer included, to stderr


class FakeServer(ThreadingHTTPServer):
    """A loopback server answering each path with a canned response; unknown paths get an HTML 404."""

    # Non-daemon handler threads so server_close() joins them and no socket outlives the test.
    daemon_threads = False

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[str, tuple[int, bytes, str]] = {}
        self.hanging: set[str] = set()
        self.received: list[tuple[str, str, bytes]] = []
        self.release = threading.Event()
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05})
        self._stopped = False

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def answer(self, path: str, status: int, body: object = None, *, raw: bytes | None = None,
               content_type: str = "application/json") -> None:
        payload = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        self.routes[path] = (status, payload, content_type)

    def respond(self, handler: _Handler, body: bytes) -> None:
        self.received.append((handler.command, handler.path, body))
        if handler.path in self.hanging:
            self.release.wait(HANG_RELEASE_AFTER)
            return  # never answer; the connection just closes
        status, payload, content_type = self.routes.get(
            handler.path, (404, b"<html>Hittades inte</html>", "text/html"))
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def start(self) -> FakeServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close every socket; safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        self.release.set()
        self.shutdown()
        self._thread.join()
        self.server_close()


@pytest.fixture
def server() -> Iterator[FakeServer]:
    fake = FakeServer().start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def register(server: FakeServer) -> HttpRegister:
    return HttpRegister(server.url + "/", timeout=FAST_TIMEOUT)


# The HTTP register adapter

def test_http_register_returns_the_registered_address(server: FakeServer, register: HttpRegister) -> None:
    server.answer(f"/persons/{TOLVAN}", 200, {**ADDRESS_JSON, "first_name": "Tolvan", "last_name": "Tolvansson"})
    assert register.lookup(TOLVAN) == RegisteredAddress(
        "Storgatan 1", "123 45", "Tolvsby", first_name="Tolvan", last_name="Tolvansson")
    assert server.received == [("GET", f"/persons/{TOLVAN}", b"")]


def test_http_register_not_found_returns_none(register: HttpRegister) -> None:
    assert register.lookup(NOT_FILED) is None


def test_http_register_server_error_is_unavailable(server: FakeServer, register: HttpRegister) -> None:
    server.answer(f"/persons/{TOLVAN}", 500, {"error": "internal"})
    with pytest.raises(RegisterUnavailable) as caught:
        register.lookup(TOLVAN)
    assert str(caught.value) == "Folkbokföringsregistret svarar inte just nu. Försök igen senare."
    assert caught.value.permanent is False


def test_http_register_stopped_server_is_unavailable(server: FakeServer, register: HttpRegister) -> None:
    server.stop()
    with pytest.raises(RegisterUnavailable) as caught:
        register.lookup(TOLVAN)
    assert caught.value.permanent is False


def test_http_register_server_that_never_answers_is_unavailable(server: FakeServer,
                                                                register: HttpRegister) -> None:
    server.hanging.add(f"/persons/{TOLVAN}")
    with pytest.raises(RegisterUnavailable) as caught:
        register.lookup(TOLVAN)
    assert "read timeout" in caught.value.detail


def test_http_register_invalid_json_is_unavailable(server: FakeServer, register: HttpRegister) -> None:
    server.answer(f"/persons/{TOLVAN}", 200, raw=b"<html>Underhall</html>", content_type="text/html")
    with pytest.raises(RegisterUnavailable) as caught:
        register.lookup(TOLVAN)
    assert caught.value.permanent is True


def test_http_register_record_without_address_fields_is_unavailable(server: FakeServer,
                                                                    register: HttpRegister) -> None:
    server.answer(f"/persons/{TOLVAN}", 200, {"street": "Storgatan 1"})
    with pytest.raises(RegisterUnavailable):
        register.lookup(TOLVAN)


def test_http_register_rejected_request_is_unavailable_and_permanent(server: FakeServer,
                                                                     register: HttpRegister) -> None:
    server.answer(f"/persons/{TOLVAN}", 403, {"error": "forbidden"})
    with pytest.raises(RegisterUnavailable) as caught:
        register.lookup(TOLVAN)
    assert caught.value.permanent is True


def test_http_register_never_logs_or_reports_the_personnummer(server: FakeServer, register: HttpRegister,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    server.answer(f"/persons/{TOLVAN}", 200, ADDRESS_JSON)
    server.answer(f"/persons/{NOT_FILED}", 500, {"error": "internal"})
    with caplog.at_level(logging.DEBUG):
        register.lookup(TOLVAN)
        with pytest.raises(RegisterUnavailable) as caught:
            register.lookup(NOT_FILED)
        server.stop()
        with pytest.raises(RegisterUnavailable) as refused:
            register.lookup(TOLVAN)
    request_lines = [record.getMessage() for record in caplog.records
                     if record.name == "urllib3.connectionpool" and "GET" in record.getMessage()]
    assert request_lines and all('"GET /[path] HTTP/1.1"' in line for line in request_lines)
    assert TOLVAN not in caplog.text and NOT_FILED not in caplog.text
    for error in (caught.value, refused.value):
        assert TOLVAN not in error.detail and NOT_FILED not in error.detail
        assert error.__cause__ is None and error.__suppress_context__


# The outbound chokepoint

def test_request_json_returns_status_and_parsed_body(server: FakeServer) -> None:
    server.answer("/echo", 201, {"ok": True})
    assert outbound.request_json("POST", server.url + "/echo", json={"a": 1}, timeout=FAST_TIMEOUT) == (
        201, {"ok": True})
    assert server.received == [("POST", "/echo", b'{"a": 1}')]


def test_request_json_empty_success_body_is_none(server: FakeServer) -> None:
    server.answer("/empty", 204)
    assert outbound.request_json("GET", server.url + "/empty", timeout=FAST_TIMEOUT) == (204, None)


def test_request_json_accepted_error_status_is_returned_not_raised(server: FakeServer) -> None:
    status, body = outbound.request_json("GET", server.url + "/nobody", timeout=FAST_TIMEOUT,
                                         accept_statuses=(404,))
    assert (status, body) == (404, None)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_request_json_client_error_is_permanent(server: FakeServer, status: int) -> None:
    server.answer("/x", status, {"error": "no"})
    with pytest.raises(TransportError) as caught:
        outbound.request_json("GET", server.url + "/x", timeout=FAST_TIMEOUT)
    assert caught.value.permanent is True and caught.value.status == status


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_request_json_server_error_or_busy_is_retryable(server: FakeServer, status: int) -> None:
    server.answer("/x", status, {"error": "later"})
    with pytest.raises(TransportError) as caught:
        outbound.request_json("GET", server.url + "/x", timeout=FAST_TIMEOUT)
    assert caught.value.permanent is False and caught.value.status == status


def test_request_json_redirect_is_not_followed(server: FakeServer) -> None:
    server.answer("/moved", 302, raw=b"")
    with pytest.raises(TransportError) as caught:
        outbound.request_json("GET", server.url + "/moved", timeout=FAST_TIMEOUT)
    assert caught.value.permanent is True
    assert [path for _, path, _ in server.received] == ["/moved"]


def test_request_json_invalid_json_is_permanent(server: FakeServer) -> None:
    server.answer("/x", 200, raw=b"{not json", content_type="application/json")
    with pytest.raises(TransportError) as caught:
        outbound.request_json("GET", server.url + "/x", timeout=FAST_TIMEOUT)
    assert caught.value.permanent is True


def test_request_json_connection_refused_is_retryable(server: FakeServer) -> None:
    url = server.url + "/x"
    server.stop()
    with pytest.raises(TransportError) as caught:
        outbound.request_json("GET", url, timeout=FAST_TIMEOUT)
    assert caught.value.permanent is False and caught.value.status is None


def test_request_json_read_timeout_is_retryable(server: FakeServer) -> None:
    server.hanging.add("/slow")
    with pytest.raises(TransportError) as caught:
        outbound.request_json("GET", server.url + "/slow", timeout=FAST_TIMEOUT)
    assert caught.value.permanent is False
    assert "read timeout" in str(caught.value)


def test_request_json_error_names_only_the_host_never_the_path(server: FakeServer) -> None:
    server.answer(f"/persons/{TOLVAN}?who={TOLVAN}", 503)
    with pytest.raises(TransportError) as caught:
        outbound.request_json("GET", f"{server.url}/persons/{TOLVAN}?who={TOLVAN}", timeout=FAST_TIMEOUT)
    assert str(caught.value) == f"GET {server.url}: server error 503"
