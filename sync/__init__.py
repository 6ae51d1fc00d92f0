"""Outbox, back-registration (efterregistrering) and the reference main server (seed 004; SPEC section 6).

Other packages register a change with the main server through `sync.outbox.register(...)`,
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
    """Register the sync tables, pages, JSON API, `flask sync` commands, and answer the status signals."""
    from status import signals as status_signals
    from sync import models  # noqa: F401 - the sync tables, for Alembic and the app
    from sync import api, settings, tasks, views
    from sync.cli import sync_cli

    if not app.testing:
        settings.apply_environment(app.config)
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.cli.add_command(sync_cli)
    # The public status page shows back-registration progress (numbers only); the sender and the
    # changes feed run in `flask monitor`; reserve mode's "data as of" is our last complete pull.
    status_signals.public_sync_progress.connect(tasks.public_progress)
    status_signals.monitor_jobs.connect(tasks.monitor_jobs)
    status_signals.data_as_of.connect(tasks.data_as_of)
