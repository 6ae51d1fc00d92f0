"""Forgotten password and choosing a password through a single-use link.

The request answers alike whether or not the account exists; only an active account
with an e-mail address gets a mail, and at most a few per hour.
"""
from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, func, or_, select

from app.access import mails, tokens
from app.access.models import AccessToken
from app.access.rules import TokenPurpose
from app.access.services import LinkInvalid
from core.auth.passwords import hash_password, password_policy_problems
from core.clock import utcnow
from core.errors import FieldError, ValidationFailed
from core.extensions import db
from core.mail_outbox import queue_mail
from core.models import ApiToken, LoginFailure, User
from core.store import begin_write

PASSWORD_PURPOSES = (TokenPurpose.SET_PASSWORD, TokenPurpose.RESET_PASSWORD)
IDENTIFIER_MAX = 254


def request_password_reset(identifier: str) -> None:
    """Mail a reset link to the active account with this username or e-mail; say nothing either way."""
    begin_write()
    identifier = (identifier or "").strip().lower()
    if not identifier or len(identifier) > IDENTIFIER_MAX:
        db.session.rollback()
        return
    config = current_app.config
    lifetime = config["ACCESS_RESET_TOKEN_LIFETIME"]
    users = list(db.session.scalars(
        select(User).where(User.active.is_(True), or_(User.username == identifier, func.lower(User.email) == identifier))
        .order_by(User.id).limit(5)
    ))
    for user in users:
        if not user.email or _recent_resets(user.id) >= config["ACCESS_RESETS_PER_HOUR"]:
            continue
        token = tokens.issue(TokenPurpose.RESET_PASSWORD, lifetime, user_id=user.id)
        subject, body = mails.password_reset(config["SYSTEM_NAME"], user.username,
                                             tokens.link("access.set_password", t=token),
                                             tokens.lifetime_minutes(lifetime))
        queue_mail(db.session, user.email, subject, body)
    db.session.commit()


def _recent_resets(user_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(AccessToken).where(
            AccessToken.user_id == user_id, AccessToken.purpose == TokenPurpose.RESET_PASSWORD.value,
            AccessToken.created_at >= utcnow() - timedelta(hours=1))
    ) or 0


def account_for_password_link(token: str) -> User:
    """Return the account a set-password or reset link belongs to, or raise LinkInvalid."""
    row = tokens.find_usable(token, PASSWORD_PURPOSES)
    if row is None or row.user is None or not row.user.active:
        raise LinkInvalid("Länken är ogiltig, redan använd eller har gått ut. Begär en ny via \"Glömt ditt lösenord?\".")
    return row.user


def set_password(token: str, password: str, repeated: str) -> User:
    """Give the link's account the chosen password; the link, and any other open one, is used up."""
    begin_write()
    row = tokens.find_usable(token, PASSWORD_PURPOSES)
    user = row.user if row else None
    if user is None or not user.active:
        db.session.rollback()
        raise LinkInvalid("Länken är ogiltig, redan använd eller har gått ut. Begär en ny via \"Glömt ditt lösenord?\".")
    errors = []
    problems = password_policy_problems(password or "", user.username)
    if problems:
        errors.append(FieldError("password", "Lösenordet uppfyller inte kraven: " + ", ".join(problems) + "."))
    if (password or "") != (repeated or ""):
        errors.append(FieldError("repeated", "Lösenorden är inte lika."))
    if errors:
        db.session.rollback()
        raise ValidationFailed(errors)
    if not tokens.consume(row):
        db.session.rollback()
        raise LinkInvalid("Länken är redan använd.")
    user.password_hash = hash_password(password)
    tokens.void_for_user(user.id, PASSWORD_PURPOSES)
    # Whoever held the old password loses the API tokens issued with it.
    db.session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
    db.session.execute(delete(LoginFailure).where(LoginFailure.username == user.username))
    db.session.commit()
    current_app.logger.info("password set through a link for user %s", user.id)
    return user
