"""Tables of the sync engine: the outbox, every attempt, runs, the audit trail, breaker and pull state.

Every time is naive UTC (core.clock.utcnow). An item is claimed with a conditional UPDATE on
its state and lease, so a restarted or second sender can never act on it twice; its backoff
(next_attempt_at) and lease live on the row, so they survive a kill.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text, event, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.models import User
from sync.rules import CHANNELS, HOLDS_QUEUE, KINDS, STATES


def _in(column: str, values) -> str:  # noqa: ANN001
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


WAITING_SQL = _in("state", HOLDS_QUEUE)  # written the same in the claim query, so SQLite uses the index


class OutboxItem(db.Model):
    """One change that must reach the main server, written in the same transaction as the change."""

    __tablename__ = "sync_outbox"
    __table_args__ = (
        CheckConstraint(_in("state", STATES), name="state_known"),
        CheckConstraint(_in("kind", KINDS), name="kind_known"),
        CheckConstraint(_in("channel", CHANNELS), name="channel_known"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        # An item in flight always has its owner and the end of its lease.
        CheckConstraint("state <> 'in_flight' OR (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL)",
                        name="in_flight_has_lease"),
        CheckConstraint("state <> 'acked' OR server_id IS NOT NULL", name="acked_has_server_id"),
        Index("ix_sync_outbox_claim", "state", "priority", "id"),
        Index("ix_sync_outbox_ordering", "ordering_key", "created_at", "id"),
        # Only items still waiting to go: the FIFO check reads this, never a key's whole history.
        Index("ix_sync_outbox_waiting", "ordering_key", "created_at", "id",
              sqlite_where=text(WAITING_SQL), postgresql_where=text(WAITING_SQL)),
        Index("ix_sync_outbox_registered_at", "registered_at"),
        Index("ix_sync_outbox_state_changed", "state", "state_changed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(36), unique=True)
    kind: Mapped[str] = mapped_column(String(24))
    priority: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(12))
    # Items with the same ordering key (a patient, an order) go out in capture order.
    ordering_key: Mapped[str | None] = mapped_column(String(80))
    # Sent only after the parent is registered; blocked while the parent is in conflict or dead.
    parent_key: Mapped[str | None] = mapped_column(String(36), index=True)
    # The local record the item registers, e.g. "prescription:12" or "prescription_row:34".
    subject_ref: Mapped[str | None] = mapped_column(String(80), index=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("status_incidents.id", ondelete="SET NULL"),
                                                    index=True)
    channel: Mapped[str] = mapped_column(String(10), default="app")
    # Frozen at capture: canonical JSON (sorted keys) and its SHA-256; never changed afterwards.
    payload: Mapped[str] = mapped_column(Text)
    payload_hash: Mapped[str] = mapped_column(String(64))
    requires_review: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    state_changed_at: Mapped[datetime] = mapped_column(DateTime)

    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # The last send may have reached the server without us hearing back: ask /have before resending.
    uncertain: Mapped[bool] = mapped_column(Boolean, default=False)
    # Isolated after a batch was refused as a whole, so one bad item cannot hold up the rest.
    send_alone: Mapped[bool] = mapped_column(Boolean, default=False)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(80))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(String(300))

    server_id: Mapped[str | None] = mapped_column(String(80))
    registered_at: Mapped[datetime | None] = mapped_column(DateTime)
    problem: Mapped[str | None] = mapped_column(Text)  # the server's conflict or refusal, JSON
    conflict_server_id: Mapped[str | None] = mapped_column(String(80))
    resolution: Mapped[str | None] = mapped_column(String(20))

    # An edit (or a conflict sent anew) is a new item with a new key; the two point at each other.
    supersedes_key: Mapped[str | None] = mapped_column(String(36), index=True)
    superseded_by_key: Mapped[str | None] = mapped_column(String(36))

    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])

    @property
    def data(self) -> dict[str, Any]:
        """Return the frozen payload as a dict (a copy: the frozen text is what counts)."""
        return json.loads(self.payload)

    @property
    def problem_data(self) -> dict[str, Any] | None:
        return json.loads(self.problem) if self.problem else None

    def __repr__(self) -> str:
        # Never the payload: it may hold a personnummer, and reprs end up in logs.
        return f"<OutboxItem {self.id} {self.kind} {self.state}>"


class SyncRun(db.Model):
    """One pass of a sender: what triggered it and what came of it."""

    __tablename__ = "sync_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    worker: Mapped[str] = mapped_column(String(80))
    trigger: Mapped[str] = mapped_column(String(20))  # recovery, schedule, command, resolution
    recovery_event_id: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    batches: Mapped[int] = mapped_column(Integer, default=0)
    sent: Mapped[int] = mapped_column(Integer, default=0)
    registered: Mapped[int] = mapped_column(Integer, default=0)
    conflicts: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str | None] = mapped_column(String(300))


class SyncAttempt(db.Model):
    """One attempt of one item: when, in which run, how it went."""

    __tablename__ = "sync_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("sync_outbox.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("sync_runs.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(DateTime)
    # created, duplicate, key_reused, in_progress, conflict, invalid, known (by /have), unknown (by /have),
    # transport, ambiguous, refused, lease_expired
    outcome: Mapped[str] = mapped_column(String(20))
    server_id: Mapped[str | None] = mapped_column(String(80))
    error: Mapped[str | None] = mapped_column(String(300))


class SyncAudit(db.Model):
    """Append-only record of what a person did to an item: approve, edit, cancel, resolve, retry."""

    __tablename__ = "sync_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("sync_outbox.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # NULL: the system
    action: Mapped[str] = mapped_column(String(30))
    note: Mapped[str | None] = mapped_column(Text)
    details: Mapped[str | None] = mapped_column(Text)  # JSON: new key, server id, changed fields

    actor: Mapped[User | None] = relationship()


@event.listens_for(SyncAudit, "before_update")
def _audit_is_append_only(_mapper, _connection, target: SyncAudit) -> None:  # noqa: ANN001
    raise ValueError(f"sync audit entry {target.id} is append-only")


class SenderState(db.Model):
    """The sender's circuit breaker and when acked items were last verified against the server."""

    __tablename__ = "sync_sender_state"
    __table_args__ = (CheckConstraint(_in("breaker_state", ("closed", "open")), name="breaker_state_known"),)

    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    breaker_state: Mapped[str] = mapped_column(String(10), default="closed")
    failures: Mapped[int] = mapped_column(Integer, default=0)
    retry_at: Mapped[datetime | None] = mapped_column(DateTime)
    cooldown_seconds: Mapped[float] = mapped_column(default=0.0)
    last_verified_at: Mapped[datetime | None] = mapped_column(DateTime)
    verify_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime)


class PullState(db.Model):
    """Where the changes feed stands: the cursor moves in the same transaction as the data it brought."""

    __tablename__ = "sync_pull_state"

    name: Mapped[str] = mapped_column(String(20), primary_key=True)
    cursor: Mapped[str | None] = mapped_column(String(80))
    next_pull_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(DateTime)  # "data as of"
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(String(300))
    articles: Mapped[int] = mapped_column(Integer, default=0)
    patients: Mapped[int] = mapped_column(Integer, default=0)
    withdrawals: Mapped[int] = mapped_column(Integer, default=0)


class WithdrawalStatus(db.Model):
    """The main server's latest status of a withdrawal (U-number), as pulled from the changes feed."""

    __tablename__ = "sync_withdrawal_statuses"

    u_number: Mapped[str] = mapped_column(String(10), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    changed_at: Mapped[datetime | None] = mapped_column(DateTime)
    pulled_at: Mapped[datetime] = mapped_column(DateTime)
