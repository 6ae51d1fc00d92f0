"""The one shape in which a package hands a change to the outbox: a `Registration`.

The package that owns a record translates it, in its own `outbox.py`, into the main server's
words (prescribing: app/prescribing/outbox.py; withdrawals and orders: app/withdrawals/outbox.py;
captured items: reserve/outbox.py) and calls `register()` inside the transaction that makes the
change; the caller's commit saves the record and its item together. Payloads carry what the
main server needs and nothing more: article, warehouse and customer numbers, and the personnummer
when a patient is involved; names and addresses stay local. The sync engine knows no feature model.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from core.extensions import db
from core.models import User
from sync.models import OutboxItem
from sync.outbox import enqueue
from sync.rules import CANCELLED


@dataclass(frozen=True)
class Registration:
    """One change for the main server: its kind, frozen payload, and where it stands among the others."""

    kind: str
    payload: Mapping[str, Any]
    subject_ref: str  # "<record>:<id>", how the owner finds its item again (traces, edits, cancellations)
    ordering_key: str | None = None  # items with one key are sent in order (one patient's, one order's)
    parent_key: str | None = None  # sent only after this item is registered
    created_by_id: int | None = None
    incident_id: int | None = None  # default: the open outage
    requires_review: bool = False  # captured by hand: waits for hms_staff where SYNC_REVIEW says so


def register(registration: Registration, *, now: datetime | None = None) -> OutboxItem:
    """Add the registration's outbox item to the caller's write transaction and return it."""
    return enqueue(registration.kind, registration.payload, ordering_key=registration.ordering_key,
                   parent_key=registration.parent_key, incident_id=registration.incident_id,
                   requires_review=registration.requires_review, created_by_id=registration.created_by_id,
                   subject_ref=registration.subject_ref, now=now)


def person(user_id: int | None) -> dict | None:
    """Return a user as the main server knows people: username and HSA-id."""
    user = db.session.get(User, user_id) if user_id is not None else None
    return {"username": user.username, "hsa_id": user.hsa_id} if user else None


def registration_of(subject_ref: str, kinds: tuple[str, ...]) -> tuple[str | None, bool]:
    """Return the key of the item that registers the record, and whether it was withdrawn locally.

    Follows edits to the last copy. (None, False): made before the sync engine existed.
    """
    items = db.session.execute(select(OutboxItem.key, OutboxItem.state, OutboxItem.superseded_by_key)
                               .where(OutboxItem.subject_ref == subject_ref, OutboxItem.kind.in_(kinds))
                               .order_by(OutboxItem.id)).all()
    if not items:
        return None, False
    by_key = {i.key: i for i in items}
    last = items[-1]
    while last.superseded_by_key and last.superseded_by_key in by_key:
        last = by_key[last.superseded_by_key]
    if last.state == CANCELLED:
        return None, True
    return last.key, False
