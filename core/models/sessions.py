"""Server-side login sessions: the browser's cookie holds only a random id, the store holds the rest."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db


class UserSession(db.Model):
    __tablename__ = "user_sessions"
    __table_args__ = (Index("ix_user_sessions_last_seen_at", "last_seen_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # SHA-256 of the cookie's id; the id itself is only ever in the browser.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # None for a visitor who is not logged in (a CSRF token or a flash message before login).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    data: Mapped[str] = mapped_column(Text)  # Flask's tagged JSON of the session dict
    created_at: Mapped[datetime] = mapped_column(DateTime)
    # Touched at most once a minute (core.auth.rules.touch_due), so reads stay reads.
    last_seen_at: Mapped[datetime] = mapped_column(DateTime)
    browser: Mapped[str | None] = mapped_column(String(80))  # "Firefox på Windows", shown on My page
