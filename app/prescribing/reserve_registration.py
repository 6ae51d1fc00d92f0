"""An acute prescription captured in the reserve routine becomes an ordinary local prescription once
the main server has registered it, so the prescriber finds it in the patient's overview, prints its
receipt, copies or corrects it and makes withdrawals from it (seed 004: back-registration with full
traceability: the reserve item keeps the link, the main server keeps its own id).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import update

from core.clock import to_local
from core.extensions import db
from core.models import ROW_ACTIVE, ROW_CANCELLED, ROW_EXPIRED, Prescription, PrescriptionRow
from core.numbering import next_number
from app.prescribing.quantity import calculate_from_packages, prescription_expires_on

ONE_WITHDRAWAL = 1  # an acute prescription by telephone is one delivery of the packages asked for


def make_local_prescription(item, main_server_id: str | None = None, at: datetime | None = None) -> None:  # noqa: ANN001
    """Answer reserve.signals.captured_prescription_registered: save the local prescription and its row.

    No outbox item: the main server already has it. An active row the patient still has for the
    article gives way (the registered acute prescription supersedes it), keeping one active row per
    patient and article. The caller's transaction commits.
    """
    if item.prescription_id is not None or None in (item.patient, item.article, item.unit,
                                                     item.responsible_prescriber, item.packages):
        return
    prescribed_on = to_local(item.captured_at).date()
    quantity = calculate_from_packages(item.packages, item.article.package_size, ONE_WITHDRAWAL)
    _give_way(item, prescribed_on, at or item.captured_at)
    prescription = Prescription(
        number=next_number("prescription"), patient_id=item.patient_id, prescriber_id=item.responsible_prescriber_id,
        unit_id=item.unit_id, product_area_id=item.article.product_area_id, prescribed_on=prescribed_on)
    prescription.rows.append(PrescriptionRow(
        patient_id=item.patient_id, article_id=item.article_id, packages_per_withdrawal=quantity.packages_per_withdrawal,
        period_days=quantity.period_days, withdrawals=quantity.withdrawals, recommendation=item.note,
        valid_until=prescription_expires_on(prescribed_on), status=ROW_ACTIVE))
    db.session.add(prescription)
    db.session.flush()
    item.prescription_id = prescription.id


def _give_way(item, today, now: datetime) -> None:  # noqa: ANN001
    """Close the patient's expired rows for the article and cancel a still active one."""
    base = update(PrescriptionRow).where(PrescriptionRow.patient_id == item.patient_id,
                                         PrescriptionRow.article_id == item.article_id,
                                         PrescriptionRow.status == ROW_ACTIVE)
    db.session.execute(base.where(PrescriptionRow.valid_until < today).values(status=ROW_EXPIRED, closed_at=now))
    db.session.execute(base.values(status=ROW_CANCELLED, closed_at=now, closed_by_id=item.responsible_prescriber_id))
    db.session.flush()  # the old rows leave the active set before the new one arrives
