"""Receipt use cases: load what to print, log the read, render the PDF."""
from __future__ import annotations

from datetime import date

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from core.privacy.access_log import AccessAction
from core.privacy.chokepoint import mark_displayed
from core.clock import local_today
from core.extensions import db
from core.models import ROW_ACTIVE, Patient, Prescription, PrescriptionRow, User
from app.patients.services import get_patient
from app.prescribing.receipts import (
    ReceiptPatient, ReceiptPrescription, ReceiptRow, render_active_rows_receipt, render_prescription_receipt,
)
from app.prescribing.services import get_prescription
from reserve import hooks as reserve_hooks
from reserve import state as reserve_state


def _receipt_patient(patient: Patient) -> ReceiptPatient:
    # Letters go to the delivery address when the patient has one, else to the registered address.
    if patient.delivery_street:
        street, postal_code, city = patient.delivery_street, patient.delivery_postal_code, patient.delivery_city
    else:
        street, postal_code, city = patient.registered_street, patient.registered_postal_code, patient.registered_city
    return ReceiptPatient(patient.full_name, street, postal_code, city, patient.personnummer)


def _receipt_prescription(prescription: Prescription, rows: list[PrescriptionRow]) -> ReceiptPrescription:
    # Reserve routine: a prescription saved while the main server was out says so on every row.
    note = reserve_hooks.AWAITING_REGISTRATION if reserve_hooks.is_awaiting_registration(prescription.id) else None
    return ReceiptPrescription(
        number=str(prescription.number), prescribed_on=prescription.prescribed_on,
        prescriber_name=prescription.prescriber.name, unit_name=prescription.unit.name,
        product_area_name=prescription.product_area.name,
        rows=tuple(
            ReceiptRow(
                article_number=r.article.number, article_name=r.article.name, package_size=r.article.package_size,
                packages_per_withdrawal=r.packages_per_withdrawal, withdrawals=r.withdrawals,
                period_days=r.period_days, recommendation=r.recommendation, withdrawals_left=r.withdrawals_left,
                status_note=note,
            )
            for r in rows
        ),
    )


def prescription_receipt_pdf(actor: User, number: int, context: str) -> bytes:
    """Return one prescription's receipt and log that its patient's data was printed."""
    prescription = get_prescription(number)
    pdf = render_prescription_receipt(
        _receipt_prescription(prescription, prescription.rows), _receipt_patient(prescription.patient),
        system_name=current_app.config["SYSTEM_NAME"], printed_on=local_today(),
        data_as_of=reserve_state.printout_data_as_of(),  # reserve routine: set while the main server is out
    )
    mark_displayed(actor.id, [prescription.patient_id], AccessAction.RECEIPT, context)
    return pdf


def active_rows_receipt_pdf(actor: User, patient_id: int, context: str, today: date | None = None) -> bytes:
    """Return a cover sheet and all of the patient's active rows, grouped by prescription."""
    today = today or local_today()
    patient = get_patient(patient_id)
    rows = db.session.scalars(
        select(PrescriptionRow)
        .where(PrescriptionRow.patient_id == patient.id, PrescriptionRow.status == ROW_ACTIVE,
               PrescriptionRow.valid_until >= today)
        .options(joinedload(PrescriptionRow.article), joinedload(PrescriptionRow.prescription).options(
            joinedload(Prescription.prescriber), joinedload(Prescription.unit), joinedload(Prescription.product_area)))
        .order_by(PrescriptionRow.prescription_id, PrescriptionRow.id)
    ).all()
    by_prescription: dict[int, list[PrescriptionRow]] = {}
    for row in rows:
        by_prescription.setdefault(row.prescription_id, []).append(row)
    prescriptions = [_receipt_prescription(group[0].prescription, group) for group in by_prescription.values()]
    pdf = render_active_rows_receipt(prescriptions, _receipt_patient(patient),
                                     system_name=current_app.config["SYSTEM_NAME"], printed_on=today,
                                     data_as_of=reserve_state.printout_data_as_of())  # reserve routine
    mark_displayed(actor.id, [patient.id], AccessAction.RECEIPT, context)
    return pdf
