"""Answer GET /status.json from this process's rendered bytes, in front of Flask.

The public status is the same for everyone, holds no personal data and is rendered at most
once per STATUS_PAGE_CACHE_SECONDS per process (status.public_page.rendered_status). While that
rendering is fresh, hundreds of pollers are answered here with the bytes and the headers the
Flask view produced for it, skipping Flask's request machinery (context, session, login
guard). Anything else, an invalidated cache or one switched off included, goes to Flask, so
both ways answer alike and a change made here shows up as soon as the Flask view would show it.

Once a rendering expires, one request renders the next through Flask; the others are answered
with the expired one meanwhile, for at most one more interval (single flight). Measured under
2,000 polls a second: p95 50 ms when every worker thread rendered at once, 3.6 ms with one
(bench/status_bench.py).
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, NamedTuple

from flask import Flask
from werkzeug.http import parse_etags, quote_etag, remove_entity_headers
from werkzeug.wsgi import ClosingIterator

from status import cache

if TYPE_CHECKING:
    from status.public_page import RenderedStatus

PATH = "/status.json"
Headers = list[tuple[str, str]]


class Replay(NamedTuple):
    """What the Flask view answered for one rendering: its ETag, 200 headers, 304 headers and body."""

    etag: str
    tag: str  # the ETag header's value, W/"…": what a poller sends back in If-None-Match
    headers: Headers
    not_modified: Headers
    body: bytes


class PublicStatusJson:
    """WSGI middleware serving GET /status.json (200, or 304 for a matching If-None-Match) without Flask."""

    def __init__(self, app: Flask, wsgi_app: Callable) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self._replay: Replay | None = None
        # Held by the one request rendering anew once the cache expired: without it every worker
        # thread renders at once, and hundreds of pollers queue behind them.
        self._rendering = threading.Lock()

    def answer(self, if_none_match: str | None) -> tuple[str, Headers, bytes] | None:
        """Return (status, headers, body) for a GET without Flask, or None when Flask must answer.

        The fresh rendering; or, while another request renders the next one, the one that just
        expired (at most two cache intervals old; never one a change here invalidated).
        """
        replay = self._replay
        if replay is None:
            return None
        current = cache.peek(self.app)
        if current is None and self._rendering.locked():
            current = cache.peek_expired(self.app)
        if current is None or current.etag != replay.etag:
            return None
        if if_none_match is not None and (if_none_match == replay.tag  # what pollers send: no parsing
                                          or parse_etags(if_none_match).contains_weak(replay.etag)):
            return "304 NOT MODIFIED", replay.not_modified, b""
        return "200 OK", replay.headers, replay.body

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "GET":
            return self.wsgi_app(environ, start_response)
        answer = self.answer(environ.get("HTTP_IF_NONE_MATCH"))
        if answer is None and self._rendering.acquire(blocking=False):
            try:
                return self._through_flask(environ, start_response)
            finally:
                self._rendering.release()
        if answer is None:  # another request is rendering: its predecessor may serve meanwhile
            answer = self.answer(environ.get("HTTP_IF_NONE_MATCH"))
        if answer is None:
            return self._through_flask(environ, start_response)
        status, headers, body = answer
        start_response(status, list(headers))
        return [body] if body else []

    def _through_flask(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        """Let the Flask view answer, and keep its headers if it answered with the cached rendering."""
        unconditional = {name: value for name, value in environ.items() if name != "HTTP_IF_NONE_MATCH"}
        answered: list = []

        def capture(status: str, headers: Headers, exc_info=None):  # noqa: ANN001, ANN202
            answered[:] = [status, headers]
            return start_response(status, headers, exc_info)

        body = self.wsgi_app(environ, capture)
        rendered = cache.peek(self.app)
        if rendered is None or not answered:
            return body
        replay = self._replay
        if answered[0].startswith("304 ") and (replay is None or replay.body is not rendered.body):
            # A 304 has no body or entity headers to replay. Without them a worker whose pollers all send
            # If-None-Match would take every poll through Flask (or keep an old generated_at): ask once more.
            answered = self._ask(unconditional)
        self._keep(rendered, answered)
        return body

    def _ask(self, environ: dict) -> list:
        """Return the Flask view's status and headers for this request, its body dropped."""
        answered: list = []
        body = self.wsgi_app(environ, lambda status, headers, exc_info=None: answered.extend((status, headers)))
        getattr(body, "close", lambda: None)()
        return answered

    def _keep(self, rendered: RenderedStatus, answered: list) -> None:
        """Keep a 200 the view made from the cached rendering, for the fast path to answer with."""
        if not answered or not answered[0].startswith("200 "):
            return
        headers = [(name, value) for name, value in answered[1] if name.lower() != "set-cookie"]
        tag = quote_etag(rendered.etag, weak=True)
        if dict(headers).get("ETag") == tag:
            not_modified = list(headers)
            remove_entity_headers(not_modified)
            self._replay = Replay(rendered.etag, tag, headers, not_modified, rendered.body)


