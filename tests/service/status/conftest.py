"""Status monitor test kit: loopback health servers, a loopback SMTP server, named instants."""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from flask import Flask
from sqlalchemy import select

from core.extensions import db
from tests.instants import FOUR_HOURS_LATER, OUTAGE_START, SATURDAY_NIGHT  # noqa: F401 - re-exported to the tests here
from tests.smtp_server import Inbox, free_port  # noqa: F401 - shared with other test packages
from status.models import Incident, Notification


RECIPIENTS = {
    "system_owner": "sa@region.example",
    "system_owner_manager": "sa-chef@region.example",
    "servicedesk": "servicedesk@region.example",
    "supplier": "support@leverantor.example",
    "it_driftinfo": "driftinfo@region.example",
    "telephony_owner": "telefoni@region.example",
    "customer_service": "kundservice@region.example",
}



class _HealthHandler(BaseHTTPRequestHandler):
    server: HealthServer

    def do_GET(self) -> None:
        self.server.hits += 1
        status, payload = self.server.status, json.dumps({"status": "ok"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.server.posted.append(json.loads(self.rfile.read(length) or b"null"))
        payload = json.dumps(self.server.post_answer).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        pass


class HealthServer(ThreadingHTTPServer):
    """A real HTTP server on a loopback port; `stop()` closes it so probes meet a refused connection."""

    daemon_threads = False

    def __init__(self, port: int = 0) -> None:
        super().__init__(("127.0.0.1", port), _HealthHandler)
        self.status = 200
        self.hits = 0
        self.posted: list = []
        self.post_answer: dict = {"reference": "INC0042"}
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05})
        self.running = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def port(self) -> int:
        return self.server_address[1]

    def start(self) -> HealthServer:
        self._thread.start()
        self.running = True
        return self

    def stop(self) -> None:
        if self.running:
            self.shutdown()
            self.server_close()
            self._thread.join(5)
            self.running = False



@pytest.fixture(autouse=True)
def _status_config(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Give status tests a fresh page on every read, known recipients and no stray SMTP."""
    if "app" not in request.fixturenames:
        return
    app: Flask = request.getfixturevalue("app")
    monkeypatch.setitem(app.config, "STATUS_PAGE_CACHE_SECONDS", 0)
    monkeypatch.setitem(app.config, "STATUS_ESCALATION_RECIPIENTS", dict(RECIPIENTS))
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", free_port())  # nobody listens unless a test starts SMTP
    monkeypatch.setitem(app.config, "MAIL_TIMEOUT", 2.0)
    monkeypatch.setitem(app.config, "STATUS_PROBE_CONNECT_TIMEOUT", 0.5)
    monkeypatch.setitem(app.config, "STATUS_PROBE_READ_TIMEOUT", 0.5)
    monkeypatch.setitem(app.config, "STATUS_PUBLIC_BASE_URL", "https://status.example")


@pytest.fixture
def main_server(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[HealthServer]:
    server = HealthServer().start()
    monkeypatch.setitem(app.config, "MAIN_SERVER_URL", server.url)
    yield server
    server.stop()


@pytest.fixture
def reference_target(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[HealthServer]:
    server = HealthServer().start()
    monkeypatch.setitem(app.config, "REFERENCE_TARGET_URL", server.url + "/")
    yield server
    server.stop()


@pytest.fixture
def servers(main_server: HealthServer, reference_target: HealthServer) -> tuple[HealthServer, HealthServer]:
    return main_server, reference_target



def open_incident(track: str = "outage") -> Incident | None:
    return db.session.scalar(select(Incident).where(Incident.open_track == track)
                             .execution_options(populate_existing=True))


def all_incidents() -> list[Incident]:
    return list(db.session.scalars(select(Incident).order_by(Incident.id).execution_options(populate_existing=True)))


def queued(purpose: str | None = None) -> list[Notification]:
    query = select(Notification).order_by(Notification.id).execution_options(populate_existing=True)
    if purpose:
        query = query.where(Notification.purpose == purpose)
    return list(db.session.scalars(query))
