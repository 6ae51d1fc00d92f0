"""Customer service's call log during a disturbance: time, caller type, topic, outcome.

No personal data: the note is refused if it holds a personnummer or a patient's name or address, and a call that led to a
capture links to the captured item instead of repeating who it was about.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload

from core.api.validation import control_character_message
from core.errors import FieldError, ValidationFailed
from core.extensions import db
from core.privacy.screening import personal_data_error
from core.models import User
from core.store import begin_write
from reserve.models import CallLogEntry, ReserveItem
from reserve.rules import parse_reserve_number
from status import readmodel

CALLER_TYPES = {"prescriber": "Förskrivare", "patient": "Patient", "relative": "Anhörig/närstående",
                "care_unit": "Vårdenhet/boende", "municipality": "Kommun", "supplier": "Leverantör",
                "other": "Övrig"}
TOPICS = {"outage": "Driftstörningen", "prescription": "Förskrivning", "order": "Beställning",
          "stock_move": "Lagerflytt", "work_order": "Arbetsorder", "delivery": "Leverans/uttag", "other": "Övrigt"}
OUTCOMES = {"informed": "Informerad, hänvisad till driftinfo", "captured": "Ärende registrerat",
            "call_back": "Återkommer/ringer upp", "referred": "Hänvisad vidare", "other": "Övrigt"}
MAX_NOTE = 500
CALL_LOG_WHY = ("Samtalsloggen får inte innehålla personuppgifter. Registrera ärendet och ange dess reservnummer "
                "i stället.")


def _incident_now() -> int | None:
    """Return the incident calls belong to now: the reserve routine's, else the newest open one."""
    return readmodel.current_incident_id(any_track=True)


def log_call(actor: User, caller_type: str, topic: str, outcome: str, note: str | None, item_number: str | None,
             now: datetime) -> CallLogEntry:
    """Record one call; refuse unknown choices and personal data in the note, naming the field."""
    errors: list[FieldError] = []
    if caller_type not in CALLER_TYPES:
        errors.append(FieldError("caller_type", "Välj vem som ringde."))
    if topic not in TOPICS:
        errors.append(FieldError("topic", "Välj vad samtalet gällde."))
    if outcome not in OUTCOMES:
        errors.append(FieldError("outcome", "Välj hur samtalet slutade."))
    note = (note or "").strip() or None
    if note and len(note) > MAX_NOTE:
        errors.append(FieldError("note", f"Högst {MAX_NOTE} tecken."))
    if note and (control := control_character_message(note, multiline=True)):
        errors.append(FieldError("note", control))
    elif note and (error := personal_data_error("note", note, CALL_LOG_WHY)):
        errors.append(error)
    if errors:
        raise ValidationFailed(errors)
    begin_write()
    item_id = None
    if item_number:
        value = parse_reserve_number(item_number)
        item_id = db.session.scalar(select(ReserveItem.id).where(ReserveItem.number == value)) if value else None
        if item_id is None:
            db.session.rollback()
            raise ValidationFailed.single("item", f"Inget reservärende har nummer {item_number}.")
    entry = CallLogEntry(at=now, logged_by_id=actor.id, incident_id=_incident_now(), caller_type=caller_type,
                         topic=topic, outcome=outcome if not item_id else "captured", note=note, item_id=item_id)
    db.session.add(entry)
    db.session.commit()
    return entry


def calls_query(incident_id: int | None = None) -> Select:
    query = select(CallLogEntry).options(joinedload(CallLogEntry.logged_by), joinedload(CallLogEntry.item))
    if incident_id is not None:
        query = query.where(CallLogEntry.incident_id == incident_id)
    return query
