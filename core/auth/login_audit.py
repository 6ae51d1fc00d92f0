"""Every login, kept in the store: who, when and how (SITHS or password); never in the application log."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from core.clock import utcnow
from core.extensions import db

SITHS = "siths"
PASSWORD = "password"
METHOD_LABELS = {SITHS: "SITHS", PASSWORD: "lösenord"}


class LoginEvent(db.Model):
    __tablename__ = "login_events"
    __table_args__ = (CheckConstraint("method IN ('siths', 'password')", name="method_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    method: Mapped[str] = mapped_column(String(10))

    @property
    def method_label(self) -> str:
        return METHOD_LABELS[self.method]
