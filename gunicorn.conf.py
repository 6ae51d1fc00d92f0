"""Gunicorn settings for `make run`; the monitor runs as its own process, never in a worker."""
import os

from gunicorn.glogging import Logger

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '5000')}"
# Threaded workers: there is no buffering proxy in front of the embedded default, and a sync worker is
# held by every idle connection a browser opens ahead of time, up to its 30 s timeout (measured: two
# preconnected sockets kept GET /health waiting 33 s with 2 sync workers). In a gthread worker an idle
# socket holds one of `threads` threads, for 5 s at most (measured: 4 idle sockets, no wait; 12, one 5 s wait).
worker_class = os.environ.get("WEB_WORKER_CLASS", "gthread")
workers = int(os.environ.get("WEB_WORKERS", "2"))
threads = int(os.environ.get("WEB_THREADS", "8"))
accesslog = "-"
# No control socket (gunicornc): its default path is one per user, so every web node on a host
# (make run-postgres runs two) would bind the same file and stopping one would remove the other's.
control_socket_disable = True
# The path only (%(U)s), never the query string, so a searched personnummer never reaches the log.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
# The public /status.json is answered from rendered bytes (status/wsgi.py); under a closed loop of 200
# connections gthread and sync measured about the same p95 (bench/status_bench.py --worker-class).


class AccessLogger(Logger):
    """Gunicorn's logger without a line for each answered GET of the public, anonymous /status.json."""

    def access(self, resp, req, environ, request_time):  # noqa: ANN001, ANN201
        from status.wsgi import is_answered_poll

        if not is_answered_poll(req.method, req.path, resp.status_code):
            super().access(resp, req, environ, request_time)


logger_class = AccessLogger


def post_worker_init(worker):  # noqa: ANN001, ARG001
    import logging

    from core.logging_setup import protect_handler

    for name in ("gunicorn.error", "gunicorn.access"):
        for handler in logging.getLogger(name).handlers:
            protect_handler(handler)


def pre_request(worker, req):  # noqa: ANN001, ARG001
    # Every answer but the status page's polls closes its connection (status.wsgi.keeps_connection). Unlike
    # granian's CloseConnections this does not keep a connection its worker serves alone: gunicorn's
    # measured figures are with a connection per request (docs/operations.md, "Connections").
    from status.wsgi import keeps_connection

    if not keeps_connection(req.method, req.path):
        req.must_close = True
