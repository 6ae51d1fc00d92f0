"""Uttag in the Swedish UI: overview, detail with Skicka / Avbryt, new withdrawal, withdrawals per article."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from core.auth.guard import permission_required
from core.auth.roles import Permission
from core.errors import DomainError, ValidationFailed
from app.savedsearches.services import searches_for
from core.web.confirm import ask_to_confirm, confirmed
from core.web.tables import Page, TableState
from app.withdrawals import queries, services
from app.withdrawals.forms import WithdrawalForm
from app.withdrawals.rules import STATUS_LABELS, ui_channel
from app.withdrawals.search import WithdrawalCriteria, parse_withdrawal_criteria

bp = Blueprint("withdrawals", __name__, url_prefix="/uttag")


def _crumbs(*extra: tuple[str, str | None]) -> list[tuple[str, str | None]]:
    return [("Min sida", url_for("mypage.index")), *extra]


@bp.get("/")
@permission_required(Permission.READ_WITHDRAWALS)
def overview():
    errors: dict[str, str] = {}
    try:
        criteria = parse_withdrawal_criteria(request.args)
    except ValidationFailed as exc:
        criteria, errors = WithdrawalCriteria(), {e.field: e.message for e in exc.errors}
    page = None
    if not errors:
        state = TableState.from_args(request.args, queries.LIST_COLUMNS, default_sort="ordered",
                                     default_direction="desc")
        page = queries.search_withdrawals(current_user, criteria, state, "withdrawals.overview")
    return render_template(
        "withdrawals/overview.html", page=page, errors=errors, args=request.args, criteria=criteria,
        units=queries.units_for_filter(current_user), statuses=STATUS_LABELS,
        sees_all=queries.visible_unit_ids(current_user) is None,
        saved=searches_for(current_user, "withdrawals"), cap=queries.LIST_CAP,
        breadcrumbs=_crumbs(("Uttagsöversikt", None)),
    ), 400 if errors else 200


@bp.get("/<number>")
@permission_required(Permission.READ_PATIENTS)
def show(number: str):
    detail = queries.get_withdrawal(current_user, number, "withdrawals.show")
    line = detail.line
    crumbs = [("Patient", url_for("patients.search")),
              (line.patient_name, url_for("patients.overview", patient_id=line.patient_id)),
              (f"Uttag {line.u_number}", None)]
    return render_template("withdrawals/show.html", detail=detail, line=line, breadcrumbs=crumbs,
                           back=_local_path(request.args.get("tillbaka", "")))


LOCAL_PATH = re.compile(r"/(?![/\\])[^\s\\]*")  # browsers drop tabs and newlines: "/\t/x" is "//x"


def _local_path(target: str) -> str | None:
    """Return the target if it is a path on this site (never another host), else None."""
    if LOCAL_PATH.fullmatch(target) and not urlsplit(target).netloc:
        return target
    return None


def _back(default: str) -> str:
    return _local_path(request.form.get("back", "")) or default


def _change(number: str, action, done: str):  # noqa: ANN001
    try:
        withdrawal = action(current_user, number)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(_back(url_for("withdrawals.show", number=number)), 303)
    flash(f"Uttag {withdrawal.u_number} är {done}.", "info")
    return redirect(_back(url_for("withdrawals.show", number=withdrawal.u_number)), 303)


@bp.post("/<number>/skicka")
@permission_required(Permission.CREATE_WITHDRAWALS)
def send(number: str):
    return _change(number, services.send_withdrawal, "skickat")


@bp.post("/<number>/avbryt")
@permission_required(Permission.CREATE_WITHDRAWALS)
def abort(number: str):
    if not confirmed():
        return ask_to_confirm(f"Avbryta uttag {number}?", "Ett avbrutet uttag kan inte skickas igen; uttaget "
                              "återgår till förskrivningsraden.", "Avbryt uttaget",
                              url_for("withdrawals.show", number=number))
    return _change(number, services.abort_withdrawal, "avbrutet")


@bp.post("/<number>/levererad")
@permission_required(Permission.DELIVER_WITHDRAWALS)
def deliver(number: str):
    return _change(number, services.deliver_withdrawal, "registrerat som levererat")


@bp.route("/ny", methods=["GET", "POST"])
@permission_required(Permission.CREATE_WITHDRAWALS)
def new():
    row_id = request.args.get("rad", type=int)
    if row_id is None:
        raise ValidationFailed.single("row_id", "Välj den förskrivningsrad uttaget ska göras från.")
    row = queries.row_for_new_withdrawal(current_user, row_id, "withdrawals.new")
    patient_id = row.patient_id
    form = WithdrawalForm()
    status = 200
    if request.method == "GET":
        form.packages.data = row.packages_per_withdrawal
    elif form.validate_on_submit():
        try:
            withdrawal = services.create_withdrawal(current_user, row_id, form.packages.data,
                                                    ui_channel({r.value for r in current_user.roles}))
        except ValidationFailed as exc:
            form.packages.errors = [e.message for e in exc.errors]
            status = exc.status
        except DomainError as exc:
            form.form_errors.append(exc.message)
            status = exc.status
        else:
            flash(f"Uttaget är skapat med uttagsnummer {withdrawal.u_number}.", "info")
            return redirect(url_for("patients.overview", patient_id=patient_id, _anchor="uttag"), 303)
    else:
        status = 422
    patient = row.prescription.patient
    crumbs = [("Patient", url_for("patients.search")),
              (patient.full_name, url_for("patients.overview", patient_id=patient_id)), ("Skapa uttag", None)]
    return render_template("withdrawals/new.html", form=form, row=row, patient=patient, breadcrumbs=crumbs), status


@bp.get("/patient/<int:patient_id>/artikel")
@permission_required(Permission.READ_PATIENTS)
def per_article(patient_id: int):
    state = TableState.from_args(request.args, queries.ARTICLE_COLUMNS, default_sort="ordered",
                                 default_direction="desc")
    patient, articles, chosen, page = queries.withdrawals_per_article(
        current_user, patient_id, request.args.get("artikel", type=int), state, "withdrawals.per_article")
    crumbs = [("Patient", url_for("patients.search")),
              (patient.full_name, url_for("patients.overview", patient_id=patient.id)), ("Uttag per artikel", None)]
    return render_template("withdrawals/per_article.html", patient=patient, articles=articles, chosen=chosen,
                           page=page, breadcrumbs=crumbs)


# ---------------------------------------------------------------- template globals


def withdrawals_needing_action() -> Page | None:
    """Return My page's "Uttag som måste åtgärdas" for the logged-in user, once per request."""
    if not (current_user.is_authenticated and current_user.can(Permission.READ_WITHDRAWALS)):
        return None
    if "withdrawals_needing_action" not in g:
        state = TableState.from_args(request.args, queries.LIST_COLUMNS, default_sort="ordered",
                                     default_direction="desc", prefix="u_")
        g.withdrawals_needing_action = queries.needing_action(current_user, state, "mypage.withdrawals")
    return g.withdrawals_needing_action


def withdrawal_history(patient_id: int) -> Page:
    """Return one page of the patient's Uttagshistorik for the patient overview."""
    state = TableState.from_args(request.args, queries.HISTORY_COLUMNS, default_sort="ordered",
                                 default_direction="desc", prefix="u_")
    return queries.patient_history(patient_id, state)


TEMPLATE_GLOBALS = (withdrawals_needing_action, withdrawal_history)
