"""The four-hour rule, manual activation and deactivation, and how the reserve routine is published."""
from __future__ import annotations

from datetime import timedelta

import pytest
from freezegun import freeze_time

from core.auth.roles import Role
from status import services
from status.readmodel import ReserveState
from status.scenarios import Scenario
from tests import factories
from tests.conftest import api_token, login
from tests.service.status.conftest import (
    FOUR_HOURS_LATER, OUTAGE_START, HealthServer, all_incidents, open_incident, queued,
)
from tests.service.status.test_scenarios import EVERY_MINUTE, RETRY, bearer, drive_to_down, probe

ONE_SECOND = timedelta(seconds=1)


@pytest.fixture
def outage(ctx, servers):
    """A confirmed Sesam server outage whose first failed probe was OUTAGE_START."""
    main, _ = servers
    probe(OUTAGE_START - EVERY_MINUTE)
    main.stop()
    drive_to_down()
    return open_incident()


@pytest.fixture
def it_token(client) -> str:
    factories.user("it", roles=(Role.IT_STAFF,))
    return api_token(client, "it")


def test_reserve_activates_at_exactly_four_hours_without_prognosis(outage):
    assert services.run_reserve_check(FOUR_HOURS_LATER - ONE_SECOND) == []
    assert not open_incident().reserve_active
    assert services.run_reserve_check(FOUR_HOURS_LATER) == [outage.id]
    incident = open_incident()
    assert incident.reserve_active and incident.reserve_activated_at == FOUR_HOURS_LATER
    assert incident.reserve_activated_by == "system" and incident.reserve_activated_by_id is None
    assert "Fyra timmar utan prognos" in incident.reserve_activation_reason
    assert incident.updates[-1].kind == "reserve" and "Reservrutin gäller" in incident.updates[-1].message


def test_the_check_activates_only_once_however_often_it_runs(outage):
    for minute in range(5):
        services.run_reserve_check(FOUR_HOURS_LATER + timedelta(minutes=minute))
    assert [u.kind for u in open_incident().updates].count("reserve") == 1
    reserve_notices = [n for n in queued("escalation") if ":reserve_activated:" in n.dedup_key]
    assert sorted(n.recipient for n in reserve_notices) == ["kundservice@region.example", "sa@region.example"]


def test_no_activation_while_a_prognosis_is_valid_and_activation_once_it_has_passed(outage, client, it_token):
    expected = "2026-11-02T15:30:00+01:00"  # 14:30 UTC: 1 h 30 min after the four hours
    with freeze_time(OUTAGE_START + timedelta(hours=1)):
        response = client.post(f"/api/v1/incidents/{outage.id}/prognosis", headers=bearer(it_token),
                               json={"text": "Leverantören byter en disk.", "expected_restoration_at": expected})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["expected_restoration_at"] == expected
    assert services.run_reserve_check(FOUR_HOURS_LATER) == []
    assert services.run_reserve_check(FOUR_HOURS_LATER + timedelta(hours=1, minutes=29, seconds=59)) == []
    passed = FOUR_HOURS_LATER + timedelta(hours=1, minutes=30)
    assert services.run_reserve_check(passed) == [outage.id]
    assert open_incident().reserve_activated_at == passed


def test_a_prognosis_must_lie_in_the_future(outage, client, it_token):
    with freeze_time(OUTAGE_START + timedelta(hours=1)):
        response = client.post(f"/api/v1/incidents/{outage.id}/prognosis", headers=bearer(it_token),
                               json={"text": "Snart.", "expected_restoration_at": "2026-11-02T10:00:00+01:00"})
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "expected_restoration_at"


def test_a_prognosis_without_offset_is_refused(outage, client, it_token):
    response = client.post(f"/api/v1/incidents/{outage.id}/prognosis", headers=bearer(it_token),
                           json={"text": "Snart.", "expected_restoration_at": "2026-11-02T16:00:00"})
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "expected_restoration_at"


def test_staff_activate_and_deactivate_with_a_reason_recorded_who_and_why(outage, client, it_token):
    with freeze_time(OUTAGE_START + timedelta(hours=1)):
        response = client.post("/api/v1/reserve/activate", headers=bearer(it_token),
                               json={"reason": "Leverantören kan inte ge prognos i dag."})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["active"] and body["activated_by"] == "user" and body["incident_id"] == outage.id
    incident = open_incident()
    assert incident.reserve_activated_by_id is not None
    assert incident.reserve_activation_reason == "Leverantören kan inte ge prognos i dag."
    # Deciding again is refused; the four-hour rule does not act on IT's decision.
    again = client.post("/api/v1/reserve/activate", headers=bearer(it_token), json={"reason": "igen"})
    assert again.status_code == 409
    with freeze_time(OUTAGE_START + timedelta(hours=2)):
        ended = client.post("/api/v1/reserve/deactivate", headers=bearer(it_token),
                            json={"reason": "Huvudservern nås via reservväg."})
    assert ended.status_code == 200 and ended.get_json()["active"] is False
    assert services.run_reserve_check(FOUR_HOURS_LATER + timedelta(hours=1)) == []
    incident = open_incident()
    assert incident.reserve_end_reason == "Huvudservern nås via reservväg."
    assert client.post("/api/v1/reserve/deactivate", headers=bearer(it_token),
                       json={"reason": "x"}).status_code == 409


