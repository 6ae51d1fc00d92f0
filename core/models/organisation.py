"""Prescribing units (kunder), their payers per product area, and warehouses."""
from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.models.catalogue import ProductArea

CENTRAL_WAREHOUSE_NUMBER = 10  # lager 10, HMS


class PrescribingUnit(db.Model):
    __tablename__ = "prescribing_units"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_number: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(150))

    payers: Mapped[list[UnitPayer]] = relationship(back_populates="unit", cascade="all, delete-orphan")

    def payer_for(self, product_area_id: int) -> UnitPayer | None:
        """Return the payer of this unit for a product area, if it has one."""
        return next((p for p in self.payers if p.product_area_id == product_area_id), None)

    def __repr__(self) -> str:
        return f"<PrescribingUnit {self.customer_number}>"


class UnitPayer(db.Model):
    __tablename__ = "unit_payers"
    __table_args__ = (UniqueConstraint("unit_id", "product_area_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("prescribing_units.id", ondelete="CASCADE"))
    product_area_id: Mapped[int] = mapped_column(ForeignKey("product_areas.id"))
    payer_name: Mapped[str] = mapped_column(String(150))

    unit: Mapped[PrescribingUnit] = relationship(back_populates="payers")
    product_area: Mapped[ProductArea] = relationship()


class Warehouse(db.Model):
    __tablename__ = "warehouses"
    __table_args__ = (CheckConstraint("kind IN ('central', 'municipal')", name="kind_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(unique=True)
    name: Mapped[str] = mapped_column(String(150))
    kind: Mapped[str] = mapped_column(String(20))
    # The care unit that owns a municipal stock; none for the central warehouse.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("prescribing_units.id"))

    unit: Mapped[PrescribingUnit | None] = relationship()

    @property
    def is_central(self) -> bool:
        return self.number == CENTRAL_WAREHOUSE_NUMBER
