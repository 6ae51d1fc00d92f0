"""The outbox: what other packages call to register a change with the main server.

`enqueue()` adds an item to the caller's current transaction (the caller commits), so the
change and its outbox item are saved together or not at all. The key is generated here, once;
the payload is frozen as canonical JSON with its SHA-256. An edit after capture is a new item
with a new key (`replace()`); the old one is cancelled and points at its successor.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.errors import DomainError, NotFound
from core.extensions import db
from core.models import User
from core.store import WRITE, begin_write
from status import readmodel
from sync import faults
from sync.models import OutboxItem, SyncAudit
from sync.rules import (
    ACKED, BLOCKED, CANCELLED, CHANNEL_LABELS, CHANNELS, CONFLICT, DEAD, IN_FLIGHT, KIND_LABELS, PENDING, RESOLVED,
    REVIEW, STATE_LABELS, editable, freeze, new_key, priority_of,
)

__all__ = [
    "AuditEntry", "OutboxItem", "Trace", "cancel", "enqueue", "item_for_key", "items_for_subject", "replace",
    "trace_for", "traces_for",
]


def _session(session: Session | None) -> Session:
    session = session or db.session()
    if not session.info.get(WRITE):
        # The item must commit with the change it registers; a read transaction would
        # let them part (and on SQLite would not hold the write lock).
        raise RuntimeError("enqueue() runs in the caller's write transaction: call begin_write() first")
    return session


def review_required(kind: str, requires_review: bool) -> bool:
    """Return whether an item of the kind waits for approval (asked for, and configured for the kind)."""
    return requires_review and kind in (current_app.config.get("SYNC_REVIEW") or {})


def current_incident_id(session: Session | None = None) -> int | None:
    """Return the incident whose reserve routine applies, else the open outage incident, if any.

    Asked once per transaction (a bulk capture asks once, not per item), without flushing
    what the caller has pending.
    """
    session = session or db.session()
    if _INCIDENT not in session.info:
        session.info[_INCIDENT] = readmodel.current_incident_id(session=session)
    return session.info[_INCIDENT]


_INCIDENT = "sync_incident_id"


def adopt_into_incident(now: datetime) -> int:
    """Give the open incident the unsettled items captured since its first failed probe; commit; return how many.

    An outage is confirmed some probes after it began; what was captured in between belongs
    to it (and to its reconciliation report) as much as what came after.
    """
    incident = readmodel.incident(current_incident_id())
    if incident is None:
        db.session.commit()
        return 0
    incident_id, started_at = incident.id, incident.started_at
    begin_write()
    result = db.session.execute(
        update(OutboxItem).where(OutboxItem.incident_id.is_(None), OutboxItem.created_at >= started_at,
                                 OutboxItem.state.in_((REVIEW, PENDING, IN_FLIGHT, CONFLICT, DEAD, BLOCKED)))
        .values(incident_id=incident_id).execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_incident(session: Session) -> None:
    session.info.pop(_INCIDENT, None)


def enqueue(kind: str, payload: Mapping[str, Any], *, ordering_key: str | None = None, parent_key: str | None = None,
            incident_id: int | None = None, requires_review: bool = False, created_by_id: int | None = None,
            channel: str | None = None, subject_ref: str | None = None, now: datetime | None = None,
            session: Session | None = None) -> OutboxItem:
    """Add an outbox item to the current transaction and return it; the caller commits.

    The item gets a fresh UUID key and its payload frozen as sorted-key JSON with a SHA-256;
    its priority follows from the kind (stock moves first). `incident_id` defaults to the open
    outage; `channel` (app, phone, email, paper) to the payload's "channel", else "app". Items
    captured by hand in reserve mode pass `requires_review=True` and wait for approval when
    SYNC_REVIEW lists the kind. A child (`parent_key`) is sent only after its parent is registered.
    """
    session = _session(session)
    now = now or utcnow()
    priority = priority_of(kind)
    canonical, digest = freeze(payload)
    channel = channel or payload.get("channel") or "app"
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}; known: {', '.join(CHANNELS)}")
    state = REVIEW if review_required(kind, requires_review) else PENDING
    if parent_key is not None:
        state = _state_under_parent(session, parent_key, state)
    item = OutboxItem(
        key=new_key(), kind=kind, priority=priority, state=state, ordering_key=ordering_key, parent_key=parent_key,
        subject_ref=subject_ref, incident_id=incident_id if incident_id is not None else current_incident_id(session),
        channel=channel, payload=canonical, payload_hash=digest, requires_review=requires_review,
        created_at=now, created_by_id=created_by_id, state_changed_at=now, attempts=0, uncertain=False,
        send_alone=False, next_attempt_at=now,
    )
    session.add(item)
    faults.checkpoint("during_capture", session=session)
    return item


def _state_under_parent(session: Session, parent_key: str, state: str) -> str:
    parent_state = session.scalar(select(OutboxItem.state).where(OutboxItem.key == parent_key))
    if parent_state is None:
        raise ValueError("parent_key names no outbox item")
    if parent_state == CANCELLED:
        raise DomainError("Den överordnade posten är makulerad.")
    if parent_state in (CONFLICT, DEAD, BLOCKED) and state == PENDING:
        return BLOCKED
    return state


def item_for_key(key: str) -> OutboxItem | None:
    """Return the outbox item with this key (as the store has it now), or None."""
    return db.session.scalar(select(OutboxItem).where(OutboxItem.key == key)
                             .execution_options(populate_existing=True))


def items_for_subject(subject_ref: str) -> list[OutboxItem]:
    """Return the items registering one local record (e.g. "prescription:12"), oldest first."""
    return list(db.session.scalars(select(OutboxItem).where(OutboxItem.subject_ref == subject_ref)
                                   .order_by(OutboxItem.id)))


def audit(item: OutboxItem, action: str, now: datetime, *, actor_id: int | None = None, note: str | None = None,
          details: Mapping[str, Any] | None = None) -> None:
    """Append an audit entry for the item to the current transaction."""
    db.session.add(SyncAudit(item_id=item.id, at=now, actor_id=actor_id, action=action, note=note,
                             details=json.dumps(details, sort_keys=True, ensure_ascii=False) if details else None))


def move(item: OutboxItem, from_states: Iterable[str], values: Mapping[str, Any], now: datetime) -> bool:
    """Change the item's state with a conditional UPDATE; return False if it was no longer in from_states."""
    result = db.session.execute(
        update(OutboxItem).where(OutboxItem.id == item.id, OutboxItem.state.in_(tuple(from_states)))
        .values(state_changed_at=now, **values).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return False
    db.session.refresh(item)
    return True


def cascade_to_children(parent: OutboxItem, now: datetime, *, actor_id: int | None = None) -> None:
    """Bring the parent's children (and theirs) in line with the parent's new state."""
    frontier = [parent]
    while frontier:
        current = frontier.pop()
        children = list(db.session.scalars(select(OutboxItem).where(OutboxItem.parent_key == current.key)))
        for child in children:
            changed = False
            if current.state in (CONFLICT, DEAD, BLOCKED):
                changed = move(child, (PENDING,), {"state": BLOCKED}, now)
            elif current.state in (ACKED, RESOLVED, PENDING, REVIEW):
                changed = move(child, (BLOCKED,), {"state": PENDING, "next_attempt_at": now}, now)
            elif current.state == CANCELLED:
                changed = move(child, (REVIEW, PENDING, BLOCKED, DEAD, CONFLICT),
                               {"state": CANCELLED, "resolution": "parent_cancelled"}, now)
                if changed:
                    audit(child, "cancelled_with_parent", now, actor_id=actor_id, details={"parent": current.key})
            if changed:
                frontier.append(child)


def replace(key: str, payload: Mapping[str, Any], *, actor_id: int | None, note: str | None = None,
            approve: bool = False, now: datetime | None = None) -> OutboxItem:
    """Cancel the item and add an edited copy with a new key to the current transaction; return the copy.

    Refused once the main server may have the item (sent without a definite answer, or
    registered): the edit would then register the same thing twice. With `approve`, the
    copy is approved by the editor and goes out without waiting in review again.
    """
    _session(None)
    now = now or utcnow()
    old = locked(key)
    if not editable(old.state, old.attempts, old.uncertain):
        raise DomainError("Posten kan inte ändras: den kan redan ha registrerats hos huvudservern.")
    copy = successor(old, payload, actor_id=actor_id if approve else None, now=now,
                     old_becomes={"state": CANCELLED, "resolution": "edited"})
    audit(old, "edited", now, actor_id=actor_id, note=note, details={"new_key": copy.key,
                                                                     "changed": _changed(old.data, payload)})
    audit(copy, "created_by_edit", now, actor_id=actor_id, note=note, details={"replaces": old.key})
    return copy


def successor(old: OutboxItem, payload: Mapping[str, Any], *, actor_id: int | None, now: datetime,
              old_becomes: Mapping[str, Any]) -> OutboxItem:
    """Add a copy of `old` with a new key and this payload; settle `old` as told; return the copy.

    The copy keeps the original's capture data and its place in its ordering queue; the two
    point at each other; the original's children now wait for the copy. With `actor_id`, the
    copy counts as approved by that person (else it waits in review if the original did).
    """
    copy = enqueue(old.kind, payload, ordering_key=old.ordering_key, incident_id=old.incident_id,
                   requires_review=old.requires_review and actor_id is None, created_by_id=old.created_by_id,
                   channel=old.channel, subject_ref=old.subject_ref, now=now)
    copy.parent_key = old.parent_key
    if old.parent_key is not None and copy.state == PENDING:
        parent_state = db.session.scalar(select(OutboxItem.state).where(OutboxItem.key == old.parent_key))
        if parent_state in (CONFLICT, DEAD, BLOCKED):
            copy.state = BLOCKED
    if actor_id is not None:
        copy.approved_at, copy.approved_by_id = now, actor_id
    copy.created_at, copy.supersedes_key = old.created_at, old.key
    if not move(old, (old.state,), {**old_becomes, "superseded_by_key": copy.key}, now):
        raise DomainError("Posten ändrades samtidigt av någon annan. Ladda om sidan.")
    db.session.flush()
    db.session.execute(update(OutboxItem).where(OutboxItem.parent_key == old.key)
                       .values(parent_key=copy.key).execution_options(synchronize_session=False))
    return copy


def _changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    after_plain = json.loads(freeze(after)[0])
    return sorted(k for k in set(before) | set(after_plain) if before.get(k) != after_plain.get(k))


def cancel(key: str, *, actor_id: int | None, note: str, now: datetime | None = None) -> OutboxItem:
    """Cancel an item the main server cannot have yet (in the current transaction); audited."""
    _session(None)
    now = now or utcnow()
    item = locked(key)
    if not editable(item.state, item.attempts, item.uncertain) or item.state == CONFLICT:
        raise DomainError("Posten kan inte makuleras i sitt nuvarande läge.")
    if not move(item, (item.state,), {"state": CANCELLED, "resolution": "cancelled"}, now):
        raise DomainError("Posten ändrades samtidigt av någon annan. Ladda om sidan.")
    audit(item, "cancelled", now, actor_id=actor_id, note=note)
    cascade_to_children(item, now, actor_id=actor_id)
    return item


def locked(key: str) -> OutboxItem:
    """Return the item, locked for this write transaction (NotFound if the key is unknown)."""
    item = db.session.scalar(select(OutboxItem).where(OutboxItem.key == key).with_for_update()
                             .execution_options(populate_existing=True))
    if item is None:
        raise NotFound("Posten finns inte.")
    return item


# --- Traceability --------------------------------------------------------------------------

@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    action: str
    actor: str | None
    note: str | None
    details: dict | None


@dataclass(frozen=True)
class Trace:
    """Who captured an item, when, how, under which incident, who approved it, and how it was registered."""

    key: str
    kind: str
    kind_label: str
    state: str
    state_label: str
    channel: str
    channel_label: str
    captured_at: datetime
    captured_by_id: int | None
    captured_by: str | None
    incident_id: int | None
    approved_at: datetime | None
    approved_by_id: int | None
    approved_by: str | None
    registered_at: datetime | None
    server_id: str | None
    attempts: int
    last_error: str | None
    conflict_server_id: str | None
    resolution: str | None
    supersedes_key: str | None
    superseded_by_key: str | None
    final_key: str  # the end of the edit / re-send chain
    final_state: str
    final_server_id: str | None
    audit: tuple[AuditEntry, ...]


def traces_for(keys: Iterable[str]) -> dict[str, Trace]:
    """Return the trace of each known key (unknown keys are left out)."""
    keys = list(dict.fromkeys(keys))
    if not keys:
        return {}
    items = {i.key: i for i in db.session.scalars(select(OutboxItem).where(OutboxItem.key.in_(keys)))}
    ids = [i.id for i in items.values()]
    entries: dict[int, list[AuditEntry]] = {}
    user_names = _user_names({i.created_by_id for i in items.values()} | {i.approved_by_id for i in items.values()})
    rows = db.session.execute(select(SyncAudit).where(SyncAudit.item_id.in_(ids)).order_by(SyncAudit.id)).scalars()
    audits = list(rows)
    user_names |= _user_names({a.actor_id for a in audits} - set(user_names))
    for a in audits:
        entries.setdefault(a.item_id, []).append(AuditEntry(a.at, a.action, user_names.get(a.actor_id), a.note,
                                                            json.loads(a.details) if a.details else None))
    return {key: _trace(item, user_names, tuple(entries.get(item.id, ()))) for key, item in items.items()}


def trace_for(key: str) -> Trace:
    """Return the trace of one item (NotFound if the key is unknown)."""
    found = traces_for([key]).get(key)
    if found is None:
        raise NotFound("Posten finns inte.")
    return found


def _user_names(ids: set[int | None]) -> dict[int | None, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())


def _final(item: OutboxItem) -> OutboxItem:
    seen = {item.key}
    while item.superseded_by_key:
        successor = item_for_key(item.superseded_by_key)
        if successor is None or successor.key in seen:
            break
        seen.add(successor.key)
        item = successor
    return item


def _trace(item: OutboxItem, names: dict, audit_entries: tuple[AuditEntry, ...]) -> Trace:
    final = _final(item)
    return Trace(
        key=item.key, kind=item.kind, kind_label=KIND_LABELS[item.kind], state=item.state,
        state_label=STATE_LABELS[item.state], channel=item.channel, channel_label=CHANNEL_LABELS[item.channel],
        captured_at=item.created_at, captured_by_id=item.created_by_id, captured_by=names.get(item.created_by_id),
        incident_id=item.incident_id, approved_at=item.approved_at, approved_by_id=item.approved_by_id,
        approved_by=names.get(item.approved_by_id), registered_at=item.registered_at, server_id=item.server_id,
        attempts=item.attempts, last_error=item.last_error, conflict_server_id=item.conflict_server_id,
        resolution=item.resolution, supersedes_key=item.supersedes_key, superseded_by_key=item.superseded_by_key,
        final_key=final.key, final_state=final.state, final_server_id=final.server_id, audit=audit_entries,
    )
