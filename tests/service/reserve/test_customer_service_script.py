"""Customer service reads one script at a time: the phase of the outage decides which (seed 001:
"Förskrivare ombeds avvakta" until the reserve routine applies, never both at once)."""
from __future__ import annotations

import html as html_lib
from datetime import timedelta

import pytest
from flask import current_app
from freezegun import freeze_time

from core.extensions import db
from reserve.phases import Phase
from status import services
from status.scenarios import RESOLVED
from tests.conftest import login
from tests.service.reserve.conftest import FOUR_HOURS_LATER, LAST_GOOD_PROBE, OUTAGE_START, open_outage, probe


def page(client) -> str:  # noqa: ANN001
    login(client, "maria")
    response = client.get("/reserv/kundservice")
    assert response.status_code == 200
    return html_lib.unescape(response.get_data(as_text=True))


def assert_only_phase(html: str, phase: Phase, scenario: str = "main_server_outage") -> None:
    script = current_app.extensions["reserve.runbooks"][scenario].script
    assert f'data-phase="{phase.value}"' in html and phase.label in html
    for line in script[phase]:
        assert line in html, line
    for other, lines in script.items():
        if other is not phase:
            for line in lines:
                assert line not in html, f"{other.value}: {line}"


def recover(prober, after) -> None:  # noqa: ANN001
    """The main server answers again until the monitor has seen it recover."""
    prober.main_up = True
    for seconds in range(0, 1200, 20):
        probe(prober, after + timedelta(seconds=seconds))
        if open_outage().recovered_at is not None:
            return
    pytest.fail("the monitor never saw the main server recover")


def test_a_suspected_failure_has_its_own_script(ctx, world, prober, client):
    probe(prober, LAST_GOOD_PROBE)
    prober.main_up = False
    probe(prober, OUTAGE_START)  # one failed probe: suspected, not confirmed
    db.session.commit()
    assert open_outage() is None
    assert_only_phase(page(client), Phase.SUSPECTED)


def test_during_the_four_hours_callers_are_asked_to_wait(outage, world, client):
    html = page(client)
    assert_only_phase(html, Phase.OUTAGE)
    assert "Förskrivare ombeds avvakta. Om felet inte är åtgärdat efter fyra timmar" in html


def test_during_the_reserve_routine_only_the_reserve_script_shows(reserve_active, world, client):
    html = page(client)
    assert_only_phase(html, Phase.RESERVE)
    assert "Förskrivare ombeds avvakta. Om felet inte är åtgärdat efter fyra timmar" not in html


def test_when_the_main_server_is_back_callers_hear_about_back_registration(reserve_active, world, prober, client):
    recover(prober, FOUR_HOURS_LATER + timedelta(hours=1))
    db.session.commit()
    assert_only_phase(page(client), Phase.RECOVERING)


def test_once_resolved_callers_hear_it_is_over(reserve_active, world, prober, client):
    back = FOUR_HOURS_LATER + timedelta(hours=1)
    recover(prober, back)
    incident = services.deactivate_reserve(world["it"].id, "Allt fungerar.", now=back + timedelta(hours=1))
    db.session.commit()
    assert incident.status == RESOLVED  # ending the routine after recovery resolves the incident
    with freeze_time(back + timedelta(hours=3)):
        assert_only_phase(page(client), Phase.RESOLVED)
    with freeze_time(back + timedelta(days=2)):  # said for a day, then normal operation again
        assert "data-phase=" not in page(client)


def test_a_telephony_disruption_has_its_own_script(ctx, world, client):
    services.set_telephony(world["it"].id, True, "Växeln är nere.", now=OUTAGE_START)
    db.session.commit()
    assert_only_phase(page(client), Phase.OUTAGE, "telephony_disruption")


def test_without_a_disruption_there_is_no_script(ctx, world, client):
    html = page(client)
    assert "data-phase=" not in html and "Ingen driftstörning pågår" in html
