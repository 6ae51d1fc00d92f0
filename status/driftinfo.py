"""Driftinfo's life: current until withdrawn, past its valid-until time, or its incident is over.

A notice that has ended leaves the public page for the archive ("Tidigare driftinformation")
and stays in the Atom feed with an "upphört" note. rules.driftinfo_ended_at is the rule;
`current_clause` says the same in SQL, so the page can select current notices in the store.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_, select, update

from core.extensions import db
from status.models import Driftinfo, Incident
from status.rules import driftinfo_ended_at

__all__ = ["Notice", "archived", "close", "current", "current_clause", "recent"]


@dataclass(frozen=True)
class Notice:
    """A driftinfo post as the public page and the feed show it."""

    id: int
    published_at: datetime
    title: str
    body: str
    valid_until: datetime | None
    ended_at: datetime | None
    withdrawal_reason: str | None


def current_clause(now: datetime) -> ColumnElement[bool]:
    """Return SQL true for a current notice; the query must outer-join its Incident."""
    return and_(Driftinfo.withdrawn_at.is_(None),
                or_(Driftinfo.valid_until.is_(None), Driftinfo.valid_until > now),
                or_(Incident.resolved_at.is_(None), Incident.resolved_at > now))


def _query():  # noqa: ANN202
    return (select(Driftinfo, Incident.resolved_at).outerjoin(Incident, Incident.id == Driftinfo.incident_id)
            .order_by(Driftinfo.at.desc(), Driftinfo.id.desc()).execution_options(populate_existing=True))


def _notice(post: Driftinfo, resolved_at: datetime | None, now: datetime) -> Notice:
    return Notice(post.id, post.at, post.title, post.body, post.valid_until,
                  driftinfo_ended_at(post.valid_until, post.withdrawn_at, resolved_at, now), post.withdrawal_reason)


def current(now: datetime, limit: int = 20) -> list[Notice]:
    """Return the current notices, newest first."""
    rows = db.session.execute(_query().where(current_clause(now)).limit(limit))
    return [_notice(post, resolved_at, now) for post, resolved_at in rows]


def archived(now: datetime, limit: int = 20) -> list[Notice]:
    """Return the notices that have ended, newest first."""
    rows = db.session.execute(_query().where(~current_clause(now)).limit(limit))
    return [_notice(post, resolved_at, now) for post, resolved_at in rows]


def recent(now: datetime, limit: int) -> list[Notice]:
    """Return the latest notices, current or not, newest first (for the feed)."""
    return [_notice(post, resolved_at, now) for post, resolved_at in db.session.execute(_query().limit(limit))]


def close(post_ids: Iterable[int], author_id: int, reason: str, now: datetime) -> int:
    """Withdraw those of the given notices that are still current, in the caller's transaction."""
    ids = [int(i) for i in post_ids]
    if not ids:
        return 0
    still_current = select(Driftinfo.id).outerjoin(Incident, Incident.id == Driftinfo.incident_id).where(
        Driftinfo.id.in_(ids), current_clause(now))
    result = db.session.execute(
        update(Driftinfo).where(Driftinfo.id.in_(list(db.session.scalars(still_current))))
        .values(withdrawn_at=now, withdrawn_by_id=author_id, withdrawal_reason=reason)
        .execution_options(synchronize_session=False))
    return result.rowcount
