"""The reference main server's HTTP side: the contract API, and fault switches on loopback.

Standard library only (http.server, threads), so it starts in a blink and shares nothing
with the app but the contract. Fault switches (also settable with command-line flags):

    down                      every /api call and /health answer 503
    latency_ms                wait this long before handling a call
    commit_delay_ms           hold a batch's transaction (and its keys) this long before committing
    reply_delay_ms            wait this long after a batch committed, before answering
    error_rate                answer 500 (before doing anything) to this share of /api calls
    drop_after_commit_rate    commit the batch, then drop the connection without an answer
    drop_after_commit_next    ... for the next N batches
"""
from __future__ import annotations

import json
import logging
import random
import socket
import threading
import time
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sync.reference_server.store import Store

log = logging.getLogger("sync.reference_server")

MAX_BODY = 8 * 1024 * 1024
MAX_BATCH = 500
MAX_HAVE = 10_000
MAX_CHANGES = 5_000


@dataclass
class Faults:
    down: bool = False
    latency_ms: int = 0
    commit_delay_ms: int = 0
    reply_delay_ms: int = 0
    error_rate: float = 0.0
    drop_after_commit_rate: float = 0.0
    drop_after_commit_next: int = 0

    def update(self, values: dict[str, Any]) -> None:
        for name, value in values.items():
            if name not in self.__dataclass_fields__:
                raise ValueError(f"unknown fault {name!r}")
            kind = type(getattr(self, name))
            if kind is bool:
                setattr(self, name, bool(value))
            else:
                setattr(self, name, kind(value))


class ReferenceServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], store: Store, *, token: str | None = None,
                 faults: Faults | None = None, seed: int | None = None) -> None:
        super().__init__(address, Handler)
        self.store = store
        self.token = token
        self.faults = faults or Faults()
        self.random = random.Random(seed)
        self.fault_lock = threading.Lock()
        self.batches = 0

    def chance(self, rate: float) -> bool:
        with self.fault_lock:
            return rate > 0 and self.random.random() < rate

    def take_drop(self) -> bool:
        """Return whether this batch's answer is to be dropped after its commit."""
        with self.fault_lock:
            if self.faults.drop_after_commit_next > 0:
                self.faults.drop_after_commit_next -= 1
                return True
        return self.chance(self.faults.drop_after_commit_rate)


