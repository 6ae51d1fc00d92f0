"""Reserve mode across the app: the banner, "data as of" on screens and printouts, prescriptions
marked awaiting registration, and customer service's view with the call log."""
from __future__ import annotations

import io
from datetime import timedelta

from pypdf import PdfReader
from sqlalchemy import select

from core.extensions import db
from reserve import hooks
from reserve.models import AwaitingRegistration, CallLogEntry
from status import services
from tests.conftest import csrf_token_from, login
from tests.service.reserve.conftest import FOUR_HOURS_LATER, OUTAGE_START, bearer


def banner_text(html: str) -> str:
    start = html.index('id="banners"')
    return html[start:html.index("</div>\n", html.index("</div>", start) + 1)]


def test_every_page_shows_scenario_since_prognosis_what_to_do_and_data_as_of(reserve_active, world, client):
    login(client, "anna")
    for path in ("/", "/patient/", "/produkt/", "/status"):
        html = client.get(path).get_data(as_text=True)
        banners = banner_text(html)
        assert "Reservrutin gäller." in banners, path
        assert "Huvudservern är oåtkomlig för samtliga användare sedan 2026-11-02 10:00 CET" in banners, path
        assert "Reservrutin gäller sedan 2026-11-02 14:00 CET" in banners and "Prognos: Saknas." in banners
        assert "Akuta förskrivningar: ring Kundservice" in banners  # what a prescriber does
        assert "Uppgifter per 2026-11-02 09:59 CET." in banners  # the last good answer of the main server
    assert banners.count('role="alert"') == 2  # one outage banner (extended, not duplicated) and the data line


def test_the_banner_tells_each_role_what_to_do_and_shows_a_valid_prognosis(outage, world, client):
    services.set_prognosis(outage.id, world["it"].id, "Leverantören byter en disk.",
                           OUTAGE_START + timedelta(days=60), now=OUTAGE_START + timedelta(hours=1))
    login(client, "maria")
    banners = banner_text(client.get("/").get_data(as_text=True))
    assert "Driftstörning." in banners and "Prognos: Leverantören byter en disk." in banners
    assert "Informera inringande förskrivare" in banners


def test_no_banner_and_no_data_as_of_in_normal_operation(ctx, world, client):
    login(client, "anna")
    html = client.get("/").get_data(as_text=True)
    assert "Uppgifter per" not in html and "Reservrutin gäller" not in html


def test_a_reserve_routine_for_a_telephony_disruption_claims_no_outage_of_the_main_server(ctx, world, client):
    services.set_telephony(world["it"].id, True, "Växeln är nere.", now=OUTAGE_START)
    services.activate_reserve(world["it"].id, "Telefonin nere hela förmiddagen.",
                              now=OUTAGE_START + timedelta(minutes=5))
    db.session.commit()
    login(client, "anna")
    banners = banner_text(client.get("/").get_data(as_text=True))
    assert "Reservrutin gäller." in banners and "telefoni" in banners.lower()
    assert "Uppgifter per" not in banners and "Huvudsystemet kan inte nås" not in banners  # the data is current
    assert banners.count('role="alert"') == 1


def test_a_prescription_saved_during_the_outage_awaits_registration_in_overview_and_receipt(outage, world, client):
    login(client, "anna")
    response = client.post("/api/v1/prescriptions", headers=bearer(_token(client)), json={
        "patient_id": world["patient"].id, "product_area": "inkontinens", "unit_id": world["care"].id,
        "rows": [{"article_number": "200101", "packages_per_withdrawal": 2, "withdrawals": 4}]})
    assert response.status_code == 201, response.get_json()
    number = response.get_json()["number"]
    mark = db.session.scalar(select(AwaitingRegistration))
    assert mark.incident_id == outage.id and mark.registered_at is None
    marked = "Inväntar registrering</strong>"  # on the row, not the banner's explanation
    assert marked in client.get(f"/patient/{world['patient'].id}").get_data(as_text=True)
    receipt = client.get(f"/forskrivning/{number}/kvitto.pdf")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(receipt.data)).pages)
    assert "Inväntar registrering" in text and "Uppgifter per 2026-11-02 kl. 09.59" in text
    assert hooks.mark_prescription_registered(number, "MS-1", OUTAGE_START + timedelta(hours=6))
    db.session.commit()
    assert marked not in client.get(f"/patient/{world['patient'].id}").get_data(as_text=True)


def test_a_prescription_saved_in_normal_operation_is_not_marked(ctx, world, client):
    response = client.post("/api/v1/prescriptions", headers=bearer(_token(client)), json={
        "patient_id": world["patient"].id, "product_area": "inkontinens", "unit_id": world["care"].id,
        "rows": [{"article_number": "200101", "packages_per_withdrawal": 2, "withdrawals": 4}]})
    assert response.status_code == 201
    assert db.session.scalar(select(AwaitingRegistration)) is None


def _token(client) -> str:  # noqa: ANN001
    from tests.conftest import api_token

    return api_token(client, "anna")


