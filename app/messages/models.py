"""Messages to My page: the message, one delivery row per recipient, and its attachments.

A message to a unit is delivered to the unit's users at the moment it is sent, so the
unread count of a user is one indexed count over their own delivery rows.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.models import PrescribingUnit, User
from core.models._columns import created_at_column

SUBJECT_MAX = 150
BODY_MAX = 5000


class Message(db.Model):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    sender_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    subject: Mapped[str] = mapped_column(String(SUBJECT_MAX))
    body: Mapped[str] = mapped_column(Text)
    # Exactly one of the two says to whom it was addressed; the deliveries say who got it.
    recipient_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recipient_unit_id: Mapped[int | None] = mapped_column(ForeignKey("prescribing_units.id"))
    created_at: Mapped[datetime] = created_at_column()

    sender: Mapped[User] = relationship(foreign_keys=[sender_id])
    recipient_user: Mapped[User | None] = relationship(foreign_keys=[recipient_user_id])
    recipient_unit: Mapped[PrescribingUnit | None] = relationship()
    deliveries: Mapped[list[MessageDelivery]] = relationship(back_populates="message", cascade="all, delete-orphan")
    attachments: Mapped[list[MessageAttachment]] = relationship(
        back_populates="message", cascade="all, delete-orphan", order_by="MessageAttachment.id", lazy="selectin"
    )

    @property
    def addressed_to(self) -> str:
        if self.recipient_unit is not None:
            return f"{self.recipient_unit.customer_number} {self.recipient_unit.name}"
        return self.recipient_user.name if self.recipient_user else ""


class MessageDelivery(db.Model):
    """A message in one user's inbox; read_at is set the first time they open it."""

    __tablename__ = "message_deliveries"
    # The start-page notice counts a user's unread deliveries on every visit.
    __table_args__ = (Index("ix_message_deliveries_user_id_read_at", "user_id", "read_at"),)

    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    read_at: Mapped[datetime | None] = mapped_column(DateTime)

    message: Mapped[Message] = relationship(back_populates="deliveries")
    user: Mapped[User] = relationship()


class MessageAttachment(db.Model):
    """A file sent with a message; the bytes live under the instance folder, named by storage_key."""

    __tablename__ = "message_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(120))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(64), unique=True)

    message: Mapped[Message] = relationship(back_populates="attachments")
