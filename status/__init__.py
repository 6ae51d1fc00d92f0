"""Status monitor, incidents, escalation and the public status page (seed 001; SPEC section 4)."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the status pages (with the /status.json fast path), the status API and `flask monitor`."""
    from core.formatting import local_iso
    from status import api, manage, settings, views, wsgi  # noqa: F401 - manage adds routes to views.bp
    from status.scheduler import monitor_command

    if not app.testing:
        settings.apply_environment(app.config)
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.cli.add_command(monitor_command)
    app.add_template_filter(local_iso, "atom_time")
    wsgi.init_app(app)
