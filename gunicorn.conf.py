"""Gunicorn settings for `make run`; the monitor runs as its own process, never in a worker."""
import os

from gunicorn.glogging import Logger

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '5000')}"
worker_class = "sync"
workers = int(os.environ.get("WEB_WORKERS", "2"))
accesslog = "-"
# The path only (%(U)s), never the query string, so a searched personnummer never reaches the log.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
# Sync workers, one per core: the public /status.json is answered from rendered bytes (status/wsgi.py), so
# it is CPU-bound; gthread measured worse tail latency and more CPU per request (bench/status_bench.py).


class AccessLogger(Logger):
    """Gunicorn's logger without a line for each answered GET of the public, anonymous /status.json."""

    def access(self, resp, req, environ, request_time):  # noqa: ANN001, ANN201
        # Hundreds of pollers a second; a line each cost about a third of the answer's CPU.
        if req.path == "/status.json" and req.method == "GET" and resp.status_code in (200, 304):
            return
        super().access(resp, req, environ, request_time)


logger_class = AccessLogger


def post_worker_init(worker):  # noqa: ANN001, ARG001
    import logging

    from app.logging_setup import protect_handler

    for name in ("gunicorn.error", "gunicorn.access"):
        for handler in logging.getLogger(name).handlers:
            protect_handler(handler)
