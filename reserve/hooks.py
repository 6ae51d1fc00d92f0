"""What other packages call: the prescribing service marks what it saves during an outage, and
the sync engine reports what the main server has registered. Callers commit."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from core.clock import utcnow
from core.extensions import db
from core.models import Prescription
from reserve.capture import mark_registered as mark_item_registered
from reserve.models import AwaitingRegistration
from reserve.state import current_state, main_server_out

AWAITING_REGISTRATION = "Inväntar registrering"


def mark_if_outage(prescription: Prescription, now: datetime | None = None) -> bool:
    """Mark a prescription being saved as awaiting registration if the main server is out now."""
    state = current_state()
    if not main_server_out(state):
        return False
    incident_id = state.incident_id  # type: ignore[union-attr]
    db.session.add(AwaitingRegistration(prescription=prescription, incident_id=incident_id, marked_at=now or utcnow()))
    return True


def mark_prescription_registered(number: int, main_server_id: str | None, at: datetime) -> bool:
    """Record that the main server registered a prescription saved during an outage."""
    mark = db.session.scalar(select(AwaitingRegistration).join(Prescription)
                             .where(Prescription.number == number, AwaitingRegistration.registered_at.is_(None)))
    if mark is None:
        return False
    mark.registered_at, mark.main_server_id = at, main_server_id
    return True


def is_awaiting_registration(prescription_id: int) -> bool:
    return db.session.scalar(select(AwaitingRegistration.prescription_id).where(
        AwaitingRegistration.prescription_id == prescription_id,
        AwaitingRegistration.registered_at.is_(None))) is not None


__all__ = ["AWAITING_REGISTRATION", "is_awaiting_registration", "mark_if_outage", "mark_item_registered",
           "mark_prescription_registered"]
