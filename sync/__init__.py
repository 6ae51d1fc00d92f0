"""Outbox, back-registration (efterregistrering) and the reference main server (seed 004; SPEC section 6).

Other packages register a change with the main server through `sync.outbox.enqueue(...)`,
inside the transaction that makes the change. The sender runs in `flask monitor`; `flask sync
run` drains the outbox by hand; hms_staff review, resolve and reconcile under /efterregistrering.

Importing the package is cheap on purpose: `python -m sync.reference_server` uses only
`sync.rules` and the standard library, so the models are imported by init_app().
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask) -> None:
    """Register the sync tables, pages, JSON API, `flask sync` commands and the status page's progress."""
    from reserve.state import register_data_as_of_source
    from status.tasks import Job, register_jobs
    from sync import models  # noqa: F401 - the sync tables, for Alembic and the app
    from sync import api, progress, pull, settings, tasks, views
    from sync.cli import sync_cli

    if not app.testing:
        settings.apply_environment(app.config)
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.cli.add_command(sync_cli)
    # The public status page shows back-registration progress (numbers only) through this hook.
    app.extensions["status_sync_progress"] = progress.public_progress
    # The sender and the changes feed run in `flask monitor`, under its single-monitor lock: every
    # tick while the main server is up, at once after a recovery event. Network-bound, so they run
    # on the monitor's second thread, never holding up a probe.
    register_jobs(app, (Job("sync.send", tasks.send, lambda s: s.tick_seconds, executor="mail"),
                        Job("sync.pull", tasks.pull, lambda s: s.tick_seconds, executor="mail")))
    # Reserve mode's "data as of" (every screen and printout) is our last complete pull of the changes feed.
    register_data_as_of_source(app, pull.data_as_of)
