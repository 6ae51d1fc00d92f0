"""The mail outbox: every e-mail the product sends is a row here, queued in its change's transaction."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db

MAIL_QUEUED = "queued"
MAIL_SENT = "sent"
MAIL_FAILED = "failed"
MAIL_STATES = (MAIL_QUEUED, MAIL_SENT, MAIL_FAILED)


class OutgoingMail(db.Model):
    """One plain-text mail; subject and body were screened for personal data when it was queued."""

    __tablename__ = "outgoing_mail"
    __table_args__ = (
        CheckConstraint("state IN ('queued', 'sent', 'failed')", name="state_known"),
        Index("ix_outgoing_mail_due", "state", "next_attempt_at"),
        Index("ix_outgoing_mail_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(250))
    body: Mapped[str] = mapped_column(Text)
    headers: Mapped[str | None] = mapped_column(Text)  # JSON object of extra headers (List-Unsubscribe)
    message_id: Mapped[str] = mapped_column(String(250))  # fixed when queued: a retry is the same message
    state: Mapped[str] = mapped_column(String(10), default=MAIL_QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(300))  # e.g. "SMTP unreachable (ConnectionRefusedError)"
    created_at: Mapped[datetime] = mapped_column(DateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    # A deliverer owns the row until then; one that died frees it when the time has passed.
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(80))
