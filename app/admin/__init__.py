"""Administration pages for the business owner (verksamhetsansvarig)."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app.admin import log_views  # noqa: F401 - registers the access-log pages on the blueprint
    from app.admin.views import bp
    from app.admin import sessions  # noqa: F401 - adds the session pages to views.bp
    from app.admin import mail_views  # noqa: F401 - adds "Utgående e-post" to views.bp

    app.register_blueprint(bp)
