"""Saved searches per user (advanced withdrawal and article searches)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.models._columns import created_at_column

SAVED_SEARCH_SCOPES = ("withdrawals", "products")
_SCOPE_VALUES = ", ".join(f"'{s}'" for s in SAVED_SEARCH_SCOPES)


class SavedSearch(db.Model):
    __tablename__ = "saved_searches"
    __table_args__ = (
        UniqueConstraint("user_id", "scope", "name"),
        CheckConstraint(f"scope IN ({_SCOPE_VALUES})", name="scope_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    scope: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(80))
    # The search form's query string, replayed as is when the search is opened.
    query: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = created_at_column()
