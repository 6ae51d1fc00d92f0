"""Patient endpoints of the JSON API: search, overview, edit."""
from __future__ import annotations

from flask import jsonify, request
from flask_login import current_user

from core.api.blueprints import api_blueprint
from core.api.docs import documented
from core.api.validation import parse_json
from core.auth.guard import permission_required
from core.auth.roles import Permission
from core.errors import ValidationFailed
from core.models import Patient, PrescriptionRow, ProductArea
from app.patients import services
from app.patients.schemas import (
    Address, PatientDetailsRequest, PatientOverviewQuery, PatientOverviewResponse, PatientSearchQuery,
    PatientSearchResult, PatientSummary, RowSummary,
)
from app.patients.search import SearchKind, parse_criteria
from app.patients.search_query import SEARCH_COLUMNS
from core.web.tables import TableState

bp = api_blueprint("patients_api", __name__, "/patients")


def _summary(patient: Patient) -> PatientSummary:
    return PatientSummary(id=patient.id, personnummer=patient.personnummer, first_name=patient.first_name,
                          last_name=patient.last_name, city=patient.registered_city)


@bp.get("")
@permission_required(Permission.READ_PATIENTS)
@documented("Search patients: q = whole personnummer, leading digits, or empty for the caller's own patients; "
            "article + rows (active|inactive|both) for the advanced search; sort, dir, page, per_page",
            query=PatientSearchQuery, response=PatientSearchResult, tags=("patients",),
            errors=(400, 401, 403, 422, 503))
def search():
    criteria = parse_criteria(request.args.get("q", ""), request.args.get("article", ""),
                              request.args.get("rows", "active"))
    state = TableState.from_args(request.args, SEARCH_COLUMNS, default_sort="personnummer")
    if criteria.kind is SearchKind.FULL:
        patient = services.find_or_fetch_by_personnummer(criteria.text, current_user, "api.patients.search")
        found = [patient] if patient else []
        result = PatientSearchResult(total=len(found), page=1, per_page=state.per_page,
                                     patients=[_summary(p) for p in found])
        return jsonify(result.model_dump())
    page = services.search_patients(criteria, current_user, state, "api.patients.search")
    result = PatientSearchResult(total=page.total, page=page.state.page, per_page=page.state.per_page,
                                 patients=[_summary(p) for p in page.rows])
    return jsonify(result.model_dump())


def row_summary(row: PrescriptionRow, today) -> RowSummary:  # noqa: ANN001
    return RowSummary(
        id=row.id, prescription_number=row.prescription.number, article_number=row.article.number,
        article_name=row.article.name, product_area=row.prescription.product_area.code,
        packages_per_withdrawal=row.packages_per_withdrawal, withdrawals=row.withdrawals,
        withdrawals_left=row.withdrawals_left, period_days=row.period_days,
        prescribed_on=row.prescription.prescribed_on, valid_until=row.valid_until,
        prescriber=row.prescription.prescriber.name, status=row.display_status(today),
        recommendation=row.recommendation,
    )


def _area_ids(codes: str | None, areas: list[ProductArea]) -> set[int] | None:
    if codes is None:
        return None
    wanted = {c for c in codes.split(",") if c}
    unknown = wanted - {a.code for a in areas}
    if unknown:
        raise ValidationFailed.single("area", f"unknown product area: {', '.join(sorted(unknown))}")
    return {a.id for a in areas if a.code in wanted}


@bp.get("/<int:patient_id>")
@permission_required(Permission.READ_PATIENTS)
@documented("Patient overview: addresses, contacts, active and closed rows (area = comma-separated codes)",
            query=PatientOverviewQuery, response=PatientOverviewResponse, tags=("patients",),
            errors=(401, 403, 404, 422))
def overview(patient_id: int):
    areas = services.all_product_areas()
    view = services.patient_overview(patient_id, current_user, _area_ids(request.args.get("area"), areas),
                                     "api.patients.overview")
    p = view.patient
    body = PatientOverviewResponse(
        id=p.id, personnummer=p.personnummer, first_name=p.first_name, last_name=p.last_name,
        registered_address=Address(street=p.registered_street, postal_code=p.registered_postal_code,
                                   city=p.registered_city),
        delivery_address=Address(street=p.delivery_street, postal_code=p.delivery_postal_code,
                                 city=p.delivery_city),
        contacts=[{"name": c.name, "relation": c.relation, "phone": c.phone} for c in p.contact_persons],
        nutrition_category=p.nutrition_category, special_housing=p.special_housing,
        product_areas=sorted(a.code for a in view.areas if a.id in view.selected_area_ids),
        active_rows=[row_summary(r, view.today) for r in view.active_rows],
        closed_rows=[row_summary(r, view.today) for r in view.closed_rows],
        register_problem=view.register_problem,
    )
    return jsonify(body.model_dump(mode="json"))


@bp.put("/<int:patient_id>")
@permission_required(Permission.READ_PATIENTS)
@documented("Replace the patient's delivery address, contact persons and nutrition patient category",
            request=PatientDetailsRequest, response=PatientSummary, tags=("patients",),
            errors=(400, 401, 403, 404, 413, 422))
def update(patient_id: int):
    body = parse_json(PatientDetailsRequest)
    parts = [body.delivery_street, body.delivery_postal_code, body.delivery_city]
    if any(parts) and not all(parts):
        raise ValidationFailed.single("delivery_street", "give street, postal code and city, or none of them")
    details = services.PatientDetailsInput(
        delivery_street=body.delivery_street, delivery_postal_code=body.delivery_postal_code,
        delivery_city=body.delivery_city, nutrition_category=body.nutrition_category,
        special_housing=body.special_housing,
        contacts=tuple(services.ContactInput(c.name, c.relation, c.phone) for c in body.contacts),
    )
    patient = services.update_patient_details(patient_id, current_user, details, "api.patients.update")
    return jsonify(_summary(patient).model_dump())


