"""Seed 003: searches for personal data are logged; admins read the log."""
from __future__ import annotations

import logging

from sqlalchemy import select

from core.auth.roles import Role
from core.extensions import db
from core.logging_setup import PersonalDataFilter, redact
from core.models import AccessLogEntry
from core.privacy.access_log import AccessAction, record_patient_access
from core.privacy.access_journal import ingest_pending
from tests import factories
from tests.conftest import api_token, login


def test_recording_writes_user_patient_time_and_action(ctx):
    reader = factories.user("karin")
    first, second = factories.patient(), factories.patient()
    written = record_patient_access(reader.id, [first.id, second.id, first.id], AccessAction.SEARCH, "patients.search")
    assert written == 2
    ingest_pending()  # as every reader of the log does first
    rows = db.session.scalars(select(AccessLogEntry).order_by(AccessLogEntry.patient_id)).all()
    assert [(r.user_id, r.patient_id, r.action) for r in rows] == [
        (reader.id, first.id, "search"), (reader.id, second.id, "search")
    ]
    assert all(r.at is not None and r.context == "patients.search" for r in rows)


def test_admin_filters_the_log_by_user_and_patient(client, ctx):
    karin, olle = factories.user("karin"), factories.user("olle")
    factories.user("boss", roles=(Role.ADMIN,))
    anna = factories.patient(first_name="Anna", last_name="Ödman")
    bo = factories.patient(first_name="Bo", last_name="Åberg")
    record_patient_access(karin.id, [anna.id], AccessAction.OVERVIEW, "patients.overview")
    record_patient_access(olle.id, [bo.id], AccessAction.SEARCH, "patients.search")
    login(client, "boss")

    by_user = client.get(f"/admin/atkomstlogg?user={karin.id}").get_data(as_text=True)
    assert "Ödman" in by_user and "Åberg" not in by_user

    by_patient = client.get(f"/admin/atkomstlogg?personnummer={bo.personnummer}").get_data(as_text=True)
    assert "Åberg" in by_patient and "Ödman" not in by_patient
    # Reading one patient's log is itself logged.
    ingest_pending()  # as every reader of the log does first
    assert db.session.scalar(
        select(AccessLogEntry).where(AccessLogEntry.action == "access_log", AccessLogEntry.patient_id == bo.id)
    ) is not None


def test_invalid_personnummer_in_the_filter_gets_a_message(client):
    factories.user("boss", roles=(Role.ADMIN,))
    login(client, "boss")
    page = client.get("/admin/atkomstlogg?personnummer=19121212-1212")
    assert page.status_code == 200
    assert "12 siffror" in page.get_data(as_text=True)


def test_api_lists_the_log_for_admins_newest_first(client, ctx):
    karin = factories.user("karin")
    factories.user("boss", roles=(Role.ADMIN,))
    anna = factories.patient()
    record_patient_access(karin.id, [anna.id], AccessAction.SEARCH, "patients.search")
    record_patient_access(karin.id, [anna.id], AccessAction.OVERVIEW, "patients.overview")
    token = api_token(client, "boss")
    body = client.get("/api/v1/access-log?user=karin", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert body["total"] == 2
    assert {e["action"] for e in body["entries"]} == {"search", "overview"}
    assert all(e["personnummer"] == anna.personnummer for e in body["entries"])
    assert {e["screen"] for e in body["entries"]} == {"Patientsökning", "Patientöversikt"}

    bad = client.get("/api/v1/access-log?limit=0", headers={"Authorization": f"Bearer {token}"})
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "limit"
    unknown = client.get("/api/v1/access-log?colour=red", headers={"Authorization": f"Bearer {token}"})
    assert unknown.status_code == 422 and unknown.get_json()["error"]["field"] == "colour"


def test_application_log_never_carries_a_personnummer():
    record = logging.LogRecord("app", logging.INFO, __file__, 1, "search for %s by %s", ("191212121212", "karin"), None)
    PersonalDataFilter().filter(record)
    assert "191212121212" not in record.getMessage()
    assert "karin" in record.getMessage()
    assert redact('"GET /patient?q=19121212-1212 HTTP/1.1"') == '"GET /patient?q=[personnummer] HTTP/1.1"'
    assert redact("order 123456 qty 20") == "order 123456 qty 20"


def test_any_logger_in_the_running_app_redacts_personnummer(app, caplog):
    with caplog.at_level(logging.INFO):
        logging.getLogger("some.library").info("looked up %s", "195001011234")
        app.logger.warning("patient 19500101-1234 not found")
    assert caplog.records
    assert all("1950" not in record.getMessage() for record in caplog.records)
    assert "[personnummer]" in caplog.text
