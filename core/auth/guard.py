"""Login required everywhere by default; public endpoints are marked explicitly."""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TypeVar

from flask import Flask, abort, current_app, request
from flask_login import current_user

from core.auth.roles import Permission
from core.extensions import login_manager

F = TypeVar("F", bound=Callable)

STATIC_ENDPOINTS = {"static"}
# The JSON API authenticates by bearer token only, never by the session cookie.
API_PREFIX = "/api/"
TOKEN_EXCHANGE_PATH = "/api/v1/tokens"  # where a SITHS browser session may buy a bearer token


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIX)


def public(view: F) -> F:
    """Mark a view as reachable without login (the status page, /health, the login page)."""
    view.is_public = True  # type: ignore[attr-defined]
    return view


def is_public_endpoint(app: Flask, endpoint: str | None) -> bool:
    if endpoint is None:
        return True  # no route matched: let the 404 handler answer
    if endpoint in STATIC_ENDPOINTS or endpoint.endswith(".static"):
        return True
    return getattr(app.view_functions.get(endpoint), "is_public", False)


def permission_required(permission: Permission) -> Callable[[F], F]:
    """Refuse the view with 403 unless the logged-in user's roles grant the permission."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                abort(401)
            if not current_user.can(permission):
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_permission = permission  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator


def init_app(app: Flask) -> None:
    @app.before_request
    def _require_login():
        if is_public_endpoint(current_app, request.endpoint) or current_user.is_authenticated:
            return None
        if is_api_path(request.path):
            abort(401)
        return login_manager.unauthorized()

