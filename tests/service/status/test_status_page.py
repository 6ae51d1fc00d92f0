"""The public status page as HTML, JSON and Atom; who may publish; IT staff's forms."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlalchemy import select

from core.auth.roles import Role
from core.extensions import db
from status import services
from status.models import Component, Outage
from tests import factories
from tests.conftest import api_token, login
from core.formatting import local_text
from tests.service.status.conftest import FOUR_HOURS_LATER, OUTAGE_START, SATURDAY_NIGHT, open_incident
from tests.service.status.test_scenarios import EVERY_MINUTE, RETRY, bearer, drive_to_down, probe

ATOM = "{http://www.w3.org/2005/Atom}"
PUBLISH = [
    ("/api/v1/driftinfo", {"title": "Rubrik", "body": "Text"}),
    ("/api/v1/incidents/1/prognosis", {"text": "Snart", "expected_restoration_at": "2030-01-01T10:00:00+01:00"}),
    ("/api/v1/incidents/1/updates", {"status": "identified", "message": "Orsak funnen"}),
    ("/api/v1/reserve/activate", {"reason": "Test"}),
    ("/api/v1/reserve/deactivate", {"reason": "Test"}),
    ("/api/v1/telephony", {"disrupted": True, "message": "Störd"}),
    ("/api/v1/maintenance", {"component": "main_server", "starts_at": "2030-01-01T10:00:00+01:00",
                             "ends_at": "2030-01-01T11:00:00+01:00", "reason": "Uppgradering"}),
]


@pytest.fixture
def outage_at_noon(ctx, servers):
    main, _ = servers
    probe(OUTAGE_START - EVERY_MINUTE)
    main.stop()
    drive_to_down()
    return open_incident()


def test_status_page_needs_no_login_and_names_the_time_zone(client, outage_at_noon):
    page = client.get("/status")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Huvudservern är oåtkomlig för samtliga användare" in html
    assert "2026-11-02 10:00 CET" in html and "Europe/Stockholm" in html
    assert "Kontakt tas även med systemleverantör." in html  # what the seed says to do
    assert "Prognos saknas." in html


def test_status_json_has_components_incident_reserve_and_availability(client, outage_at_noon):
    with freeze_time(OUTAGE_START + timedelta(hours=1)):
        body = client.get("/status.json").get_json()
    assert body["timezone"] == "Europe/Stockholm"
    assert {c["key"]: c["state"] for c in body["components"]} == {
        "main_server": "down", "reference_target": "up", "customer_service": "unknown", "telephony": "up"}
    (incident,) = body["incidents"]
    assert incident["started_at"] == "2026-11-02T10:00:00+01:00"
    assert incident["scenario"] == "main_server_outage" and incident["prognosis"] is None
    assert incident["timeline"][0]["kind"] == "opened"
    assert body["reserve"]["seconds_until_automatic_activation"] == 3 * 3600
    availability = {a["key"]: a for a in body["availability"]}
    assert availability["main_server"]["last_24h"] == pytest.approx(100 * (1 - 3600 / 3660), abs=0.01)
    assert availability["customer_service"]["last_24h"] is None


def test_status_json_holds_no_personal_data(client, outage_at_noon):
    staff = factories.user("it", roles=(Role.IT_STAFF,), name="Ingrid Tekniker")
    services.add_incident_update(outage_at_noon.id, staff.id, "identified", "Disken har gått sönder.",
                                 now=OUTAGE_START + timedelta(minutes=5))
    text = client.get("/status.json").get_data(as_text=True) + client.get("/status").get_data(as_text=True)
    assert "Ingrid" not in text and "Tekniker" not in text and "@" not in text.split("prenumerera")[0]


def test_published_texts_may_not_carry_a_personnummer(client, ctx):
    factories.user("it", roles=(Role.IT_STAFF,))
    token = api_token(client, "it")
    response = client.post("/api/v1/driftinfo", headers=bearer(token),
                           json={"title": "Fel", "body": "Gäller patient 191212121212"})
    assert response.status_code == 422 and response.get_json()["error"]["field"] == "body"


def test_atom_feed_lists_updates_and_driftinfo(client, outage_at_noon):
    staff = factories.user("it", roles=(Role.IT_STAFF,))
    services.publish_driftinfo(staff.id, "Kundservice nås på tjänstemobil", "Ring 010-473 80 80.",
                               now=OUTAGE_START + timedelta(minutes=10))
    response = client.get("/status/feed.atom")
    assert response.status_code == 200 and response.mimetype == "application/atom+xml"
    feed = ET.fromstring(response.data)
    titles = [e.find(f"{ATOM}title").text for e in feed.findall(f"{ATOM}entry")]
    assert titles[0] == "Driftinfo: Kundservice nås på tjänstemobil"
    assert titles[1].startswith("Huvudservern är oåtkomlig")
    assert feed.find(f"{ATOM}entry/{ATOM}updated").text == "2026-11-02T10:10:00+01:00"


def test_history_and_countdown_after_resolution(client, outage_at_noon, servers):
    main, _ = servers
    from tests.service.status.conftest import HealthServer

    back = HealthServer(port=main.port).start()
    try:
        done = OUTAGE_START + timedelta(hours=1)
        probe(done)
        probe(done + RETRY)
    finally:
        back.stop()
    body = client.get("/status.json").get_json()
    assert body["incidents"] == [] and body["overall"]["state"] == "operational"
    assert body["history"][0]["duration_minutes"] == 60 and body["history"][0]["reserve_applied"] is False
    assert body["reserve"]["automatic_activation_at"] is None


@pytest.mark.parametrize(("path", "payload"), PUBLISH)
def test_only_it_staff_may_publish_others_get_403_json(client, ctx, path, payload):
    factories.user("karin", roles=(Role.PRESCRIBER,))
    factories.user("kund", roles=(Role.CUSTOMER_SERVICE,))
    factories.user("boss", roles=(Role.ADMIN,))
    for username in ("karin", "kund", "boss"):
        response = client.post(path, headers=bearer(api_token(client, username)), json=payload)
        assert response.status_code == 403, (username, path)
        assert response.is_json and response.get_json()["error"]["status"] == 403
    assert client.post(path, json=payload).status_code == 401


def test_it_staff_publish_driftinfo_over_the_api(client, ctx):
    factories.user("it", roles=(Role.IT_STAFF,))
    response = client.post("/api/v1/driftinfo", headers=bearer(api_token(client, "it")),
                           json={"title": "Planerat underhåll", "body": "I kväll 18–20."})
    assert response.status_code == 201
    assert client.get("/status.json").get_json()["driftinfo"][0]["title"] == "Planerat underhåll"


def test_heartbeat_is_for_customer_service_only(client, ctx):
    factories.user("it", roles=(Role.IT_STAFF,))
    factories.user("kund", roles=(Role.CUSTOMER_SERVICE,))
    assert client.post("/api/v1/heartbeat/customer-service",
                       headers=bearer(api_token(client, "it"))).status_code == 403
    assert client.post("/api/v1/heartbeat/customer-service").status_code == 401
    assert client.post("/api/v1/heartbeat/customer-service",
                       headers=bearer(api_token(client, "kund"))).status_code == 200


def test_any_logged_in_user_can_read_the_reserve_state_over_the_api(client, outage_at_noon):
    factories.user("karin", roles=(Role.PRESCRIBER,))
    body = client.get("/api/v1/reserve", headers=bearer(api_token(client, "karin"))).get_json()
    assert body["active"] is False and body["incident_id"] == outage_at_noon.id
    assert body["reserve_due_at"] == "2026-11-02T14:00:00+01:00"


def _form_token(html: str, prefix: str) -> str:
    match = re.search(rf'id="{prefix}-csrf_token" name="{prefix}-csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, f"no CSRF token for {prefix}"
    return match.group(1)


def test_it_staff_desk_publishes_a_prognosis_with_swedish_local_time(client, outage_at_noon):
    factories.user("it", roles=(Role.IT_STAFF,))
    with freeze_time(OUTAGE_START + timedelta(minutes=30)):
        login(client, "it")  # the session cookie's timestamp may not lie in the future
        desk = client.get("/status/hantera")
        assert desk.status_code == 200
        html = desk.get_data(as_text=True)
        assert "Hantera driftstatus" in html
        response = client.post("/status/hantera/prognos", data={
            "prognosis-csrf_token": _form_token(html, "prognosis"),
            "prognosis-incident_id": str(outage_at_noon.id),
            "prognosis-text": "Leverantören arbetar på en lösning.",
            "prognosis-expected_restoration_at": "2026-11-02T15:00",
        })
    assert response.status_code == 302
    assert open_incident().prognosis_until == OUTAGE_START + timedelta(hours=5)  # 15:00 CET = 14:00 UTC
    assert services.run_reserve_check(FOUR_HOURS_LATER) == []


def test_it_staff_desk_shows_field_errors(client, outage_at_noon):
    factories.user("it", roles=(Role.IT_STAFF,))
    login(client, "it")
    html = client.get("/status/hantera").get_data(as_text=True)
    response = client.post("/status/hantera/reservrutin/aktivera", data={
        "activate-csrf_token": _form_token(html, "activate"), "activate-incident_id": str(outage_at_noon.id),
        "activate-reason": ""})
    assert response.status_code == 400 and "Ange skälet." in response.get_data(as_text=True)


def test_forms_without_csrf_token_are_refused(client, outage_at_noon):
    factories.user("it", roles=(Role.IT_STAFF,))
    login(client, "it")
    response = client.post("/status/hantera/reservrutin/aktivera", data={
        "activate-incident_id": str(outage_at_noon.id), "activate-reason": "Beslut"})
    assert response.status_code == 400
    assert not open_incident().reserve_active


def test_the_desk_is_403_for_others(client, ctx):
    factories.user("karin", roles=(Role.PRESCRIBER,))
    login(client, "karin")
    assert client.get("/status/hantera").status_code == 403
    page = client.get("/status").get_data(as_text=True)
    assert "Hantera driftstatus" not in page


def test_availability_differs_per_window_and_is_shown_in_swedish_form(client, ctx):
    main = db.session.scalar(select(Component).where(Component.key == "main_server"))
    now = OUTAGE_START + timedelta(hours=3)
    main.monitored_since = now - timedelta(days=40)
    db.session.add(Outage(component_id=main.id, started_at=OUTAGE_START, ended_at=OUTAGE_START + 10 * EVERY_MINUTE))
    db.session.commit()
    with freeze_time(now):
        body = client.get("/status.json").get_json()
        html = client.get("/status").get_data(as_text=True)
    figures = next(a for a in body["availability"] if a["key"] == "main_server")
    assert (figures["last_24h"], figures["last_7d"], figures["last_30d"]) == (99.30, 99.90, 99.97)
    assert (figures["last_24h_text"], figures["last_7d_text"], figures["last_30d_text"]) == (
        "99,30 %", "99,90 %", "99,97 %")
    assert figures["last_30d_complete"] is True
    assert "<td>99,30 %</td><td>99,90 %</td><td>99,97 %</td>" in html


def test_availability_measured_for_less_than_the_window_is_marked_as_such(client, ctx):
    main = db.session.scalar(select(Component).where(Component.key == "main_server"))
    now = OUTAGE_START + timedelta(hours=3)
    main.monitored_since = now - timedelta(days=2)
    db.session.commit()
    with freeze_time(now):
        body = client.get("/status.json").get_json()
        html = client.get("/status").get_data(as_text=True)
    figures = next(a for a in body["availability"] if a["key"] == "main_server")
    assert figures["last_24h_complete"] and not figures["last_7d_complete"] and not figures["last_30d_complete"]
    assert "<td>100,00 %</td><td>100,00 %<sup>*</sup></td>" in html
    assert 'Huvudservern övervakas sedan <span class="nowrap">2026-10-31 13:00 CET</span>; siffrorna gäller tiden sedan dess.' in html


def _escalation_steps(html: str) -> dict[str, str]:
    listing = re.search(r'<ul class="escalation">(.*?)</ul>', html, re.S)
    assert listing, "no escalation list on the desk"
    items = (" ".join(re.sub(r"<[^>]+>", "", item).split())
             for item in re.findall(r"<li>(.*?)</li>", listing.group(1), re.S))
    return dict(item.split(": ", 1) for item in items)


def test_the_desk_says_whom_the_escalation_reached_and_for_whom_no_address_is_set(app, client, ctx, servers, smtp,
                                                                                 monkeypatch):
    # Off duty, a main-server outage escalates to the SA, the SA's manager, Servicedesk and the supplier;
    # only the first two have addresses here.
    monkeypatch.setitem(app.config, "STATUS_ESCALATION_RECIPIENTS",
                        {"system_owner": "sa@region.example", "system_owner_manager": "sa-chef@region.example"})
    main, _ = servers
    probe(SATURDAY_NIGHT - EVERY_MINUTE)
    main.stop()
    confirmed = drive_to_down(SATURDAY_NIGHT)
    factories.user("it", roles=(Role.IT_STAFF,))
    login(client, "it")

    html = client.get("/status/hantera").get_data(as_text=True)
    assert "kontaktade" not in html and "Utanför SA:s tjänstgöring" in html
    nobody = "ingen mottagare inställd – ingen har kontaktats"
    assert _escalation_steps(html) == {
        "Systemansvarig": "väntar på utskick", "Enhetschef för systemansvarig": "väntar på utskick",
        "Servicedesk": nobody, "Systemleverantör": nobody}
    assert "STATUS_ESCALATION_RECIPIENTS" in html

    services.deliver_notifications(confirmed)
    steps = _escalation_steps(client.get("/status/hantera").get_data(as_text=True))
    sent = f"meddelande lämnat för utskick {local_text(confirmed)}"
    assert steps["Systemansvarig"] == sent and steps["Enhetschef för systemansvarig"] == sent
    assert steps["Servicedesk"] == nobody
    assert {address for rcpt, _ in smtp.messages for address in rcpt} == {"sa@region.example", "sa-chef@region.example"}


def test_past_the_four_hours_and_before_the_reserve_check_the_page_says_activation_is_imminent(client, outage_at_noon):
    with freeze_time(FOUR_HOURS_LATER + timedelta(seconds=30)):  # the check runs every STATUS_RESERVE_CHECK_SECONDS
        reserve = client.get("/status.json").get_json()["reserve"]
    assert reserve["applies"] is False and reserve["seconds_until_automatic_activation"] == 0
    assert reserve["text"] == ("Reservrutin gäller inte ännu. Tiden utan prognos gick ut 2026-11-02 14:00 CET; "
                               "reservrutinen aktiveras automatiskt inom kort.")
    with freeze_time(FOUR_HOURS_LATER - timedelta(minutes=5)):
        assert "(om 5 min)" in client.get("/status.json").get_json()["reserve"]["text"]
