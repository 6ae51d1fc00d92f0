"""Tables of the status monitor: components, probe results, incidents, reserve, notifications.

Every time is naive UTC (core.clock.utcnow). Work that must happen once (opening an
incident, activating the reserve routine, sending a mail, claiming a recovery event)
is guarded by a unique "slot" column or a conditional UPDATE, never by process memory.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text, event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from status.machine import STATES
from status.scenarios import INCIDENT_STATUSES, TRACKS, Scenario


def _in(column: str, values) -> str:  # noqa: ANN001
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


class Component(db.Model):
    """Something the status page reports on: probed, heartbeat-fed or set by IT staff."""

    __tablename__ = "status_components"
    __table_args__ = (
        CheckConstraint(_in("state", STATES + ("unknown",)), name="state_known"),
        CheckConstraint(_in("kind", ("probe", "heartbeat", "manual")), name="kind_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(12))
    position: Mapped[int] = mapped_column(Integer, default=0)
    state: Mapped[str] = mapped_column(String(12), default="up")
    # The state the machine resumes from when a maintenance window ends.
    paused_state: Mapped[str | None] = mapped_column(String(12))
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    consecutive_successes: Mapped[int] = mapped_column(Integer, default=0)
    failure_started_at: Mapped[datetime | None] = mapped_column(DateTime)
    recovery_started_at: Mapped[datetime | None] = mapped_column(DateTime)
    state_changed_at: Mapped[datetime | None] = mapped_column(DateTime)
    monitored_since: Mapped[datetime | None] = mapped_column(DateTime)
    last_checked_at: Mapped[datetime | None] = mapped_column(DateTime)
    next_check_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Bumped on every machine update; writers compare-and-set it.
    version: Mapped[int] = mapped_column(Integer, default=0)


class ProbeResult(db.Model):
    """One check of a component: when, how long it took, and how it went."""

    __tablename__ = "status_probe_results"
    __table_args__ = (Index("ix_status_probe_results_component_at", "component_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    component_id: Mapped[int] = mapped_column(ForeignKey("status_components.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(DateTime)
    ok: Mapped[bool] = mapped_column(Boolean)
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str] = mapped_column(String(120), default="")
    in_maintenance: Mapped[bool] = mapped_column(Boolean, default=False)


class Outage(db.Model):
    """A confirmed down period of one component (availability is computed from these)."""

    __tablename__ = "status_outages"
    __table_args__ = (Index("ix_status_outages_component_started", "component_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    component_id: Mapped[int] = mapped_column(ForeignKey("status_components.id", ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)


class MaintenanceWindow(db.Model):
    """Planned work: down is suppressed and the four-hour clock pauses inside it."""

    __tablename__ = "status_maintenance_windows"
    __table_args__ = (CheckConstraint("ends_at > starts_at", name="ends_after_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    component_id: Mapped[int] = mapped_column(ForeignKey("status_components.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime] = mapped_column(DateTime)
    ends_at: Mapped[datetime] = mapped_column(DateTime)
    reason: Mapped[str] = mapped_column(String(500))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime)

    component: Mapped[Component] = relationship()


class Incident(db.Model):
    """A confirmed disturbance of one track (outage, customer-service contact, telephony)."""

    __tablename__ = "status_incidents"
    __table_args__ = (
        CheckConstraint(_in("track", TRACKS), name="track_known"),
        CheckConstraint(_in("scenario", [s.value for s in Scenario]), name="scenario_known"),
        CheckConstraint(_in("status", INCIDENT_STATUSES), name="status_known"),
        CheckConstraint("reserve_slot IS NULL OR reserve_slot = 'active'", name="reserve_slot_value"),
        CheckConstraint(_in("reserve_activated_by", ("system", "user")) + " OR reserve_activated_by IS NULL",
                        name="reserve_activated_by_known"),
        Index("ix_status_incidents_started_at", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    track: Mapped[str] = mapped_column(String(20))
    # Equal to `track` while the incident is open, NULL once resolved: at most one open per track.
    open_track: Mapped[str | None] = mapped_column(String(20), unique=True)
    scenario: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="investigating")
    started_at: Mapped[datetime] = mapped_column(DateTime)  # the first failed probe
    detected_at: Mapped[datetime] = mapped_column(DateTime)  # the confirmation
    recovered_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    reserve_due_at: Mapped[datetime | None] = mapped_column(DateTime)
    escalated_off_duty: Mapped[bool] = mapped_column(Boolean, default=False)

    prognosis_text: Mapped[str | None] = mapped_column(Text)
    prognosis_until: Mapped[datetime | None] = mapped_column(DateTime)
    prognosis_at: Mapped[datetime | None] = mapped_column(DateTime)
    prognosis_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    # 'active' while the reserve routine applies, else NULL: at most one reserve period at a time.
    reserve_slot: Mapped[str | None] = mapped_column(String(10), unique=True)
    reserve_activated_at: Mapped[datetime | None] = mapped_column(DateTime)
    reserve_activated_by: Mapped[str | None] = mapped_column(String(10))  # 'system' or 'user'
    reserve_activated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reserve_activation_reason: Mapped[str | None] = mapped_column(Text)
    reserve_ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    reserve_ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reserve_end_reason: Mapped[str | None] = mapped_column(Text)

    servicedesk_reference: Mapped[str | None] = mapped_column(String(80))

    updates: Mapped[list[IncidentUpdate]] = relationship(
        back_populates="incident", order_by="IncidentUpdate.id", cascade="all, delete-orphan"
    )

    @property
    def reserve_active(self) -> bool:
        return self.reserve_slot is not None

    @property
    def is_open(self) -> bool:
        return self.open_track is not None


class IncidentUpdate(db.Model):
    """One entry of an incident's timeline; append-only."""

    __tablename__ = "status_incident_updates"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("status_incidents.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    kind: Mapped[str] = mapped_column(String(20))  # opened, status, prognosis, reserve, scenario, recovered, ...
    status: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # NULL: the system

    incident: Mapped[Incident] = relationship(back_populates="updates")


@event.listens_for(IncidentUpdate, "before_update")
def _timeline_is_append_only(_mapper, _connection, target: IncidentUpdate) -> None:  # noqa: ANN001
    raise ValueError(f"incident update {target.id} is append-only")


class Driftinfo(db.Model):
    """An operational notice published by IT staff (seed 001: only IT publishes driftinfo).

    It is current until it is withdrawn, its `valid_until` passes, or the incident it is about is
    over; then it leaves the status page for the archive (status.rules.driftinfo_ended_at).
    """

    __tablename__ = "status_driftinfo"
    __table_args__ = (
        CheckConstraint("withdrawn_at IS NULL OR withdrawal_reason IS NOT NULL", name="withdrawal_has_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("status_incidents.id", ondelete="SET NULL"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    valid_until: Mapped[datetime | None] = mapped_column(DateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime)
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdrawal_reason: Mapped[str | None] = mapped_column(Text)

    incident: Mapped[Incident | None] = relationship()


class Subscriber(db.Model):
    """An e-mail address that asked for status mails; active only once confirmed (double opt-in)."""

    __tablename__ = "status_subscribers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    confirmation_sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime)


class Notification(db.Model):
    """One message to send, once: the unique key remembers it across restarts."""

    __tablename__ = "status_notifications"
    __table_args__ = (
        CheckConstraint(_in("channel", ("email", "webhook")), name="channel_known"),
        Index("ix_status_notifications_pending", "sent_at", "failed_at", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    purpose: Mapped[str] = mapped_column(String(20))  # escalation, subscriber, confirmation, servicedesk
    channel: Mapped[str] = mapped_column(String(10), default="email")
    # A fixed address (escalation) or a subscriber, whose address is read when sending.
    recipient: Mapped[str | None] = mapped_column(String(254))
    subscriber_id: Mapped[int | None] = mapped_column(ForeignKey("status_subscribers.id", ondelete="CASCADE"),
                                                      index=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("status_incidents.id", ondelete="SET NULL"))
    subject: Mapped[str] = mapped_column(String(250))
    body: Mapped[str] = mapped_column(Text)
    unsubscribe_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(80))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    failed_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(String(300))


class RecoveryEvent(db.Model):
    """The main server is back: the sync engine claims this exactly once (processed_at NULL → set)."""

    __tablename__ = "status_recovery_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("status_incidents.id", ondelete="CASCADE"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    processed_by: Mapped[str | None] = mapped_column(String(80))


class MonitorLease(db.Model):
    """The single-monitor lease on stores without advisory locks (SQLite)."""

    __tablename__ = "status_monitor_leases"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    owner: Mapped[str | None] = mapped_column(String(80))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
