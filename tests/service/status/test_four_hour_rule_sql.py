"""The four-hour rule has one form (status.rules.automatic_reserve_due); the SQL that claims the
activation (status.reserve_activation.automatic_conditions) is proven to say the same on generated
incidents, boundaries included (seed 001: "Efter 4 timmar och om prognos fortfarande saknas,
aktiveras reservrutin")."""
from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, example, given, settings, strategies as st
from sqlalchemy import and_, select

from core.extensions import db
from status.incidents import MAIN_SERVER
from status.models import Component, Incident, MaintenanceWindow
from status.reserve_activation import automatic_conditions
from status.rules import ReserveFacts, automatic_reserve_due
from status.scenarios import Scenario
from tests.instants import FOUR_HOURS_LATER, OUTAGE_START

NOW = FOUR_HOURS_LATER
# Offsets around NOW in whole minutes, so that equality (the exact boundary) is generated often.
offsets = st.integers(min_value=-3, max_value=3).map(lambda minutes: NOW + timedelta(minutes=minutes))
maybe = st.none() | offsets
mostly_none = st.sampled_from([None, None, None]) | offsets  # facts that stop activation, seldom set
# The cases where every condition but one holds are the interesting ones: lean towards them.
scenarios = st.sampled_from([Scenario.MAIN_SERVER_OUTAGE] * 3 + list(Scenario))
mostly_open = st.sampled_from([True, True, True, False])


@st.composite
def incidents(draw) -> dict:  # noqa: ANN001
    scenario = draw(scenarios)
    window = draw(st.none() | st.tuples(offsets, st.integers(min_value=1, max_value=4)))
    return {
        "scenario": scenario, "open": draw(mostly_open), "recovered_at": draw(mostly_none),
        "reserve_activated_at": draw(mostly_none), "reserve_due_at": draw(offsets | st.none()),
        "prognosis_until": draw(maybe),
        "maintenance": (window[0], window[0] + timedelta(minutes=window[1])) if window else None,
    }


def _store(case: dict) -> int:
    scenario: Scenario = case["scenario"]
    incident = Incident(track=scenario.track, open_track=scenario.track if case["open"] else None,
                        scenario=scenario.value, status="investigating", started_at=OUTAGE_START,
                        detected_at=OUTAGE_START, escalated_off_duty=False, recovered_at=case["recovered_at"],
                        reserve_activated_at=case["reserve_activated_at"], reserve_due_at=case["reserve_due_at"],
                        prognosis_until=case["prognosis_until"])
    db.session.add(incident)
    if case["maintenance"]:
        component = db.session.scalar(select(Component).where(Component.key == MAIN_SERVER))
        starts_at, ends_at = case["maintenance"]
        db.session.add(MaintenanceWindow(component_id=component.id, starts_at=starts_at, ends_at=ends_at,
                                         reason="Planerat underhåll", created_at=OUTAGE_START))
    db.session.flush()
    return incident.id


def _facts(case: dict) -> ReserveFacts:
    window = case["maintenance"]
    return ReserveFacts(scenario=case["scenario"], reserve_due_at=case["reserve_due_at"],
                        prognosis_until=case["prognosis_until"], ongoing=case["open"] and case["recovered_at"] is None,
                        ever_activated=case["reserve_activated_at"] is not None,
                        in_maintenance=window is not None and window[0] <= NOW < window[1])


BOUNDARY = {"scenario": Scenario.MAIN_SERVER_OUTAGE, "open": True, "recovered_at": None, "reserve_activated_at": None,
            "reserve_due_at": NOW, "prognosis_until": NOW, "maintenance": (NOW - timedelta(minutes=1), NOW)}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=incidents())
@example(case=BOUNDARY)  # due exactly now, the prognosis ending now, maintenance just over: activates
@example(case={**BOUNDARY, "maintenance": (NOW, NOW + timedelta(minutes=1))})  # maintenance from now: waits
def test_the_sql_claim_and_the_rule_agree_on_every_incident(ctx, case):
    savepoint = db.session.begin_nested()
    try:
        incident_id = _store(case)
        claimed = db.session.scalar(select(Incident.id).where(Incident.id == incident_id,
                                                              and_(*automatic_conditions(NOW))))
        assert (claimed is not None) == automatic_reserve_due(_facts(case), NOW), case
    finally:
        savepoint.rollback()


def test_the_rule_activates_at_four_hours_and_not_a_second_before():
    facts = ReserveFacts(scenario=Scenario.MAIN_SERVER_OUTAGE, reserve_due_at=FOUR_HOURS_LATER)
    assert not automatic_reserve_due(facts, FOUR_HOURS_LATER - timedelta(seconds=1))
    assert automatic_reserve_due(facts, FOUR_HOURS_LATER)
