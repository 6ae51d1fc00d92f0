"""Prescribing endpoints of the JSON API."""
from __future__ import annotations

from flask import Response, jsonify
from flask_login import current_user
from sqlalchemy import select

from core.api.blueprints import api_blueprint
from core.api.docs import documented
from core.api.validation import parse_json
from core.auth.guard import permission_required
from core.auth.roles import Permission
from core.errors import FieldError, ValidationFailed
from core.extensions import db
from core.models import Article, Prescription
from app.prescribing import printing, services
from app.prescribing.schemas import (
    CancelResponse, CopyRequest, CreatedRow, OptionsResponse, PrescriptionRequest, PrescriptionResponse,
    QuantityRequest, QuantityResponse,
)

bp = api_blueprint("prescribing_api", __name__)

WRITE_ERRORS = (400, 401, 403, 409, 413, 422)


def _articles_by_number(numbers: list[str]) -> dict[str, Article]:
    found = {a.number: a for a in db.session.scalars(select(Article).where(Article.number.in_(numbers)))}
    missing = [FieldError(f"rows[{i}].article_number", "unknown article") for i, n in enumerate(numbers) if n not in found]
    if missing:
        raise ValidationFailed(missing)
    return found


def _response(prescription: Prescription) -> dict:
    return PrescriptionResponse(
        number=prescription.number, patient_id=prescription.patient_id,
        product_area=prescription.product_area.code, unit_id=prescription.unit_id,
        prescriber=prescription.prescriber.username, prescribed_on=prescription.prescribed_on,
        rows=[CreatedRow(id=r.id, article_number=r.article.number, packages_per_withdrawal=r.packages_per_withdrawal,
                         period_days=r.period_days, withdrawals=r.withdrawals, valid_until=r.valid_until)
              for r in prescription.rows],
    ).model_dump(mode="json")


@bp.get("/prescribing/options")
@permission_required(Permission.PRESCRIBE)
@documented("The caller's product areas and, per area, the units with a payer for it", response=OptionsResponse,
            tags=("prescribing",), errors=(401, 403))
def options():
    areas = services.authorised_areas(current_user)
    units = {a.code: [{"id": u.id, "customer_number": u.customer_number, "name": u.name}
                      for u in services.units_for(current_user, a)] for a in areas}
    return jsonify(OptionsResponse(product_areas=[a.code for a in areas], units=units).model_dump())


@bp.post("/quantity")
@permission_required(Permission.READ_PRODUCTS)
@documented("Calculate packages per withdrawal from pieces per day, or the reverse", request=QuantityRequest,
            response=QuantityResponse, tags=("prescribing",), errors=(400, 401, 403, 413, 422))
def quantity():
    body = parse_json(QuantityRequest)
    article = _articles_by_number([body.article_number])[body.article_number]
    row = services.RowInput(article_id=article.id, withdrawals=body.withdrawals, period_days=body.period_days,
                            packages_per_withdrawal=body.packages_per_withdrawal,
                            pieces_per_day=body.pieces_per_day.replace(",", ".") if body.pieces_per_day else None)
    q = services.calculate_row(row, article)
    return jsonify(QuantityResponse(
        package_size=q.package_size, period_days=q.period_days, withdrawals=q.withdrawals,
        packages_per_withdrawal=q.packages_per_withdrawal, pieces_per_withdrawal=q.pieces_per_withdrawal,
        pieces_per_day=str(q.rounded_pieces_per_day(2)), total_packages=q.total_packages,
    ).model_dump())


@bp.post("/prescriptions")
@permission_required(Permission.PRESCRIBE)
@documented("Save a new prescription; returns its 9-digit number", request=PrescriptionRequest,
            response=PrescriptionResponse, status=201, tags=("prescribing",), errors=WRITE_ERRORS)
def create():
    body = parse_json(PrescriptionRequest)
    articles = _articles_by_number([r.article_number for r in body.rows])
    rows = tuple(
        services.RowInput(
            article_id=articles[r.article_number].id, withdrawals=r.withdrawals, period_days=r.period_days,
            packages_per_withdrawal=r.packages_per_withdrawal,
            pieces_per_day=r.pieces_per_day.replace(",", ".") if r.pieces_per_day else None,
            recommendation=r.recommendation, copied_from_id=r.copied_from_row_id,
        )
        for r in body.rows
    )
    prescription = services.create_prescription(
        current_user, services.PrescriptionInput(body.patient_id, body.product_area, body.unit_id, rows))
    return jsonify(_response(prescription)), 201


@bp.post("/prescriptions/copy")
@permission_required(Permission.PRESCRIBE)
@documented("Copy rows of one product area into a new prescription; copied active rows are cancelled",
            request=CopyRequest, response=PrescriptionResponse, status=201, tags=("prescribing",),
            errors=WRITE_ERRORS)
def copy():
    body = parse_json(CopyRequest)
    area, originals = services.rows_for_copy(body.patient_id, body.row_ids)
    rows = tuple(
        services.RowInput(article_id=o.article_id, withdrawals=o.withdrawals, period_days=o.period_days,
                          packages_per_withdrawal=o.packages_per_withdrawal, recommendation=o.recommendation,
                          copied_from_id=o.id)
        for o in originals
    )
    prescription = services.create_prescription(
        current_user, services.PrescriptionInput(body.patient_id, area.code, body.unit_id, rows))
    return jsonify(_response(prescription)), 201


@bp.get("/prescriptions/<int:number>")
@permission_required(Permission.READ_PATIENTS)
@documented("One prescription with its rows", response=PrescriptionResponse, tags=("prescribing",),
            errors=(401, 403, 404))
def show(number: int):
    return jsonify(_response(services.get_prescription(number)))


@bp.post("/prescription-rows/<int:row_id>/cancel")
@permission_required(Permission.PRESCRIBE)
@documented("Cancel (makulera) an active row, own or another prescriber's", response=CancelResponse,
            tags=("prescribing",), errors=(401, 403, 404, 409))
def cancel(row_id: int):
    row = services.cancel_row(current_user, row_id)
    return jsonify(CancelResponse(id=row.id, status="Makulerad").model_dump())


@bp.get("/prescriptions/<int:number>/receipt.pdf")
@permission_required(Permission.READ_PATIENTS)
@documented("The prescription's receipt as PDF", tags=("prescribing",), errors=(401, 403, 404))
def receipt(number: int):
    pdf = printing.prescription_receipt_pdf(current_user, number, "api.prescribing.receipt")
    return Response(pdf, mimetype="application/pdf")


@bp.get("/patients/<int:patient_id>/active-rows.pdf")
@permission_required(Permission.READ_PATIENTS)
@documented("All of the patient's active rows with a cover sheet, as PDF", tags=("prescribing",),
            errors=(401, 403, 404))
def active_rows_receipt(patient_id: int):
    pdf = printing.active_rows_receipt_pdf(current_user, patient_id, "api.prescribing.active_rows")
    return Response(pdf, mimetype="application/pdf")