def is_answered_poll(method: str, path: str, status: int) -> bool:
    """Whether a request was an answered GET of /status.json: hundreds a second, none worth an access-log line
    (a line each cost about a third of the answer's CPU)."""
    return path == PATH and method == "GET" and status in (200, 304)


def keeps_connection(method: str, path: str) -> bool:
    """Whether an answer may keep its connection open whatever else its worker is doing: the status page's polls.

    A kept-alive connection stays with the worker process that accepted it, and a worker runs Python on
    one core at a time (the GIL): two clients' connections in one worker left the other idle (receipt
    PDFs, bench/prescribing_bench.py: 1.06 of 2 cores at 2 clients). The polls, answered from cached
    bytes in well under a millisecond, would pay a third more for a connection each.
    """
    return path == PATH and method == "GET"


class CloseConnections:
    """WSGI middleware: `Connection: close` on an answer given while its worker served another request too.

    A connection whose requests meet no other in its worker keeps it: a new connection costs a search
    a fifth more CPU, and at four clients on four workers, side by side, the server's p95 was 5.0 ms
    with a connection per request against 3.2 ms kept alive (bench/README.md, session 11). Two
    connections that meet in one worker share its core; closing one sends its next request through the
    kernel's accept queue to some worker, most likely another, until each busy connection has a worker
    of its own. The polls always keep theirs (`keeps_connection`) and are not counted: answered from
    cached bytes, they hardly share a core. granian honours the header; gunicorn ignores an
    application's hop-by-hop headers, so gunicorn.conf.py's pre_request closes every answer's
    connection but the polls'.
    """

    def __init__(self, wsgi_app: Callable) -> None:
        self.wsgi_app = wsgi_app
        self._lock = threading.Lock()
        self._in_flight = 0  # requests this worker is serving now

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if keeps_connection(environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")):
            return self.wsgi_app(environ, start_response)

        def closing_if_shared(status: str, headers: list[tuple[str, str]], exc_info=None):  # noqa: ANN001, ANN202
            if self._in_flight > 1:
                headers = [(name, value) for name, value in headers if name.lower() != "connection"]
                headers.append(("Connection", "close"))
            return start_response(status, headers, exc_info)

        self._count(+1)
        try:
            return ClosingIterator(self.wsgi_app(environ, closing_if_shared), lambda: self._count(-1))
        except BaseException:
            self._count(-1)
            raise

    def _count(self, step: int) -> None:
        with self._lock:
            self._in_flight += step


class QuietPolls(logging.Filter):
    """Drop granian's access-log records of answered /status.json polls (its record's args name the request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = record.args
        return not (isinstance(request, dict)
                    and is_answered_poll(request.get("method"), request.get("path"), request.get("status")))


def init_app(app: Flask) -> None:
    """Put the /status.json fast path in front of the app's WSGI callable."""
    app.wsgi_app = PublicStatusJson(app, app.wsgi_app)  # type: ignore[method-assign]
