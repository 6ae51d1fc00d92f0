"""The chokepoint: patients a request loads are logged after a successful response, once, under its screen."""
from __future__ import annotations

from flask import Flask, Response
from flask_login import login_user
from sqlalchemy import select

from core.extensions import db
from core.models import AccessLogEntry, Patient, User
from core.privacy.access_log import AccessAction
from core.privacy.chokepoint import mark_displayed
from core.privacy.access_journal import ingest_pending
from tests import factories


def _serve(app: Flask, username: str, patient_id: int, status: int, *, mark: AccessAction | None = None) -> None:
    """Serve GET /patient/<id> by hand: log in, load the patient through the ORM, answer with `status`."""
    with app.test_request_context(f"/patient/{patient_id}"):
        user = db.session.scalar(select(User).where(User.username == username))
        login_user(user)
        db.session.scalar(select(Patient).where(Patient.id == patient_id))
        if mark is not None:
            mark_displayed(user.id, [patient_id], mark, "patients.overview")
        app.process_response(Response(status=status))


def _rows(app: Flask) -> list[tuple[str, str]]:
    with app.app_context():
        ingest_pending()  # as every reader of the log does first
        return [(e.action, e.context) for e in db.session.scalars(select(AccessLogEntry).order_by(AccessLogEntry.id))]


def test_a_patient_loaded_by_a_shown_page_is_logged_under_the_endpoint(app):
    factories.user("karin")
    patient = factories.patient()
    _serve(app, "karin", patient.id, 200)
    assert _rows(app) == [("display", "patients.overview")]


def test_nothing_is_logged_when_the_response_failed(app):
    factories.user("karin")
    patient = factories.patient()
    for status in (400, 403, 404, 500):
        _serve(app, "karin", patient.id, status, mark=AccessAction.OVERVIEW)
    assert _rows(app) == []


def test_a_redirect_keeps_what_was_searched_but_not_what_was_merely_loaded(app):
    factories.user("karin")
    patient = factories.patient()
    _serve(app, "karin", patient.id, 302)
    assert _rows(app) == []
    _serve(app, "karin", patient.id, 302, mark=AccessAction.SEARCH)
    assert _rows(app) == [("search", "patients.overview")]


def test_an_explicit_mark_replaces_the_generic_row_for_the_same_patient(app):
    factories.user("karin")
    patient = factories.patient()
    _serve(app, "karin", patient.id, 200, mark=AccessAction.OVERVIEW)
    assert _rows(app) == [("overview", "patients.overview")]


def test_outside_a_request_a_mark_is_written_at_once(app):
    karin = factories.user("karin")
    patient = factories.patient()
    with app.app_context():
        assert mark_displayed(karin.id, [patient.id, patient.id], AccessAction.OVERVIEW, "reserve.kit") == 1
    assert _rows(app) == [("overview", "reserve.kit")]
