"""Status monitor, incidents, escalation and the public status page (seed 001; SPEC section 4)."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the status pages (with the /status.json fast path), the status API, `flask monitor` and the
    outage / reserve banner."""
    from core.web import register_banner_provider
    from status import api, manage, readmodel, settings, views, wsgi  # noqa: F401 - manage adds routes to views.bp
    from status.scheduler import monitor_command
    from core.formatting import local_iso, local_text

    if not app.testing:
        settings.apply_environment(app.config)
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.cli.add_command(monitor_command)
    app.add_template_filter(local_text, "stockholm")
    app.add_template_filter(local_iso, "atom_time")
    register_banner_provider(app, readmodel.banners)
    wsgi.init_app(app)
