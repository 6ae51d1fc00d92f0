"""Session use cases: where a user is logged in, and ending a user's access everywhere."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import Executable, Select, delete, func, or_, select, update

from core.auth.rules import SessionTimeouts
from core.auth.services import token_valid
from core.auth.session_interface import SESSIONS, session_alive, timeouts
from core.clock import utcnow
from core.errors import NotFound
from core.extensions import db
from core.formatting import duration_text
from core.models import ApiToken, User
from core.store import begin_write

TOKENS = ApiToken.__table__


@dataclass(frozen=True)
class ActiveSession:
    id: int
    started_at: datetime
    last_seen_at: datetime
    browser: str
    current: bool  # the session of the request that asks ("den här sessionen")


def _timeouts() -> SessionTimeouts:
    return timeouts(current_app)


def limits_text() -> dict[str, str]:
    """Return the idle timeout and the lifetime as text for the page, e.g. "30 min" and "10 h 00 min"."""
    limits = _timeouts()
    return {"idle": duration_text(int(limits.idle.total_seconds())),
            "lifetime": duration_text(int(limits.lifetime.total_seconds()))}


def active_sessions(user_id: int, current_id: int | None) -> list[ActiveSession]:
    """Return the user's sessions that have not ended, the most recently used first."""
    rows = db.session.execute(
        select(SESSIONS.c.id, SESSIONS.c.created_at, SESSIONS.c.last_seen_at, SESSIONS.c.browser)
        .where(SESSIONS.c.user_id == user_id, session_alive(utcnow(), _timeouts()))
        .order_by(SESSIONS.c.last_seen_at.desc(), SESSIONS.c.id.desc())
    )
    return [ActiveSession(row.id, row.created_at, row.last_seen_at, row.browser or "Okänd webbläsare",
                          row.id == current_id) for row in rows]


def end_access_statements(user_ids: Iterable[int], now: datetime) -> list[Executable]:
    """Return the statements that end these users' sessions and revoke their API tokens."""
    ids = list(user_ids)
    return [
        delete(SESSIONS).where(SESSIONS.c.user_id.in_(ids)),
        update(TOKENS).where(TOKENS.c.user_id.in_(ids), TOKENS.c.revoked_at.is_(None)).values(revoked_at=now),
    ]


def end_all_access(user_id: int, by_user_id: int) -> User:
    """End every session of the user and revoke every API token ("Logga ut överallt", or an admin)."""
    begin_write()
    user = db.session.get(User, user_id)
    if user is None:
        db.session.rollback()
        raise NotFound("Användaren finns inte.")
    for statement in end_access_statements([user_id], utcnow()):
        db.session.execute(statement)
    db.session.commit()
    # Ids only: the log carries no names.
    current_app.logger.info("sessions and api tokens of user %s ended by user %s", user_id, by_user_id)
    return user


def users_with_access_query() -> Select:
    """Return (user, live sessions, last used, valid API tokens) for each user with either."""
    now = utcnow()
    sessions = (
        select(SESSIONS.c.user_id, func.count().label("sessions"), func.max(SESSIONS.c.last_seen_at).label("last_seen_at"))
        .where(SESSIONS.c.user_id.is_not(None), session_alive(now, _timeouts()))
        .group_by(SESSIONS.c.user_id).subquery()
    )
    tokens = (
        select(ApiToken.user_id, func.count().label("tokens")).where(token_valid(now))
        .group_by(ApiToken.user_id).subquery()
    )
    return (
        select(User, func.coalesce(sessions.c.sessions, 0), sessions.c.last_seen_at, func.coalesce(tokens.c.tokens, 0))
        .outerjoin(sessions, sessions.c.user_id == User.id)
        .outerjoin(tokens, tokens.c.user_id == User.id)
        .where(or_(sessions.c.user_id.is_not(None), tokens.c.user_id.is_not(None)))
    )
