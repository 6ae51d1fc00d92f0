"""Sessions and API tokens end with the credentials they were issued on.

A new password or a closed account (termination, leave) ends the user's sessions and revokes the
user's API tokens in the same transaction, whichever use case made the change: it is watched at
the flush, so no feature that changes a password or closes an account can forget it.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from core.auth.sessions import end_access_statements
from core.clock import utcnow
from core.models import User


def credentials_withdrawn(user: User) -> bool:
    """Return whether this pending change gives the user a new password or closes the account."""
    state = inspect(user)
    if state.pending or state.transient:
        return False  # a new account has no sessions yet
    active = state.attrs.active.history
    return state.attrs.password_hash.history.has_changes() or (active.has_changes() and not user.active)


def _end_access_of_changed_accounts(session: Session, _context: Any, _instances: Any) -> None:
    ids = [obj.id for obj in session.dirty if isinstance(obj, User) and credentials_withdrawn(obj)]
    if ids:
        # Core statements on the flush's own connection: part of the same transaction, no autoflush.
        connection = session.connection()
        for statement in end_access_statements(ids, utcnow()):
            connection.execute(statement)


def init_app() -> None:
    """Watch every ORM session's flushes for changed credentials (once per process)."""
    if not event.contains(Session, "before_flush", _end_access_of_changed_accounts):
        event.listen(Session, "before_flush", _end_access_of_changed_accounts)
