"""The access log of personal-data reads and searches (seed 003)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.models.patients import Patient
from core.models.users import User


class AccessLogEntry(db.Model):
    __tablename__ = "access_log"
    __table_args__ = (
        Index("ix_access_log_patient_at", "patient_id", "at"),
        Index("ix_access_log_user_at", "user_id", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    # What was done (search, overview, ...) and on which screen or API route.
    action: Mapped[str] = mapped_column(String(40))
    context: Mapped[str] = mapped_column(String(120))

    user: Mapped[User] = relationship()
    patient: Mapped[Patient] = relationship()


class AccessJournalFile(db.Model):
    """How much of one access-journal file is in `access_log` (core/privacy/access_journal.py)."""

    __tablename__ = "access_journal_files"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    ingested_bytes: Mapped[int] = mapped_column(BigInteger)
