"""Blueprints of the JSON API: under /api/v1, bearer-token only, so exempt from form CSRF."""
from __future__ import annotations

from flask import Blueprint

from core.api.docs import API_PREFIX
from core.extensions import csrf


def api_blueprint(name: str, import_name: str, prefix: str = "") -> Blueprint:
    """Return a blueprint mounted under /api/v1; the session cookie never authenticates it."""
    bp = Blueprint(name, import_name, url_prefix=API_PREFIX + prefix)
    csrf.exempt(bp)
    return bp
