"""Absolute links for mails and feeds, and the signed tokens in subscription links."""
from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer

CONFIRM_MAX_AGE = timedelta(days=7)
_CONFIRM_SALT = "status.subscription.confirm"
_UNSUBSCRIBE_SALT = "status.subscription.unsubscribe"


def public_url(endpoint: str, **values: Any) -> str:
    """Return the absolute URL of an endpoint under STATUS_PUBLIC_BASE_URL (works outside requests)."""
    adapter = current_app.url_map.bind("localhost")
    path = adapter.build(endpoint, values)
    return current_app.config["STATUS_PUBLIC_BASE_URL"].rstrip("/") + path


def _email_digest(email: str) -> str:
    # Binds the token to the address, so a token cannot act on a later subscriber with a reused id.
    return hashlib.sha256(email.encode()).hexdigest()[:16]


def confirm_token(subscriber_id: int, email: str) -> str:
    return URLSafeTimedSerializer(current_app.secret_key, salt=_CONFIRM_SALT).dumps([subscriber_id, _email_digest(email)])


def unsubscribe_token(subscriber_id: int, email: str) -> str:
    return URLSafeSerializer(current_app.secret_key, salt=_UNSUBSCRIBE_SALT).dumps([subscriber_id, _email_digest(email)])


def read_confirm_token(token: str) -> tuple[int, str] | None:
    """Return (subscriber id, address digest) from a confirmation token, or None if invalid or expired."""
    serializer = URLSafeTimedSerializer(current_app.secret_key, salt=_CONFIRM_SALT)
    try:
        value = serializer.loads(token, max_age=int(CONFIRM_MAX_AGE.total_seconds()))
    except (BadSignature, SignatureExpired):
        return None
    return _pair(value)


def read_unsubscribe_token(token: str) -> tuple[int, str] | None:
    try:
        value = URLSafeSerializer(current_app.secret_key, salt=_UNSUBSCRIBE_SALT).loads(token)
    except BadSignature:
        return None
    return _pair(value)


def token_matches(pair: tuple[int, str], email: str) -> bool:
    return pair[1] == _email_digest(email)


def _pair(value: Any) -> tuple[int, str] | None:
    if isinstance(value, list) and len(value) == 2 and isinstance(value[0], int) and isinstance(value[1], str):
        return value[0], value[1]
    return None
