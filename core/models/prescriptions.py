"""Prescriptions (förskrivningar) and their rows (förskrivningsrader)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Index, Numeric, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.models._columns import created_at_column
from core.models.catalogue import Article, ProductArea
from core.models.organisation import PrescribingUnit
from core.models.patients import Patient
from core.models.users import User

ROW_ACTIVE = "active"
ROW_DELIVERED = "delivered"  # every withdrawal taken
ROW_CANCELLED = "cancelled"  # makulerad
ROW_EXPIRED = "expired"  # older than its year, closed when next touched
ROW_STATUSES = (ROW_ACTIVE, ROW_DELIVERED, ROW_CANCELLED, ROW_EXPIRED)
_STATUS_VALUES = ", ".join(f"'{s}'" for s in ROW_STATUSES)


class Prescription(db.Model):
    __tablename__ = "prescriptions"
    __table_args__ = (CheckConstraint("number BETWEEN 100000000 AND 999999999", name="number_nine_digits"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    prescriber_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("prescribing_units.id"))
    product_area_id: Mapped[int] = mapped_column(ForeignKey("product_areas.id"))
    prescribed_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = created_at_column()

    patient: Mapped[Patient] = relationship()
    prescriber: Mapped[User] = relationship()
    unit: Mapped[PrescribingUnit] = relationship()
    product_area: Mapped[ProductArea] = relationship()
    rows: Mapped[list[PrescriptionRow]] = relationship(
        back_populates="prescription", order_by="PrescriptionRow.id", cascade="all, delete-orphan"
    )


class PrescriptionRow(db.Model):
    __tablename__ = "prescription_rows"
    __table_args__ = (
        CheckConstraint("packages_per_withdrawal > 0", name="packages_positive"),
        CheckConstraint("withdrawals > 0", name="withdrawals_positive"),
        CheckConstraint("period_days > 0", name="period_positive"),
        CheckConstraint("withdrawals_used >= 0 AND withdrawals_used <= withdrawals", name="withdrawals_used_in_range"),
        CheckConstraint(f"status IN ({_STATUS_VALUES})", name="status_known"),
        # Only one active row per patient and article, ever (SPEC section 3).
        Index(
            "uq_prescription_rows_one_active_per_article",
            "patient_id",
            "article_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        Index("ix_prescription_rows_article_status", "article_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    prescription_id: Mapped[int] = mapped_column(ForeignKey("prescriptions.id", ondelete="CASCADE"), index=True)
    # Copied from the prescription so the one-active-row rule can be a database index.
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"))
    packages_per_withdrawal: Mapped[int]
    # Set when the prescriber gave the quantity as pieces per day.
    pieces_per_day: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    period_days: Mapped[int]
    withdrawals: Mapped[int]
    withdrawals_used: Mapped[int] = mapped_column(default=0)
    recommendation: Mapped[str | None] = mapped_column(Text)
    valid_until: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default=ROW_ACTIVE)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    copied_from_id: Mapped[int | None] = mapped_column(ForeignKey("prescription_rows.id"))

    prescription: Mapped[Prescription] = relationship(back_populates="rows")
    article: Mapped[Article] = relationship()
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])

    @property
    def withdrawals_left(self) -> int:
        return self.withdrawals - self.withdrawals_used

    def is_active_on(self, today: date) -> bool:
        return self.status == ROW_ACTIVE and self.valid_until >= today

    def display_status(self, today: date) -> str:
        """Return the Swedish status shown in the overview; expiry follows the date."""
        if self.status == ROW_ACTIVE:
            return "Aktiv" if self.valid_until >= today else "Utgått"
        return {ROW_DELIVERED: "Levererad", ROW_CANCELLED: "Makulerad", ROW_EXPIRED: "Utgått"}[self.status]