def test_an_outage_cannot_be_resolved_by_hand_while_the_server_is_still_down(outage, client, it_token):
    response = client.post(f"/api/v1/incidents/{outage.id}/updates", headers=bearer(it_token),
                           json={"status": "resolved", "message": "Klart?"})
    assert response.status_code == 409 and response.get_json()["error"]["field"] == "status"
    identified = client.post(f"/api/v1/incidents/{outage.id}/updates", headers=bearer(it_token),
                             json={"status": "identified", "message": "En disk i lagringen har gått sönder."})
    assert identified.status_code == 201 and identified.get_json()["status"] == "identified"
    assert open_incident().status == "identified"


def test_activation_without_an_open_incident_is_refused(ctx, client, it_token):
    response = client.post("/api/v1/reserve/activate", headers=bearer(it_token), json={"reason": "Övning"})
    assert response.status_code == 409
    assert response.get_json()["error"]["field"] == "incident_id"


def test_reserve_is_published_on_the_status_page_and_banner(outage, client):
    # One browser throughout: under `ctx` every request shares the app context (and its CSRF token).
    factories.user("karin", roles=(Role.PRESCRIBER,))
    login(client, "karin")
    status = client.get("/status.json").get_json()
    assert status["reserve"]["applies"] is False
    assert status["reserve"]["automatic_activation_at"] == "2026-11-02T14:00:00+01:00"
    assert status["overall"]["state"] == "outage"
    services.run_reserve_check(FOUR_HOURS_LATER)
    status = client.get("/status.json").get_json()
    assert status["reserve"]["applies"] is True and status["reserve"]["activated_by"] == "system"
    assert status["reserve"]["since"] == "2026-11-02T14:00:00+01:00"
    assert status["overall"]["text"] == "Reservrutin gäller"
    page = client.get("/status").get_data(as_text=True)
    assert "Reservrutin gäller sedan 2026-11-02 14:00 CET" in page
    start = client.get("/").get_data(as_text=True)
    assert 'class="banner banner-danger" role="alert"' in start and "Reservrutin gäller." in start


def test_an_open_outage_shows_a_warning_banner_on_every_page(outage, app):
    factories.user("karin", roles=(Role.PRESCRIBER,))
    browser = app.test_client()
    login(browser, "karin")
    page = browser.get("/").get_data(as_text=True)
    assert 'class="banner banner-warning" role="alert"' in page and "Driftstörning." in page


def test_current_reserve_state_for_other_packages(outage):
    state = services.current_reserve_state()
    assert isinstance(state, ReserveState)
    assert (state.active, state.incident_id, state.scenario) == (False, outage.id, Scenario.MAIN_SERVER_OUTAGE)
    assert state.reserve_due_at == FOUR_HOURS_LATER and state.outage_ongoing
    services.run_reserve_check(FOUR_HOURS_LATER)
    state = services.current_reserve_state()
    assert state.active and state.since == FOUR_HOURS_LATER and state.activated_by == "system"


def test_no_reserve_state_when_all_is_well(ctx, servers):
    probe(OUTAGE_START)
    assert services.current_reserve_state() is None


def test_recovery_keeps_reserve_mode_until_it_staff_confirm(outage, client, it_token, servers):
    main, _ = servers
    services.run_reserve_check(FOUR_HOURS_LATER)
    back = HealthServer(port=main.port).start()  # the server returns at its old address
    try:
        after = FOUR_HOURS_LATER + timedelta(minutes=10)
        probe(after)
        probe(after + RETRY)
    finally:
        back.stop()
    incident = open_incident()
    assert incident.status == "monitoring" and incident.recovered_at == after + RETRY and incident.reserve_active
    with freeze_time(after + timedelta(minutes=30)):
        response = client.post("/api/v1/reserve/deactivate", headers=bearer(it_token),
                               json={"reason": "Återgångsrutinen är klar."})
    assert response.status_code == 200
    assert open_incident() is None
    assert all_incidents()[0].status == "resolved"
    assert services.current_reserve_state() is None
