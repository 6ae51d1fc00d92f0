"""Correct a captured item before approval: a replacing item with a new key, checked like a capture.

hms_staff compare the queue with the paper form and fix what was typed wrong: the patient's
personnummer, the unit, the article, the quantity, the responsible prescriber, the note. The
values are looked up in the local store as the capture looked them up (seed 004: a captured
item is never changed; the correction is a new item that replaces it, and the trace keeps both).
"""
from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select

from core.auth.roles import Permission
from core.clock import utcnow
from core.authority import prescribing_errors
from core.errors import FieldError, ValidationFailed
from core.extensions import db
from core.models import (
    Article,
    Patient,
    PrescribingUnit,
    User,
    Warehouse,
)
from core.privacy.personnummer import InvalidPersonnummer, validate_personnummer
from core.store import begin_write
from sync import outbox, review
from sync.cards import payload_personnummer, payload_prescriber, payload_unit
from sync.models import OutboxItem

MIN_PACKAGES, MAX_PACKAGES = 1, 999  # as at capture
MAX_NOTE = 1000

LABELS = {"patient": "Personnummer", "unit": "Enhet (kundnummer)", "article": "Artikelnummer",
          "quantity": "Antal förpackningar", "prescriber": "Ansvarig förskrivare (användarnamn eller HSA-id)",
          "remark": "Anteckning"}


def correctable(data: Mapping[str, Any]) -> dict[str, str]:
    """Return the correctable fields the payload has, with their current values as text."""
    values: dict[str, str] = {}
    if isinstance(data.get("patient"), dict):
        values["patient"] = payload_personnummer(data) or ""
    if isinstance(data.get("unit"), dict):
        values["unit"] = payload_unit(data) or ""
    line = _single_line(data)
    if line is not None:
        values["article"] = str(line.get("article") or "")
        if "packages_per_withdrawal" in line or "quantity" in line:
            values["quantity"] = str(line.get("packages_per_withdrawal", line.get("quantity")))
    elif "article" in data and not isinstance(data["article"], dict | list):
        values["article"] = str(data["article"] or "")
    if "responsible_prescriber" in data:
        values["prescriber"] = payload_prescriber(data) or ""
    if "description" in data or "note" in data:
        values["remark"] = str(data.get("description") or data.get("note") or "")
    return values


def _single_line(data: Mapping[str, Any]) -> dict | None:
    lines = data.get("rows") or data.get("lines")
    return lines[0] if isinstance(lines, list) and len(lines) == 1 and isinstance(lines[0], dict) else None


@dataclass
class _Found:
    patient: Patient | None = None
    unit: PrescribingUnit | None = None
    article: Article | None = None
    prescriber: User | None = None
    errors: list[FieldError] = field(default_factory=list)


def _look_up(kind: str, values: Mapping[str, str]) -> _Found:
    """Check the values against the local store as a capture does; collect every problem."""
    found = _Found()
    if values.get("patient"):
        try:
            number = validate_personnummer(values["patient"])
        except InvalidPersonnummer as exc:
            found.errors.append(FieldError("patient", str(exc)))
        else:
            found.patient = db.session.scalar(select(Patient).where(Patient.personnummer == number))
            if found.patient is None:
                found.errors.append(FieldError("patient", "Patienten finns inte i den lokala databasen."))
    if values.get("unit"):
        found.unit = db.session.scalar(select(PrescribingUnit).where(PrescribingUnit.customer_number == values["unit"]))
        if found.unit is None:
            found.errors.append(FieldError("unit", f"Ingen enhet har kundnummer {values['unit']}."))
    if values.get("article"):
        found.article = db.session.scalar(select(Article).where(Article.number == values["article"]))
        if found.article is None or not found.article.is_active:
            found.errors.append(FieldError("article", f"Artikel {values['article']} finns inte."))
            found.article = None
    if values.get("prescriber"):
        ref = values["prescriber"]
        found.prescriber = db.session.scalar(select(User).where(or_(User.username == ref.lower(), User.hsa_id == ref)))
        if found.prescriber is None or not found.prescriber.active or not found.prescriber.can(Permission.PRESCRIBE):
            found.errors.append(FieldError("prescriber", f"{ref} är ingen aktiv förskrivare."))
            found.prescriber = None
    if kind == "prescription":
        found.errors += _prescription_errors(found)
    return found


