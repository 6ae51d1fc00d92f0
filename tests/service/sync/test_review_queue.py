"""The review queue hms_staff match against paper: Swedish cards, filters, bulk approval, corrections."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.extensions import db
from core.models import AccessLogEntry
from core.privacy.access_journal import ingest_pending
from sync import outbox
from sync.models import OutboxItem
from sync.rules import CANCELLED, PENDING, REVIEW
from tests import factories
from tests.client import FreshClient
from tests.conftest import csrf_token_from, login
from tests.service.sync.conftest import free_port
from tests.service.sync.reserve_items import captured


@pytest.fixture
def client(app):
    return FreshClient(app, app.response_class, use_cookies=True)


@pytest.fixture(autouse=True)
def _nobody_at_the_main_server(app, monkeypatch):
    monkeypatch.setitem(app.config, "MAIN_SERVER_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setitem(app.config, "SYNC_CONNECT_TIMEOUT", 0.3)


def access_rows(world: dict, user: str) -> int:
    ingest_pending()  # as every reader of the log does first
    return db.session.scalar(select(func.count()).select_from(AccessLogEntry).where(
        AccessLogEntry.patient_id == world["patient"].id, AccessLogEntry.user_id == world[user].id))


def test_the_queue_shows_cards_in_swedish_and_logs_the_patients_shown(client, world):
    captured(world, "R-000101")
    login(client, "hanna")
    page = client.get("/efterregistrering/granska").get_data(as_text=True)
    for text in ("R-000101", "Förskrivning", "Åke Öberg", world["patient"].personnummer, "310001",
                 "Inkontinensskydd Maxi", "2 förp. × 1 uttag", "Vårdcentralen Norr", "Telefon", "Kim Kundservice",
                 "Karin Förskrivare", "Ansvarig förskrivare", "Reservnummer"):
        assert text in page, text
    assert access_rows(world, "hanna") == 1


def test_it_staff_see_no_patient_data_even_where_they_review(client, world, app, monkeypatch):
    monkeypatch.setitem(app.config, "SYNC_REVIEW", {**app.config["SYNC_REVIEW"], "prescription": ["it_staff"]})
    item = captured(world, "R-000102")
    login(client, "ivar")
    page = client.get("/efterregistrering/granska").get_data(as_text=True)
    assert "R-000102" in page and "Inkontinensskydd Maxi" in page
    assert world["patient"].personnummer not in page and "Öberg" not in page
    item_page = client.get(f"/efterregistrering/post/{item.key}").get_data(as_text=True)
    assert "R-000102" in item_page and world["patient"].personnummer not in item_page and "Öberg" not in item_page
    assert access_rows(world, "ivar") == 0


def test_the_item_page_shows_labelled_fields_not_json(client, world):
    item = captured(world, "R-000103")
    login(client, "hanna")
    page = client.get(f"/efterregistrering/post/{item.key}").get_data(as_text=True)
    assert "Rad 1 – Förpackningar per uttag" in page and "Produktområde" in page
    assert '"form_number"' not in page and "packages_per_withdrawal" not in page
    assert access_rows(world, "hanna") == 1


def test_filters_by_kind_unit_and_channel(client, world):
    south = factories.unit(name="Vårdcentralen Syd", customer_number="03-77")
    captured(world, "R-000201")
    captured(world, "R-000202", kind="order", channel="paper")
    captured(world, "R-000203", kind="order", channel="email", unit=south)
    login(client, "hanna")

    def shown(query: str) -> set[str]:
        page = client.get(f"/efterregistrering/granska?{query}").get_data(as_text=True)
        return {n for n in ("R-000201", "R-000202", "R-000203") if n in page}

    assert shown("") == {"R-000201", "R-000202", "R-000203"}
    assert shown("typ=order") == {"R-000202", "R-000203"}
    assert shown("kanal=paper") == {"R-000202"}
    assert shown("enhet=03-77") == {"R-000203"}
    assert shown(f"enhet={world['unit'].customer_number}&typ=order") == {"R-000202"}
    page = client.get("/efterregistrering/granska?kanal=fax").get_data(as_text=True)
    assert "Okänd kanal: fax" in page and "R-000202" in page


def test_bulk_approval_asks_for_confirmation_and_approves_only_the_checked(client, world):
    items = [captured(world, f"R-00030{n}", kind="order") for n in range(3)]
    login(client, "hanna")
    token = csrf_token_from(client.get("/efterregistrering/granska").get_data(as_text=True))
    chosen = {"csrf_token": token, "nyckel": [items[0].key, items[2].key]}
    confirm = client.post("/efterregistrering/granska/bekrafta", data=chosen)
    page = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "Godkänn 2 poster?" in page and "R-000300" in page and "R-000301" not in page
    assert {outbox.item_for_key(i.key).state for i in items} == {REVIEW}  # nothing approved by the first step
    done = client.post("/efterregistrering/granska/godkann", data={**chosen, "note": "Stämmer med blanketterna"})
    assert done.status_code == 302
    assert [outbox.item_for_key(i.key).state for i in items] == [PENDING, REVIEW, PENDING]
    assert outbox.item_for_key(items[0].key).approved_by_id == world["hanna"].id
    assert "2 poster godkända" in client.get("/efterregistrering/granska").get_data(as_text=True)


def test_bulk_approval_without_a_choice_or_a_token_approves_nothing(client, world):
    item = captured(world, "R-000401", kind="order")
    login(client, "hanna")
    token = csrf_token_from(client.get("/efterregistrering/granska").get_data(as_text=True))
    assert client.post("/efterregistrering/granska/bekrafta", data={"csrf_token": token}).status_code == 302
    assert "Välj minst en post" in client.get("/efterregistrering/granska").get_data(as_text=True)
    client.post("/efterregistrering/granska/godkann", data={"nyckel": [item.key]})  # no CSRF token
    assert outbox.item_for_key(item.key).state == REVIEW


def correct(client, item: OutboxItem, **fields: str):  # noqa: ANN201
    url = f"/efterregistrering/post/{item.key}"
    token = csrf_token_from(client.get(url).get_data(as_text=True))
    return client.post(url + "/andra", data={"csrf_token": token, **fields})


def test_a_correction_replaces_the_item_and_the_trace_shows_both(client, world):
    item = captured(world, "R-000501")
    login(client, "hanna")
    values = {"patient": world["patient"].personnummer, "unit": world["unit"].customer_number,
              "article": "310001", "prescriber": "karin", "remark": "Ringde 09.12"}
    response = correct(client, item, **values, quantity="3", note="Blanketten säger 3 förpackningar")
    assert response.status_code == 302
    old = outbox.item_for_key(item.key)
    new = outbox.item_for_key(old.superseded_by_key)
    assert old.state == CANCELLED and new.state == PENDING and new.approved_by_id == world["hanna"].id
    assert new.data["rows"][0]["packages_per_withdrawal"] == 3 and new.supersedes_key == old.key
    page = client.get(f"/efterregistrering/post/{new.key}").get_data(as_text=True)
    assert "Före rättelsen" in page and "Rad 1 – Förpackningar per uttag" in page
    assert ">2<" in page and ">3<" in page and "Blanketten säger 3 förpackningar" in page
    old_page = client.get(f"/efterregistrering/post/{old.key}").get_data(as_text=True)
    assert "har rättats och ersatts av" in old_page


def test_a_correction_is_checked_like_a_capture_and_saves_nothing_when_wrong(client, world):
    item = captured(world, "R-000601")
    login(client, "hanna")
    before = db.session.scalar(select(func.count()).select_from(OutboxItem))
    response = correct(client, item, patient="19121212-1213", unit="99-99", article="999999", quantity="0",
                       prescriber="karin", remark="", note="Fel på blanketten")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "Antal förpackningar ska vara ett heltal 1–999" in page
    response = correct(client, item, patient=world["patient"].personnummer, unit="99-99", article="999999",
                       quantity="2", prescriber="teo", remark="", note="Fel på blanketten")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Ingen enhet har kundnummer 99-99" in page and "Artikel 999999 finns inte" in page
    assert "teo är ingen aktiv förskrivare" in page
    assert db.session.scalar(select(func.count()).select_from(OutboxItem)) == before
    assert outbox.item_for_key(item.key).state == REVIEW
