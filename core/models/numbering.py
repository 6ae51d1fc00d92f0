"""Number series (prescription numbers, U-numbers, reserve numbers) handed out by the store."""
from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db


class NumberSeries(db.Model):
    __tablename__ = "number_series"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    next_value: Mapped[int]
