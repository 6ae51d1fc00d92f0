"""Authentication use cases: password login with rate limiting, starting a session, and API tokens."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from flask import current_app
from flask_login import login_user
from sqlalchemy import delete, func, select
from sqlalchemy.orm import joinedload

from core.auth.login_audit import LoginEvent
from core.auth.passwords import verify_password
from core.clock import utcnow
from core.extensions import db
from core.store import begin_write
from core.models import ApiToken, LoginFailure, User


class LoginRefused(Exception):
    """Wrong username or password; deliberately does not say which."""


class LoginThrottled(Exception):
    """Too many recent failures for this username from this address."""


def _normalise(username: str) -> str:
    return username.strip().lower()


def recent_failures(username: str, ip: str, now: datetime) -> int:
    """Return the failed logins for this username and address inside the window."""
    since = now - current_app.config["LOGIN_FAILURE_WINDOW"]
    return db.session.scalar(
        select(func.count()).select_from(LoginFailure).where(
            LoginFailure.username == _normalise(username), LoginFailure.ip == ip, LoginFailure.at >= since
        )
    ) or 0


def authenticate(username: str, password: str, ip: str) -> User:
    """Return the user whose credentials these are, or raise LoginRefused / LoginThrottled."""
    begin_write()
    now = utcnow()
    name = _normalise(username)
    if recent_failures(name, ip, now) >= current_app.config["LOGIN_MAX_FAILURES"]:
        raise LoginThrottled()
    user = db.session.scalar(select(User).where(User.username == name))
    if not verify_password(user.password_hash if user else None, password) or not user.active:
        db.session.add(LoginFailure(username=name, ip=ip, at=now))
        db.session.commit()
        raise LoginRefused()
    db.session.execute(delete(LoginFailure).where(LoginFailure.username == name, LoginFailure.ip == ip))
    user.last_login_at = now
    db.session.commit()
    return user


def start_session(user: User, method: str) -> None:
    """Log the user in (password or SITHS alike) and keep who, when and how in the store."""
    begin_write()
    db.session.add(LoginEvent(user_id=user.id, at=utcnow(), method=method))
    db.session.commit()
    login_user(user)


def may_get_token_by_password(user: User) -> bool:
    """Return whether a password may buy this user an API token (always, unless password login is off)."""
    return current_app.config["PASSWORD_LOGIN_ENABLED"] or user.service_account


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_api_token(user: User) -> tuple[str, datetime]:
    """Create a bearer token for the user; return it (shown once) and its expiry."""
    begin_write()
    token = secrets.token_urlsafe(32)
    expires_at = utcnow() + current_app.config["API_TOKEN_LIFETIME"]
    db.session.add(ApiToken(user=user, token_hash=_token_digest(token), expires_at=expires_at))
    db.session.commit()
    return token, expires_at


def user_for_token(token: str) -> User | None:
    """Return the active user a valid, unexpired bearer token belongs to."""
    row = db.session.scalar(
        select(ApiToken).where(ApiToken.token_hash == _token_digest(token)).options(joinedload(ApiToken.user))
    )
    if row is None or row.expires_at <= utcnow() or not row.user.active:
        return None
    return row.user
