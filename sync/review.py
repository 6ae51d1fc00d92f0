"""The review gate and the error queue: approve, edit (a new item, new key), cancel, retry. Each audited.

Items captured by hand in reserve mode wait in `review` until a person with the kind's
approving role (SYNC_REVIEW) lets them go. Items the main server refused for good (`dead`)
wait for hms_staff: retry with the same key (the server deduplicates), edit, or cancel.
Every use case is one write transaction; the state change is a conditional UPDATE, so a
double click or two reviewers at once act once.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select

from core.auth.roles import Permission, Role
from core.clock import utcnow
from core.errors import DomainError, Forbidden, ValidationFailed
from core.extensions import db
from core.models import User
from core.store import begin_write
from sync import outbox
from sync.models import OutboxItem
from sync.rules import BLOCKED, CONFLICT, DEAD, PENDING, REVIEW, with_changes
from sync.settings import current_settings

MAX_NOTE = 1000


def approvers_for(kind: str) -> frozenset[Role]:
    """Return the roles that may approve items of the kind (hms_staff if the kind is not configured)."""
    roles = current_settings().review.get(kind) or ("hms_staff",)
    return frozenset(Role(role) for role in roles)


def may_review(actor: User, kind: str) -> bool:
    return bool(actor.roles & approvers_for(kind))


def may_handle_errors(actor: User) -> bool:
    return actor.can(Permission.REVIEW_SYNC)


def note_for(note: str | None, *, required: bool) -> str | None:
    """Return the stripped note for the audit trail; refuse an empty one where a reason is required."""
    note = (note or "").strip()
    if required and not note:
        raise ValidationFailed.single("note", "Skriv en kort motivering; den sparas i spårbarhetsloggen.")
    if len(note) > MAX_NOTE:
        raise ValidationFailed.single("note", f"Högst {MAX_NOTE} tecken.")
    return note or None


def _parent_state(item: OutboxItem) -> str | None:
    if item.parent_key is None:
        return None
    return db.session.scalar(select(OutboxItem.state).where(OutboxItem.key == item.parent_key))


def approve(actor: User, key: str, note: str | None = None, now: datetime | None = None) -> OutboxItem:
    """Let a reviewed item go to the main server."""
    now = now or utcnow()
    note = note_for(note, required=False)
    begin_write()
    item = outbox.locked(key)
    if not may_review(actor, item.kind):
        raise Forbidden("Du får inte godkänna den här typen av post.")
    if item.state != REVIEW:
        raise DomainError("Posten väntar inte på granskning (den kan redan vara hanterad).")
    state = BLOCKED if _parent_state(item) in (CONFLICT, DEAD, BLOCKED) else PENDING
    if not outbox.move(item, (REVIEW,), {"state": state, "approved_at": now, "approved_by_id": actor.id,
                                         "next_attempt_at": now}, now):
        raise DomainError("Posten hanterades samtidigt av någon annan.")
    outbox.audit(item, "approved", now, actor_id=actor.id, note=note)
    db.session.commit()
    return item


def approve_many(actor: User, keys: list[str], note: str | None = None) -> tuple[list[str], list[tuple[str, str]]]:
    """Approve each item in its own transaction; return the approved keys and (key, reason) for the rest."""
    approved, refused = [], []
    for key in dict.fromkeys(keys):
        try:
            approve(actor, key, note)
        except DomainError as exc:
            db.session.rollback()
            refused.append((key, exc.message))
        else:
            approved.append(key)
    return approved, refused


def edit(actor: User, key: str, changes: Mapping[str, Any], note: str | None,
         now: datetime | None = None) -> OutboxItem:
    """Replace a captured item by an edited copy with a new key, approved by the editor; return the copy.

    Only hand-captured items (those that went through review) are edited here: their payload
    is the record. Changes are top-level fields of the payload; a field's type may not change.
    """
    now = now or utcnow()
    note = note_for(note, required=True)
    begin_write()
    item = outbox.locked(key)
    check_may_edit(actor, item)
    payload = item.data
    typed = {}
    for name, value in changes.items():
        if name not in payload or isinstance(payload[name], dict | list):
            raise ValidationFailed.single(name, "Fältet kan inte ändras här.")
        typed[name] = _same_type(name, payload[name], value)
    if all(payload.get(k) == v for k, v in typed.items()):
        raise ValidationFailed.single("changes", "Inget har ändrats.")
    copy = outbox.replace(key, with_changes(payload, typed), actor_id=actor.id, note=note, approve=True, now=now)
    db.session.commit()
    return copy


def check_may_edit(actor: User, item: OutboxItem) -> None:
    """Refuse an edit of an item created in the system, or by someone who may not handle it."""
    if not item.requires_review:
        raise DomainError("Poster som skapats i systemet ändras där de skapades, inte här.")
    if item.state == REVIEW and not may_review(actor, item.kind):
        raise Forbidden("Du får inte granska den här typen av post.")
    if item.state != REVIEW and not may_handle_errors(actor):
        raise Forbidden("Bara Hjälpmedelsservice hanterar poster som fastnat.")


def _same_type(name: str, before: Any, value: Any) -> Any:
    if before is None or isinstance(before, str):
        text = str(value).strip() if value is not None else ""
        if len(text) > 2000:
            raise ValidationFailed.single(name, "Högst 2000 tecken.")
        return text or None
    if isinstance(before, bool):
        return str(value).lower() in ("1", "true", "ja", "on")
    if isinstance(before, int):
        try:
            return int(str(value).strip())
        except ValueError:
            raise ValidationFailed.single(name, "Ange ett heltal.") from None
    raise ValidationFailed.single(name, "Fältet kan inte ändras här.")


def cancel(actor: User, key: str, note: str | None, now: datetime | None = None) -> OutboxItem:
    """Withdraw an item the main server cannot have yet (in review, refused, blocked); audited."""
    now = now or utcnow()
    note = note_for(note, required=True)
    begin_write()
    item = outbox.locked(key)
    if item.state == REVIEW and not may_review(actor, item.kind):
        raise Forbidden("Du får inte granska den här typen av post.")
    if item.state != REVIEW and not may_handle_errors(actor):
        raise Forbidden("Bara Hjälpmedelsservice hanterar poster som fastnat.")
    item = outbox.cancel(key, actor_id=actor.id, note=note, now=now)
    db.session.commit()
    return item


def retry(actor: User, key: str, note: str | None = None, now: datetime | None = None) -> OutboxItem:
    """Send a refused item again with the same key (after the cause was fixed at the main server)."""
    now = now or utcnow()
    note = note_for(note, required=False)
    if not may_handle_errors(actor):
        raise Forbidden("Bara Hjälpmedelsservice hanterar poster som fastnat.")
    begin_write()
    item = outbox.locked(key)
    if item.state != DEAD:
        raise DomainError("Bara poster med fel kan skickas igen.")
    if not outbox.move(item, (DEAD,), {"state": PENDING, "next_attempt_at": now, "send_alone": True,
                                       "last_error": None}, now):
        raise DomainError("Posten hanterades samtidigt av någon annan.")
    outbox.audit(item, "retried", now, actor_id=actor.id, note=note)
    outbox.cascade_to_children(item, now, actor_id=actor.id)
    db.session.commit()
    return item
