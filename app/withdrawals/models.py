"""Withdrawals (uttag), orders of the three order types, outbound deliveries and stock levels."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.extensions import db
from core.models import Article, Patient, PrescribingUnit, PrescriptionRow, User, Warehouse
from core.models._columns import created_at_column
from app.withdrawals.rules import (
    Channel, OrderType, WithdrawalStatus, format_u_number,
)


def _in(values) -> str:  # noqa: ANN001
    return ", ".join(f"'{v.value}'" for v in values)


class Withdrawal(db.Model):
    __tablename__ = "withdrawals"
    __table_args__ = (
        CheckConstraint("number BETWEEN 100000000 AND 999999999", name="number_nine_digits"),
        CheckConstraint("packages > 0", name="packages_positive"),
        CheckConstraint(f"status IN ({_in(WithdrawalStatus)})", name="status_known"),
        CheckConstraint(f"channel IN ({_in(Channel)})", name="channel_known"),
        # The overview walks these newest first: all units, one unit, one unit's withdrawals of one
        # status (My page's needing action), one patient, one status.
        Index("ix_withdrawals_ordered_at", "ordered_at", "id"),
        Index("ix_withdrawals_unit_ordered_at", "unit_id", "ordered_at", "id"),
        Index("ix_withdrawals_unit_status_ordered_at", "unit_id", "status", "ordered_at", "id"),
        Index("ix_withdrawals_patient_ordered_at", "patient_id", "ordered_at", "id"),
        Index("ix_withdrawals_status_ordered_at", "status", "ordered_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(unique=True)  # the 9 digits of the U-number
    row_id: Mapped[int] = mapped_column(ForeignKey("prescription_rows.id"), index=True)
    # Copied from the row and its prescription so the overview filters without joins.
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("prescribing_units.id"))
    packages: Mapped[int]
    status: Mapped[str] = mapped_column(String(12), default=WithdrawalStatus.NEW.value)
    channel: Mapped[str] = mapped_column(String(20))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    ordered_at: Mapped[datetime] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime)
    delivered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    aborted_at: Mapped[datetime | None] = mapped_column(DateTime)
    aborted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    row: Mapped[PrescriptionRow] = relationship()
    patient: Mapped[Patient] = relationship()
    article: Mapped[Article] = relationship()
    unit: Mapped[PrescribingUnit] = relationship()
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])

    @property
    def u_number(self) -> str:
        return format_u_number(self.number)

    @property
    def state(self) -> WithdrawalStatus:
        return WithdrawalStatus(self.status)

    @property
    def status_label(self) -> str:
        return self.state.label

    @property
    def channel_label(self) -> str:
        return Channel(self.channel).label

    def __repr__(self) -> str:
        return f"<Withdrawal {self.u_number}>"


ORDER_AWAITING_OUTBOUND = "awaiting_outbound"  # from own stock, no utleverans yet
ORDER_COMPLETE = "complete"
ORDER_STATUSES = (ORDER_AWAITING_OUTBOUND, ORDER_COMPLETE)


class Order(db.Model):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(f"type IN ({_in(OrderType)})", name="type_known"),
        CheckConstraint(f"status IN ({', '.join(repr(s) for s in ORDER_STATUSES)})", name="status_known"),
        # A beställning never goes to a patient; förskrivning always does; a lagerflytt goes to a stock.
        CheckConstraint("type NOT IN ('order', 'stock_move') OR patient_id IS NULL", name="order_not_to_patient"),
        CheckConstraint("type NOT IN ('prescription', 'direct_prescription') OR patient_id IS NOT NULL",
                        name="prescription_to_patient"),
        CheckConstraint("type <> 'stock_move' OR to_warehouse_id IS NOT NULL", name="stock_move_to_warehouse"),
        Index("ix_orders_status_created_at", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    from_warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"))
    to_warehouse_id: Mapped[int | None] = mapped_column(ForeignKey("warehouses.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("prescribing_units.id"), index=True)
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = created_at_column()

    from_warehouse: Mapped[Warehouse] = relationship(foreign_keys=[from_warehouse_id])
    to_warehouse: Mapped[Warehouse | None] = relationship(foreign_keys=[to_warehouse_id])
    unit: Mapped[PrescribingUnit | None] = relationship()
    patient: Mapped[Patient | None] = relationship()
    created_by: Mapped[User] = relationship()
    lines: Mapped[list[OrderLine]] = relationship(back_populates="order", order_by="OrderLine.id",
                                                  cascade="all, delete-orphan")
    outbound_delivery: Mapped[OutboundDelivery | None] = relationship(back_populates="order", uselist=False)

    @property
    def order_type(self) -> OrderType:
        return OrderType(self.type)

    @property
    def type_label(self) -> str:
        return self.order_type.label

    @property
    def status_label(self) -> str:
        return "Utleverans saknas" if self.status == ORDER_AWAITING_OUTBOUND else "Klar"

    def __repr__(self) -> str:
        return f"<Order {self.id} {self.type}>"


class OrderLine(db.Model):
    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        UniqueConstraint("order_id", "article_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"))
    quantity: Mapped[int]

    order: Mapped[Order] = relationship(back_populates="lines")
    article: Mapped[Article] = relationship()


class OutboundDelivery(db.Model):
    """Utleverans: the goods of an order from own stock have left the stock."""

    __tablename__ = "outbound_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    delivered_at: Mapped[datetime] = mapped_column(DateTime)

    order: Mapped[Order] = relationship(back_populates="outbound_delivery")
    created_by: Mapped[User] = relationship()


class StockLevel(db.Model):
    """Lagersaldo: packages of an article in a warehouse; never negative."""

    __tablename__ = "stock_levels"
    __table_args__ = (CheckConstraint("quantity >= 0", name="quantity_not_negative"),)

    warehouse_id: Mapped[int] = mapped_column(ForeignKey("warehouses.id"), primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id"), primary_key=True)
    quantity: Mapped[int]
    updated_at: Mapped[datetime] = mapped_column(DateTime)

    warehouse: Mapped[Warehouse] = relationship()
    article: Mapped[Article] = relationship()
