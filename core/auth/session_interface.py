"""Sessions in the store: the cookie carries a random id, a row of `user_sessions` holds the session.

Every web process on every host reads the same row, so a logout, an admin ending a user's
sessions, a new password or a closed account take effect at the next request everywhere, and a
cookie copied before any of them is worth nothing afterwards.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask, Request, request
from flask import session as current_session
from flask.sessions import SessionInterface, SessionMixin, session_json_serializer
from flask.wrappers import Response
from sqlalchemy import (
    ColumnElement,
    Executable,
    and_,
    delete,
    insert,
    not_,
    select,
    update,
)
from werkzeug.datastructures import CallbackDict

from core.auth.guard import TOKEN_EXCHANGE_PATH, is_api_path
from core.auth.rules import SessionTimeouts, browser_summary, is_alive, touch_due
from core.auth.tokens import digest, new_token
from core.clock import utcnow
from core.extensions import db
from core.models.sessions import UserSession
from core.store import begin_write

USER_KEY = "_user_id"  # where Flask-Login keeps the logged-in user's id
SESSIONS = UserSession.__table__  # Core statements: no stale ORM copies across requests


class ServerSession(CallbackDict, SessionMixin):
    """One request's session dict, with the row it came from (row_id None: not stored yet)."""

    def __init__(self, initial: dict[str, Any] | None = None, *, row_id: int | None = None,
                 user_id: int | None = None, last_seen_at: datetime | None = None, stored: str | None = None,
                 stale_cookie: bool = False, detached: bool = False) -> None:
        def on_update(self: ServerSession) -> None:
            self.modified = True
            self.accessed = True

        super().__init__(initial, on_update)
        self.row_id = row_id
        self.user_id = user_id  # whose session the row is
        self.last_seen_at = last_seen_at
        self.stored = stored  # the data as the row holds it
        self.stale_cookie = stale_cookie  # the browser sent an id that is unknown or has ended
        self.detached = detached  # never stored: a request the session has no part in
        self.modified = False
        self.accessed = False

    def __getitem__(self, key: str) -> Any:
        self.accessed = True
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.accessed = True
        return super().get(key, default)

    def setdefault(self, key: str, default: Any = None) -> Any:
        self.accessed = True
        return super().setdefault(key, default)


def timeouts(app: Flask) -> SessionTimeouts:
    return SessionTimeouts.from_config(app.config)


def session_alive(now: datetime, limits: SessionTimeouts) -> ColumnElement[bool]:
    """Return core.auth.rules.is_alive as SQL over user_sessions."""
    seen_after, started_after = limits.cutoffs(now)
    return and_(SESSIONS.c.last_seen_at > seen_after, SESSIONS.c.created_at > started_after)


def current_session_id() -> int | None:
    """Return the store id of this request's session (None before it is stored)."""
    return getattr(current_session, "row_id", None)


class ServerSessionInterface(SessionInterface):
    """Load the session row named by the cookie; write it back only when it changed or is due a touch."""

    def open_session(self, app: Flask, request: Request) -> ServerSession:
        if is_api_path(request.path) and request.path != TOKEN_EXCHANGE_PATH:
            # Bearer tokens only: a cookie jar's session must neither help nor hinder an API call
            # (Flask-Login's strong protection would refuse a session without its mark). The one
            # exception is the token exchange, where a SITHS browser session buys a token.
            return ServerSession(detached=True)
        token = request.cookies.get(self.get_cookie_name(app))
        if not token:
            return ServerSession()
        row = db.session.execute(
            select(SESSIONS.c.id, SESSIONS.c.user_id, SESSIONS.c.data, SESSIONS.c.created_at, SESSIONS.c.last_seen_at)
            .where(SESSIONS.c.token_hash == digest(token))
        ).first()
        if row is None or not is_alive(row.created_at, row.last_seen_at, utcnow(), timeouts(app)):
            return ServerSession(stale_cookie=True)
        return ServerSession(session_json_serializer.loads(row.data), row_id=row.id, user_id=row.user_id,
                             last_seen_at=row.last_seen_at, stored=row.data)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not isinstance(session, ServerSession) or session.detached:
            return
        if session.accessed:
            response.vary.add("Cookie")
        user_id = _user_of(session)
        if session.row_id is not None and (user_id != session.user_id or not session):
            # Logged in, out or as someone else: the old id ends here, so it can never be replayed
            # (and an id planted before login is never the logged-in one).
            _write(delete(SESSIONS).where(SESSIONS.c.id == session.row_id))
            session.row_id, session.stale_cookie = None, True
        if session.row_id is None:
            if session:
                self._set_cookie(app, session, response, _create(app, session, user_id))
            elif session.stale_cookie:
                response.delete_cookie(self.get_cookie_name(app), **self._cookie_options(app))
            return
        now = utcnow()
        # Flask-Login rewrites the same keys on every anonymous request: only a real change is written.
        data = session_json_serializer.dumps(dict(session)) if session.modified else session.stored
        # A row ended meanwhile (logout elsewhere, an admin) is not brought back: the update finds nothing.
        if data != session.stored:
            _write(update(SESSIONS).where(SESSIONS.c.id == session.row_id).values(data=data, last_seen_at=now))
        elif touch_due(session.last_seen_at, now):
            _write(update(SESSIONS).where(SESSIONS.c.id == session.row_id).values(last_seen_at=now))

    def _set_cookie(self, app: Flask, session: ServerSession, response: Response, token: str) -> None:
        response.set_cookie(self.get_cookie_name(app), token, expires=self.get_expiration_time(app, session),
                            **self._cookie_options(app))
        response.vary.add("Cookie")

    def _cookie_options(self, app: Flask) -> dict[str, Any]:
        return {"domain": self.get_cookie_domain(app), "path": self.get_cookie_path(app),
                "secure": self.get_cookie_secure(app), "httponly": self.get_cookie_httponly(app),
                "samesite": self.get_cookie_samesite(app), "partitioned": self.get_cookie_partitioned(app)}


def _user_of(session: ServerSession) -> int | None:
    value = dict.get(session, USER_KEY)  # not session.get: looking is not using
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _create(app: Flask, session: ServerSession, user_id: int | None) -> str:
    """Store the session under a new id; return the id for the cookie."""
    token, now = new_token(), utcnow()
    statements: list[Executable] = [insert(SESSIONS).values(
        token_hash=digest(token), user_id=user_id, data=session_json_serializer.dumps(dict(session)),
        created_at=now, last_seen_at=now, browser=browser_summary(request.user_agent.string) if user_id else None,
    )]
    if user_id is not None:
        # Each login clears away sessions that have ended by themselves, so the table stays small.
        statements.append(delete(SESSIONS).where(not_(session_alive(now, timeouts(app)))))
    _write(*statements)
    return token


def _write(*statements: Executable) -> None:
    """Run the statements in a write transaction of their own, after whatever the request left open."""
    store = db.session()
    pending = store.new or store.dirty or store.deleted
    if pending or (store.in_transaction() and not store.get_transaction().is_active):
        store.rollback()  # a view's uncommitted changes are abandoned anyway; never commit them here
    begin_write()
    for statement in statements:
        db.session.execute(statement)
    db.session.commit()
