"""Each incident instantiates its scenario's runbook as a checklist; the system ticks what it saw happen."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core.errors import DomainError, Forbidden, ValidationFailed
from core.extensions import db
from reserve import checklists
from reserve.models import Checklist
from status import incidents, services
from status.scenarios import Scenario
from status.settings import current_settings
from tests.conftest import login
from tests.service.reserve.conftest import (
    CONFIRMED, FOUR_HOURS_LATER, OUTAGE_START, mark_escalations_sent, open_outage, probe, start_outage,
)


def checklist_of(incident_id: int, runbook: str | None = None) -> Checklist:
    query = select(Checklist).where(Checklist.incident_id == incident_id, Checklist.superseded_at.is_(None))
    if runbook:
        query = query.where(Checklist.runbook_key == runbook)
    return db.session.scalars(query.execution_options(populate_existing=True)).one()


def steps(checklist: Checklist) -> dict:
    return {s.key: s for s in checklist.steps}


def test_a_main_server_outage_instantiates_its_runbook_with_deadlines_from_the_outage_start(outage):
    assert checklists.reconcile(CONFIRMED) > 0
    checklist = checklist_of(outage.id)
    by_key = steps(checklist)
    assert checklist.runbook_key == "main_server_outage" and checklist.base_at == OUTAGE_START
    assert by_key["notify_system_owner"].due_at == OUTAGE_START
    assert by_key["contact_supplier"].due_at == OUTAGE_START + timedelta(minutes=30)
    assert by_key["activate_reserve"].due_at == FOUR_HOURS_LATER
    assert by_key["inform_callers"].role == "customer_service"
    # Monday morning: the SA is on duty, so the off-duty steps do not apply.
    assert by_key["servicedesk_incident"].not_applicable and by_key["notify_system_owner_manager"].not_applicable
    assert checklists.reconcile(CONFIRMED) == 0  # idempotent: a second run changes nothing


@pytest.mark.parametrize(("scenario", "first_step"), [
    (Scenario.FULL_REGIONAL_OUTAGE, "await_instructions"),
    (Scenario.CUSTOMER_SERVICE_CONTACT_LOST, "service_phones"),
    (Scenario.TELEPHONY_DISRUPTION, "phone_broadcast"),
    (Scenario.MAIN_SERVER_OUTAGE, "notify_system_owner"),
])
def test_every_scenario_gets_its_own_checklist(ctx, scenario, first_step):
    incident = incidents.open_incident(scenario, OUTAGE_START, CONFIRMED, current_settings())
    db.session.commit()
    checklists.reconcile(CONFIRMED)
    checklist = checklist_of(incident.id)
    assert checklist.runbook_key == scenario.value and checklist.steps[0].key == first_step
    assert all(step.record for step in checklist.steps)


def test_the_monitor_ticks_notify_and_activate_itself_with_system_as_the_actor(outage):
    checklists.reconcile(CONFIRMED)
    mark_escalations_sent(outage.id, CONFIRMED + timedelta(seconds=5))
    checklists.reconcile(CONFIRMED + timedelta(seconds=10))
    by_key = steps(checklist_of(outage.id))
    assert by_key["notify_system_owner"].done_at == CONFIRMED + timedelta(seconds=5)
    assert by_key["notify_system_owner"].actor == "system" and by_key["contact_supplier"].actor == "system"
    assert by_key["activate_reserve"].done_at is None

    services.run_reserve_check(FOUR_HOURS_LATER)
    checklists.reconcile(FOUR_HOURS_LATER + timedelta(seconds=15))
    by_key = steps(checklist_of(outage.id, "main_server_outage"))
    assert by_key["activate_reserve"].done_at == FOUR_HOURS_LATER and by_key["activate_reserve"].actor == "system"
    assert by_key["publish_reserve"].actor == "system"
    routine = checklist_of(outage.id, "reserve_routine")  # seed 004's routine starts with the reserve routine
    assert routine.base_at == FOUR_HOURS_LATER and steps(routine)["get_kit"].due_at == FOUR_HOURS_LATER


def test_it_staff_activating_by_hand_are_recorded_as_the_actor(outage, world):
    services.activate_reserve(world["it"].id, "Leverantören kan inte ge prognos.", outage.id,
                              now=OUTAGE_START + timedelta(hours=1))
    checklists.reconcile(OUTAGE_START + timedelta(hours=1, seconds=5))
    step = steps(checklist_of(outage.id, "main_server_outage"))["activate_reserve"]
    assert step.actor == "Sara Håkansson" and step.done_by_system is False


def test_overdue_steps_are_highlighted_and_the_activation_waits_while_a_prognosis_holds(outage, world):
    checklists.reconcile(CONFIRMED)
    later = OUTAGE_START + timedelta(hours=4, minutes=5)
    services.set_prognosis(outage.id, world["it"].id, "Disken byts.", OUTAGE_START + timedelta(hours=6),
                           now=OUTAGE_START + timedelta(hours=1))
    checklists.reconcile(later)
    incident = open_outage()
    by_key = steps(checklist_of(outage.id))
    assert checklists.step_view_state(by_key["inform_callers"], incident, later) == "overdue"
    assert checklists.step_view_state(by_key["activate_reserve"], incident, later) == "waiting"
    assert checklists.step_view_state(by_key["publish_prognosis"], incident, later) == "done"
    assert by_key["publish_prognosis"].actor == "Sara Håkansson"
    assert checklists.step_view_state(by_key["main_server_back"], incident, later) == "ongoing"


def test_a_person_ticks_a_step_with_who_when_and_a_note(outage, world):
    checklists.reconcile(CONFIRMED)
    step = steps(checklist_of(outage.id))["inform_callers"]
    at = OUTAGE_START + timedelta(minutes=3)
    done = checklists.tick_step(world["agent"], step.id, "Tre förskrivare informerade.", at)
    assert (done.done_at, done.done_by_id, done.note, done.actor) == (at, world["agent"].id,
                                                                      "Tre förskrivare informerade.", "Maria Persson")
    with pytest.raises(DomainError, match="redan klart"):
        checklists.tick_step(world["agent"], step.id, None, at)


def test_only_the_steps_role_may_tick_it_and_a_required_note_is_required(ctx, prober, world):
    incident = incidents.open_incident(Scenario.CUSTOMER_SERVICE_CONTACT_LOST, OUTAGE_START, CONFIRMED,
                                       current_settings())
    db.session.commit()
    checklists.reconcile(CONFIRMED)
    step = steps(checklist_of(incident.id))["service_phones"]
    with pytest.raises(Forbidden, match="Kundservice"):
        checklists.tick_step(world["it"], step.id, "Uppkopplade.", CONFIRMED)
    with pytest.raises(ValidationFailed) as caught:
        checklists.tick_step(world["agent"], step.id, "  ", CONFIRMED)
    assert caught.value.errors[0].field == "note" and "Vilka arbetsplatser" in caught.value.errors[0].message
    assert checklists.tick_step(world["admin"], step.id, "Två mobiler.", CONFIRMED).actor == "Karin Bengtsson"


def test_a_reclassified_incident_gets_the_new_scenarios_checklist_and_keeps_shared_ticks(ctx, prober, world):
    incident = start_outage(prober)
    checklists.reconcile(CONFIRMED)
    old = checklist_of(incident.id)
    checklists.tick_step(world["agent"], steps(old)["inform_callers"].id, "Informerat.", CONFIRMED)
    prober.reference_up = False  # the regional network falls too
    for seconds in (60, 80, 100):
        probe(prober, OUTAGE_START + timedelta(seconds=seconds))
    assert open_outage().scenario == Scenario.FULL_REGIONAL_OUTAGE.value
    checklists.reconcile(OUTAGE_START + timedelta(minutes=2))
    current = checklist_of(incident.id)
    assert current.runbook_key == "full_regional_outage"
    assert steps(current)["inform_callers"].note == "Informerat."
    assert db.session.get(Checklist, old.id).superseded_at is not None


def test_the_checklist_page_highlights_overdue_steps_and_takes_a_tick(outage, world, client):
    checklists.reconcile(CONFIRMED)
    checklist = checklist_of(outage.id)
    login(client, "maria")
    page = client.get(f"/reserv/checklista/{checklist.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'class="step-overdue"' in html and "Försenad" in html
    step = steps(checklist)["inform_callers"]
    from tests.conftest import csrf_token_from

    answer = client.post(f"/reserv/checklista/steg/{step.id}", data={
        "csrf_token": csrf_token_from(html), "checklist_id": checklist.id, f"s{step.id}-note": "Informerat."})
    assert answer.status_code == 302
    assert "Maria Persson" in client.get(f"/reserv/checklista/{checklist.id}").get_data(as_text=True)
