"""Answer GET /status.json from this process's rendered bytes, in front of Flask.

The public status is the same for everyone, holds no personal data and is rendered at most
once per STATUS_PAGE_CACHE_SECONDS per process (status.readmodel.rendered_status). While that
rendering is fresh, hundreds of pollers are answered here with the bytes and the headers the
Flask view produced for it, skipping Flask's request machinery (context, session, login
guard). Anything else, a stale or invalidated cache, or a cache switched off, goes to Flask,
so both ways answer alike and a change shows up as soon as the Flask view would show it.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

from flask import Flask
from werkzeug.http import parse_etags, quote_etag, remove_entity_headers

from status import cache

PATH = "/status.json"
Headers = list[tuple[str, str]]


class PublicStatusJson:
    """WSGI middleware serving fresh GET /status.json (200, or 304 for a matching If-None-Match)."""

    def __init__(self, app: Flask, wsgi_app: Callable) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        # (the rendering's ETag, the Flask view's 200 headers for it, the same for a 304)
        self._replay: tuple[str, Headers, Headers] | None = None

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "GET":
            return self.wsgi_app(environ, start_response)
        rendered, replay = cache.peek(self.app), self._replay
        if rendered is None or replay is None or replay[0] != rendered.etag:
            return self._through_flask(environ, start_response)
        _, headers, not_modified = replay
        if "HTTP_IF_NONE_MATCH" in environ and parse_etags(environ["HTTP_IF_NONE_MATCH"]).contains(rendered.etag):
            start_response("304 NOT MODIFIED", list(not_modified))
            return []
        start_response("200 OK", list(headers))
        return [rendered.body]

    def _through_flask(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        """Let the Flask view answer, and keep its headers if it answered with the cached rendering."""
        answered: list = []

        def capture(status: str, headers: Headers, exc_info=None):  # noqa: ANN001, ANN202
            answered[:] = [status, headers]
            return start_response(status, headers, exc_info)

        body = self.wsgi_app(environ, capture)
        rendered = cache.peek(self.app)
        if rendered is not None and answered and answered[0].startswith("200 "):
            headers = [(name, value) for name, value in answered[1] if name.lower() != "set-cookie"]
            if dict(headers).get("ETag") == quote_etag(rendered.etag):
                not_modified = list(headers)
                remove_entity_headers(not_modified)
                self._replay = (rendered.etag, headers, not_modified)
        return body


def init_app(app: Flask) -> None:
    """Put the /status.json fast path in front of the app's WSGI callable."""
    app.wsgi_app = PublicStatusJson(app, app.wsgi_app)  # type: ignore[method-assign]