def _prescription_errors(found: _Found) -> list[FieldError]:
    """An acute prescription: the prescriber's authority, the unit's payer and customer relation."""
    if found.article is None:
        return []
    return prescribing_errors(found.prescriber, found.unit, found.article, prescriber_field="prescriber")


def _shape_errors(current: Mapping[str, str], values: Mapping[str, str]) -> list[FieldError]:
    errors = [FieldError(name, f"Fyll i {LABELS[name].lower()}.") for name in ("patient", "unit", "article")
              if current.get(name) and not values.get(name)]
    if "quantity" in current:
        try:
            quantity = int(values.get("quantity", "").strip())
        except ValueError:
            quantity = 0
        if not MIN_PACKAGES <= quantity <= MAX_PACKAGES:
            errors.append(FieldError("quantity", f"Antal förpackningar ska vara ett heltal {MIN_PACKAGES}–"
                                                 f"{MAX_PACKAGES}."))
    if len(values.get("remark") or "") > MAX_NOTE:
        errors.append(FieldError("remark", f"Högst {MAX_NOTE} tecken."))
    return errors


def corrected_payload(kind: str, data: Mapping[str, Any], values: Mapping[str, str]) -> dict:
    """Return the payload with the corrected values, checked like a capture (ValidationFailed naming the field)."""
    current = correctable(data)
    values = {name: (values.get(name, current[name]) or "").strip() for name in current}  # absent: unchanged
    errors = _shape_errors(current, values)
    found = _look_up(kind, values) if not errors else _Found()
    errors += found.errors
    if errors:
        raise ValidationFailed(errors)
    payload = copy.deepcopy(dict(data))
    if found.patient is not None:
        payload["patient"] = {**payload["patient"], "personnummer": found.patient.personnummer}
    if found.unit is not None:
        payload["unit"] = {**payload["unit"], "customer_number": found.unit.customer_number}
        if kind == "stock_move":
            payload["to_warehouse"] = _municipal_warehouse(found.unit)
    line = _single_line(payload)
    if found.article is not None:
        if line is not None:
            line["article"] = found.article.number
        else:
            payload["article"] = found.article.number
        if "product_area" in payload:
            payload["product_area"] = found.article.product_area.code
    if line is not None and "quantity" in current:
        line["packages_per_withdrawal" if "packages_per_withdrawal" in line else "quantity"] = int(values["quantity"])
    if found.prescriber is not None:
        who = {"username": found.prescriber.username, "hsa_id": found.prescriber.hsa_id}
        payload["responsible_prescriber"] = who
        if kind == "prescription" and "prescriber" in payload:
            payload["prescriber"] = who
    if "remark" in current:
        for name in ("description", "note"):
            if name in payload:
                payload[name] = values["remark"] or None
    return payload


def _municipal_warehouse(unit: PrescribingUnit) -> int:
    number = db.session.scalar(select(Warehouse.number).where(
        Warehouse.unit_id == unit.id, Warehouse.kind == "municipal").order_by(Warehouse.number).limit(1))
    if number is None:
        raise ValidationFailed.single("unit", f"{unit.name} har inget kommunlager; en lagerflytt går från lager 10 "
                                              "till ett kommunlager.")
    return number


def correct(actor: User, key: str, values: Mapping[str, str], note: str | None) -> OutboxItem:
    """Replace the item by a corrected, approved copy with a new key; return the copy (nothing saved on error)."""
    now = utcnow()
    note = review.note_for(note, required=True)
    begin_write()
    try:
        item = outbox.locked(key)
        review.check_may_edit(actor, item)
        payload = corrected_payload(item.kind, item.data, values)
        if payload == item.data:
            raise ValidationFailed.single("changes", "Inget har ändrats.")
        replacement = outbox.replace(key, payload, actor_id=actor.id, note=note, approve=True, now=now)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return replacement
