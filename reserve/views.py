"""The reserve routine's pages: overview, checklists and customer service's view with the call log.

Capture and the work queue are in capture_views.py, the kit and drills in kit_views.py; all
add their routes to this blueprint.
"""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from core.auth.guard import permission_required
from core.auth.roles import Permission
from core.clock import utcnow
from core.errors import DomainError, ValidationFailed
from core.extensions import db
from core.web.tables import Column, TableState, paginate_query
from reserve import calls, checklists, state
from reserve.forms import CallForm, StepForm
from reserve.models import CallLogEntry, Checklist, ReserveItem
from reserve.rules import CAPTURED, KIND_LABELS, STEP_STATE_LABELS
from reserve.runbooks import RUNBOOK_ROLES
from status.public_page import public_status
from status import readmodel
from status.scenarios import Scenario

bp = Blueprint("reserve", __name__, url_prefix="/reserv", template_folder="templates", static_folder="static",
               static_url_path="/static")

CALL_COLUMNS = (
    Column("at", "Tid", CallLogEntry.at),
    Column("caller_type", "Vem ringde", CallLogEntry.caller_type),
    Column("topic", "Gällde", CallLogEntry.topic),
    Column("outcome", "Utfall", CallLogEntry.outcome),
    Column("note", "Anteckning"),
    Column("item", "Ärende"),
    Column("by", "Loggat av"),
)


def crumbs(*extra: tuple[str, str | None]) -> list[tuple[str, str | None]]:
    return [("Reservrutin", url_for("reserve.index")), *extra]


def _runbooks() -> dict:
    return current_app.extensions["reserve.runbooks"]


@bp.get("/")
@permission_required(Permission.VIEW_RESERVE_ROUTINE)
def index():
    now = utcnow()
    checklists.reconcile(now)
    reserve_state = state.current_state()
    public, _ = public_status(now)
    queue = dict(db.session.execute(select(ReserveItem.kind, func.count()).where(ReserveItem.status == CAPTURED)
                                    .group_by(ReserveItem.kind)).all())
    return render_template(
        "reserve/index.html", reserve=reserve_state, public=public, summaries=checklists.open_checklist_summaries(now),
        queue=queue, kind_labels=KIND_LABELS, out=state.main_server_out(reserve_state),
        data_as_of=state.data_as_of(), breadcrumbs=[("Reservrutin", None)])


@bp.get("/checklista/<int:checklist_id>")
@permission_required(Permission.VIEW_RESERVE_ROUTINE)
def checklist(checklist_id: int):
    now = utcnow()
    checklists.reconcile(now)
    current = checklists.get_checklist(checklist_id)
    return _render_checklist(current, now)


def _render_checklist(current: Checklist, now: datetime, code: int = 200, form: StepForm | None = None,
                      step_id: int | None = None):
    incident = readmodel.incident(current.incident_id)
    siblings = checklists.checklists_of(current.incident_id)
    states = {s.id: checklists.step_view_state(s, incident, now) for s in current.steps}
    forms = {s.id: (form if s.id == step_id and form is not None else StepForm(formdata=None, prefix=f"s{s.id}"))
             for s in current.steps}
    return render_template(
        "reserve/checklist.html", checklist=current, incident=incident, siblings=siblings, states=states,
        labels=STEP_STATE_LABELS, roles=RUNBOOK_ROLES, forms=forms, may_tick=checklists.may_tick,
        scenario=Scenario, breadcrumbs=crumbs((current.title, None)),
    ), code


@bp.post("/checklista/steg/<int:step_id>")
@permission_required(Permission.VIEW_RESERVE_ROUTINE)
def tick(step_id: int):
    form = StepForm(prefix=f"s{step_id}")
    checklist_id = request.form.get("checklist_id", type=int) or 0
    now = utcnow()
    if form.validate_on_submit():
        try:
            step = checklists.tick_step(current_user, step_id, form.note.data, now)
        except ValidationFailed as exc:
            form.note.errors = [e.message for e in exc.errors]
            return _render_checklist(checklists.get_checklist(checklist_id), now, exc.status, form, step_id)
        except DomainError as exc:
            form.note.errors = [exc.message]
            return _render_checklist(checklists.get_checklist(checklist_id), now, exc.status, form, step_id)
        flash(f"Steget ”{step.title}” är markerat som klart.", "info")
        return redirect(url_for("reserve.checklist", checklist_id=step.checklist_id) + f"#steg-{step.id}")
    return _render_checklist(checklists.get_checklist(checklist_id), now, 400, form, step_id)


def _customer_service_context(now) -> dict:  # noqa: ANN001
    """What customer service needs on one screen: the situation in plain Swedish and what to say."""
    reserve_state = state.current_state()
    public, _ = public_status(now)
    books = _runbooks()
    lost_contact = readmodel.customer_service_contact_lost()
    script = state.caller_script(reserve_state, public, now)
    return {
        "reserve": reserve_state, "public": public, "script": script,
        "lost_contact": lost_contact, "lost_contact_book": books.get(Scenario.CUSTOMER_SERVICE_CONTACT_LOST.value),
        "prognosis": state.prognosis_text(reserve_state, now) if reserve_state else None,
        "kind_labels": KIND_LABELS, "labels": {"caller_type": calls.CALLER_TYPES, "topic": calls.TOPICS,
                                               "outcome": calls.OUTCOMES},
    }


def _render_customer_service(form: CallForm, code: int = 200):
    now = utcnow()
    context = _customer_service_context(now)
    incident_id = context["reserve"].incident_id if context["reserve"] else None
    table = TableState.from_args(request.args, CALL_COLUMNS, default_sort="at", default_direction="desc")
    page = paginate_query(calls.calls_query(incident_id), CALL_COLUMNS, table, tie_breaker=CallLogEntry.id)
    return render_template("reserve/customer_service.html", form=form, calls=page, **context,
                           breadcrumbs=crumbs(("Kundservice", None))), code


@bp.get("/kundservice")
@permission_required(Permission.LOG_CALLS)
def customer_service():
    return _render_customer_service(CallForm(formdata=None))


@bp.post("/kundservice/samtal")
@permission_required(Permission.LOG_CALLS)
def log_call():
    form = CallForm()
    if not form.validate_on_submit():
        return _render_customer_service(form, 400)
    try:
        calls.log_call(current_user, form.caller_type.data, form.topic.data, form.outcome.data, form.note.data,
                       form.item.data, utcnow())
    except ValidationFailed as exc:
        for error in exc.errors:
            getattr(form, error.field).errors = [error.message]
        return _render_customer_service(form, exc.status)
    flash("Samtalet är loggat.", "info")
    return redirect(url_for("reserve.customer_service") + "#samtalslogg")


from reserve import capture_views, kit_views, work_order_views  # noqa: E402,F401 - they add their routes to bp
