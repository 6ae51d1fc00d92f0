"""Access applications (seed 003), changes, termination, forgotten password, users-per-unit report."""
from __future__ import annotations

from flask import Flask

from app.access.models import AccessApplication, AccessToken  # noqa: F401 - for Alembic


def init_app(app: Flask) -> None:
    """Register the public pages and the administration pages."""
    from app.access.admin_views import bp as admin_bp
    from app.access.views import bp

    app.register_blueprint(bp)
    app.register_blueprint(admin_bp)
