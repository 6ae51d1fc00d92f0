"""The printable kit (reservlåda) and drills."""
from __future__ import annotations

from flask import Response, abort, flash, make_response, redirect, render_template, url_for
from flask_login import current_user

from core.auth.guard import permission_required
from core.auth.roles import Permission
from core.clock import utcnow
from core.errors import DomainError
from core.extensions import db
from reserve import drill_runs, kit, state
from reserve.forms import ConfirmForm
from reserve.models import Drill
from reserve.views import bp, crumbs

DRILL_REFRESH_SECONDS = 3


def _may_see_kit() -> bool:
    return current_user.can(Permission.VIEW_RESERVE_ROUTINE) or current_user.can(Permission.PRESCRIBE)


@bp.get("/reservlada")
def kit_page():
    if not _may_see_kit():
        abort(403)
    latest = kit.latest_kit()
    return render_template("reserve/kit.html", kit=latest, documents=kit.visible_documents(current_user, latest),
                           form=ConfirmForm(), out=state.main_server_out(state.current_state()),
                           may_generate=current_user.can(Permission.VIEW_RESERVE_ROUTINE),
                           breadcrumbs=crumbs(("Reservlåda", None)))


@bp.post("/reservlada/skapa")
@permission_required(Permission.VIEW_RESERVE_ROUTINE)
def kit_generate():
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if state.main_server_out(state.current_state()):
        flash("Huvudsystemet är nere: reservlådan skapas inte om med gamla uppgifter. Den senaste finns kvar.",
              "error")
        return redirect(url_for("reserve.kit_page"))
    kit.generate(utcnow(), current_user)
    flash("En ny reservlåda är skapad.", "info")
    return redirect(url_for("reserve.kit_page"))


@bp.get("/reservlada/<int:document_id>/<name>")
def kit_document(document_id: int, name: str):
    if not _may_see_kit():
        abort(403)
    document = kit.download(current_user, document_id)
    if document.filename != name:
        abort(404)
    return Response(document.content, mimetype="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{document.filename}"',
                             "Cache-Control": "no-store"})


@bp.get("/ovningar")
@permission_required(Permission.RUN_DRILLS)
def drills():
    return render_template("reserve/drills.html", drills=drill_runs.recent(utcnow()), form=ConfirmForm(),
                           breadcrumbs=crumbs(("Övningar", None)))


@bp.post("/ovningar")
@permission_required(Permission.RUN_DRILLS)
def drill_start():
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        started = drill_runs.start(current_user, utcnow())
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("reserve.drills"))
    return redirect(url_for("reserve.drill_report", drill_id=started.id))


@bp.get("/ovningar/<int:drill_id>")
@permission_required(Permission.RUN_DRILLS)
def drill_report(drill_id: int):
    row = db.session.get(Drill, drill_id)
    if row is None:
        abort(404)
    shown = drill_runs.view(row, utcnow())
    response = make_response(render_template(
        "reserve/drill.html", drill=row, shown=shown, refresh_seconds=DRILL_REFRESH_SECONDS,
        breadcrumbs=crumbs(("Övningar", url_for("reserve.drills")), (f"Övning {row.id}", None))))
    if shown.under_way:
        response.headers["Refresh"] = str(DRILL_REFRESH_SECONDS)  # the page follows the drill until its report
    return response
