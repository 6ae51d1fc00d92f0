"""Back-registration pages (efterregistrering) for Hjälpmedelsservice: review, conflicts, errors, reconciliation.

Thin: parse, call one service, map domain errors to messages. The review queue and an item's
page show the patient only to roles that may read patient data (never IT staff), and every
such display is logged through `log_patient_display`. Other lists hold no personal data.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

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
from sync import cards, conflicts, correction, outbox, progress, queries, reconciliation, review
from sync import reconciliation_export as export
from sync.client import HttpMainServer, TransportError
from sync.forms import ApproveForm, BulkApproveForm, NoteForm, ResolveForm, correction_form, correction_values
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


def may_see_patients() -> bool:
    """Return whether the current user may see patient data here (IT staff never do)."""
    return current_user.can(Permission.READ_PATIENTS) and Role.IT_STAFF not in current_user.roles


def log_patient_display(patient_ids: Iterable[int | None], context: str) -> None:
    """Write the access-log rows for the patients this page shows (the one place this package logs)."""
    shown = [pid for pid in patient_ids if pid is not None]
    if shown:
        mark_displayed(current_user.id, shown, AccessAction.OVERVIEW, context)


def _show_cards(items: list[OutboxItem], context: str) -> list[cards.Card]:
    shown = cards.cards_for(items, with_patients=may_see_patients())
    log_patient_display((card.patient_id for card in shown), context)
    return shown


def _reviewable_kinds() -> tuple[str, ...]:
    if not current_user.roles & _reviewer_roles():
        abort(403)
    return tuple(k for k in current_settings().review if review.may_review(current_user, k))


@bp.get("/granska")
def review_queue():
    kinds = _reviewable_kinds()
    filters, filter_errors = queries.parse_filters(request.args, kinds)
    page = queries.items_page(request.args, (REVIEW,), kinds, filters)
    return render_template("sync/review_queue.html", page=page, filters=filters, filter_errors=filter_errors,
                           choices=queries.filter_choices(kinds), form=BulkApproveForm(formdata=None),
                           cards=_show_cards(page.rows, "Efterregistrering: granskningskön"),
                           breadcrumbs=[("Efterregistrering", url_for("sync.index")), ("Granska", None)])


def _selected_keys() -> list[str]:
    return list(dict.fromkeys(k for k in request.form.getlist("nyckel") if k))


@bp.post("/granska/bekrafta")
def confirm_approval():
    kinds = _reviewable_kinds()
    form = BulkApproveForm()
    keys = _selected_keys()
    if not form.validate_on_submit() or not keys:
        flash("Välj minst en post att godkänna." if keys == [] else "Formuläret gick inte att skicka; försök igen.",
              "error")
        return redirect(url_for("sync.review_queue", **_back_filters()))
    items = list(db.session.scalars(select(OutboxItem).where(OutboxItem.key.in_(keys), OutboxItem.state == REVIEW,
                                                             OutboxItem.kind.in_(kinds))
                                    .order_by(OutboxItem.created_at, OutboxItem.id)))
    return render_template("sync/confirm_approval.html", form=form, filters=_back_filters(),
                           cards=_show_cards(items, "Efterregistrering: bekräfta godkännande"),
                           gone=len(keys) - len(items),
                           breadcrumbs=[("Efterregistrering", url_for("sync.index")),
                                        ("Granska", url_for("sync.review_queue")), ("Bekräfta", None)])


def _back_filters() -> dict[str, str]:
    return {name: request.form[name] for name in ("typ", "enhet", "kanal") if request.form.get(name)}


@bp.post("/granska/godkann")
def approve_selected():
    _reviewable_kinds()
    form = BulkApproveForm()
    keys = _selected_keys()
    if not form.validate_on_submit() or not keys:
        flash("Inget godkändes: välj poster och bekräfta igen.", "error")
        return redirect(url_for("sync.review_queue", **_back_filters()))
    approved, refused = review.approve_many(current_user, keys, form.note.data)
    if approved:
        flash(f"{_count(len(approved))} {'godkänd' if len(approved) == 1 else 'godkända'} och skickas till "
              "huvudservern.", "info")
    for _key, reason in refused:
        flash(f"En post godkändes inte: {reason}", "error")
    return redirect(url_for("sync.review_queue", **_back_filters()))


def _count(n: int) -> str:
    return "1 post" if n == 1 else f"{n} poster"


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
    with_patients = may_see_patients()
    current = _correctable(item, with_patients)
    related = _related(item)
    card = cards.cards_for([item], with_patients=with_patients)[0]
    context = {
        "item": item, "trace": trace, "attempts": attempts, "item_card": card,
        "payload": cards.labelled_fields(item.data, with_patients=with_patients),
        "server_version": cards.labelled_fields(server_version, with_patients=with_patients)
        if server_version else None,
        "server_source": source, "labels": _labels(), "fields": current,
        "corrections": [(other, cards.differences(*((other.data, item.data) if other.key == item.supersedes_key
                                                    else (item.data, other.data)), with_patients=with_patients))
                        for other in related],
        "resolutions": resolutions_for(item.kind, item.problem_data, item.conflict_server_id)
        if item.state == CONFLICT else (),
        "can_review": item.state == REVIEW and review.may_review(current_user, item.kind),
        "can_edit": item.requires_review and editable(item.state, item.attempts, item.uncertain)
        and item.state != CONFLICT and (item.state != REVIEW or review.may_review(current_user, item.kind)),
        "is_staff": current_user.can(Permission.REVIEW_SYNC),
        "approve_form": forms.get("approve_form") or ApproveForm(formdata=None),
        "note_form": forms.get("note_form") or NoteForm(formdata=None),
        "resolve_form": forms.get("resolve_form") or ResolveForm(formdata=None),
        "edit_form": forms.get("edit_form") or correction_form(current, formdata=None),
        "breadcrumbs": [("Efterregistrering", url_for("sync.index")),
                        (f"{card.kind_label} {card.reserve_number or key[:8]}", None)],
    }
    _log_item_patients(item, related, with_patients)
    return render_template("sync/item.html", **context), code


def _correctable(item: OutboxItem, with_patients: bool) -> dict[str, str]:
    """Return the fields the person may correct: the patient only for those who may see patient data."""
    current = correction.correctable(item.data)
    if not with_patients:
        current.pop("patient", None)
    return current


def _related(item: OutboxItem) -> list[OutboxItem]:
    """Return the item this one replaced by a correction, and the one that replaced it."""
    keys = [k for k in (item.supersedes_key, item.superseded_by_key) if k]
    return list(db.session.scalars(select(OutboxItem).where(OutboxItem.key.in_(keys)))) if keys else []


def _log_item_patients(item: OutboxItem, related: list[OutboxItem], with_patients: bool) -> None:
    """Log every patient the item page names: the item's, and a corrected one's (before or after)."""
    if not with_patients:
        return
    numbers = {cards.payload_personnummer(i.data) for i in (item, *related)} - {None}
    if numbers:
        ids = db.session.scalars(select(Patient.id).where(Patient.personnummer.in_(numbers)))
        log_patient_display(ids, f"Efterregistrering {item.key}")


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
    current = _correctable(_load(key), may_see_patients())
    form = correction_form(current)

    def run() -> str:
        correction.correct(current_user, key, correction_values(form, current), form.note.data)
        return "Posten är rättad. Den rättade versionen är godkänd och skickas till huvudservern."

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
    return render_template("sync/reconciliation.html", report=report, summary=export.summary(report),
                           groups=export.groups(report), totals_text=export.totals_text,
                           may_trace=current_user.can(Permission.REVIEW_SYNC),
                           breadcrumbs=[("Efterregistrering", url_for("sync.index")),
                                        ("Avstämning", url_for("sync.reconciliation_index")),
                                        (f"Händelse {incident_id}", None)])


@bp.get("/avstamning/<int:incident_id>.csv")
@permission_required(Permission.READ_SYNC_REPORTS)
def reconciliation_csv(incident_id: int):
    body = export.to_csv(_report(incident_id)).encode("utf-8")
    response = current_app.response_class(body, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="avstamning-{incident_id}.csv"'
    return response


@bp.get("/avstamning/<int:incident_id>.pdf")
@permission_required(Permission.READ_SYNC_REPORTS)
def reconciliation_pdf(incident_id: int):
    response = current_app.response_class(export.to_pdf(_report(incident_id)), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="avstamning-{incident_id}.pdf"'
    return response
