"""Withdrawals, orders, stock moves and outbound deliveries in the main server's words.

Called by the withdrawal and order use cases inside their own write transaction (sync/registration.py
explains the shape): a withdrawal as it is sent, an order or stock move as it is created, an
outbound delivery after its order.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import aliased

from app.withdrawals.models import ORDER_AWAITING_OUTBOUND, Order, OrderLine, OutboundDelivery, Withdrawal
from app.withdrawals.rules import OrderType
from core.clock import utcnow
from core.extensions import db
from core.models import Article, Patient, PrescribingUnit, Prescription, PrescriptionRow, Warehouse
from sync.models import OutboxItem
from sync.registration import Registration, person, register, registration_of


def withdrawal_sent(withdrawal: Withdrawal, *, now: datetime | None = None) -> OutboxItem:
    """Register a withdrawal (uttag) as it is sent (Ny → Skickad): after its prescription, for the same patient.

    For app/withdrawals/services.py's send_withdrawal, inside its transaction. A withdrawal still
    `Ny` can be aborted locally, so it reaches the main server only once it is sent.
    """
    now = now or utcnow()
    row = db.session.execute(
        select(PrescriptionRow.prescription_id, Prescription.number, Article.number.label("article"),
               Patient.personnummer, PrescribingUnit.customer_number)
        .join(Prescription, Prescription.id == PrescriptionRow.prescription_id)
        .join(Article, Article.id == PrescriptionRow.article_id)
        .join(Patient, Patient.id == PrescriptionRow.patient_id)
        .join(PrescribingUnit, PrescribingUnit.id == Prescription.unit_id)
        .where(PrescriptionRow.id == withdrawal.row_id)).one()
    parent_key, _withdrawn = registration_of(f"prescription:{row.prescription_id}", ("prescription",))
    payload = {
        "u_number": f"U{withdrawal.number:09d}",
        "patient": {"personnummer": row.personnummer},
        "article": row.article,
        "packages": withdrawal.packages,
        "prescription_number": row.number,
        "prescription_key": parent_key,
        "row_ref": withdrawal.row_id,
        "unit": {"customer_number": row.customer_number},
        "ordered_via": withdrawal.channel,
        "ordered_at": withdrawal.ordered_at,
        "sent_at": withdrawal.sent_at or now,
    }
    return register(Registration("withdrawal", payload, subject_ref=f"withdrawal:{withdrawal.id}",
                                 ordering_key=f"patient:{withdrawal.patient_id}", parent_key=parent_key,
                                 created_by_id=withdrawal.created_by_id), now=now)


def _order_ordering_key(order_id: int) -> str:
    return f"order:{order_id}"


def _order_facts(order_id: int) -> dict:
    """Return what an order's and its outbound delivery's payloads share: type, warehouses, recipient, lines."""
    sender, receiver = aliased(Warehouse), aliased(Warehouse)
    head = db.session.execute(
        select(Order.type, sender.number.label("sender"), receiver.number.label("receiver"),
               PrescribingUnit.customer_number, Patient.personnummer)
        .join(sender, sender.id == Order.from_warehouse_id)
        .outerjoin(receiver, receiver.id == Order.to_warehouse_id)
        .outerjoin(PrescribingUnit, PrescribingUnit.id == Order.unit_id)
        .outerjoin(Patient, Patient.id == Order.patient_id)
        .where(Order.id == order_id)).one()
    lines = db.session.execute(select(Article.number, OrderLine.quantity)
                               .join(Article, Article.id == OrderLine.article_id)
                               .where(OrderLine.order_id == order_id).order_by(OrderLine.id)).all()
    facts: dict = {"order_ref": order_id, "order_type": head.type, "from_warehouse": head.sender,
                   "lines": [{"article": number, "quantity": quantity} for number, quantity in lines]}
    if head.receiver is not None:
        facts["to_warehouse"] = head.receiver
    if head.customer_number is not None:
        facts["unit"] = {"customer_number": head.customer_number}
    if head.personnummer is not None:
        facts["patient"] = {"personnummer": head.personnummer}
    return facts


def order_created(order: Order, *, now: datetime | None = None) -> OutboxItem:
    """Register an order (beställning, förskrivning, direktförskrivning) or a stock move (lagerflytt).

    For app/withdrawals/order_services.py's create_order, inside its transaction. A lagerflytt is
    kind `stock_move` (sent first: it fills the stocks orders take from), the others kind `order`.
    """
    now = now or utcnow()
    db.session.flush()  # the order's and its lines' ids for the payload
    kind = "stock_move" if order.type == OrderType.STOCK_MOVE.value else "order"
    payload = {
        **_order_facts(order.id),
        "awaiting_outbound_delivery": order.status == ORDER_AWAITING_OUTBOUND,
        "ordered_by": person(order.created_by_id),
        "ordered_at": order.created_at or now,
    }
    return register(Registration(kind, payload, subject_ref=f"order:{order.id}",
                                 ordering_key=_order_ordering_key(order.id), created_by_id=order.created_by_id), now=now)


def outbound_delivery_registered(delivery: OutboundDelivery, *, now: datetime | None = None) -> OutboxItem:
    """Register the outbound delivery (utleverans) of an order from own stock: after its order.

    For order_services.register_outbound_delivery, inside its transaction. Its parent is the order's
    registration, so it waits while the order is in conflict or refused and goes out after it.
    """
    now = now or utcnow()
    db.session.flush()
    # An order whose registration was withdrawn here has no parent to wait for: the goods did leave
    # the stock, so the delivery is still registered, on its own (with the order's lines).
    parent_key, _withdrawn = registration_of(f"order:{delivery.order_id}", ("order", "stock_move"))
    payload = {
        **_order_facts(delivery.order_id),
        "order_key": parent_key,
        "delivered_by": person(delivery.created_by_id),
        "delivered_at": delivery.delivered_at or now,
    }
    return register(Registration("outbound_delivery", payload, subject_ref=f"outbound_delivery:{delivery.id}",
                                 ordering_key=_order_ordering_key(delivery.order_id), parent_key=parent_key,
                                 created_by_id=delivery.created_by_id), now=now)
