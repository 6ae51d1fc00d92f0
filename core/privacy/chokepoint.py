"""The access log's one chokepoint: every patient a request loads for display gets its row.

Patientdatalagen asks for a row per display of personal data. Rather than trusting each view
to remember, every `Patient` the ORM loads during a request is collected in `g`; views that
select only columns mark their patients with `mark_displayed`. One `after_request` turns the
collection into rows unless the response failed, naming the screen after the endpoint.
Outside a request (background jobs, the kit) `mark_displayed` writes at once.
"""
from __future__ import annotations

from collections.abc import Iterable

from flask import Flask, Response, g, has_request_context, request
from flask_login import current_user
from sqlalchemy import event, inspect

from core.models import Patient
from core.privacy.access_log import AccessAction, Mark, record_rows

_EXPLICIT = "_access_log_marked"
_LOADED = "_access_log_loaded"


def mark_displayed(user_id: int, patient_ids: Iterable[int], action: AccessAction, context: str) -> int:
    """Log that these patients are shown: after the response inside a request, at once outside one."""
    marks = [Mark(user_id, pid, action, context) for pid in dict.fromkeys(patient_ids) if pid is not None]
    if not has_request_context():
        return record_rows(marks)
    pending: dict[Mark, None] = g.setdefault(_EXPLICIT, {})
    pending.update(dict.fromkeys(marks))
    return len(marks)


def _collect_loaded_patient(target: Patient, *_args: object) -> None:
    """Remember a patient the ORM loaded while serving a request."""
    if has_request_context():
        g.setdefault(_LOADED, set()).add(inspect(target).identity[0])


def pending_marks(user_id: int | None, endpoint: str | None, *, shown: bool) -> list[Mark]:
    """Return this request's marks: explicit ones, then (if a page was shown) loaded patients not yet named."""
    explicit = list(g.get(_EXPLICIT, {}))
    if user_id is None or not shown:
        return explicit
    named = {m.patient_id for m in explicit}
    context = endpoint or "okänd vy"  # never the path: it may carry a number that identifies someone
    implicit = [Mark(user_id, pid, AccessAction.DISPLAY, context)
                for pid in sorted(g.get(_LOADED, set()) - named)]
    return explicit + implicit


def _flush(response: Response) -> Response:
    """Write the request's access-log rows unless it failed.

    A search that redirects to the one patient found has still read personal data, so explicit
    marks survive a redirect; a patient merely loaded counts only when a page was shown (2xx).
    """
    if response.status_code >= 400 or not (g.get(_EXPLICIT) or g.get(_LOADED)):
        return response  # most requests show no patient: do not even load the user
    user_id = current_user.id if current_user and current_user.is_authenticated else None
    record_rows(pending_marks(user_id, request.endpoint, shown=200 <= response.status_code < 300))
    return response


def init_app(app: Flask) -> None:
    """Collect loaded patients per request and flush them into the log after each response."""
    if not event.contains(Patient, "load", _collect_loaded_patient):
        event.listen(Patient, "load", _collect_loaded_patient)
        event.listen(Patient, "refresh", _collect_loaded_patient)
    app.after_request(_flush)
