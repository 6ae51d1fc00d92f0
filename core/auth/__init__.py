"""Accounts: login, logout, roles, server-side sessions, bearer tokens."""
from __future__ import annotations

from flask import Flask, request

from core.auth import guard
from core.extensions import login_manager


def init_app(app: Flask) -> None:
    from core.auth import oidc, oidc_views
    from core.auth import credentials
    from core.auth.rules import SessionTimeouts
    from core.auth.services import user_for_request, user_for_token
    from core.auth.session_interface import ServerSessionInterface
    from core.auth.views import bp
    from core.config import SESSION_ENVIRONMENT_KEYS, apply_environment
    from core.models import User

    if not app.testing:
        apply_environment(app.config, SESSION_ENVIRONMENT_KEYS)
    SessionTimeouts.from_config(app.config)  # a bad setting stops the process here, naming it
    app.session_interface = ServerSessionInterface()
    credentials.init_app()

    login_manager.login_view = "auth.login"
    login_manager.login_message = "Logga in för att fortsätta."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def _load_from_session(user_id: str) -> User | None:
        # The JSON API authenticates by bearer token only, so a browser's session
        # cookie can never carry a cross-site request into it.
        if guard.is_api_path(request.path):
            return None
        return user_for_request(int(user_id))

    @login_manager.request_loader
    def _load_from_bearer_token(req) -> User | None:  # noqa: ANN001
        if not guard.is_api_path(req.path):
            return None
        auth = req.authorization
        if auth is None or auth.type != "bearer" or not auth.token:
            return None
        return user_for_token(auth.token)

    app.register_blueprint(bp)
    oidc.init_app(app)
    app.register_blueprint(oidc_views.bp)
    guard.init_app(app)
