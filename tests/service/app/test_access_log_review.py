"""The region's log review: the access log as CSV (filtered, logged, not cached) and a patient's PDF extract."""
from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest
from freezegun import freeze_time
from pypdf import PdfReader
from reportlab.lib.pagesizes import A4
from sqlalchemy import select

from core.auth.roles import Role
from core.extensions import db
from core.models import AccessLogEntry
from core.privacy.access_log import AccessAction, record_patient_access
from core.privacy.access_journal import ingest_pending
from tests import factories
from tests.conftest import login

# November: Swedish time is UTC+1, so 22:30 UTC is 23:30 on the 20th and 23:10 UTC is 00:10 on the 21st.
IN_PERIOD = datetime(2026, 11, 3, 9, 15)
LATE_ON_THE_LAST_DAY = datetime(2026, 11, 20, 22, 30)
JUST_AFTER_THE_PERIOD = datetime(2026, 11, 20, 23, 10)
BEFORE_THE_PERIOD = datetime(2026, 10, 31, 22, 59)  # 23:59 on 31 October in Sweden
PERIOD = "fran=2026-11-01&till=2026-11-20"


@pytest.fixture
def logged(ctx):
    unit = factories.unit(name="Vårdcentralen Norr")
    karin = factories.user("karin", units=(unit,), name="Karin Förskrivare")
    olle = factories.user("olle", roles=(Role.CUSTOMER_SERVICE,), name="Olle Kundservice")
    boss = factories.user("boss", roles=(Role.ADMIN,), name="Berit Verksamhetsansvarig")
    anna = factories.patient(first_name="Anna", last_name="Ödman", personnummer=factories.make_personnummer(1950, 3, 2))
    bo = factories.patient(first_name="Bo", last_name="Åberg", personnummer=factories.make_personnummer(1960, 4, 5))
    for moment, user, patient, action, context in (
        (BEFORE_THE_PERIOD, karin, anna, AccessAction.SEARCH, "patients.search"),
        (IN_PERIOD, karin, anna, AccessAction.OVERVIEW, "patients.overview"),
        (IN_PERIOD, olle, bo, AccessAction.DISPLAY, "withdrawals.show"),
        (LATE_ON_THE_LAST_DAY, karin, anna, AccessAction.DISPLAY, "prescribing.show"),
        (JUST_AFTER_THE_PERIOD, olle, anna, AccessAction.RECEIPT, "prescribing.receipt"),
    ):
        with freeze_time(moment):
            record_patient_access(user.id, [patient.id], action, context)
    return {"karin": karin, "olle": olle, "boss": boss, "anna": anna, "bo": bo}


def _csv_rows(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))


def _rows_of(action: str) -> list[AccessLogEntry]:
    ingest_pending()  # as every reader of the log does first
    return list(db.session.scalars(select(AccessLogEntry).where(AccessLogEntry.action == action)))


def test_the_csv_export_filters_by_user_and_period_in_swedish_time(client, logged):
    login(client, "boss")
    response = client.get(f"/admin/atkomstlogg.csv?user={logged['karin'].id}&{PERIOD}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "no-store"
    assert "attachment" in response.headers["Content-Disposition"]
    header, *rows = _csv_rows(response.data)
    assert header == ["Tid", "Användare", "Namn", "Roll", "Enhet", "Personnummer", "Patient", "Åtgärd", "Skärm"]
    assert rows == [
        ["2026-11-03 10:15:00", "karin", "Karin Förskrivare", "Förskrivare", "Vårdcentralen Norr",
         "19500302-" + logged["anna"].personnummer[8:], "Anna Ödman", "Patientöversikt", "Patientöversikt"],
        ["2026-11-20 23:30:00", "karin", "Karin Förskrivare", "Förskrivare", "Vårdcentralen Norr",
         "19500302-" + logged["anna"].personnummer[8:], "Anna Ödman", "Visning av patientuppgifter", "Förskrivning"],
    ]


def test_the_csv_export_filters_by_patient_and_is_itself_logged(client, logged):
    login(client, "boss")
    response = client.get(f"/admin/atkomstlogg.csv?personnummer={logged['bo'].personnummer}")
    _, *rows = _csv_rows(response.data)
    assert [(r[1], r[6], r[8]) for r in rows] == [("olle", "Bo Åberg", "Uttag")]
    exported = _rows_of("log_export")
    assert [(e.user_id, e.patient_id, e.context) for e in exported] == [
        (logged["boss"].id, logged["bo"].id, "admin.access_log_csv")]


def test_bad_filter_input_names_the_field_and_exports_nothing(client, logged):
    login(client, "boss")
    response = client.get("/admin/atkomstlogg.csv?fran=2026-13-01&till=2026-11-20")
    assert response.status_code == 400 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert 'id="fran-error"' in html and "ÅÅÅÅ-MM-DD" in html
    backwards = client.get("/admin/atkomstlogg.csv?fran=2026-11-20&till=2026-11-01").get_data(as_text=True)
    assert 'id="till-error"' in backwards and "före från-datumet" in backwards
    assert _rows_of("log_export") == []


def test_the_admin_log_names_screens_in_swedish(client, logged):
    login(client, "boss")
    html = client.get(f"/admin/atkomstlogg?user={logged['karin'].id}").get_data(as_text=True)
    assert "<td>Förskrivning</td>" in html and "<td>Patientöversikt</td>" in html
    assert "prescribing.show" not in html


def test_the_patients_extract_is_an_a4_pdf_of_who_saw_what_and_when(client, logged):
    login(client, "boss")
    response = client.get(f"/admin/atkomstlogg/logutdrag.pdf?personnummer={logged['anna'].personnummer}&{PERIOD}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    reader = PdfReader(io.BytesIO(response.data))
    assert [round(float(v)) for v in reader.pages[0].mediabox[2:]] == [round(A4[0]), round(A4[1])]
    assert "Anna" not in (reader.metadata.title or "")
    text = "\n".join(page.extract_text() for page in reader.pages)
    for expected in ("Logutdrag", "Anna Ödman", "19500302-", "2026-11-01 – 2026-11-20", "Antal åtkomster: 2",
                     "Karin Förskrivare", "Förskrivare", "Vårdcentralen Norr", "2026-11-03 10:15:00",
                     "Patientöversikt", "2026-11-20 23:30:00", "Förskrivning", "Berit Verksamhetsansvarig"):
        assert expected in text, expected
    assert "Olle" not in text  # his read came after the period
    assert "Åberg" not in text and "2026-10-31" not in text
    extracts = _rows_of("log_extract")
    assert [(e.user_id, e.patient_id) for e in extracts] == [(logged["boss"].id, logged["anna"].id)]


def test_an_extract_needs_a_patient_and_a_whole_period(client, logged):
    login(client, "boss")
    response = client.get(f"/admin/atkomstlogg/logutdrag.pdf?personnummer={logged['anna'].personnummer}")
    assert response.status_code == 400
    assert "både från- och till-datum" in response.get_data(as_text=True)
    assert _rows_of("log_extract") == []


def test_only_readers_of_the_log_export_it(client, logged):
    login(client, "karin")
    assert client.get("/admin/atkomstlogg.csv").status_code == 403
    assert client.get(f"/admin/atkomstlogg/logutdrag.pdf?personnummer={logged['anna'].personnummer}&{PERIOD}"
                      ).status_code == 403
