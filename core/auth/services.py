"""Authentication use cases: password login with rate limiting, starting a session, and API tokens."""
from __future__ import annotations

from datetime import datetime
from functools import cache

from flask import current_app
from flask_login import login_user
from sqlalchemy import ColumnElement, Select, and_, bindparam, delete, func, select, update
from sqlalchemy.orm import joinedload, lazyload

from core.auth.login_audit import LoginEvent
from core.auth.passwords import verify_password
from core.auth.tokens import digest, new_token
from core.clock import utcnow
from core.errors import NotFound
from core.extensions import db
from core.models import ApiToken, LoginFailure, User
from core.store import begin_write


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


def issue_api_token(user: User) -> tuple[str, datetime]:
    """Create a bearer token for the user; return it (shown once) and its expiry."""
    begin_write()
    token = new_token()
    expires_at = utcnow() + current_app.config["API_TOKEN_LIFETIME"]
    db.session.add(ApiToken(user=user, token_hash=digest(token), expires_at=expires_at))
    db.session.commit()
    return token, expires_at


def _request_user_options() -> tuple:
    # Every request loads its user: one statement with the roles its permission checks read; the
    # product areas (mapped selectin) only when a use case reads them.
    return joinedload(User.role_rows), lazyload(User.product_areas)


def user_for_request(user_id: int) -> User | None:
    """Return the active user a browser session belongs to."""
    user = db.session.get(User, user_id, options=_request_user_options())
    return user if user is not None and user.active else None


def user_for_token(token: str) -> User | None:
    """Return the active user a valid (unexpired, unrevoked) bearer token belongs to."""
    return db.session.scalars(_user_for_token_statement(),
                              {"token_hash": digest(token), "now": utcnow()}).unique().first()


@cache
def _user_for_token_statement() -> Select:
    # Every API request runs this. Built once with bound values, SQLAlchemy reuses its cache key
    # and compiled form; building it anew cost each request about 0.3 ms of CPU.
    return (
        select(User).join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == bindparam("token_hash"), token_valid(bindparam("now")), User.active)
        .options(*_request_user_options())
        .execution_options(populate_existing=True)  # a revocation since the last look must count
    )


def token_valid(now: datetime | ColumnElement) -> ColumnElement[bool]:
    """Return "neither revoked nor expired" as SQL over api_tokens."""
    return and_(ApiToken.revoked_at.is_(None), ApiToken.expires_at > now)


def valid_api_tokens(user_id: int) -> list[ApiToken]:
    """Return the user's tokens that are neither revoked nor expired, the newest first."""
    return list(db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == user_id, token_valid(utcnow()))
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    ))


def revoke_api_token(user_id: int, token_id: int) -> None:
    """Revoke one of the user's own valid tokens; a token of someone else's is as unknown as a missing one."""
    begin_write()
    revoked = db.session.execute(
        update(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user_id, token_valid(utcnow()))
        .values(revoked_at=utcnow()).execution_options(synchronize_session=False)
    ).rowcount
    if revoked != 1:
        db.session.rollback()
        raise NotFound("API-nyckeln finns inte eller gäller inte längre.")
    db.session.commit()
