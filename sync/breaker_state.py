"""The sender's shared state in the store: the circuit breaker and the verification flag.

One row (`sync_sender_state`) that every sender process reads and writes in short write
transactions, so a restarted sender or a second one picks up where the first left off.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from core.extensions import db
from core.store import begin_write
from sync.models import OutboxItem, SenderState
from sync.rules import PENDING, Breaker

SENDER = "sender"


def _state_row(lock: bool) -> SenderState:
    query = select(SenderState).where(SenderState.name == SENDER).execution_options(populate_existing=True)
    if lock:
        query = query.with_for_update()
    row = db.session.scalar(query)
    if row is None:
        try:
            with db.session.begin_nested():
                db.session.add(SenderState(name=SENDER, breaker_state="closed", failures=0, cooldown_seconds=0.0,
                                           verify_requested=False))
        except IntegrityError:
            pass  # another sender made the row a moment ago
        row = db.session.scalar(query)
    return row


def read_breaker() -> tuple[Breaker, bool, datetime | None]:
    """Return the breaker, whether verification is requested, and when it last ran."""
    row = db.session.scalar(select(SenderState).where(SenderState.name == SENDER)
                            .execution_options(populate_existing=True))
    db.session.commit()
    if row is None:
        return Breaker(), False, None
    return (Breaker(row.breaker_state, row.failures, row.retry_at, row.cooldown_seconds), row.verify_requested,
            row.last_verified_at)


def write_breaker(breaker: Breaker, now: datetime) -> None:
    begin_write()
    row = _state_row(lock=True)
    if row.breaker_state == "open" and breaker.state == "closed":
        _waiting_due_now(now)  # the trial got through: what backed off during the outage goes now
    row.breaker_state, row.failures, row.retry_at = breaker.state, breaker.failures, breaker.retry_at
    row.cooldown_seconds, row.updated_at = breaker.cooldown_seconds, now
    db.session.commit()


def _waiting_due_now(now: datetime) -> None:
    db.session.execute(update(OutboxItem).where(OutboxItem.state == PENDING, OutboxItem.next_attempt_at > now)
                       .values(next_attempt_at=now).execution_options(synchronize_session=False))


def on_recovery(now: datetime) -> None:
    """The monitor saw the main server return: trial at once, waiting items due now, verify registrations."""
    begin_write()
    row = _state_row(lock=True)
    if row.breaker_state == "open":
        row.retry_at = now
    row.verify_requested = True
    row.updated_at = now
    _waiting_due_now(now)
    db.session.commit()


def request_verification(now: datetime) -> None:
    begin_write()
    row = _state_row(lock=True)
    row.verify_requested, row.updated_at = True, now
    db.session.commit()


def verification_done(now: datetime) -> None:
    begin_write()
    row = _state_row(lock=True)
    row.verify_requested, row.last_verified_at, row.updated_at = False, now, now
    db.session.commit()
