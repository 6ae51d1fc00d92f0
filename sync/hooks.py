"""What the use cases call, inside their own transaction, to register changes with the main server.

Prescribing calls `prescription_saved` and `row_cancelled`; withdrawals `withdrawal_sent`; orders
`order_created` and `outbound_delivery_registered`. Each adds outbox items to the caller's open
write transaction; the caller's commit saves the record and its items together. Payloads carry
what the main server needs to register the change and nothing more: article, warehouse and
customer numbers, and the personnummer when a patient is involved; names and addresses stay local.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import aliased

from core.clock import utcnow
from core.extensions import db
from core.models import (
    ROW_CANCELLED, Article, Patient, PrescribingUnit, Prescription, PrescriptionRow, ProductArea, User, Warehouse,
)
from app.withdrawals.models import ORDER_AWAITING_OUTBOUND, Order, OrderLine, OutboundDelivery, Withdrawal
from app.withdrawals.rules import OrderType
from sync.models import OutboxItem
from sync.outbox import enqueue
from sync.rules import CANCELLED

__all__ = ["order_created", "outbound_delivery_registered", "prescription_saved", "row_cancelled", "withdrawal_sent"]


def _ordering_key(patient_id: int) -> str:
    return f"patient:{patient_id}"


def _user(user_id: int | None) -> dict | None:
    user = db.session.get(User, user_id) if user_id is not None else None
    return {"username": user.username, "hsa_id": user.hsa_id} if user else None


def _registration_of(subject_ref: str, kinds: tuple[str, ...]) -> tuple[str | None, bool]:
    """Return the key of the item that registers the record, and whether it was withdrawn locally.

    Follows edits to the last copy. (None, False): made before the sync engine existed.
    """
    items = db.session.execute(select(OutboxItem.key, OutboxItem.state, OutboxItem.superseded_by_key)
                               .where(OutboxItem.subject_ref == subject_ref, OutboxItem.kind.in_(kinds))
                               .order_by(OutboxItem.id)).all()
    if not items:
        return None, False
    by_key = {i.key: i for i in items}
    last = items[-1]
    while last.superseded_by_key and last.superseded_by_key in by_key:
        last = by_key[last.superseded_by_key]
    if last.state == CANCELLED:
        return None, True
    return last.key, False


def prescription_saved(prescription: Prescription, originals: Iterable[PrescriptionRow], now: datetime) -> None:
    """Register a new prescription, after the cancellation of each row it replaced by copy/correct.

    `originals` are the rows the copy named; those it cancelled are the ones closed at `now`.
    The cancellations are queued first: the main server keeps one active row per patient and
    article, so the old row must be closed there before the new one arrives.
    """
    for original in originals:
        if original.status == ROW_CANCELLED and original.closed_at == now:
            row_cancelled(original.id, now=now)
    db.session.flush()  # row ids for the payload
    # The use case has just loaded all of these: the identity map answers, no query is sent.
    articles = {r.article_id: db.session.get(Article, r.article_id).number for r in prescription.rows}
    patient = db.session.get(Patient, prescription.patient_id)
    unit = db.session.get(PrescribingUnit, prescription.unit_id)
    area = db.session.get(ProductArea, prescription.product_area_id)
    payload = {
        "number": prescription.number,
        "prescribed_on": prescription.prescribed_on,
        "product_area": area.code,
        "patient": {"personnummer": patient.personnummer},
        "prescriber": _user(prescription.prescriber_id),
        "unit": {"customer_number": unit.customer_number},
        "rows": [{
            "ref": row.id, "article": articles[row.article_id],
            "packages_per_withdrawal": row.packages_per_withdrawal, "pieces_per_day": row.pieces_per_day,
            "period_days": row.period_days, "withdrawals": row.withdrawals, "valid_until": row.valid_until,
            "recommendation": row.recommendation, "copied_from_ref": row.copied_from_id,
        } for row in prescription.rows],
        "captured_at": now,
    }
    enqueue("prescription", payload, ordering_key=_ordering_key(prescription.patient_id),
            created_by_id=prescription.prescriber_id, subject_ref=f"prescription:{prescription.id}", now=now)


def row_cancelled(row_id: int, *, now: datetime | None = None) -> OutboxItem | None:
    """Register the cancellation (makulering) of a row; None when the main server never had the row."""
    now = now or utcnow()
    row = db.session.execute(
        select(PrescriptionRow.id, PrescriptionRow.prescription_id, PrescriptionRow.patient_id,
               PrescriptionRow.closed_by_id, Prescription.number, Article.number.label("article"),
               Patient.personnummer)
        .join(Prescription, Prescription.id == PrescriptionRow.prescription_id)
        .join(Article, Article.id == PrescriptionRow.article_id)
        .join(Patient, Patient.id == PrescriptionRow.patient_id)
        .where(PrescriptionRow.id == row_id)).one()
    parent_key, withdrawn = _registration_of(f"prescription:{row.prescription_id}", ("prescription",))
    if withdrawn:
        return None  # its registration was cancelled here: the main server has nothing to cancel
    payload = {
        "prescription_number": row.number,
        "prescription_key": parent_key,
        "row_ref": row.id,
        "patient": {"personnummer": row.personnummer},
        "article": row.article,
        "cancelled_at": now,
        "cancelled_by": _user(row.closed_by_id),
    }
    return enqueue("prescription_cancel", payload, ordering_key=_ordering_key(row.patient_id), parent_key=parent_key,
                   created_by_id=row.closed_by_id, subject_ref=f"prescription_row:{row.id}", now=now)


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
    parent_key, _withdrawn = _registration_of(f"prescription:{row.prescription_id}", ("prescription",))
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
    return enqueue("withdrawal", payload, ordering_key=_ordering_key(withdrawal.patient_id), parent_key=parent_key,
                   created_by_id=withdrawal.created_by_id, subject_ref=f"withdrawal:{withdrawal.id}", now=now)


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
        "ordered_by": _user(order.created_by_id),
        "ordered_at": order.created_at or now,
    }
    return enqueue(kind, payload, ordering_key=_order_ordering_key(order.id), created_by_id=order.created_by_id,
                   subject_ref=f"order:{order.id}", now=now)


def outbound_delivery_registered(delivery: OutboundDelivery, *, now: datetime | None = None) -> OutboxItem:
    """Register the outbound delivery (utleverans) of an order from own stock: after its order.

    For order_services.register_outbound_delivery, inside its transaction. Its parent is the order's
    registration, so it waits while the order is in conflict or refused and goes out after it.
    """
    now = now or utcnow()
    db.session.flush()
    # An order whose registration was withdrawn here has no parent to wait for: the goods did leave
    # the stock, so the delivery is still registered, on its own (with the order's lines).
    parent_key, _withdrawn = _registration_of(f"order:{delivery.order_id}", ("order", "stock_move"))
    payload = {
        **_order_facts(delivery.order_id),
        "order_key": parent_key,
        "delivered_by": _user(delivery.created_by_id),
        "delivered_at": delivery.delivered_at or now,
    }
    return enqueue("outbound_delivery", payload, ordering_key=_order_ordering_key(delivery.order_id),
                   parent_key=parent_key, created_by_id=delivery.created_by_id,
                   subject_ref=f"outbound_delivery:{delivery.id}", now=now)
