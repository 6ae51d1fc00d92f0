"""Save, list and delete a user's searches; the query string is replayed as is."""
from __future__ import annotations

from urllib.parse import urlencode

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import MultiDict

from core.errors import DomainError, ValidationFailed
from core.extensions import db
from core.models import SAVED_SEARCH_SCOPES, SavedSearch, User
from core.store import begin_write

MAX_PER_SCOPE = 30
# Paging and sorting are how a result is viewed, not what was searched for.
VIEW_ARGS = {"page", "per_page", "sort", "dir"}


def searches_for(user: User, scope: str) -> list[SavedSearch]:
    return list(db.session.scalars(
        select(SavedSearch).where(SavedSearch.user_id == user.id, SavedSearch.scope == scope).order_by(SavedSearch.name)
    ))


def save_search(user: User, scope: str, name: str, args: MultiDict) -> SavedSearch:
    """Save the search's criteria under a name of the user's choosing."""
    name = (name or "").strip()
    if scope not in SAVED_SEARCH_SCOPES:
        raise ValidationFailed.single("scope", "Okänd typ av sökning.")
    if not name or len(name) > 80:
        raise ValidationFailed.single("name", "Ge sökningen ett namn (högst 80 tecken).")
    query = urlencode([(k, v) for k, values in args.lists() if k not in VIEW_ARGS for v in values if v])
    if len(query) > 1000:
        raise ValidationFailed.single("query", "Sökningen är för lång för att sparas.")
    begin_write()
    if len(searches_for(user, scope)) >= MAX_PER_SCOPE:
        raise DomainError(f"Du kan spara högst {MAX_PER_SCOPE} sökningar av den här typen.")
    search = SavedSearch(user_id=user.id, scope=scope, name=name, query=query)
    db.session.add(search)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ValidationFailed.single("name", "Du har redan en sparad sökning med det namnet.") from None
    return search


def delete_search(user: User, search_id: int) -> None:
    """Delete one of the user's own saved searches."""
    begin_write()
    result = db.session.execute(delete(SavedSearch).where(SavedSearch.id == search_id, SavedSearch.user_id == user.id))
    if result.rowcount != 1:
        db.session.rollback()
        raise DomainError("Sökningen finns inte.", field="id")
    db.session.commit()
