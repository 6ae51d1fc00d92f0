"""Single-use, expiring link tokens: only a SHA-256 of each is stored, and using one is a conditional UPDATE."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from app.access.models import AccessToken
from app.access.rules import TokenPurpose, token_usable
from core.clock import utcnow
from core.extensions import db

TOKEN_MAX_LENGTH = 100


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(purpose: TokenPurpose, lifetime: timedelta, *, user_id: int | None = None,
          application_id: int | None = None) -> str:
    """Store a new token inside the caller's transaction; return it (it is never stored or shown again)."""
    token = secrets.token_urlsafe(32)
    db.session.add(AccessToken(purpose=purpose.value, token_hash=digest(token), user_id=user_id,
                               application_id=application_id, expires_at=utcnow() + lifetime))
    return token


def find_usable(token: str, purposes: tuple[TokenPurpose, ...]) -> AccessToken | None:
    """Return the stored token if it exists for one of the purposes, is unused and has not expired."""
    if not token or len(token) > TOKEN_MAX_LENGTH:
        return None
    row = db.session.scalar(select(AccessToken).where(AccessToken.token_hash == digest(token)))
    if row is None or row.purpose not in {p.value for p in purposes}:
        return None
    return row if token_usable(row.expires_at, row.used_at, utcnow()) else None


def consume(row: AccessToken) -> bool:
    """Mark the token used; return False when another request used it first or it has just expired."""
    now = utcnow()
    result = db.session.execute(
        update(AccessToken)
        .where(AccessToken.id == row.id, AccessToken.used_at.is_(None), AccessToken.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def void_for_user(user_id: int, purposes: tuple[TokenPurpose, ...]) -> None:
    """Make every unused token of the user for these purposes unusable."""
    db.session.execute(
        update(AccessToken)
        .where(AccessToken.user_id == user_id, AccessToken.used_at.is_(None),
               AccessToken.purpose.in_([p.value for p in purposes]))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def link(endpoint: str, **values: object) -> str:
    """Return an absolute link on the configured base URL, never one built from the request's Host header."""
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return current_app.config["APP_BASE_URL"].rstrip("/") + path


def lifetime_days(lifetime: timedelta) -> int:
    return max(lifetime.days, 1)


def lifetime_minutes(lifetime: timedelta) -> int:
    return max(int(lifetime.total_seconds() // 60), 1)