def test_customer_service_sees_the_situation_what_to_say_and_logs_calls(reserve_active, world, client):
    login(client, "maria")
    page = client.get("/reserv/kundservice")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Reservrutin gäller" in html and "Att säga till den som ringer" in html
    assert "Akuta förskrivningar och beställningar tas emot per telefon" in html  # seed 004's routine
    assert "/reserv/registrera/forskrivning" in html  # the capture forms one click away
    token = csrf_token_from(html)
    refused = client.post("/reserv/kundservice/samtal", data={
        "csrf_token": token, "caller_type": "prescriber", "topic": "prescription", "outcome": "informed",
        "note": f"Gäller {world['patient'].personnummer}"})
    assert refused.status_code == 422 and "får inte innehålla personuppgifter" in refused.get_data(as_text=True)
    assert db.session.scalar(select(CallLogEntry)) is None
    logged = client.post("/reserv/kundservice/samtal", data={
        "csrf_token": token, "caller_type": "prescriber", "topic": "outage", "outcome": "informed",
        "note": "Hänvisad till driftinfo"})
    assert logged.status_code == 302
    entry = db.session.scalar(select(CallLogEntry))
    assert (entry.caller_type, entry.incident_id, entry.logged_by_id) == ("prescriber", reserve_active.id,
                                                                          world["agent"].id)
    assert "Hänvisad till driftinfo" in client.get("/reserv/kundservice").get_data(as_text=True)


def test_an_agent_who_lost_contact_sees_the_service_phone_fallback(ctx, world, client):
    from status import incidents
    from status.scenarios import Scenario
    from status.settings import current_settings

    incidents.open_incident(Scenario.CUSTOMER_SERVICE_CONTACT_LOST, OUTAGE_START, OUTAGE_START, current_settings())
    db.session.commit()
    login(client, "maria")
    html = client.get("/reserv/kundservice").get_data(as_text=True)
    assert "Kundservice har tappat kontakten" in html and "tjänstemobiler" in html
    assert "Normal drift" in html  # the main server itself is up


def test_the_checklists_api_lists_steps_with_who_when_and_state(reserve_active, world, client):
    from tests.conftest import api_token

    token = api_token(client, "maria")
    body = client.get(f"/api/v1/reserve/checklists?incident_id={reserve_active.id}", headers=bearer(token)).get_json()
    runbooks = [c["runbook"] for c in body["checklists"]]
    assert runbooks == ["main_server_outage", "reserve_routine"]
    activate = next(s for s in body["checklists"][0]["steps"] if s["key"] == "activate_reserve")
    assert activate["state"] == "done" and activate["done_by"] == "system"
    assert activate["done_at"] == "2026-11-02T14:00:00+01:00"
    step = next(s for s in body["checklists"][1]["steps"] if s["key"] == "acute_orders")
    done = client.post(f"/api/v1/reserve/checklists/steps/{step['id']}/done", headers=bearer(token),
                       json={"note": "Tar emot samtal."})
    assert done.status_code == 200 and done.get_json()["done_by"] == "Maria Persson"
    assert FOUR_HOURS_LATER  # named instant of the activation above


def test_the_reserve_tab_shows_for_those_who_work_the_routine(reserve_active, world, client):
    login(client, "maria")
    assert 'href="/reserv/">Reservrutin</a>' in client.get("/").get_data(as_text=True)
    login(client, "anna")
    assert 'href="/reserv/"' not in client.get("/").get_data(as_text=True)
    assert client.get("/reserv/").status_code == 403


def test_what_the_main_server_registered_is_noted_from_the_sync_engines_trace(reserve_active, world, client):
    from sqlalchemy import update

    from reserve import registrations
    from reserve.models import ReserveItem
    from sync.models import OutboxItem
    from tests.conftest import api_token

    token = api_token(client, "maria")
    captured = client.post("/api/v1/reserve/items", headers=bearer(token), json={
        "kind": "stock_move", "channel": "phone", "unit": "420107", "article": "200101", "packages": 10}).get_json()
    saved = client.post("/api/v1/prescriptions", headers=bearer(_token(client)), json={
        "patient_id": world["patient"].id, "product_area": "inkontinens", "unit_id": world["care"].id,
        "rows": [{"article_number": "200101", "packages_per_withdrawal": 2, "withdrawals": 4}]}).get_json()
    at = FOUR_HOURS_LATER + timedelta(hours=2)
    assert registrations.refresh(at) == 0  # nothing acknowledged yet
    # What the sender records when the main server answers (the sync engine's own table).
    db.session.execute(update(OutboxItem).where(OutboxItem.kind.in_(("stock_move", "prescription")))
                       .values(state="acked", server_id="S-1", registered_at=at))
    db.session.commit()
    assert registrations.refresh(at) == 2
    item = db.session.scalar(select(ReserveItem).where(ReserveItem.number == int(captured["reserve_number"][1:])))
    assert (item.registered_at, item.main_server_id) == (at, "S-1")
    mark = db.session.scalar(select(AwaitingRegistration).execution_options(populate_existing=True))
    assert mark.registered_at == at and saved["number"]
