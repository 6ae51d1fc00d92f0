"""Patient use cases: search, first fetch from the population register, overview, edit.

Every read of a patient's data is written to the access log here, so the web UI
and the JSON API cannot forget it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from core.privacy.access_log import AccessAction
from core.privacy.chokepoint import mark_displayed
from core.clock import local_today, utcnow
from core.errors import NotFound
from core.extensions import db
from core.store import begin_write
from reserve.models import ReserveItem
from core.models import (
    Article, ContactPerson, Patient, Prescription, PrescriptionRow, ProductArea, User,
)
from app.patients.register import PopulationRegister, RegisterUnavailable
from app.patients.reserve_rows import PendingRow, captured_prescriptions
from app.patients.search import PatientCriteria
from app.patients.search_query import SEARCH_COLUMNS, search_statements, search_values
from core.web.tables import Page, TableState, paginate_prepared


def population_register() -> PopulationRegister:
    return current_app.extensions["population_register"]


def search_patients(criteria: PatientCriteria, actor: User, state: TableState, context: str,
                    today: date | None = None) -> Page:
    """Return one page of the patients matching the criteria (not a whole personnummer), logged as seen."""
    count, rows = search_statements(criteria, state.sort, state.direction)
    page = paginate_prepared(count, rows, search_values(criteria, actor.id, today or local_today()),
                             SEARCH_COLUMNS, state)
    log_search_results(actor, page.rows, context)
    return page


def log_search_results(actor: User, patients: list, context: str) -> None:
    """Record that the actor saw these patients (Patient objects or result rows) in a search result."""
    mark_displayed(actor.id, [p.id for p in patients], AccessAction.SEARCH, context)


def find_or_fetch_by_personnummer(personnummer: str, actor: User, context: str,
                                  register: PopulationRegister | None = None) -> Patient | None:
    """Return the patient with this personnummer, creating them from the population register on first fetch.

    Raises RegisterUnavailable when the patient is not in the local store and the register does not answer.
    """
    patient = db.session.scalar(select(Patient).where(Patient.personnummer == personnummer))
    if patient is None:
        address = (register or population_register()).lookup(personnummer)
        if address is None or not (address.first_name and address.last_name):
            return None
        begin_write()
        patient = Patient(
            personnummer=personnummer, first_name=address.first_name, last_name=address.last_name,
            registered_street=address.street, registered_postal_code=address.postal_code,
            registered_city=address.city, registered_address_fetched_at=utcnow(),
        )
        db.session.add(patient)
        db.session.commit()
    log_search_results(actor, [patient], context)
    return patient


@dataclass
class PatientOverview:
    patient: Patient
    active_rows: list[PrescriptionRow]
    closed_rows: list[PrescriptionRow]
    areas: list[ProductArea]
    selected_area_ids: set[int]
    today: date
    register_problem: str | None = None
    notes: list[str] = field(default_factory=list)
    # Acute prescriptions captured in the reserve routine: not yet registered (shown among the
    # active rows), and registered ones by local prescription id (the trace, seed 004).
    pending: list[PendingRow] = field(default_factory=list)
    captured: dict[int, ReserveItem] = field(default_factory=dict)


def get_patient(patient_id: int) -> Patient:
    patient = db.session.get(Patient, patient_id, options=[selectinload(Patient.contact_persons)])
    if patient is None:
        raise NotFound("Patienten finns inte.")
    return patient


def ensure_registered_address(patient: Patient, register: PopulationRegister | None = None) -> str | None:
    """Take the registered address from the population register on the patient's first fetch.

    Returns a message for the user when the register does not answer; the overview still opens.
    """
    if patient.registered_address_fetched_at is not None:
        return None
    try:
        address = (register or population_register()).lookup(patient.personnummer)
    except RegisterUnavailable as exc:
        current_app.logger.warning("population register unavailable for patient id=%s: %s", patient.id, exc.detail)
        return str(exc)
    begin_write()  # after the register call: no lock is held while we wait on the network
    if address is not None:
        patient.registered_street = address.street
        patient.registered_postal_code = address.postal_code
        patient.registered_city = address.city
    patient.registered_address_fetched_at = utcnow()
    db.session.commit()
    return None


def all_product_areas() -> list[ProductArea]:
    return list(db.session.scalars(select(ProductArea).order_by(ProductArea.name)))


def default_area_ids(actor: User) -> set[int]:
    """Return the product areas ticked by default: the prescriber's own."""
    return {area.id for area in actor.product_areas}


def patient_overview(patient_id: int, actor: User, area_ids: set[int] | None, context: str,
                     today: date | None = None, register: PopulationRegister | None = None) -> PatientOverview:
    """Return the patient's data with active and closed rows in the chosen product areas; log the read."""
    today = today or local_today()
    patient = get_patient(patient_id)
    problem = ensure_registered_address(patient, register)
    areas = all_product_areas()
    selected = set(area_ids) if area_ids is not None else (default_area_ids(actor) or {a.id for a in areas})
    rows = db.session.scalars(
        select(PrescriptionRow)
        .join(PrescriptionRow.prescription)
        .where(PrescriptionRow.patient_id == patient.id, Prescription.product_area_id.in_(selected))
        .options(
            joinedload(PrescriptionRow.article),
            joinedload(PrescriptionRow.prescription).joinedload(Prescription.prescriber),
            joinedload(PrescriptionRow.prescription).joinedload(Prescription.product_area),
        )
        .order_by(Prescription.prescribed_on.desc(), PrescriptionRow.id.desc())
    ).all()
    pending, captured = captured_prescriptions(patient.id, selected)
    active = [r for r in rows if r.is_active_on(today)]
    closed = [r for r in rows if not r.is_active_on(today)]
    mark_displayed(actor.id, [patient.id], AccessAction.OVERVIEW, context)
    return PatientOverview(patient, active, closed, areas, selected, today, problem, pending=pending,
                           captured=captured)


@dataclass(frozen=True)
class ContactInput:
    name: str
    relation: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class PatientDetailsInput:
    delivery_street: str | None
    delivery_postal_code: str | None
    delivery_city: str | None
    nutrition_category: str | None
    special_housing: bool
    contacts: tuple[ContactInput, ...] = ()


def update_patient_details(patient_id: int, actor: User, details: PatientDetailsInput, context: str) -> Patient:
    """Change the delivery address, contact persons and nutrition patient category; log the edit."""
    begin_write()
    patient = get_patient(patient_id)
    patient.delivery_street = details.delivery_street or None
    patient.delivery_postal_code = details.delivery_postal_code or None
    patient.delivery_city = details.delivery_city or None
    patient.nutrition_category = details.nutrition_category or None
    patient.special_housing = details.special_housing
    patient.contact_persons = [
        ContactPerson(name=c.name, relation=c.relation or None, phone=c.phone or None) for c in details.contacts
    ]
    db.session.commit()
    mark_displayed(actor.id, [patient.id], AccessAction.EDIT, context)
    return patient




def article_by_number(number: str) -> Article | None:
    """Return the article with that number, active or not."""
    return db.session.scalar(select(Article).where(Article.number == number))
