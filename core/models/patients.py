"""Patients and their contact persons."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.models._columns import created_at_column

NUTRITION_FULL = "full_nutrition"  # fullnutrition (the seed's word); blank (None) means the patient pays 50 %


class Patient(db.Model):
    __tablename__ = "patients"
    __table_args__ = (
        CheckConstraint("length(personnummer) = 12", name="personnummer_twelve_digits"),
        CheckConstraint(
            f"nutrition_category IS NULL OR nutrition_category = '{NUTRITION_FULL}'",
            name="nutrition_category_known",
        ),
        Index("ix_patients_last_name_first_name", "last_name", "first_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # ÅÅÅÅMMDDXXXX, validated before it is stored; unique index also serves prefix search.
    personnummer: Mapped[str] = mapped_column(String(12), unique=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))

    # Folkbokföringsadress, taken from the population register on first fetch.
    registered_street: Mapped[str | None] = mapped_column(String(150))
    registered_postal_code: Mapped[str | None] = mapped_column(String(10))
    registered_city: Mapped[str | None] = mapped_column(String(100))
    registered_address_fetched_at: Mapped[datetime | None] = mapped_column(DateTime)

    # Leveransadress; blank means deliver to the registered address.
    delivery_street: Mapped[str | None] = mapped_column(String(150))
    delivery_postal_code: Mapped[str | None] = mapped_column(String(10))
    delivery_city: Mapped[str | None] = mapped_column(String(100))

    nutrition_category: Mapped[str | None] = mapped_column(String(20))
    special_housing: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = created_at_column()

    contact_persons: Mapped[list[ContactPerson]] = relationship(
        back_populates="patient", cascade="all, delete-orphan", order_by="ContactPerson.id"
    )

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def __repr__(self) -> str:
        # Never the personnummer or the name: reprs end up in logs.
        return f"<Patient id={self.id}>"


class ContactPerson(db.Model):
    __tablename__ = "contact_persons"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(150))
    relation: Mapped[str | None] = mapped_column(String(60))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))

    patient: Mapped[Patient] = relationship(back_populates="contact_persons")

    def __repr__(self) -> str:
        return f"<ContactPerson id={self.id}>"
