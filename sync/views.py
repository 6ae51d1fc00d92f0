"""Back-registration pages (efterregistrering) for Hjälpmedelsservice: review, conflicts, errors, reconciliation.

Thin: parse, call one service, map domain errors to messages. Lists hold no personal data;
an item's page shows its payload (which may name a patient) and is logged as a read.
"""
from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from core.privacy.access_log import AccessAction
from core.privacy.chokepoint import mark_displayed
from core.auth.guard import permission_required
from core.auth.roles import Permission, Role
from core.clock import utcnow
from core.errors import DomainError, ValidationFailed
from core.extensions import db
from core.models import Patient
from core.web.tables import Page
from sync import conflicts, outbox, progress, queries, reconciliation, review
from sync.client import HttpMainServer, TransportError
from sync.forms import ApproveForm, NoteForm, ResolveForm, edit_form
from sync.models import OutboxItem, SyncAttempt, SyncRun
from sync.rules import (
    BLOCKED, CHANNEL_LABELS, CONFLICT, DEAD, KIND_LABELS, RESOLUTION_LABELS, REVIEW, STATE_LABELS, editable,
    resolutions_for,
)
from sync.settings import current_settings

bp = Blueprint("sync", __name__, url_prefix="/efterregistrering", template_folder="templates",
               static_folder="static", static_url_path="/static")


def _reviewer_roles() -> set[Role]:
    return {Role(r) for roles in current_settings().review.values() for r in roles} | {Role.HMS_STAFF}


def _queue(states: tuple[str, ...], kinds: tuple[str, ...] | None = None) -> Page:
    return queries.items_page(request.args, states, kinds)


def _labels() -> dict:
    return {"kinds": KIND_LABELS, "states": STATE_LABELS, "channels": CHANNEL_LABELS,
            "resolutions": RESOLUTION_LABELS}


@bp.get("/")
@permission_required(Permission.READ_SYNC_REPORTS)  # progress and runs: no personal data
def index():
    now = utcnow()
    data = progress.public_progress(now)
    runs = list(db.session.scalars(select(SyncRun).order_by(SyncRun.id.desc()).limit(10)))
    return render_template("sync/index.html", progress=data, runs=runs, labels=_labels(),
                           is_staff=current_user.can(Permission.REVIEW_SYNC),
                           breadcrumbs=[("Efterregistrering", None)])


@bp.get("/granska")
def review_queue():
    if not current_user.roles & _reviewer_roles():
        abort(403)
    kinds = tuple(k for k in current_settings().review if review.may_review(current_user, k))
    page = _queue((REVIEW,), kinds)
    return render_template("sync/queue.html", page=page, title="Väntar på granskning", labels=_labels(),
                           intro="Poster som registrerats manuellt under reservrutinen. Granska och godkänn "
                                 "innan de skickas till huvudservern.",
                           breadcrumbs=[("Efterregistrering", url_for("sync.index")), ("Granska", None)])


@bp.get("/konflikter")
@permission_required(Permission.REVIEW_SYNC)
def conflict_queue():
    return render_template("sync/queue.html", page=_queue((CONFLICT,)), title="Konflikter", labels=_labels(),
                           intro="Huvudservern har redan något som motsäger posten. Jämför versionerna och välj lösning.",
                           breadcrumbs=[("Efterregistrering", url_for("sync.index")), ("Konflikter", None)])


@bp.get("/fel")
@permission_required(Permission.REVIEW_SYNC)
def error_queue():
    return render_template("sync/queue.html", page=_queue((DEAD, BLOCKED)), title="Fel och blockerade",
                           labels=_labels(),
                           intro="Poster som huvudservern avvisat, och poster som väntar på en överordnad post "
                                 "med konflikt eller fel.",
                           breadcrumbs=[("Efterregistrering", url_for("sync.index")), ("Fel", None)])


def _may_open(item: OutboxItem) -> bool:
    return current_user.can(Permission.REVIEW_SYNC) or (item.state == REVIEW
                                                        and review.may_review(current_user, item.kind))


def _log_patient_read(item: OutboxItem) -> None:
    number = (item.data.get("patient") or {}).get("personnummer") if isinstance(item.data.get("patient"), dict) else None
    if not number:
        return
    patient_id = db.session.scalar(select(Patient.id).where(Patient.personnummer == number))
    if patient_id is not None:
        mark_displayed(current_user.id, [patient_id], AccessAction.OVERVIEW, f"Efterregistrering {item.key}")


def _server_version(item: OutboxItem) -> tuple[dict | None, str]:
    """Return the main server's record for a conflict (asked now), or the one it sent with the conflict."""
    snapshot = (item.problem_data or {}).get("existing")
    if not item.conflict_server_id:
        return snapshot, "som huvudservern beskrev den i konflikten"
    try:
        with HttpMainServer(current_settings()) as client:
            live = client.record(item.conflict_server_id)
    except TransportError:
        live = None
    if live is not None:
        return live, "hämtad från huvudservern nu"
    return snapshot, "som huvudservern beskrev den i konflikten (huvudservern svarar inte just nu)"


def _load(key: str) -> OutboxItem:
    item = db.session.scalar(select(OutboxItem).where(OutboxItem.key == key)
                             .execution_options(populate_existing=True))
    if item is None:
        abort(404)
    return item


