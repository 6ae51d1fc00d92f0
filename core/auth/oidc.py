"""SITHS login through the region's OpenID Connect provider: authorization code with PKCE, state and nonce.

Authlib does the protocol: state and nonce live in the session, the code is exchanged with the PKCE
verifier, and the ID token is checked (signature by the provider's JWKS, issuer, audience, expiry,
nonce). Here the HSA-id claim names the local user; what the user may do stays local (roles).
"""
from __future__ import annotations

import logging

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app, session, url_for
from joserfc.errors import JoseError
from sqlalchemy import select
from werkzeug.wrappers import Response

from core.auth import services
from core.auth.login_audit import SITHS
from core.config import apply_environment
from core.extensions import db
from core.models import User

log = logging.getLogger(__name__)

ENVIRONMENT_KEYS = (
    "PASSWORD_LOGIN_ENABLED", "OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET", "OIDC_SCOPES",
    "OIDC_HSA_ID_CLAIM", "OIDC_TIMEOUT",
)
CLIENT_NAME = "siths"
ID_TOKEN_KEY = "siths_id_token"  # in the session: the hint for RP-initiated logout, and "logged in by SITHS"


class SithsRefused(Exception):
    """The provider's answer cannot be trusted (state, code, ID token); the message is for the user."""


class UnknownHsaId(Exception):
    """The HSA-id names no active local user; nothing is created."""


def init_app(app: Flask) -> None:
    """Read the settings and register the provider's client when an issuer is configured."""
    if not app.testing:
        apply_environment(app.config, ENVIRONMENT_KEYS)
    app.extensions["siths_oauth"] = None
    app.add_template_global(is_enabled, "siths_enabled")
    if app.config.get("OIDC_ISSUER"):
        register_client(app)


def register_client(app: Flask) -> None:
    """Register the provider from the app's OIDC_* settings (discovery document under the issuer)."""
    oauth = OAuth(app)
    issuer = app.config["OIDC_ISSUER"].rstrip("/")
    oauth.register(
        CLIENT_NAME,
        client_id=app.config["OIDC_CLIENT_ID"],
        client_secret=app.config["OIDC_CLIENT_SECRET"],
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": app.config["OIDC_SCOPES"], "code_challenge_method": "S256",
                       "timeout": app.config["OIDC_TIMEOUT"]},
    )
    app.extensions["siths_oauth"] = oauth


def is_enabled() -> bool:
    return current_app.extensions.get("siths_oauth") is not None


def _client():  # noqa: ANN202 - Authlib's FlaskOAuth2App
    return current_app.extensions["siths_oauth"].create_client(CLIENT_NAME)


def callback_url() -> str:
    """The redirect URI registered with the provider: APP_BASE_URL + /login/siths/callback."""
    return current_app.config["APP_BASE_URL"].rstrip("/") + url_for("siths.callback")


def start_login() -> Response:
    """Redirect to the provider; Authlib keeps state, nonce and the PKCE verifier in the session."""
    try:
        return _client().authorize_redirect(callback_url())
    except requests.RequestException as error:
        log.warning("SITHS provider unreachable: %s", type(error).__name__)
        raise SithsRefused("SITHS-inloggningen svarar inte just nu. Försök igen om en stund.") from error


def finish_login() -> User:
    """Check the provider's answer, find the user by HSA-id and start the session; raise if refused."""
    try:
        token = _client().authorize_access_token()
    except requests.RequestException as error:
        log.warning("SITHS provider unreachable: %s", type(error).__name__)
        raise SithsRefused("SITHS-inloggningen svarar inte just nu. Försök igen om en stund.") from error
    except (AuthlibBaseError, JoseError) as error:
        # The reason (mismatching state, invalid_grant, bad signature, expired, nonce) but never a claim.
        log.warning("SITHS login refused: %s", type(error).__name__)
        raise SithsRefused("Inloggningen med SITHS kunde inte verifieras. Försök igen.") from error
    claims = token.get("userinfo") or {}
    hsa_id = claims.get(current_app.config["OIDC_HSA_ID_CLAIM"])
    if not hsa_id:
        log.warning("SITHS login refused: no HSA-id claim")
        raise SithsRefused("Inloggningen med SITHS saknade HSA-id. Kontakta IT-support.")
    user = db.session.scalar(select(User).where(User.hsa_id == hsa_id))
    if user is None or not user.active:
        log.info("SITHS login refused: no active local user for the HSA-id")
        raise UnknownHsaId()
    services.start_session(user, SITHS)
    session[ID_TOKEN_KEY] = token["id_token"]
    log.info("SITHS login: user %s", user.id)
    return user


def forget_id_token() -> str | None:
    """Take the ID token out of the session (on logout); None after a password login."""
    return session.pop(ID_TOKEN_KEY, None)


def siths_session_user() -> User | None:
    """Return the active user of a browser session started by SITHS, else None."""
    if ID_TOKEN_KEY not in session or "_user_id" not in session:
        return None
    user = db.session.get(User, int(session["_user_id"]))
    return user if user is not None and user.active else None


def end_provider_session(id_token: str | None) -> Response | None:
    """Redirect to the provider's end_session_endpoint after a SITHS login, if it offers one."""
    if not id_token or not is_enabled():
        return None
    client = _client()
    try:
        if not client.load_server_metadata().get("end_session_endpoint"):
            return None
        post_logout = current_app.config["APP_BASE_URL"].rstrip("/") + url_for("auth.login")
        return client.logout_redirect(post_logout_redirect_uri=post_logout, id_token_hint=id_token)
    except requests.RequestException:
        return None  # the local session is over; the provider's ends when it expires
