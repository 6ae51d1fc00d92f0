"""Which phase customer service is in, from the reserve state alone (seed 001: wait, then the reserve routine)."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from reserve.phases import Phase, phase_of, script_phases
from status.readmodel import ReserveState
from status.scenarios import Scenario

NOW = datetime(2026, 11, 2, 15, 0)


def state(*, active: bool, ongoing: bool) -> ReserveState:
    return ReserveState(active=active, incident_id=1, scenario=Scenario.MAIN_SERVER_OUTAGE,
                        started_at=NOW - timedelta(hours=5), since=NOW - timedelta(hours=1) if active else None,
                        activated_by="system" if active else None, reserve_due_at=NOW - timedelta(hours=1),
                        prognosis_text=None, prognosis_until=None, outage_ongoing=ongoing)


@pytest.mark.parametrize(("reserve", "kwargs", "expected"), [
    (None, {}, None),
    (None, {"main_server_suspect": True}, Phase.SUSPECTED),
    (state(active=False, ongoing=True), {}, Phase.OUTAGE),
    (state(active=True, ongoing=True), {}, Phase.RESERVE),
    (state(active=True, ongoing=False), {}, Phase.RECOVERING),  # back, the routine holds until IT confirms
    (state(active=False, ongoing=False), {}, Phase.RECOVERING),  # back, not yet resolved
    (None, {"other_incident_open": True}, Phase.OUTAGE),  # telephony or customer service's contact
    (None, {"resolved_at": NOW - timedelta(hours=2), "now": NOW}, Phase.RESOLVED),
    (None, {"resolved_at": NOW - timedelta(days=2), "now": NOW}, None),
    (None, {"main_server_suspect": True, "resolved_at": NOW - timedelta(hours=2), "now": NOW}, Phase.SUSPECTED),
    (state(active=True, ongoing=True), {"main_server_suspect": True}, Phase.RESERVE),
])
def test_the_phase_follows_the_reserve_state(reserve, kwargs, expected):
    assert phase_of(reserve, **kwargs) is expected


def test_only_an_outage_of_the_main_server_is_suspected_and_back_registered():
    assert script_phases(Scenario.MAIN_SERVER_OUTAGE) == tuple(Phase)
    assert Phase.RECOVERING not in script_phases(Scenario.TELEPHONY_DISRUPTION)
    assert Phase.SUSPECTED not in script_phases(Scenario.CUSTOMER_SERVICE_CONTACT_LOST)
