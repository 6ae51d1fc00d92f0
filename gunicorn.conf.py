"""Gunicorn settings for `make run`; the monitor runs as its own process, never in a worker."""
import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '5000')}"
workers = int(os.environ.get("WEB_WORKERS", "2"))
accesslog = "-"
# The path only (%(U)s), never the query string, so a searched personnummer never reaches the log.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'


def post_worker_init(worker):  # noqa: ANN001, ARG001
    import logging

    from app.logging_setup import protect_handler

    for name in ("gunicorn.error", "gunicorn.access"):
        for handler in logging.getLogger(name).handlers:
            protect_handler(handler)
