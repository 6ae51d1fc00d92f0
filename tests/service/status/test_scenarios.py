"""The monitor against real HTTP servers on loopback: the four scenarios of seed 001, flapping,
maintenance and recovery. Job functions are called directly with chosen instants."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from core.auth.roles import Role
from core.extensions import db
from status import services
from status.models import Component, Outage, ProbeResult, RecoveryEvent
from status.scenarios import Scenario
from tests import factories
from tests.conftest import api_token
from tests.service.status.conftest import OUTAGE_START, all_incidents, open_incident, queued

EVERY_MINUTE = timedelta(seconds=60)
RETRY = timedelta(seconds=20)


@pytest.fixture(autouse=True)
def _minute_cadence(app, monkeypatch: pytest.MonkeyPatch) -> None:
    """These scenarios speak in minutes; the default cadence and its bound are test_detection_bound.py's."""
    monkeypatch.setitem(app.config, "STATUS_PROBE_INTERVAL_SECONDS", EVERY_MINUTE.total_seconds())
    monkeypatch.setitem(app.config, "STATUS_RETRY_INTERVAL_SECONDS", RETRY.total_seconds())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def probe(at):
    return services.run_probe_cycle(at)


def drive_to_down(first_failure=OUTAGE_START):
    """All up just before `first_failure`; the caller has stopped a server. Return the confirming instant."""
    probe(first_failure)  # suspect
    probe(first_failure + RETRY)
    confirmed = first_failure + 2 * RETRY
    probe(confirmed)
    return confirmed


def component(key: str) -> Component:
    return db.session.scalar(select(Component).where(Component.key == key).execution_options(populate_existing=True))


def test_every_probe_result_is_stored_with_time_latency_and_outcome(ctx, servers):
    main, reference = servers
    probe(OUTAGE_START)
    results = list(db.session.scalars(select(ProbeResult).order_by(ProbeResult.id)))
    assert len(results) == 2 and all(r.ok and r.at == OUTAGE_START and r.latency_ms >= 0 for r in results)
    assert results[0].detail == "HTTP 200"
    assert main.hits == 1 and reference.hits == 1
    assert component("main_server").next_check_at == OUTAGE_START + EVERY_MINUTE


def test_probes_wait_for_their_interval_and_retry_sooner_after_a_failure(ctx, servers):
    main, _ = servers
    probe(OUTAGE_START)
    probe(OUTAGE_START + timedelta(seconds=30))  # not due yet
    assert main.hits == 1
    main.status = 503
    probe(OUTAGE_START + EVERY_MINUTE)
    assert component("main_server").state == "suspect"
    assert component("main_server").next_check_at == OUTAGE_START + EVERY_MINUTE + RETRY


def test_main_server_alone_down_is_a_sesam_server_outage_started_at_the_first_failed_probe(ctx, servers):
    main, _ = servers
    probe(OUTAGE_START - EVERY_MINUTE)
    main.stop()
    assert open_incident() is None
    probe(OUTAGE_START)
    probe(OUTAGE_START + RETRY)
    assert open_incident() is None  # two failures: only suspect
    confirmed = OUTAGE_START + 2 * RETRY
    probe(confirmed)
    incident = open_incident()
    assert incident.scenario == Scenario.MAIN_SERVER_OUTAGE.value
    assert incident.started_at == OUTAGE_START and incident.detected_at == confirmed
    assert incident.reserve_due_at == OUTAGE_START + timedelta(hours=4)
    assert incident.status == "investigating"
    assert "Kundservice informerar" in incident.updates[0].message
    # The system owner at once (Monday 10:00: on duty) and the supplier; no Servicedesk.
    assert sorted(n.recipient for n in queued("escalation")) == ["sa@region.example", "support@leverantor.example"]


def test_main_server_and_reference_target_down_is_a_full_regional_outage_with_no_planned_actions(ctx, servers):
    main, reference = servers
    probe(OUTAGE_START - EVERY_MINUTE)
    main.stop()
    reference.stop()
    drive_to_down()
    incident = open_incident()
    assert incident.scenario == Scenario.FULL_REGIONAL_OUTAGE.value
    assert queued("escalation") == []  # wait for instructions
    assert services.run_reserve_check(OUTAGE_START + timedelta(hours=8)) == []
    assert not open_incident().reserve_active


def test_reference_target_falling_later_reclassifies_the_outage(ctx, servers):
    main, reference = servers
    probe(OUTAGE_START - EVERY_MINUTE)
    main.stop()
    confirmed = drive_to_down()
    reference.stop()
    for step in range(1, 4):
        probe(confirmed + step * RETRY)
    incident = open_incident()
    assert incident.scenario == Scenario.FULL_REGIONAL_OUTAGE.value
    assert incident.started_at == OUTAGE_START
    assert [u.kind for u in incident.updates] == ["opened", "scenario"]
    assert len(all_incidents()) == 1


def test_customer_service_heartbeat_stopping_while_the_main_server_is_up_is_lost_contact(app, client, servers):
    factories.user("kund", roles=(Role.CUSTOMER_SERVICE,))
    token = api_token(client, "kund")
    from freezegun import freeze_time

    with freeze_time(OUTAGE_START):
        assert client.post("/api/v1/heartbeat/customer-service", headers=bearer(token)).status_code == 200
    with app.app_context():
        probe(OUTAGE_START + timedelta(minutes=2, seconds=59))
        assert open_incident("customer_service") is None
        probe(OUTAGE_START + timedelta(minutes=3))
        incident = open_incident("customer_service")
        assert incident.scenario == Scenario.CUSTOMER_SERVICE_CONTACT_LOST.value
        assert incident.started_at == OUTAGE_START  # the last sign of contact
        assert "tjänstemobiler" in incident.updates[0].message
        assert sorted(n.recipient for n in queued("escalation")) == ["driftinfo@region.example",
                                                                     "telefoni@region.example"]
        assert open_incident() is None
    with freeze_time(OUTAGE_START + timedelta(minutes=10)):
        client.post("/api/v1/heartbeat/customer-service", headers=bearer(token))
    with app.app_context():
        probe(OUTAGE_START + timedelta(minutes=10, seconds=5))
        assert open_incident("customer_service") is None
        assert all_incidents()[-1].status == "resolved"


