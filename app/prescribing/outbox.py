"""Prescriptions in the main server's words: what the outbox sends when one is saved or a row cancelled.

Called by prescribing's use cases inside their own write transaction (sync/registration.py
explains the shape). Also withdraws a prescription's rows when hms_staff cancel the local side
of a conflict (sync.signals.local_record_withdrawn).
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, update

from core.clock import utcnow
from core.extensions import db
from core.models import (
    ROW_ACTIVE, ROW_CANCELLED, Article, Patient, PrescribingUnit, Prescription, PrescriptionRow, ProductArea, User,
)
from sync.models import OutboxItem
from sync.registration import Registration, person, register, registration_of


def _ordering_key(patient_id: int) -> str:
    return f"patient:{patient_id}"


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
    register(prescription_registration(prescription, now), now=now)


def prescription_registration(prescription: Prescription, now: datetime) -> Registration:
    """Translate a saved prescription; the use case has just loaded everything (no query is sent)."""
    articles = {r.article_id: db.session.get(Article, r.article_id).number for r in prescription.rows}
    patient = db.session.get(Patient, prescription.patient_id)
    unit = db.session.get(PrescribingUnit, prescription.unit_id)
    area = db.session.get(ProductArea, prescription.product_area_id)
    payload = {
        "number": prescription.number,
        "prescribed_on": prescription.prescribed_on,
        "product_area": area.code,
        "patient": {"personnummer": patient.personnummer},
        "prescriber": person(prescription.prescriber_id),
        "unit": {"customer_number": unit.customer_number},
        "rows": [{
            "ref": row.id, "article": articles[row.article_id],
            "packages_per_withdrawal": row.packages_per_withdrawal, "pieces_per_day": row.pieces_per_day,
            "period_days": row.period_days, "withdrawals": row.withdrawals, "valid_until": row.valid_until,
            "recommendation": row.recommendation, "copied_from_ref": row.copied_from_id,
        } for row in prescription.rows],
        "captured_at": now,
    }
    return Registration("prescription", payload, subject_ref=f"prescription:{prescription.id}",
                        ordering_key=_ordering_key(prescription.patient_id), created_by_id=prescription.prescriber_id)


def row_cancelled(row_id: int, *, now: datetime | None = None) -> OutboxItem | None:
    """Register the cancellation (makulering) of a row; None when the main server never had the row."""
    now = now or utcnow()
    registration = row_cancel_registration(row_id, now)
    return register(registration, now=now) if registration else None


def row_cancel_registration(row_id: int, now: datetime) -> Registration | None:
    """Translate a row's cancellation; None when its prescription's registration was withdrawn here."""
    row = db.session.execute(
        select(PrescriptionRow.id, PrescriptionRow.prescription_id, PrescriptionRow.patient_id,
               PrescriptionRow.closed_by_id, Prescription.number, Article.number.label("article"),
               Patient.personnummer)
        .join(Prescription, Prescription.id == PrescriptionRow.prescription_id)
        .join(Article, Article.id == PrescriptionRow.article_id)
        .join(Patient, Patient.id == PrescriptionRow.patient_id)
        .where(PrescriptionRow.id == row_id)).one()
    parent_key, withdrawn = registration_of(f"prescription:{row.prescription_id}", ("prescription",))
    if withdrawn:
        return None  # the main server has nothing to cancel
    payload = {
        "prescription_number": row.number,
        "prescription_key": parent_key,
        "row_ref": row.id,
        "patient": {"personnummer": row.personnummer},
        "article": row.article,
        "cancelled_at": now,
        "cancelled_by": person(row.closed_by_id),
    }
    return Registration("prescription_cancel", payload, subject_ref=f"prescription_row:{row.id}",
                        ordering_key=_ordering_key(row.patient_id), parent_key=parent_key,
                        created_by_id=row.closed_by_id)


def withdraw_rows(item: OutboxItem, *, actor: User, now: datetime) -> list[str] | None:
    """Cancel (makulera) the still active rows a prescription item registered; return their subject refs.

    The receiver of sync.signals.local_record_withdrawn; None for items that are not prescriptions.
    """
    if item.kind != "prescription":
        return None
    refs = [row.get("ref") for row in item.data.get("rows") or () if isinstance(row.get("ref"), int)]
    if not refs:
        return []
    ids = list(db.session.scalars(
        update(PrescriptionRow).where(PrescriptionRow.id.in_(refs), PrescriptionRow.status == ROW_ACTIVE)
        .values(status=ROW_CANCELLED, closed_at=now, closed_by_id=actor.id)
        .returning(PrescriptionRow.id).execution_options(synchronize_session=False)))
    return [f"prescription_row:{i}" for i in sorted(ids)]