def _render_item(key: str, code: int = 200, **forms):
    item = _load(key)
    if not _may_open(item):
        abort(403)
    trace = outbox.trace_for(key)
    attempts = list(db.session.scalars(select(SyncAttempt).where(SyncAttempt.item_id == item.id)
                                       .order_by(SyncAttempt.id.desc()).limit(50)))
    server_version, source = _server_version(item) if item.state == CONFLICT else (None, "")
    fields = review.editable_fields(item)
    context = {
        "item": item, "trace": trace, "attempts": attempts, "payload": review.pretty(item.payload),
        "server_version": review.pretty_data(server_version) if server_version else None,
        "server_source": source, "labels": _labels(), "fields": fields,
        "resolutions": resolutions_for(item.kind, item.problem_data, item.conflict_server_id)
        if item.state == CONFLICT else (),
        "can_review": item.state == REVIEW and review.may_review(current_user, item.kind),
        "can_edit": item.requires_review and editable(item.state, item.attempts, item.uncertain)
        and item.state != CONFLICT and (item.state != REVIEW or review.may_review(current_user, item.kind)),
        "is_staff": current_user.can(Permission.REVIEW_SYNC),
        "approve_form": forms.get("approve_form") or ApproveForm(formdata=None),
        "note_form": forms.get("note_form") or NoteForm(formdata=None),
        "resolve_form": forms.get("resolve_form") or ResolveForm(formdata=None),
        "edit_form": forms.get("edit_form") or edit_form(fields, formdata=None),
        "breadcrumbs": [("Efterregistrering", url_for("sync.index")), (f"Post {key[:8]}", None)],
    }
    _log_patient_read(item)
    return render_template("sync/item.html", **context), code


@bp.get("/post/<key>")
def item(key: str):
    return _render_item(key)


def _act(key: str, form, action: Callable[[], str], form_name: str):  # noqa: ANN001
    if not form.validate_on_submit():
        return _render_item(key, 400, **{form_name: form})
    try:
        message = action()
    except ValidationFailed as exc:
        for error in exc.errors:
            target = getattr(form, error.field, None) or getattr(form, f"field_{error.field}", None)
            (target.errors if target is not None else form.form_errors).append(error.message)  # type: ignore[union-attr]
        return _render_item(key, exc.status, **{form_name: form})
    except DomainError as exc:
        form.form_errors.append(exc.message)
        return _render_item(key, exc.status, **{form_name: form})
    flash(message, "info")
    return redirect(request.form.get("next") if request.form.get("next", "").startswith("/efterregistrering")
                    else url_for("sync.item", key=key))


def _noted(key: str, form, use_case: Callable, done: str, form_name: str = "note_form"):  # noqa: ANN001
    """Run a review use case taking (user, key, note) from `form`, and tell the reviewer `done`."""

    def run() -> str:
        use_case(current_user, key, form.note.data)
        return done

    return _act(key, form, run, form_name)


@bp.post("/post/<key>/godkann")
def approve(key: str):
    return _noted(key, ApproveForm(), review.approve, "Posten är godkänd och skickas till huvudservern.",
                  "approve_form")


@bp.post("/post/<key>/makulera")
def cancel(key: str):
    return _noted(key, NoteForm(), review.cancel, "Posten är makulerad.")


@bp.post("/post/<key>/forsok-igen")
@permission_required(Permission.REVIEW_SYNC)
def retry(key: str):
    return _noted(key, NoteForm(), review.retry, "Posten skickas igen med samma nyckel.")


@bp.post("/post/<key>/andra")
def edit(key: str):
    fields = review.editable_fields(_load(key))
    form = edit_form(fields)

    def run() -> str:
        changes = {name: getattr(form, f"field_{name}").data for name, _ in fields
                   if getattr(form, f"field_{name}").data != ("" if _ is None else str(_))}
        copy = review.edit(current_user, key, changes, form.note.data)
        return f"Posten är ändrad: den nya versionen har nyckeln {copy.key} och skickas till huvudservern."

    return _act(key, form, run, "edit_form")


@bp.post("/post/<key>/los")
@permission_required(Permission.REVIEW_SYNC)
def resolve(key: str):
    form = ResolveForm()

    def run() -> str:
        result = conflicts.resolve(current_user, key, form.action.data, form.note.data)
        return f"Konflikten är löst ({RESOLUTION_LABELS[form.action.data].lower()})." + (
            f" Ny nyckel {result.key}." if result.key != key else "")

    return _act(key, form, run, "resolve_form")


# --- Reconciliation ---------------------------------------------------------------------------------

@bp.get("/avstamning")
@permission_required(Permission.READ_SYNC_REPORTS)
def reconciliation_index():
    return render_template("sync/reconciliation_index.html", incidents=reconciliation.incidents_with_items(),
                           breadcrumbs=[("Efterregistrering", url_for("sync.index")), ("Avstämning", None)])


def _report(incident_id: int) -> reconciliation.Report:
    if request.args.get("kontrollera") == "1":
        return reconciliation.build_checked(incident_id)
    return reconciliation.build(incident_id)


@bp.get("/avstamning/<int:incident_id>")
@permission_required(Permission.READ_SYNC_REPORTS)
def reconciliation_report(incident_id: int):
    report = _report(incident_id)
    return render_template("sync/reconciliation.html", report=report, summary=reconciliation.summary(report),
                           breadcrumbs=[("Efterregistrering", url_for("sync.index")),
                                        ("Avstämning", url_for("sync.reconciliation_index")),
                                        (f"Händelse {incident_id}", None)])


@bp.get("/avstamning/<int:incident_id>.csv")
@permission_required(Permission.READ_SYNC_REPORTS)
def reconciliation_csv(incident_id: int):
    body = reconciliation.to_csv(_report(incident_id)).encode("utf-8-sig")  # BOM: Excel reads å ä ö right
    response = current_app.response_class(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="avstamning-{incident_id}.csv"'
    return response


@bp.get("/avstamning/<int:incident_id>.pdf")
@permission_required(Permission.READ_SYNC_REPORTS)
def reconciliation_pdf(incident_id: int):
    response = current_app.response_class(reconciliation.to_pdf(_report(incident_id)), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="avstamning-{incident_id}.pdf"'
    return response