def test_silence_after_closing_time_is_not_lost_contact(ctx, servers):
    services.record_heartbeat(datetime(2026, 11, 2, 15, 29))  # 16:29 CET, Monday
    probe(datetime(2026, 11, 2, 19, 0))  # 20:00 CET
    assert component("customer_service").state == "unknown"
    probe(datetime(2026, 11, 3, 7, 2))  # 08:02 CET the next morning: still within the grace
    assert open_incident("customer_service") is None
    probe(datetime(2026, 11, 3, 7, 3))
    incident = open_incident("customer_service")
    assert incident.started_at == datetime(2026, 11, 3, 7, 0)  # from opening time, not from last evening


def test_no_heartbeat_ever_is_not_lost_contact(ctx, servers):
    probe(OUTAGE_START + timedelta(hours=1))
    assert component("customer_service").state == "unknown"
    assert open_incident("customer_service") is None


def test_telephony_marked_disrupted_by_it_staff_is_a_telephony_disruption(client, ctx):
    factories.user("it", roles=(Role.IT_STAFF,))
    token = api_token(client, "it")
    response = client.post("/api/v1/telephony", headers=bearer(token),
                           json={"disrupted": True, "message": "Växeln svarar inte. Lavinmeddelande är inlagt."})
    assert response.status_code == 200, response.get_json()
    incident = open_incident("telephony")
    assert incident.scenario == Scenario.TELEPHONY_DISRUPTION.value
    assert incident.updates[0].message == "Växeln svarar inte. Lavinmeddelande är inlagt."
    assert [n.recipient for n in queued("escalation")] == ["telefoni@region.example"]
    status = client.get("/status.json").get_json()
    assert status["incidents"][0]["actions"] == list(Scenario.TELEPHONY_DISRUPTION.guide.actions)
    assert {c["key"]: c["state"] for c in status["components"]}["telephony"] == "down"
    client.post("/api/v1/telephony", headers=bearer(token), json={"disrupted": False, "message": "Telefonin fungerar."})
    assert open_incident("telephony") is None


def test_a_flapping_server_opens_no_incident(ctx, servers):
    main, _ = servers
    at = OUTAGE_START
    for status in (503, 200, 503, 503, 200, 503, 200, 503, 503, 200):
        main.status = status
        probe(at)
        at += RETRY if status != 200 else EVERY_MINUTE
    assert all_incidents() == []
    assert queued() == []
    assert db.session.scalar(select(func.count()).select_from(Outage)) == 0


def test_maintenance_window_suppresses_down(client, ctx, servers):
    main, _ = servers
    staff = factories.user("it", roles=(Role.IT_STAFF,))
    services.schedule_maintenance(staff.id, "main_server", OUTAGE_START, OUTAGE_START + timedelta(hours=1),
                                  "Uppgradering av huvudservern", now=OUTAGE_START - timedelta(days=1))
    main.status = 503
    at = OUTAGE_START
    while at < OUTAGE_START + timedelta(hours=1):
        probe(at)
        at += EVERY_MINUTE
    assert component("main_server").state == "maintenance"
    assert all_incidents() == []
    status = client.get("/status.json").get_json()
    assert status["overall"]["state"] == "maintenance"
    # After the window the server still fails: three failures from the window's end confirm down.
    confirmed = drive_to_down(OUTAGE_START + timedelta(hours=1))
    incident = open_incident()
    assert incident.started_at == OUTAGE_START + timedelta(hours=1)
    assert incident.detected_at == confirmed


def test_confirmed_up_resolves_the_outage_and_records_one_recovery_event(ctx, servers):
    main, _ = servers
    probe(OUTAGE_START - EVERY_MINUTE)
    main.status = 503
    confirmed = drive_to_down()
    main.status = 200
    probe(confirmed + RETRY)
    assert open_incident().recovered_at is None  # one success: recovering
    probe(confirmed + 2 * RETRY)
    assert open_incident() is None
    incident = all_incidents()[0]
    assert incident.status == "resolved" and incident.recovered_at == confirmed + 2 * RETRY
    assert [u.kind for u in incident.updates] == ["opened", "resolved"]
    outage = db.session.scalar(select(Outage))
    assert (outage.started_at, outage.ended_at) == (OUTAGE_START, confirmed + RETRY)
    event = services.claim_recovery_event("sync-1", now=confirmed + timedelta(minutes=1))
    assert event.incident_id == incident.id and event.processed_by == "sync-1"
    assert services.claim_recovery_event("sync-2") is None
    assert db.session.scalar(select(func.count()).select_from(RecoveryEvent)) == 1


def test_the_timeline_is_append_only(ctx, servers):
    main, _ = servers
    probe(OUTAGE_START - EVERY_MINUTE)
    main.stop()
    drive_to_down()
    entry = open_incident().updates[0]
    entry.message = "Omskriven historik"
    with pytest.raises(ValueError, match="append-only"):
        db.session.flush()
    db.session.rollback()
