"""The back-registration pages: roles, queues, an item's page and its actions, the report, the status page."""
from __future__ import annotations

import csv
import io
import json

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from core.clock import utcnow
from core.extensions import db
from core.models import AccessLogEntry
from core.store import begin_write
from core.privacy.access_journal import ingest_pending
from sync import outbox
from sync.models import OutboxItem
from sync.rules import CANCELLED, PENDING
from tests.conftest import csrf_token_from, login
from tests.client import FreshClient
from tests.service.sync.conftest import free_port, incident_with_items, prescribe


@pytest.fixture
def client(app):
    return FreshClient(app, app.response_class, use_cookies=True)


@pytest.fixture(autouse=True)
def _nobody_at_the_main_server(app, monkeypatch):
    monkeypatch.setitem(app.config, "MAIN_SERVER_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setitem(app.config, "SYNC_CONNECT_TIMEOUT", 0.3)
    monkeypatch.setitem(app.config, "STATUS_PAGE_CACHE_SECONDS", 0)


def post_form(client, page_url: str, action_url: str, data: dict):  # noqa: ANN201
    token = csrf_token_from(client.get(page_url).get_data(as_text=True))
    return client.post(action_url, data={"csrf_token": token, **data})


def test_the_pages_are_for_hms_staff(client, world):
    _, made = incident_with_items(world)
    login(client, "karin")
    for path in ("/efterregistrering/", "/efterregistrering/konflikter", "/efterregistrering/fel",
                 f"/efterregistrering/post/{made[0].key}"):
        assert client.get(path).status_code == 403, path
    client.post("/logout", data={"csrf_token": csrf_token_from(client.get("/").get_data(as_text=True))})
    login(client, "hanna")
    for path in ("/efterregistrering/", "/efterregistrering/granska", "/efterregistrering/konflikter",
                 "/efterregistrering/fel", f"/efterregistrering/post/{made[0].key}"):
        assert client.get(path).status_code == 200, path


def test_hms_staff_have_an_efterregistrering_tab_and_others_do_not(client, world):
    tab = '<a href="/efterregistrering/"'
    login(client, "hanna")
    page = client.get("/efterregistrering/").get_data(as_text=True)
    assert tab in page and 'aria-current="page" class="active">Efterregistrering<' in page
    client.post("/logout", data={"csrf_token": csrf_token_from(client.get("/").get_data(as_text=True))})
    for username in ("karin", "kim", "ivar"):
        login(client, username)
        home = client.get("/").get_data(as_text=True)
        assert tab not in home and "Min sida" in home, username
        client.post("/logout", data={"csrf_token": csrf_token_from(home)})


def test_it_staff_see_progress_and_the_report_but_no_items(client, world):
    incident_id, made = incident_with_items(world)
    login(client, "ivar")
    assert client.get("/efterregistrering/").status_code == 200
    assert client.get(f"/efterregistrering/avstamning/{incident_id}").status_code == 200
    assert client.get(f"/efterregistrering/post/{made[0].key}").status_code == 403


def test_the_review_queue_lists_what_waits_and_approving_through_the_form_works(client, world):
    _, made = incident_with_items(world)
    login(client, "hanna")
    page = client.get("/efterregistrering/granska").get_data(as_text=True)
    assert page.count('name="nyckel"') == 4 and "Beställning" in page and "Telefon" in page
    item_url = f"/efterregistrering/post/{made[0].key}"
    response = post_form(client, item_url, item_url + "/godkann", {"note": "ok"})
    assert response.status_code == 302
    assert outbox.item_for_key(made[0].key).state == PENDING
    assert "Hanna Hjälpmedel" in client.get(item_url).get_data(as_text=True)


def test_cancelling_without_a_reason_shows_the_message_and_changes_nothing(client, world):
    _, made = incident_with_items(world)
    login(client, "hanna")
    item_url = f"/efterregistrering/post/{made[1].key}"
    response = post_form(client, item_url, item_url + "/makulera", {"note": ""})
    assert response.status_code == 422 and "motivering" in response.get_data(as_text=True)
    assert post_form(client, item_url, item_url + "/makulera", {"note": "Fel patient"}).status_code == 302
    assert outbox.item_for_key(made[1].key).state == CANCELLED


def test_editing_through_the_form_makes_a_new_item(client, world):
    begin_write()
    item = outbox.enqueue("work_order", {"description": "Byt batteri", "form_number": "AO-17"},
                          requires_review=True, channel="paper")
    db.session.commit()
    login(client, "hanna")
    item_url = f"/efterregistrering/post/{item.key}"
    unchanged = post_form(client, item_url, item_url + "/andra", {"note": "Rättat", "remark": "Byt batteri"})
    assert unchanged.status_code == 422 and "Inget har ändrats" in unchanged.get_data(as_text=True)
    response = post_form(client, item_url, item_url + "/andra", {"note": "Rättat", "remark": "Byt däck"})
    assert response.status_code == 302
    old = outbox.item_for_key(item.key)
    db.session.refresh(old)
    copy = outbox.item_for_key(old.superseded_by_key)
    assert old.state == CANCELLED and copy.data == {"description": "Byt däck", "form_number": "AO-17"}
    assert copy.state == PENDING and copy.approved_by_id == world["hanna"].id


def test_a_conflict_shows_both_versions_and_resolves_through_the_form(client, world):
    _, made = incident_with_items(world)
    existing = {"id": "F00000042", "kind": "prescription", "status": "registered",
                "payload": {"rows": [{"article": "A0000009"}]}, "registered_at": "2026-11-02T08:00:00"}
    begin_write()
    db.session.execute(OutboxItem.__table__.update().where(OutboxItem.id == made[3].id).values(
        state="conflict", conflict_server_id="F00000042", problem=json.dumps({
            "type": "active_row_exists", "existing_id": "F00000042", "detail": "patienten har redan en aktiv rad",
            "rows": [{"id": "F00000042-1"}], "existing": existing})))
    db.session.commit()
    login(client, "hanna")
    item_url = f"/efterregistrering/post/{made[3].key}"
    page = client.get(item_url).get_data(as_text=True)
    assert "Lokal version" in page and "Huvudserverns version" in page
    assert "F00000042" in page and "patienten har redan en aktiv rad" in page
    assert "huvudservern svarar inte just nu" in page  # the live read failed: the conflict's copy is shown
    response = post_form(client, item_url, item_url + "/los", {"action": "link", "note": "Samma förskrivning"})
    assert response.status_code == 302
    item = outbox.item_for_key(made[3].key)
    assert (item.state, item.server_id) == ("resolved", "F00000042")
    ingest_pending()  # as every reader of the log does first
    entries = db.session.scalars(select(AccessLogEntry).where(AccessLogEntry.patient_id == world["patient"].id))
    assert any("Efterregistrering" in e.context for e in entries)  # the payload named the patient


def test_the_reconciliation_report_in_html_csv_and_pdf(client, world):
    incident_id, made = incident_with_items(world)
    begin_write()
    db.session.execute(OutboxItem.__table__.update().where(OutboxItem.id == made[0].id)
                       .values(state="acked", server_id="B00000001", registered_at=utcnow()))
    db.session.commit()
    login(client, "hanna")
    html = client.get(f"/efterregistrering/avstamning/{incident_id}").get_data(as_text=True)
    assert "4 = 1 + 0 + 0 + 3 ej klara" in html and "balanserar inte" in html
    response = client.get(f"/efterregistrering/avstamning/{incident_id}.csv")
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig")), delimiter=";"))
    header = rows.index(next(r for r in rows if r and r[0] == "Reservnummer"))
    lines = rows[header + 1:]
    assert len(lines) == 4 and {r[8] for r in lines} == {"Registrerad", "Ej klar"}
    assert world["patient"].personnummer not in response.get_data().decode("utf-8-sig")
    pdf = client.get(f"/efterregistrering/avstamning/{incident_id}.pdf")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.get_data())).pages)
    assert "Avstämning efter driftstörning" in text and "B00000001" in text
    index = client.get("/efterregistrering/avstamning").get_data(as_text=True)
    assert f"#{incident_id}" in index


def test_the_public_status_page_shows_progress_without_personal_data(client, world):
    prescribe(world)
    body = client.get("/status.json").get_json()
    assert body["sync"]["backlog"] == 1 and body["sync"]["counts"][0]["state"] == "pending"
    assert world["patient"].personnummer not in json.dumps(body)
    page = client.get("/status").get_data(as_text=True)
    assert "Efterregistrering" in page and "kvar att skicka" in page
