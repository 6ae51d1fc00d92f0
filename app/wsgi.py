"""WSGI entry point for the web servers (bin/web): `granian --interface wsgi app.wsgi:app`, or gunicorn."""
import logging

from app import create_app
from core.process_lifetime import end_with_parent
from status.wsgi import CloseConnections, QuietPolls

# This module is loaded in each server worker: a worker ends when the server's main process does.
end_with_parent()
app = create_app()
app.wsgi_app = CloseConnections(app.wsgi_app)  # type: ignore[method-assign]
# granian writes its access log through this logger (gunicorn.conf.py has its own logger class).
logging.getLogger("granian.access").addFilter(QuietPolls())
