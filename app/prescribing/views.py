"""New prescription, cancel, copy/correct and receipts in the Swedish UI."""
from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, Response, flash, redirect, render_template, request, session, url_for
from flask_login import current_user

from core.auth.guard import permission_required
from core.auth.roles import Permission
from core.errors import DomainError, ValidationFailed
from core.extensions import db
from core.models import Article
from core.web.confirm import ask_to_confirm, confirmed
from core.web.tables import TableState
from app.patients.services import get_patient
from app.prescribing import printing, services
from app.prescribing.draft import Draft
from app.prescribing.fees import FeeError, nutrition_patient_fee
from app.prescribing.forms import RowForm
from app.prescribing.services import RowInput

bp = Blueprint("prescribing", __name__, url_prefix="/forskrivning")

MAX_DRAFT_ROWS = 15  # the draft lives in the session cookie


def _pdf(data: bytes, filename: str) -> Response:
    return Response(data, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{filename}"', "Cache-Control": "no-store"})


@bp.route("/ny/<int:patient_id>", methods=["GET", "POST"])
@permission_required(Permission.PRESCRIBE)
def new(patient_id: int):
    patient = get_patient(patient_id)
    draft = Draft.load(session, patient_id)
    row_form = RowForm()
    status = 200
    if request.method == "POST" and request.form.get("action") == "calculate":
        preview = _preview(row_form, patient, draft)
        return _render_new(patient, draft, row_form, preview), 200 if preview else 422
    if request.method == "POST":
        action = request.form.get("action", "")
        try:
            response = _apply(action, draft, row_form)
        except ValidationFailed as exc:
            for error in exc.errors:
                flash(error.message, "error")
            status, response = exc.status, None
        except DomainError as exc:
            flash(exc.message, "error")
            status, response = exc.status, None
        if response is not None:
            return response
        if row_form.errors and status == 200:
            status = 422
    return _render_new(patient, draft, row_form), status


def _apply(action: str, draft: Draft, row_form: RowForm):
    """Carry out one step of the flow; return a redirect when the step is done."""
    if action == "area":
        draft.choose_area(request.form.get("area", ""))
    elif action == "unit":
        draft.unit_id = request.form.get("unit", type=int)
    elif action == "add_row":
        if not row_form.validate_on_submit():
            return None
        if len(draft.rows) >= MAX_DRAFT_ROWS:
            raise ValidationFailed.single("rows", f"Högst {MAX_DRAFT_ROWS} rader per förskrivning.")
        row = _row_from(row_form)
        article = db.session.get(Article, row.article_id)
        if article is None:
            raise ValidationFailed.single("article_id", "Artikeln finns inte.")
        services.calculate_row(row, article)  # refuse impossible quantities before they enter the draft
        draft.add_row(row)
    elif action == "remove_row":
        draft.remove_row(request.form.get("article_id", type=int) or 0)
    elif action == "discard":
        Draft.discard(session)
        return redirect(url_for("patients.overview", patient_id=draft.patient_id))
    elif action == "save":
        prescription = services.create_prescription(current_user, draft.as_input())
        Draft.discard(session)
        flash(f"Förskrivningen är sparad med förskrivningsnummer {prescription.number}.", "info")
        return redirect(url_for("prescribing.show", number=prescription.number))
    else:
        raise ValidationFailed.single("action", "Okänd åtgärd.")
    draft.save(session)
    return redirect(url_for("prescribing.new", patient_id=draft.patient_id))


def _row_from(form: RowForm) -> RowInput:
    pieces = form.pieces_per_day.data.replace(",", ".") if form.mode.data == "pieces" else None
    return RowInput(
        article_id=int(form.article_id.data), withdrawals=int(form.withdrawals.data),
        period_days=form.period_days.data,
        packages_per_withdrawal=form.packages_per_withdrawal.data if form.mode.data == "packages" else None,
        pieces_per_day=pieces, recommendation=form.recommendation.data or None,
    )


def _preview(form: RowForm, patient, draft: Draft) -> dict | None:  # noqa: ANN001
    """Return what the row would amount to (seed 000: "Beräkna antal"), or None with the form's errors set."""
    if not form.validate_on_submit():
        return None
    row = _row_from(form)
    article = db.session.get(Article, row.article_id)
    area = services.area_by_code(draft.area_code) if draft.area_code else None
    if article is None or area is None or article.product_area_id != area.id:
        form.article_id.errors = ["Välj en artikel i produktområdet."]
        return None
    try:
        return _draft_line(row, article, patient, area)
    except ValidationFailed as exc:
        form.form_errors.extend(error.message for error in exc.errors)
        return None


def _fill(form: RowForm, row: RowInput) -> None:
    """Bring back a draft row's values for "✎ Ändra": quantities, withdrawals, period and recommendation."""
    form.mode.data = "pieces" if row.pieces_per_day else "packages"
    form.packages_per_withdrawal.data = row.packages_per_withdrawal
    form.pieces_per_day.data = str(row.pieces_per_day).replace(".", ",") if row.pieces_per_day else None
    form.withdrawals.data = str(row.withdrawals)
    form.period_days.data = row.period_days
    form.recommendation.data = row.recommendation or ""


def _render_new(patient, draft: Draft, row_form: RowForm, preview: dict | None = None):  # noqa: ANN001
    areas = services.authorised_areas(current_user)
    area = next((a for a in areas if a.code == draft.area_code), None)
    units = services.units_for(current_user, area) if area else []
    if area and len(units) == 1 and draft.unit_id is None:
        draft.unit_id = units[0].id  # preselected when there is only one
        draft.save(session)
    query = request.args.get("artikel", "").strip()[:60]
    matches = None
    if area and query:
        state = TableState.from_args(request.args, services.ARTICLE_COLUMNS, default_sort="name", prefix="a_")
        matches = services.find_articles(area, query, state)
    chosen = db.session.get(Article, request.args.get("article_id", type=int) or 0) if area else None
    if chosen is not None and chosen.product_area_id != area.id:
        chosen = None
    if chosen is not None and request.method == "GET":
        row_form.article_id.data = str(chosen.id)
        editing = next((row for row in draft.rows if row.article_id == chosen.id), None)
        if editing is not None:
            _fill(row_form, editing)
    articles = {a.id: a for a in db.session.query(Article).filter(Article.id.in_([r.article_id for r in draft.rows]))}
    lines = [_draft_line(row, articles[row.article_id], patient, area) for row in draft.rows if row.article_id in articles]
    crumbs = [("Patient", url_for("patients.search")),
              (patient.full_name, url_for("patients.overview", patient_id=patient.id)), ("Ny förskrivning", None)]
    return render_template(
        "prescribing/new.html", patient=patient, draft=draft, areas=areas, area=area, units=units,
        query=query, matches=matches, chosen=chosen, row_form=row_form, lines=lines, breadcrumbs=crumbs,
        preview=preview,
    )


def _draft_line(row: RowInput, article: Article, patient, area) -> dict:  # noqa: ANN001
    """Return what the draft table shows for a row: the calculated quantities and, for nutrition, the fee."""
    quantity = services.calculate_row(row, article)
    line = {"row": row, "article": article, "q": quantity, "fee": None}
    if area is not None and area.code == "nutrition":
        goods_value = Decimal(quantity.packages_per_withdrawal) * article.unit_price
        try:
            line["fee"] = nutrition_patient_fee(goods_value, quantity.period_days, patient.nutrition_category,
                                                patient.special_housing)
        except FeeError:
            line["fee"] = None
    return line


@bp.get("/<int:number>")
@permission_required(Permission.READ_PATIENTS)
def show(number: int):
    prescription = services.get_prescription(number)
    crumbs = [("Patient", url_for("patients.search")),
              (prescription.patient.full_name, url_for("patients.overview", patient_id=prescription.patient_id)),
              (f"Förskrivning {number}", None)]
    return render_template("prescribing/show.html", prescription=prescription, breadcrumbs=crumbs)


@bp.post("/rad/<int:row_id>/makulera")
@permission_required(Permission.PRESCRIBE)
def cancel_row(row_id: int):
    if not confirmed():
        row = services.get_row(row_id)
        return ask_to_confirm(f"Makulera raden för {row.article.name}?",
                              f"Rad i förskrivning {row.prescription.number}. En makulerad rad kan inte återställas; "
                              "förskriv på nytt om den behövs.", "Makulera",
                              url_for("patients.overview", patient_id=row.patient_id))
    row = services.cancel_row(current_user, row_id)
    flash(f"Raden för {row.article.name} är makulerad.", "info")
    return redirect(url_for("patients.overview", patient_id=row.patient_id))


@bp.post("/kopiera/<int:patient_id>")
@permission_required(Permission.PRESCRIBE)
def copy(patient_id: int):
    try:
        area, rows = services.rows_for_copy(patient_id, [int(v) for v in request.form.getlist("row") if v.isdigit()])
    except ValidationFailed as exc:
        flash(str(exc.errors[0].message), "error")
        return redirect(url_for("patients.overview", patient_id=patient_id))
    draft = Draft(patient_id, area.code)
    for row in rows:
        draft.add_row(RowInput(
            article_id=row.article_id, withdrawals=row.withdrawals, period_days=row.period_days,
            packages_per_withdrawal=row.packages_per_withdrawal, recommendation=row.recommendation,
            copied_from_id=row.id,
        ))
    draft.save(session)
    flash("Raderna är kopierade. Korrigera vid behov och spara; kopierade aktiva rader makuleras.", "info")
    return redirect(url_for("prescribing.new", patient_id=patient_id))


@bp.get("/<int:number>/kvitto.pdf")
@permission_required(Permission.READ_PATIENTS)
def receipt(number: int):
    return _pdf(printing.prescription_receipt_pdf(current_user, number, "prescribing.receipt"),
                f"forskrivningskvitto-{number}.pdf")


@bp.get("/patient/<int:patient_id>/aktiva.pdf")
@permission_required(Permission.READ_PATIENTS)
def receipt_active(patient_id: int):
    return _pdf(printing.active_rows_receipt_pdf(current_user, patient_id, "prescribing.receipt_active"),
                "aktiva-forskrivningar.pdf")
