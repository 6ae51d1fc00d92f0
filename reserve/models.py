"""Tables of the reserve routine: checklists, captured items, reserve numbers, call log, kit, drills.

Every time is naive UTC (core.clock.utcnow). Checklists belong to status incidents; captured
items carry a reserve number from a range reserved in advance and go to the sync engine's
outbox in the same transaction as they are saved.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.models import Article, Patient, PrescribingUnit, Prescription, User
from reserve.rules import CHANNELS, ITEM_STATUSES, KINDS, MAX_PACKAGES, MIN_PACKAGES, format_reserve_number


def _in(column: str, values) -> str:  # noqa: ANN001
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


class Checklist(db.Model):
    """A runbook instantiated for one incident: its steps, with who did them, when and a note."""

    __tablename__ = "reserve_checklists"
    __table_args__ = (UniqueConstraint("incident_id", "runbook_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("status_incidents.id", ondelete="CASCADE"), index=True)
    runbook_key: Mapped[str] = mapped_column(String(60))
    runbook_digest: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    base_at: Mapped[datetime] = mapped_column(DateTime)  # deadlines count from here
    created_at: Mapped[datetime] = mapped_column(DateTime)
    # Set when the incident was reclassified to another scenario; its successor took over.
    superseded_at: Mapped[datetime | None] = mapped_column(DateTime)

    steps: Mapped[list[ChecklistStep]] = relationship(
        back_populates="checklist", order_by="ChecklistStep.position", cascade="all, delete-orphan")


class ChecklistStep(db.Model):
    __tablename__ = "reserve_checklist_steps"
    __table_args__ = (UniqueConstraint("checklist_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    checklist_id: Mapped[int] = mapped_column(ForeignKey("reserve_checklists.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(40))
    deadline_minutes: Mapped[int | None] = mapped_column(Integer)
    due_at: Mapped[datetime | None] = mapped_column(DateTime)
    record: Mapped[str] = mapped_column(Text)
    automatic: Mapped[str | None] = mapped_column(String(60))
    note_required: Mapped[bool] = mapped_column(Boolean, default=False)
    not_applicable: Mapped[bool] = mapped_column(Boolean, default=False)
    done_at: Mapped[datetime | None] = mapped_column(DateTime)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    done_by_system: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(Text)

    checklist: Mapped[Checklist] = relationship(back_populates="steps")
    done_by: Mapped[User | None] = relationship()

    @property
    def actor(self) -> str | None:
        """Return who did the step: "system", the user's name, or None while it is open."""
        if self.done_at is None:
            return None
        if self.done_by_system:
            return "system"
        return self.done_by.name if self.done_by else None


class ReserveNumber(db.Model):
    """One number of a range reserved in advance: free, printed on a kit form, or used by an item."""

    __tablename__ = "reserve_numbers"
    __table_args__ = (
        CheckConstraint(_in("state", ("free", "printed", "used")), name="state_known"),
        Index("ix_reserve_numbers_state_number", "state", "number"),
    )

    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    state: Mapped[str] = mapped_column(String(10), default="free")
    reserved_at: Mapped[datetime] = mapped_column(DateTime)
    printed_at: Mapped[datetime | None] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)

    @property
    def text(self) -> str:
        return format_reserve_number(self.number)


