"""The Patient tab: search, overview, edit patient data."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from core.auth.guard import permission_required
from core.auth.roles import Permission
from core.errors import ValidationFailed
from app.patients import services
from app.patients.forms import PatientDetailsForm, PatientSearchForm
from app.patients.register import RegisterUnavailable
from app.patients.search import SearchKind, parse_criteria
from app.patients.search_query import SEARCH_COLUMNS
from core.web.tables import Column, TableState, paginate_list

bp = Blueprint("patients", __name__, url_prefix="/patient")

ROW_COLUMNS = (
    Column("select", "Välj"),
    Column("number", "Förskrivningsnr", lambda r: r.prescription.number),
    Column("article", "Artikel", lambda r: r.article.name),
    Column("packages", "Förp./uttag", lambda r: r.packages_per_withdrawal),
    Column("left", "Uttag kvar", lambda r: r.withdrawals_left),
    Column("date", "Förskriven", lambda r: r.prescription.prescribed_on),
    Column("valid", "Giltig t.o.m.", lambda r: r.valid_until),
    Column("prescriber", "Förskrivare", lambda r: r.prescription.prescriber.name),
    Column("status", "Status"),
    Column("actions", "Åtgärd"),
)


def _crumbs(*extra: tuple[str, str | None]) -> list[tuple[str, str | None]]:
    return [("Patient", url_for("patients.search")), *extra]


@bp.get("/")
@permission_required(Permission.READ_PATIENTS)
def search():
    form = PatientSearchForm(request.args)
    page = None
    if "sok" in request.args:
        try:
            criteria = parse_criteria(form.q.data, form.article.data, form.rows.data)
        except ValidationFailed as exc:
            for error in exc.errors:
                getattr(form, error.field).errors = [error.message]
            return render_template("patients/search.html", form=form, page=None, breadcrumbs=_crumbs()), 400
        if criteria.kind is SearchKind.FULL:
            return _open_by_personnummer(form, criteria.text)
        if criteria.kind is SearchKind.ARTICLE:
            # Seed 000: the article's name is shown (benämning visas); an unknown number is said to be one.
            article = services.article_by_number(criteria.article_number)
            if article is None:
                form.article.errors = [f"Artikel {criteria.article_number} finns inte."]
                return render_template("patients/search.html", form=form, page=None, breadcrumbs=_crumbs()), 404
            form.article.description = f"{article.number} {article.name}"
        state = TableState.from_args(request.args, SEARCH_COLUMNS, default_sort="personnummer")
        page = services.search_patients(criteria, current_user, state, "patients.search")
    return render_template("patients/search.html", form=form, page=page, breadcrumbs=_crumbs())


def _open_by_personnummer(form: PatientSearchForm, personnummer: str):
    try:
        patient = services.find_or_fetch_by_personnummer(personnummer, current_user, "patients.search")
    except RegisterUnavailable as exc:
        form.q.errors = [str(exc)]
        return render_template("patients/search.html", form=form, page=None, breadcrumbs=_crumbs()), 503
    if patient is None:
        form.q.errors = ["Ingen patient med det personnumret finns."]
        return render_template("patients/search.html", form=form, page=None, breadcrumbs=_crumbs()), 404
    return redirect(url_for("patients.overview", patient_id=patient.id))


def _selected_areas() -> set[int] | None:
    if "omraden" not in request.args:
        return None  # first visit: the prescriber's own areas
    return {int(v) for v in request.args.getlist("area") if v.isdigit()}


@bp.get("/<int:patient_id>")
@permission_required(Permission.READ_PATIENTS)
def overview(patient_id: int):
    view = services.patient_overview(patient_id, current_user, _selected_areas(), "patients.overview")
    if view.register_problem:
        flash(view.register_problem, "error")
    active = paginate_list([*view.pending, *view.active_rows], ROW_COLUMNS, TableState.from_args(
        request.args, ROW_COLUMNS, default_sort="date", default_direction="desc", prefix="a_"))
    closed = paginate_list(view.closed_rows, ROW_COLUMNS, TableState.from_args(
        request.args, ROW_COLUMNS, default_sort="date", default_direction="desc", prefix="c_"))
    return render_template(
        "patients/overview.html", view=view, patient=view.patient, active=active, closed=closed,
        breadcrumbs=_crumbs((view.patient.full_name, None)),
    )


@bp.route("/<int:patient_id>/andra", methods=["GET", "POST"])
@permission_required(Permission.READ_PATIENTS)
def edit(patient_id: int):
    patient = services.get_patient(patient_id)
    form = PatientDetailsForm(obj=None if request.method == "POST" else patient)
    if request.method == "GET":
        for entry, contact in zip(form.contacts.entries, patient.contact_persons):
            entry.form.process(None, obj=contact)
    if form.validate_on_submit():
        services.update_patient_details(patient_id, current_user, _details_from(form), "patients.edit")
        flash("Patientuppgifterna är sparade.", "info")
        return redirect(url_for("patients.overview", patient_id=patient_id))
    status = 400 if request.method == "POST" else 200
    crumbs = _crumbs((patient.full_name, url_for("patients.overview", patient_id=patient_id)),
                     ("Ändra patientuppgifter", None))
    return render_template("patients/edit.html", form=form, patient=patient, breadcrumbs=crumbs), status


def _details_from(form: PatientDetailsForm) -> services.PatientDetailsInput:
    contacts = tuple(
        services.ContactInput(entry.form.name.data.strip(), entry.form.relation.data, entry.form.phone.data)
        for entry in form.contacts.entries if entry.form.name.data and entry.form.name.data.strip()
    )
    return services.PatientDetailsInput(
        delivery_street=form.delivery_street.data, delivery_postal_code=form.delivery_postal_code.data,
        delivery_city=form.delivery_city.data, nutrition_category=form.nutrition_category.data,
        special_housing=form.special_housing.data, contacts=contacts,
    )


