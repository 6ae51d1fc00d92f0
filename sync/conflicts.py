"""The conflict queue: the main server already has something that contradicts an item.

hms_staff see both versions side by side and resolve: link the item to the server's existing
record, cancel the local one, or send it anew (a new item, new key, changed so the conflict
cannot recur: a prescription replaces the server's active row). Each resolution is one
conditional UPDATE from `conflict`, so it happens once; each is audited; what it sends goes
through the outbox like anything else, exactly once.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from core.auth.roles import Permission
from core.clock import utcnow
from core.errors import DomainError, Forbidden, ValidationFailed
from core.extensions import db
from core.models import User
from core.signals import values
from core.store import begin_write
from sync import outbox, signals
from sync.models import OutboxItem
from sync.review import note_for
from sync.rules import (
    CANCEL_LOCAL, CANCELLED, CONFLICT, LINK, RESOLUTION_LABELS, RESOLVED, SEND_AS_NEW, resend_changes, resolutions_for,
    with_changes,
)

def resolve(actor: User, key: str, action: str, note: str | None, now: datetime | None = None) -> OutboxItem:
    """Resolve a conflict; return the item that now carries the registration (the new one when sent anew)."""
    now = now or utcnow()
    if not actor.can(Permission.REVIEW_SYNC):
        raise Forbidden("Bara Hjälpmedelsservice löser konflikter.")
    if action not in RESOLUTION_LABELS:
        raise ValidationFailed.single("action", "Välj hur konflikten ska lösas.")
    note = note_for(note, required=True)
    begin_write()
    item = outbox.locked(key)
    if item.state != CONFLICT:
        raise DomainError("Konflikten är redan löst.", field="action")
    if action not in resolutions_for(item.kind, item.problem_data, item.conflict_server_id):
        raise ValidationFailed.single("action", "Den lösningen går inte för den här konflikten.")
    result = {LINK: _link, CANCEL_LOCAL: _cancel_local, SEND_AS_NEW: _send_as_new}[action](item, actor, note, now)
    db.session.commit()
    return result


def _settle(item: OutboxItem, values: dict, now: datetime) -> None:
    if not outbox.move(item, (CONFLICT,), values, now):
        raise DomainError("Konflikten löstes samtidigt av någon annan.")


def _link(item: OutboxItem, actor: User, note: str, now: datetime) -> OutboxItem:
    """The server's record is this one: registered under the server's id."""
    _settle(item, {"state": RESOLVED, "resolution": "linked", "server_id": item.conflict_server_id,
                   "registered_at": now}, now)
    outbox.audit(item, "resolved_link", now, actor_id=actor.id, note=note,
                 details={"server_id": item.conflict_server_id})
    outbox.cascade_to_children(item, now, actor_id=actor.id)
    return item


def _cancel_local(item: OutboxItem, actor: User, note: str, now: datetime) -> OutboxItem:
    """The server's version stands: the local record is withdrawn, nothing is sent."""
    _settle(item, {"state": CANCELLED, "resolution": "cancelled_local"}, now)
    withdrawn = _withdraw_local_record(item, actor, now)
    outbox.audit(item, "resolved_cancel_local", now, actor_id=actor.id, note=note,
                 details={"local_records_withdrawn": withdrawn} if withdrawn else None)
    outbox.cascade_to_children(item, now, actor_id=actor.id)
    return item


def _send_as_new(item: OutboxItem, actor: User, note: str, now: datetime) -> OutboxItem:
    """Register the local version after all, as a new item changed so it replaces the server's."""
    if item.state != CONFLICT:
        raise DomainError("Konflikten löstes samtidigt av någon annan.")
    changes = resend_changes(item.kind, item.problem_data) or {}
    copy = outbox.successor(item, with_changes(item.data, {**changes, "resend_of": item.key}), actor_id=actor.id,
                            now=now, old_becomes={"state": RESOLVED, "resolution": "sent_as_new"})
    outbox.audit(item, "resolved_send_as_new", now, actor_id=actor.id, note=note,
                 details={"new_key": copy.key, "changes": sorted(changes)})
    outbox.audit(copy, "created_by_resolution", now, actor_id=actor.id, note=note, details={"replaces": item.key})
    outbox.cascade_to_children(copy, now, actor_id=actor.id)
    return copy


def _withdraw_local_record(item: OutboxItem, actor: User, now: datetime) -> list[str]:
    """Withdraw what the item registered locally, through its owner (prescribing: the rows are cancelled)."""
    return [ref for refs in values(signals.local_record_withdrawn, item, actor=actor, now=now) for ref in refs]


def conflicts_waiting() -> int:
    return db.session.scalar(select(db.func.count()).select_from(OutboxItem).where(OutboxItem.state == CONFLICT)) or 0
