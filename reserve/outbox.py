"""Captured items in the main server's words: what the outbox sends for each, and for a cancellation.

Every kind carries the reserve number as `form_number` (a number from the printed kit is
registered once per kind), the channel, who captured it, when, and the incident. Captured by
hand, each waits for hms_staff's review (sync/registration.py explains the shape).
"""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from core.clock import to_local
from core.models import CENTRAL_WAREHOUSE_NUMBER, User
from reserve.models import ReserveItem
from reserve.rules import PRESCRIPTION, STOCK_MOVE, WORK_ORDER
from sync.registration import Registration

if TYPE_CHECKING:
    from reserve.capture import Resolved


def _ordering_key(item: ReserveItem) -> str:
    return f"patient:{item.patient_id}" if item.patient_id else f"reserve:{item.reserve_number}"


def capture_registration(item: ReserveItem, found: Resolved, actor: User) -> Registration:
    """Translate a captured item, for hms_staff's review before it is sent."""
    return Registration(item.kind, outbox_payload(item, found, actor), subject_ref=f"reserve_item:{item.id}",
                        ordering_key=_ordering_key(item), created_by_id=actor.id, incident_id=item.incident_id,
                        requires_review=True)


def cancel_registration(item: ReserveItem, actor: User, reason: str, now: datetime) -> Registration:
    """Translate the cancellation of an acute prescription the main server may already have: sent after it."""
    payload = {
        "form_number": item.reserve_number, "channel": item.channel,
        "patient": {"personnummer": item.patient.personnummer}, "article": item.article.number,
        "prescription_key": item.outbox_key, "cancelled_at": now.isoformat() + "Z", "cancelled_by": actor.username,
        "reason": reason}
    return Registration("prescription_cancel", payload, subject_ref=f"reserve_item:{item.id}",
                        ordering_key=_ordering_key(item), parent_key=item.outbox_key, created_by_id=actor.id,
                        incident_id=item.incident_id, requires_review=True)


def outbox_payload(item: ReserveItem, found: Resolved, actor: User) -> dict:
    """Return the frozen payload the main server receives, in its contract's shape for the kind.

    Every kind carries the reserve number as `form_number` (a number from the printed kit is
    registered once per kind), the channel, who captured it, when, and the incident.
    """
    prescriber = found.prescriber
    who = {"username": prescriber.username, "hsa_id": prescriber.hsa_id} if prescriber else None
    payload: dict = {
        "form_number": item.reserve_number, "channel": item.channel, "captured_at": item.captured_at.isoformat() + "Z",
        "captured_by": actor.username, "incident_id": item.incident_id, "note": item.note,
        "responsible_prescriber": who,
        "possible_duplicate_of": item.duplicate_of.reserve_number if item.duplicate_of else None,
    }
    if found.patient is not None:
        payload["patient"] = {"personnummer": found.patient.personnummer}
    if found.unit is not None:
        payload["unit"] = {"customer_number": found.unit.customer_number}
    if item.kind == PRESCRIPTION:
        # An acute prescription phoned in: one withdrawal of the packages asked for, in the prescriber's name.
        payload.update(prescriber=who, prescribed_on=to_local(item.captured_at).date().isoformat(),
                       product_area=found.article.product_area.code,  # type: ignore[union-attr]
                       rows=[{"ref": item.reserve_number, "article": found.article.number,  # type: ignore[union-attr]
                              "packages_per_withdrawal": item.packages, "withdrawals": 1}])
    elif item.kind == WORK_ORDER:
        payload.update(work_order_type=item.work_order_type, description=item.note,
                       article=found.article.number if found.article else None)
    else:
        payload["lines"] = [{"article": found.article.number, "quantity": item.packages}]  # type: ignore[union-attr]
        if item.kind == STOCK_MOVE:
            payload.update(from_warehouse=CENTRAL_WAREHOUSE_NUMBER, to_warehouse=found.warehouse_number)
    return payload