class Handler(BaseHTTPRequestHandler):
    server: ReferenceServer
    protocol_version = "HTTP/1.1"  # keep-alive: the sender reuses its connection

    # --- plumbing --------------------------------------------------------------------------------

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in two writes; without this, Nagle and the client's delayed ACK
        # add ~40 ms to every answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        log.debug("%s %s", self.address_string(), format % args)

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str) -> None:
        self._send(status, {"error": {"status": status, "message": message}})

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.close_connection = True
            raise _HttpError(413, "body too large")
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw or b"null")
        except ValueError:
            raise _HttpError(400, "body is not JSON") from None

    def _drop(self) -> None:
        """Leave without an answer: the client sees the connection closed mid-request."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _loopback(self) -> bool:
        return self.client_address[0] in ("127.0.0.1", "::1")

    def _authorised(self) -> bool:
        return not self.server.token or self.headers.get("Authorization") == f"Bearer {self.server.token}"

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        self._body_read = False  # one handler serves every request of a kept-alive connection
        try:
            if url.path.startswith("/admin/"):
                if not self._loopback():
                    raise _HttpError(403, "administration only from loopback")
                return self._admin(method, url.path, parse_qs(url.query))
            faults = self.server.faults
            if faults.down:
                raise _HttpError(503, "down (fault switch)")
            if faults.latency_ms:
                time.sleep(faults.latency_ms / 1000)
            if url.path == "/health" and method == "GET":
                return self._send(200, {"status": "ok"})
            if not url.path.startswith("/api/v1/"):
                raise _HttpError(404, "no such endpoint")
            if not self._authorised():
                raise _HttpError(401, "missing or wrong bearer token")
            if self.server.chance(faults.error_rate):
                raise _HttpError(500, "internal error (fault switch)")
            return self._api(method, url.path, parse_qs(url.query))
        except _HttpError as exc:
            if method == "POST" and not getattr(self, "_body_read", False):
                self.close_connection = True  # the unread body would corrupt the next request
            self._error(exc.status, exc.message)

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch("POST")

    # --- the contract -----------------------------------------------------------------------------

    def _api(self, method: str, path: str, query: dict) -> None:
        if method == "POST" and path == "/api/v1/batch":
            return self._batch()
        if method == "POST" and path == "/api/v1/have":
            body = self._read_object()
            keys = body.get("keys")
            if not isinstance(body.get("site"), str) or not isinstance(keys, list) or len(keys) > MAX_HAVE:
                raise _HttpError(400, f"site and keys (at most {MAX_HAVE}) are required")
            return self._send(200, {"known": self.server.store.have(body["site"], keys)})
        if method == "GET" and path == "/api/v1/changes":
            try:
                since = int((query.get("since") or ["0"])[0] or 0)
                limit = min(int((query.get("limit") or ["500"])[0]), MAX_CHANGES)
            except ValueError:
                raise _HttpError(400, "since and limit are integers") from None
            return self._send(200, self.server.store.changes(max(since, 0), max(limit, 1)))
        if method == "GET" and path.startswith("/api/v1/records/"):
            record = self.server.store.record(path.rsplit("/", 1)[1])
            if record is None:
                raise _HttpError(404, "no such record")
            return self._send(200, record)
        raise _HttpError(404, "no such endpoint")

    def _read_object(self) -> dict:
        body = self._body()
        self._body_read = True
        if not isinstance(body, dict):
            raise _HttpError(400, "body must be a JSON object")
        return body

    def _batch(self) -> None:
        body = self._read_object()
        site, items = body.get("site"), body.get("items")
        if not isinstance(site, str) or not site or len(site) > 80:
            raise _HttpError(400, "site is required")
        if not isinstance(items, list) or len(items) > MAX_BATCH:
            raise _HttpError(400, f"items must be a list of at most {MAX_BATCH}")
        drop = self.server.take_drop()
        delay = self.server.faults.commit_delay_ms
        results = self.server.store.register_batch(site, items,
                                                   before_commit=(lambda: time.sleep(delay / 1000)) if delay else None)
        self.server.batches += 1
        if drop:
            return self._drop()
        if self.server.faults.reply_delay_ms:
            time.sleep(self.server.faults.reply_delay_ms / 1000)
        self._send(200, {"results": [r.as_json() for r in results]})

    # --- loopback administration -----------------------------------------------------------------

    def _admin(self, method: str, path: str, query: dict) -> None:
        store = self.server.store
        if path == "/admin/faults":
            if method == "POST":
                try:
                    with self.server.fault_lock:
                        self.server.faults.update(self._read_object())
                except (TypeError, ValueError) as exc:
                    raise _HttpError(400, str(exc)) from None
            return self._send(200, asdict(self.server.faults))
        if method == "POST" and path == "/admin/master":
            body = self._read_object()
            try:
                return self._send(200, store.upsert_master(body.get("articles") or [], body.get("patients") or []))
            except ValueError as exc:
                raise _HttpError(400, str(exc)) from None
        if method == "POST" and path.startswith("/admin/withdrawals/"):
            body = self._read_object()
            try:
                found = store.set_withdrawal_status(path.rsplit("/", 1)[1], str(body.get("status")))
            except ValueError as exc:
                raise _HttpError(400, str(exc)) from None
            return self._send(200 if found else 404, {"updated": found})
        if method == "GET" and path == "/admin/registrations":
            return self._send(200, {"registrations": store.registrations((query.get("site") or [None])[0])})
        if method == "GET" and path == "/admin/stats":
            return self._send(200, {**store.stats(), "batches": self.server.batches})
        if method == "POST" and path == "/admin/backup":
            target = self._read_object().get("path")
            if not isinstance(target, str) or not target:
                raise _HttpError(400, "path is required")
            store.backup(target)
            return self._send(200, {"path": target})
        raise _HttpError(404, "no such endpoint")


class _HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def make_server(host: str, port: int, db_path: str, *, token: str | None = None, faults: Faults | None = None,
                seed: int | None = None, synchronous: str = "FULL") -> ReferenceServer:
    """Return a ready (not yet serving) reference server on host:port with its store at db_path."""
    return ReferenceServer((host, port), Store(db_path, synchronous=synchronous), token=token, faults=faults,
                           seed=seed)