class ReserveItem(db.Model):
    """An order, stock move, acute prescription or work order captured during the outage."""

    __tablename__ = "reserve_items"
    __table_args__ = (
        CheckConstraint(_in("kind", KINDS), name="kind_known"),
        CheckConstraint(_in("channel", CHANNELS), name="channel_known"),
        CheckConstraint(_in("status", ITEM_STATUSES), name="status_known"),
        CheckConstraint(f"packages IS NULL OR packages BETWEEN {MIN_PACKAGES} AND {MAX_PACKAGES}",
                        name="packages_sane"),
        Index("ix_reserve_items_queue", "incident_id", "status", "priority", "captured_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)  # the reserve number
    kind: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(12), default="captured")
    priority: Mapped[int] = mapped_column(Integer)
    incident_id: Mapped[int] = mapped_column(ForeignKey("status_incidents.id"), index=True)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("prescribing_units.id"))
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id"))
    packages: Mapped[int | None] = mapped_column(Integer)
    responsible_prescriber_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    work_order_type: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    captured_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    captured_at: Mapped[datetime] = mapped_column(DateTime)
    # Flagged at capture, never merged: the earlier item that may be the same one.
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("reserve_items.id"))
    # A prescription captured for a patient who already had an active local row for the article.
    existing_row_id: Mapped[int | None] = mapped_column(ForeignKey("prescription_rows.id"))
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("reserve_items.id"))  # captured again after cancel
    outbox_key: Mapped[str | None] = mapped_column(String(36))  # the sync engine's item (no FK: its table)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime)
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    registered_at: Mapped[datetime | None] = mapped_column(DateTime)  # told by the sync engine
    main_server_id: Mapped[str | None] = mapped_column(String(80))
    # A work order taken by a technician (seed 004: "lämnas till ansvarig tekniker"); NULL: unassigned.
    technician_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    taken_at: Mapped[datetime | None] = mapped_column(DateTime)
    # An acute prescription, once registered: the local prescription made from it, so it shows where
    # prescribers look (the patient's overview, receipts, copy/correct).
    prescription_id: Mapped[int | None] = mapped_column(ForeignKey("prescriptions.id"), index=True)

    patient: Mapped[Patient | None] = relationship()
    unit: Mapped[PrescribingUnit | None] = relationship()
    article: Mapped[Article | None] = relationship()
    responsible_prescriber: Mapped[User | None] = relationship(foreign_keys=[responsible_prescriber_id])
    captured_by: Mapped[User] = relationship(foreign_keys=[captured_by_id])
    cancelled_by: Mapped[User | None] = relationship(foreign_keys=[cancelled_by_id])
    duplicate_of: Mapped[ReserveItem | None] = relationship(foreign_keys=[duplicate_of_id], remote_side=[id])
    technician: Mapped[User | None] = relationship(foreign_keys=[technician_id])
    prescription: Mapped[Prescription | None] = relationship(foreign_keys=[prescription_id])

    @property
    def reserve_number(self) -> str:
        return format_reserve_number(self.number)


class CallLogEntry(db.Model):
    """One call to customer service: time, caller type, topic, outcome; no personal data."""

    __tablename__ = "reserve_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    logged_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("status_incidents.id", ondelete="SET NULL"))
    caller_type: Mapped[str] = mapped_column(String(20))
    topic: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(String(500))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("reserve_items.id"))

    logged_by: Mapped[User] = relationship()
    item: Mapped[ReserveItem | None] = relationship()


class Kit(db.Model):
    """One generation of the printable kit (reservlåda), kept fresh while the system is up."""

    __tablename__ = "reserve_kits"

    id: Mapped[int] = mapped_column(primary_key=True)
    generated_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    data_as_of: Mapped[datetime | None] = mapped_column(DateTime)
    generated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # NULL: the hourly job

    documents: Mapped[list[KitDocument]] = relationship(
        back_populates="kit", order_by="KitDocument.id", cascade="all, delete-orphan")


class KitDocument(db.Model):
    __tablename__ = "reserve_kit_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    kit_id: Mapped[int] = mapped_column(ForeignKey("reserve_kits.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # order_forms, work_order_forms, unit_list, runbooks
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("prescribing_units.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(120))
    personal_data: Mapped[bool] = mapped_column(Boolean, default=False)
    patient_count: Mapped[int] = mapped_column(Integer, default=0)
    patient_ids: Mapped[str | None] = mapped_column(Text)  # JSON: whose data a download shows (access log)
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    size: Mapped[int] = mapped_column(Integer)

    kit: Mapped[Kit] = relationship(back_populates="documents")
    unit: Mapped[PrescribingUnit | None] = relationship()


class AwaitingRegistration(db.Model):
    """A prescription saved locally while the main server was out: it awaits registration there."""

    __tablename__ = "reserve_awaiting_registration"

    prescription_id: Mapped[int] = mapped_column(ForeignKey("prescriptions.id", ondelete="CASCADE"),
                                                 primary_key=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("status_incidents.id", ondelete="SET NULL"))
    marked_at: Mapped[datetime] = mapped_column(DateTime)
    registered_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    main_server_id: Mapped[str | None] = mapped_column(String(80))

    prescription: Mapped[Prescription] = relationship()


class Drill(db.Model):
    """An exercise of the whole routine in a sandbox store, and its report."""

    __tablename__ = "reserve_drills"
    __table_args__ = (CheckConstraint(_in("status", ("running", "finished", "failed")), name="status_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    started_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(10), default="running")
    report: Mapped[str | None] = mapped_column(Text)  # JSON
    sandbox: Mapped[str | None] = mapped_column(String(300))

    started_by: Mapped[User] = relationship()
