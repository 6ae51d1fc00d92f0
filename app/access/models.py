"""Access applications (new account, change, termination) and the single-use tokens of the access flows."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Column, Date, DateTime, ForeignKey, Index, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.access.rules import ChangeType, Kind, Status, TokenPurpose, reference
from core.auth.roles import Role
from core.extensions import db
from core.models import PrescribingUnit, ProductArea, User
from core.models._columns import created_at_column


def _in(column: str, values) -> str:  # noqa: ANN001
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


application_product_areas = Table(
    "access_application_product_areas",
    db.metadata,
    Column("application_id", ForeignKey("access_applications.id", ondelete="CASCADE"), primary_key=True),
    Column("product_area_id", ForeignKey("product_areas.id"), primary_key=True),
)

application_units = Table(
    "access_application_units",
    db.metadata,
    Column("application_id", ForeignKey("access_applications.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", ForeignKey("prescribing_units.id", ondelete="CASCADE"), primary_key=True),
)


class AccessApplication(db.Model):
    """One application on the seed's form: who, where, what, and the responsible manager."""

    __tablename__ = "access_applications"
    __table_args__ = (
        CheckConstraint(_in("kind", Kind), name="kind_known"),
        CheckConstraint(f"change_type IS NULL OR {_in('change_type', ChangeType)}", name="change_type_known"),
        CheckConstraint(_in("status", Status), name="status_known"),
        CheckConstraint(f"role IS NULL OR {_in('role', Role)}", name="role_known"),
        Index("ix_access_applications_status_submitted_at", "status", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))
    change_type: Mapped[str | None] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(12), default=Status.SUBMITTED.value)
    # The account concerned: named by the applicant for a change or termination, chosen by the admin for a new one.
    username: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(150))
    new_name: Mapped[str | None] = mapped_column(String(150))
    hsa_id: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    workplace: Mapped[str | None] = mapped_column(String(150))
    role: Mapped[str | None] = mapped_column(String(30))
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    manager_name: Mapped[str] = mapped_column(String(150))
    manager_email: Mapped[str] = mapped_column(String(254))
    manager_phone: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime] = created_at_column()
    # What the admin found missing when returning it (field names), and their comment or reason.
    missing: Mapped[str | None] = mapped_column(String(300))
    decision_note: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    product_areas: Mapped[list[ProductArea]] = relationship(secondary=application_product_areas, lazy="selectin")
    units: Mapped[list[PrescribingUnit]] = relationship(secondary=application_units, lazy="selectin")
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])

    @property
    def reference(self) -> str:
        return reference(self.id)

    @property
    def kind_enum(self) -> Kind:
        return Kind(self.kind)

    @property
    def change_enum(self) -> ChangeType | None:
        return ChangeType(self.change_type) if self.change_type else None

    @property
    def status_enum(self) -> Status:
        return Status(self.status)

    @property
    def missing_list(self) -> list[str]:
        return [m for m in (self.missing or "").split(",") if m]

    @property
    def role_label(self) -> str:
        return Role(self.role).label if self.role else ""


class AccessToken(db.Model):
    """A single-use, expiring link token; only its SHA-256 is stored."""

    __tablename__ = "access_tokens"
    __table_args__ = (
        CheckConstraint(_in("purpose", TokenPurpose), name="purpose_known"),
        Index("ix_access_tokens_user_id_purpose", "user_id", "purpose"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(24))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    application_id: Mapped[int | None] = mapped_column(
        ForeignKey("access_applications.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = created_at_column()
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)

    user: Mapped[User | None] = relationship()
    application: Mapped[AccessApplication | None] = relationship()
